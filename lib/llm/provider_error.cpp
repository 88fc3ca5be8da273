// Error shapes, from each provider's reference: OpenAI {"error":{"message","type","param",
// "code"}} (context errors carry code "context_length_exceeded"); Anthropic {"type":"error",
// "error":{"type","message"}} with types invalid_request_error, authentication_error,
// permission_error, not_found_error, request_too_large, rate_limit_error, api_error,
// overloaded_error (529); Gemini {"error":{"code","message","status","details"}} with
// google.rpc status words (INVALID_ARGUMENT, RESOURCE_EXHAUSTED, UNAVAILABLE, ...) and a
// RetryInfo detail on 429. OpenAI-compatible servers use OpenAI's shape, loosely: llama.cpp
// gives a numeric code and type exceed_context_size_error, Ollama's native API a bare
// {"error":"..."} string.
#include "sluice/llm/provider_error.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdlib>

#include "sluice/core/text.hpp"
#include "wire_util.hpp"

namespace sluice::llm {

using namespace wire;

std::string_view to_string(ProviderErrorKind k) {
  switch (k) {
    case ProviderErrorKind::context_length:
      return "context_length";
    case ProviderErrorKind::rate_limit:
      return "rate_limit";
    case ProviderErrorKind::overloaded:
      return "overloaded";
    case ProviderErrorKind::auth:
      return "auth";
    case ProviderErrorKind::not_found:
      return "not_found";
    case ProviderErrorKind::invalid_request:
      return "invalid_request";
    case ProviderErrorKind::server:
      return "server";
    case ProviderErrorKind::stream:
      return "stream";
    case ProviderErrorKind::other:
      return "other";
  }
  return "?";
}

namespace {

bool contains_icase(std::string_view hay, std::string_view needle) {
  auto it = std::search(hay.begin(), hay.end(), needle.begin(), needle.end(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) ==
           std::tolower(static_cast<unsigned char>(b));
  });
  return it != hay.end();
}

// The messages each provider uses when the prompt does not fit (matched case-insensitively):
constexpr std::array kContextPhrases = {
    // OpenAI and vLLM: "This model's maximum context length is 8192 tokens. However, ..."
    std::string_view("maximum context length"),
    // Anthropic: "prompt is too long: 208310 tokens > 200000 maximum", and "input length and
    // `max_tokens` exceed context limit: 199759 + 8192 > 200000"
    std::string_view("prompt is too long"),
    std::string_view("exceed context limit"),
    // Gemini: "The input token count (1200293) exceeds the maximum number of tokens allowed
    // (1048576)."
    std::string_view("exceeds the maximum number of tokens"),
    // llama.cpp server: "the request exceeds the available context size. try increasing the
    // context size or enable context shift", "Context size has been exceeded."
    std::string_view("exceeds the available context size"),
    std::string_view("context size has been exceeded"),
    // Ollama: "the input length exceeds the context length"
    std::string_view("exceeds the context length"),
    // vLLM (newer): "The decoder prompt (length 9000) is longer than the maximum model length
    // of 8192."
    std::string_view("longer than the maximum model length"),
    // Hugging Face TGI: "`inputs` tokens + `max_new_tokens` must be <= 4096"
    std::string_view("`inputs` tokens + `max_new_tokens`"),
};

std::optional<std::int64_t> parse_seconds(std::string_view s) {
  // "30", "30s", "1.5s" (Gemini's RetryInfo.retryDelay is a protobuf Duration).
  std::string t(s);
  char* end = nullptr;
  double v = std::strtod(t.c_str(), &end);
  if (end == t.c_str() || v < 0) return std::nullopt;
  return static_cast<std::int64_t>(std::ceil(v));
}

ProviderErrorKind classify(const ProviderError& e) {
  if (e.code == "context_length_exceeded" || e.type == "exceed_context_size_error" ||
      is_context_length_message(e.message))
    return ProviderErrorKind::context_length;
  if (e.status == 429 || e.type == "rate_limit_error" || e.type == "RESOURCE_EXHAUSTED")
    return ProviderErrorKind::rate_limit;
  if (e.status == 529 || e.status == 503 || e.type == "overloaded_error" || e.type == "UNAVAILABLE")
    return ProviderErrorKind::overloaded;
  if (e.status == 401 || e.status == 403 || e.type == "authentication_error" ||
      e.type == "permission_error" || e.type == "UNAUTHENTICATED" || e.type == "PERMISSION_DENIED")
    return ProviderErrorKind::auth;
  if (e.status == 404 || e.type == "not_found_error" || e.type == "NOT_FOUND")
    return ProviderErrorKind::not_found;
  if ((e.status >= 400 && e.status < 500) || e.type == "invalid_request_error" ||
      e.type == "INVALID_ARGUMENT")
    return ProviderErrorKind::invalid_request;
  if (e.status >= 500 || e.type == "api_error" || e.type == "INTERNAL")
    return ProviderErrorKind::server;
  return ProviderErrorKind::other;
}

// The status an in-stream error would have had as a response.
int status_of_type(std::string_view type) {
  if (type == "overloaded_error") return 529;
  if (type == "rate_limit_error") return 429;
  if (type == "invalid_request_error") return 400;
  if (type == "authentication_error") return 401;
  if (type == "permission_error") return 403;
  if (type == "not_found_error") return 404;
  if (type == "request_too_large") return 413;
  if (type == "api_error") return 500;
  return 0;
}

}  // namespace

