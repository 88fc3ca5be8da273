// Dispatch by wire format, and the finish-reason tables. Finish reasons follow each provider's
// reference: OpenAI finish_reason (stop, length, tool_calls, content_filter, function_call),
// Anthropic stop_reason (end_turn, stop_sequence, max_tokens, tool_use, pause_turn, refusal),
// Gemini finishReason (STOP, MAX_TOKENS, SAFETY, RECITATION, LANGUAGE, BLOCKLIST,
// PROHIBITED_CONTENT, SPII, IMAGE_SAFETY, MALFORMED_FUNCTION_CALL, OTHER).
#include "sluice/llm/wire.hpp"

#include "formats.hpp"

namespace sluice::llm {

std::string_view to_string(WireFormat f) {
  switch (f) {
    case WireFormat::openai:
      return "openai";
    case WireFormat::openai_compatible:
      return "openai-compatible";
    case WireFormat::anthropic:
      return "anthropic";
    case WireFormat::gemini:
      return "gemini";
  }
  return "?";
}

std::string_view to_string(FinishReason r) {
  switch (r) {
    case FinishReason::none:
      return "none";
    case FinishReason::stop:
      return "stop";
    case FinishReason::length:
      return "length";
    case FinishReason::tool_calls:
      return "tool_calls";
    case FinishReason::content_filter:
      return "content_filter";
    case FinishReason::other:
      return "other";
  }
  return "?";
}

FinishReason finish_from_openai(std::string_view s) {
  if (s.empty()) return FinishReason::none;
  if (s == "stop") return FinishReason::stop;
  if (s == "length") return FinishReason::length;
  if (s == "tool_calls" || s == "function_call") return FinishReason::tool_calls;
  if (s == "content_filter") return FinishReason::content_filter;
  return FinishReason::other;
}

FinishReason finish_from_anthropic(std::string_view s) {
  if (s.empty()) return FinishReason::none;
  if (s == "end_turn" || s == "stop_sequence") return FinishReason::stop;
  if (s == "max_tokens") return FinishReason::length;
  if (s == "tool_use") return FinishReason::tool_calls;
  if (s == "refusal") return FinishReason::content_filter;
  return FinishReason::other;  // pause_turn and anything newer
}

FinishReason finish_from_gemini(std::string_view s) {
  if (s.empty() || s == "FINISH_REASON_UNSPECIFIED") return FinishReason::none;
  if (s == "STOP") return FinishReason::stop;
  if (s == "MAX_TOKENS") return FinishReason::length;
  if (s == "SAFETY" || s == "RECITATION" || s == "BLOCKLIST" || s == "PROHIBITED_CONTENT" ||
      s == "SPII" || s == "IMAGE_SAFETY")
    return FinishReason::content_filter;
  return FinishReason::other;  // LANGUAGE, MALFORMED_FUNCTION_CALL, OTHER, ...
}

// OpenAI and Anthropic clients know a closed set of words; "other" becomes a plain stop (the
// neutral response keeps the provider's word in finish_raw).
std::string_view finish_to_openai(FinishReason r) {
  switch (r) {
    case FinishReason::length:
      return "length";
    case FinishReason::tool_calls:
      return "tool_calls";
    case FinishReason::content_filter:
      return "content_filter";
    default:
      return "stop";
  }
}

std::string_view finish_to_anthropic(FinishReason r) {
  switch (r) {
    case FinishReason::length:
      return "max_tokens";
    case FinishReason::tool_calls:
      return "tool_use";
    case FinishReason::content_filter:
      return "refusal";
    default:
      return "end_turn";
  }
}

Result<nlohmann::json> write_request(const ChatRequest& req, WireFormat provider,
                                     const WriteOptions& opt) {
  switch (provider) {
    case WireFormat::openai:
    case WireFormat::openai_compatible:
      return write_openai_request(req, provider);
    case WireFormat::anthropic:
      return write_anthropic_request(req, opt);
    case WireFormat::gemini:
      return write_gemini_request(req);
  }
  return make_error(ErrorKind::internal, ErrorSource::internal, "unknown wire format");
}

Result<ChatResponse> parse_response(nlohmann::json&& body, WireFormat provider) {
  switch (provider) {
    case WireFormat::openai:
    case WireFormat::openai_compatible:
      return parse_openai_response(std::move(body));
    case WireFormat::anthropic:
      return parse_anthropic_response(std::move(body));
    case WireFormat::gemini:
      return parse_gemini_response(std::move(body));
  }
  return make_error(ErrorKind::internal, ErrorSource::internal, "unknown wire format");
}

nlohmann::json write_response(const ChatResponse& resp, WireFormat ingress,
                              const WriteOptions& opt) {
  if (ingress == WireFormat::anthropic) return write_anthropic_response(resp);
  return write_openai_response(resp, opt);
}

}  // namespace sluice::llm
