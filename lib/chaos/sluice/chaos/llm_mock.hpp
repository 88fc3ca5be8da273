// Mock LLM providers: MockServer routes that speak OpenAI (chat completions, embeddings, models),
// Anthropic (messages, models) and Gemini (generateContent, streamGenerateContent, models) on the
// real wire formats, streamed and not. Replies are deterministic (scripted, or an echo of the last
// user message); usage is counted with the exact tokenizers from the prompt as received; a prompt
// over the context window gets the provider's real error; status faults answer with the
// provider's error bodies (429, 529, 5xx). Start one with
//   MockServer server("openai", llm_mock_routes("openai", spec));
// The handlers note on each recorded request (RecordedRequest::notes): "llm.provider",
// "llm.prompt_tokens", "llm.completion_tokens" (when answered) and "llm.rejected" (the error type
// when the mock refused the request).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/chaos/mock_server.hpp"
#include "sluice/core/error.hpp"
#include "sluice/core/units.hpp"
#include "sluice/llm/chat.hpp"

namespace sluice::chaos {

enum class LlmProvider { openai, anthropic, gemini };
std::string_view to_string(LlmProvider p);
// "openai", "anthropic" or "gemini"; anything else gives nullopt.
std::optional<LlmProvider> llm_provider_named(std::string_view name);

inline constexpr std::int64_t kDefaultContextWindow = 128000;

// A tool call the mock returns instead of text (see LlmMockSpec::tool_call).
struct LlmToolCall {
  std::string name;
  std::string arguments = "{}";  // JSON text
};

struct LlmMockSpec {
  LlmProvider provider = LlmProvider::openai;
  // Tokens. A prompt over it (OpenAI and Anthropic: or prompt plus the requested max tokens) is
  // refused with the provider's context-length error. Empty: kDefaultContextWindow.
  std::optional<std::int64_t> context_window;
  // Scripted replies, used in turn (cycling) across the mock's chat requests. Empty: echo, the
  // reply is "echo: " and the text of the last user message.
  std::vector<std::string> replies;
  // Returned (instead of text, finish reason tool_calls) when the request offers tools and its
  // last message is not a tool result, so a tool loop ends after one round.
  std::optional<LlmToolCall> tool_call;
  // Streams send text in pieces of chunk_chars characters (UTF-8 sequences kept whole), one SSE
  // event each, chunk_delay apart.
  std::size_t chunk_chars = 8;
  Duration chunk_delay{0};
  // The models GET .../models lists; empty: one default per provider (gpt-4o-mini,
  // claude-sonnet-4-5, gemini-2.5-flash). Requests may name any model.
  std::vector<std::string> models;

  std::int64_t window() const { return context_window.value_or(kDefaultContextWindow); }
};

// The routes of one mock LLM provider (a single catch-all route that dispatches on the path's
// suffix, so any base prefix works: /v1/chat/completions and /openai/v1/chat/completions alike):
//   openai     POST .../chat/completions, POST .../embeddings, GET .../models
//   anthropic  POST .../messages (max_tokens required), GET .../models
//   gemini     POST .../models/{model}:generateContent, :streamGenerateContent (?alt=sse: SSE,
//              otherwise a JSON array), GET .../models
// Anything else gets the provider's 404 error. The route carries a status-fault replier, so a
// status fault without a body answers with the provider's error shape.
std::vector<MockRoute> llm_mock_routes(const std::string& name, const LlmMockSpec& spec);

// The provider's error body for a status (429 rate limit, 529 overloaded, 5xx server errors,
// 4xx by class), with the headers the provider sends (content-type, rate-limit headers and, when
// retry_after is empty, a Retry-After for 429 and 529).
FaultReply llm_error_reply(LlmProvider p, int status,
                           std::optional<std::chrono::seconds> retry_after = std::nullopt);

// Parses a chat request body as the mock received it (OpenAI chat completions, Anthropic
// messages or Gemini generateContent) into the neutral form. Errors name the field.
Result<llm::ChatRequest> parse_llm_mock_request(LlmProvider p, std::string_view body);

}  // namespace sluice::chaos
