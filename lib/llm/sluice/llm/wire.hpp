// Parsing and writing the wire formats: OpenAI chat completions and Anthropic messages (both
// directions: they are ingress formats and providers) and Gemini generateContent (provider
// only). Parsers never throw: a wrong type or missing field is an Error naming the field
// ("messages[2].content[0].image_url: expected an object"). Parsers take the body by rvalue
// and move its strings out, so a 100,000-token prompt is not copied twice.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "sluice/core/error.hpp"
#include "sluice/llm/chat.hpp"

namespace sluice::llm {

// Anthropic requires max_tokens; a request that sets none gets this many.
inline constexpr std::int64_t kAnthropicDefaultMaxTokens = 4096;

struct WriteOptions {
  std::int64_t anthropic_default_max_tokens = kAnthropicDefaultMaxTokens;
  // OpenAI responses carry a creation time; translations are pure, so the caller gives it.
  std::int64_t created = 0;
};

// Requests.
Result<ChatRequest> parse_openai_request(nlohmann::json&& body);
Result<ChatRequest> parse_anthropic_request(nlohmann::json&& body);
// The body to send to a provider. Gemini's model and streaming go in the URL
// (models/{model}:generateContent, :streamGenerateContent?alt=sse), not in the body. A
// streaming request to an OpenAI provider always asks for usage (the gateway needs it for
// the ledger); whether the client sees it is the stream writer's choice.
Result<nlohmann::json> write_request(const ChatRequest& req, WireFormat provider,
                                     const WriteOptions& opt = {});

// Responses (non-streaming).
Result<ChatResponse> parse_response(nlohmann::json&& body, WireFormat provider);
// The body for a client speaking ingress (openai or anthropic).
nlohmann::json write_response(const ChatResponse& resp, WireFormat ingress,
                              const WriteOptions& opt = {});

// Finish reasons, each provider's words mapped to the neutral enum and back.
FinishReason finish_from_openai(std::string_view s);
FinishReason finish_from_anthropic(std::string_view s);
FinishReason finish_from_gemini(std::string_view s);
std::string_view finish_to_openai(FinishReason r);
std::string_view finish_to_anthropic(FinishReason r);

}  // namespace sluice::llm
