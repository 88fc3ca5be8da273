// The mock LLM providers' error bodies, in each provider's real shape: OpenAI
// {"error":{"message","type","param","code"}}, Anthropic {"type":"error","error":{"type",
// "message"}}, Gemini google.rpc {"error":{"code","message","status","details"}}.
#include <fmt/format.h>

#include "llm_mock_internal.hpp"

namespace sluice::chaos {

namespace detail {

using Json = nlohmann::json;

Json error_body(LlmProvider p, int status, std::string_view type, std::string_view message,
                std::string_view param) {
  switch (p) {
    case LlmProvider::openai:
      return {{"error",
               {{"message", message},
                {"type", type},
                {"param", param.empty() ? Json() : Json(param)},
                {"code", Json()}}}};
    case LlmProvider::anthropic:
      return {{"type", "error"}, {"error", {{"type", type}, {"message", message}}}};
    case LlmProvider::gemini:
      return {{"error", {{"code", status}, {"message", message}, {"status", type}}}};
  }
  return Json::object();
}

void respond_json(MockExchange& ex, int status, const Json& body) {
  ex.respond(status, body.dump(), {{"content-type", "application/json"}});
}

void reject(MockExchange& ex, LlmProvider p, int status, std::string_view type,
            std::string_view message, std::string_view param) {
  ex.note("llm.rejected", std::string(type));
  respond_json(ex, status, error_body(p, status, type, message, param));
}

}  // namespace detail

namespace {

using detail::error_body;
using Json = nlohmann::json;

FaultReply openai_reply(int status, std::int64_t wait_s, bool add_retry_after) {
  FaultReply r;
  r.headers.emplace_back("content-type", "application/json");
  Json body;
  if (status == 429) {
    body = error_body(LlmProvider::openai, status, "requests",
                      fmt::format("Rate limit reached for requests. Limit: 60, Used: 60, "
                                  "Requested: 1. Please try again in {}s.",
                                  wait_s));
    body["error"]["code"] = "rate_limit_exceeded";
    r.headers.emplace_back("x-ratelimit-limit-requests", "60");
    r.headers.emplace_back("x-ratelimit-remaining-requests", "0");
    r.headers.emplace_back("x-ratelimit-reset-requests", fmt::format("{}s", wait_s));
    if (add_retry_after) r.headers.emplace_back("retry-after", std::to_string(wait_s));
  } else if (status == 401) {
    body = error_body(LlmProvider::openai, status, "invalid_request_error",
                      "Incorrect API key provided.");
    body["error"]["code"] = "invalid_api_key";
  } else if (status == 404) {
    body = error_body(LlmProvider::openai, status, "invalid_request_error",
                      "The model does not exist or you do not have access to it.");
    body["error"]["code"] = "model_not_found";
  } else if (status == 503 || status == 529) {
    body = error_body(LlmProvider::openai, status, "server_error",
                      "The engine is currently overloaded, please try again later.");
  } else if (status >= 500) {
    body = error_body(LlmProvider::openai, status, "server_error",
                      "The server had an error while processing your request. Sorry about that!");
  } else {
    body = error_body(LlmProvider::openai, status, "invalid_request_error",
                      fmt::format("Injected error (status {}).", status));
  }
  r.body = body.dump();
  return r;
}

FaultReply anthropic_reply(int status, std::int64_t wait_s, bool add_retry_after) {
  FaultReply r;
  r.headers.emplace_back("content-type", "application/json");
  std::string type = "invalid_request_error";
  std::string message = fmt::format("Injected error (status {}).", status);
  if (status == 429) {
    type = "rate_limit_error";
    message =
        "This request would exceed the rate limit for your organization of 50 requests per "
        "minute. Please try again later.";
    r.headers.emplace_back("anthropic-ratelimit-requests-limit", "50");
    r.headers.emplace_back("anthropic-ratelimit-requests-remaining", "0");
    if (add_retry_after) r.headers.emplace_back("retry-after", std::to_string(wait_s));
  } else if (status == 529) {
    type = "overloaded_error";
    message = "Overloaded";
  } else if (status == 401) {
    type = "authentication_error";
    message = "invalid x-api-key";
  } else if (status == 403) {
    type = "permission_error";
    message = "Your API key does not have permission to use the specified resource.";
  } else if (status == 404) {
    type = "not_found_error";
    message = "Not found";
  } else if (status == 413) {
    type = "request_too_large";
    message = "Request exceeds the maximum allowed number of bytes.";
  } else if (status >= 500) {
    type = "api_error";
    message = "Internal server error";
  }
  r.body = error_body(LlmProvider::anthropic, status, type, message).dump();
  return r;
}

FaultReply gemini_reply(int status, std::int64_t wait_s) {
  FaultReply r;
  r.headers.emplace_back("content-type", "application/json; charset=UTF-8");
  std::string word = "INVALID_ARGUMENT";
  std::string message = fmt::format("Injected error (status {}).", status);
  if (status == 429) {
    word = "RESOURCE_EXHAUSTED";
    message = "You exceeded your current quota, please check your plan and billing details.";
  } else if (status == 503 || status == 529) {
    word = "UNAVAILABLE";
    message = "The model is overloaded. Please try again later.";
  } else if (status == 504) {
    word = "DEADLINE_EXCEEDED";
    message = "Deadline expired before operation could complete.";
  } else if (status >= 500) {
    word = "INTERNAL";
    message =
        "An internal error has occurred. Please retry or report in "
        "https://developers.generativeai.google/guide/troubleshooting";
  } else if (status == 401) {
    word = "UNAUTHENTICATED";
    message = "API key not valid. Please pass a valid API key.";
  } else if (status == 403) {
    word = "PERMISSION_DENIED";
    message = "Permission denied.";
  } else if (status == 404) {
    word = "NOT_FOUND";
    message = "models/unknown is not found for API version v1beta.";
  }
  Json body = error_body(LlmProvider::gemini, status, word, message);
  if (status == 429)
    body["error"]["details"] = Json::array({{{"@type", "type.googleapis.com/google.rpc.RetryInfo"},
                                             {"retryDelay", fmt::format("{}s", wait_s)}}});
  r.body = body.dump();
  return r;
}

}  // namespace

FaultReply llm_error_reply(LlmProvider p, int status,
                           std::optional<std::chrono::seconds> retry_after) {
  const std::int64_t wait_s = retry_after ? retry_after->count() : 1;
  switch (p) {
    case LlmProvider::openai:
      return openai_reply(status, wait_s, !retry_after);
    case LlmProvider::anthropic:
      return anthropic_reply(status, wait_s, !retry_after);
    case LlmProvider::gemini:
      return gemini_reply(status, wait_s);
  }
  return openai_reply(status, wait_s, !retry_after);
}

}  // namespace sluice::chaos