bool is_context_length_message(std::string_view message) {
  for (auto p : kContextPhrases)
    if (contains_icase(message, p)) return true;
  return false;
}

ProviderError provider_error_from_json(WireFormat provider, int status, const Json& body_in) {
  ProviderError e;
  e.source = provider;
  e.status = status;
  // Gemini's streams wrap the error in an array.
  const Json& body = body_in.is_array() && !body_in.empty() ? body_in[0] : body_in;
  const Json* err = member(body, "error");
  // vLLM's older servers put message, type and code at the top level.
  if (!err && member(body, "message")) err = &body;
  if (err && err->is_string()) {
    e.message = err->get<std::string>();  // Ollama's native shape
  } else if (err && err->is_object()) {
    e.message = std::string(string_or_empty(*err, "message"));
    e.type = std::string(string_or_empty(*err, "type"));
    if (e.type.empty()) e.type = std::string(string_or_empty(*err, "status"));  // Gemini
    // OpenAI's code is a word (context_length_exceeded); Gemini, vLLM and llama.cpp put the
    // HTTP status there, which is no code.
    if (const Json* c = member(*err, "code")) {
      if (c->is_string()) e.code = c->get<std::string>();
      if (e.status == 0 && c->is_number_integer()) e.status = c->get<int>();
    }
    if (const Json* details = member(*err, "details"); details && details->is_array())
      for (const auto& d : *details)
        if (string_or_empty(d, "@type").find("RetryInfo") != std::string_view::npos)
          e.retry_after_s = parse_seconds(string_or_empty(d, "retryDelay"));
  }
  if (e.status == 0) e.status = status_of_type(e.type);
  e.kind = classify(e);
  return e;
}

ProviderError parse_provider_error(WireFormat provider, int status, std::string_view body,
                                   std::string_view retry_after) {
  Json j = Json::parse(body, nullptr, false);
  ProviderError e;
  if (!j.is_discarded() && (j.is_object() || j.is_array())) {
    e = provider_error_from_json(provider, status, j);
    e.status = status;
    e.kind = classify(e);
  } else {
    e.source = provider;
    e.status = status;
  }
  // A body that is not JSON (a proxy's HTML page) is the message, cut short and made valid
  // UTF-8 so that writing it as JSON cannot fail.
  if (e.message.empty()) e.message = text::valid_utf8(body.substr(0, 1024));
  if (e.kind == ProviderErrorKind::other) e.kind = classify(e);
  if (!retry_after.empty())
    if (auto s = parse_seconds(retry_after)) e.retry_after_s = s;
  return e;
}

int client_status(const ProviderError& err) {
  return err.status > 0 ? err.status : 502;
}

Json write_error(const ProviderError& err, WireFormat ingress) {
  using K = ProviderErrorKind;
  if (ingress == WireFormat::anthropic) {
    std::string type;
    if (err.source == WireFormat::anthropic && !err.type.empty()) {
      type = err.type;
    } else {
      switch (err.kind) {
        case K::rate_limit:
          type = "rate_limit_error";
          break;
        case K::overloaded:
          type = "overloaded_error";
          break;
        case K::auth:
          type = err.status == 403 ? "permission_error" : "authentication_error";
          break;
        case K::not_found:
          type = "not_found_error";
          break;
        case K::context_length:
        case K::invalid_request:
          type = err.status == 413 ? "request_too_large" : "invalid_request_error";
          break;
        default:
          type = "api_error";
          break;
      }
    }
    return {{"type", "error"}, {"error", {{"type", type}, {"message", err.message}}}};
  }
  std::string type = err.type;
  if (type.empty()) {
    switch (err.kind) {
      case K::context_length:
      case K::invalid_request:
      case K::not_found:
        type = "invalid_request_error";
        break;
      case K::rate_limit:
        type = "rate_limit_error";
        break;
      case K::auth:
        type = "authentication_error";
        break;
      default:
        type = "server_error";
        break;
    }
  }
  // OpenAI clients recognise a context error by its code; other codes pass through.
  Json code = err.kind == K::context_length ? Json("context_length_exceeded")
              : err.code.empty()            ? Json()
                                            : Json(err.code);
  return {
      {"error",
       {{"message", err.message}, {"type", type}, {"param", nullptr}, {"code", std::move(code)}}}};
}

}  // namespace sluice::llm
