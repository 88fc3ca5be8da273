// Private to llmgw: a summary of conversation turns, written by the context policy's summarizer
// alias through the same providers, routing and fallbacks as any request (non-streamed).
#pragma once

#include <string>

#include "llm_route.hpp"

namespace sluice::llmgw {

// The turns (raw message JSON in `format`) as a transcript: one "role: text" paragraph each,
// tool calls and results included.
std::string transcript_of(const std::vector<std::string_view>& messages, llm::WireFormat format);

// Asks `alias` for a summary of transcript, in at most pol.summary_max_tokens tokens, within
// pol.summary_timeout overall. An error when every target failed or the time ran out.
net::awaitable<Result<std::string>> run_summarizer(const LlmRoute& route, gateway::HandlerIo& io,
                                                   const AliasRt& alias,
                                                   const config::ContextPolicy& pol,
                                                   std::string transcript);

}  // namespace sluice::llmgw
