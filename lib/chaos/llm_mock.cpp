// The mock LLM provider's routes: one catch-all route that dispatches on the path's suffix, so any
// base prefix works, and answers unknown paths with the provider's own 404.
#include <memory>

#include <fmt/format.h>

#include "llm_mock_internal.hpp"
#include "sluice/chaos/llm_mock.hpp"

namespace sluice::chaos {

std::string_view to_string(LlmProvider p) {
  switch (p) {
    case LlmProvider::openai:
      return "openai";
    case LlmProvider::anthropic:
      return "anthropic";
    case LlmProvider::gemini:
      return "gemini";
  }
  return "openai";
}

std::optional<LlmProvider> llm_provider_named(std::string_view name) {
  if (name == "openai") return LlmProvider::openai;
  if (name == "anthropic") return LlmProvider::anthropic;
  if (name == "gemini") return LlmProvider::gemini;
  return std::nullopt;
}

namespace {

using detail::LlmMockState;

std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find('?'));
}

std::string_view query_of(std::string_view target) {
  auto q = target.find('?');
  return q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
}

bool has_param(std::string_view query, std::string_view kv) {
  while (!query.empty()) {
    auto amp = query.find('&');
    if (query.substr(0, amp) == kv) return true;
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return false;
}

void not_found(MockExchange& ex, LlmProvider p) {
  const auto& rq = ex.request();
  std::string what = fmt::format("Invalid URL ({} {})", rq.method, path_of(rq.target));
  switch (p) {
    case LlmProvider::openai:
      detail::reject(ex, p, 404, "invalid_request_error", what);
      break;
    case LlmProvider::anthropic:
      detail::reject(ex, p, 404, "not_found_error", what);
      break;
    case LlmProvider::gemini:
      detail::reject(ex, p, 404, "NOT_FOUND", what);
      break;
  }
}

// Gemini: .../models/{model}:{method}
bool gemini_route(LlmMockState& st, MockExchange& ex, std::string_view path) {
  auto at = path.rfind("/models/");
  if (at == std::string_view::npos) return false;
  std::string_view rest = path.substr(at + 8);
  auto colon = rest.rfind(':');
  if (colon == std::string_view::npos) return false;
  std::string model(rest.substr(0, colon));
  std::string_view method = rest.substr(colon + 1);
  if (method == "generateContent") {
    detail::gemini_generate(st, ex, std::move(model), false);
    return true;
  }
  if (method == "streamGenerateContent") {
    detail::gemini_generate(st, ex, std::move(model), true);
    return true;
  }
  return false;
}

void dispatch(LlmMockState& st, MockExchange& ex) {
  const auto& rq = ex.request();
  std::string_view path = path_of(rq.target);
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  const bool post = rq.method == "POST";
  const bool get = rq.method == "GET" || rq.method == "HEAD";
  const LlmProvider p = st.spec.provider;
  if (get && path.ends_with("/models")) {
    detail::list_models(st, ex);
    return;
  }
  if (post) {
    switch (p) {
      case LlmProvider::openai:
        if (path.ends_with("/chat/completions")) return detail::openai_chat(st, ex);
        if (path.ends_with("/embeddings")) return detail::openai_embeddings(st, ex);
        break;
      case LlmProvider::anthropic:
        if (path.ends_with("/messages")) return detail::anthropic_messages(st, ex);
        break;
      case LlmProvider::gemini:
        if (gemini_route(st, ex, path)) return;
        break;
    }
  }
  not_found(ex, p);
}

}  // namespace

bool detail::gemini_wants_sse(std::string_view target) {
  return has_param(query_of(target), "alt=sse");
}

std::vector<MockRoute> llm_mock_routes(const std::string& name, const LlmMockSpec& spec) {
  auto st = std::make_shared<LlmMockState>();
  st->name = name;
  st->spec = spec;
  if (st->spec.chunk_chars == 0) st->spec.chunk_chars = 1;
  MockRoute r;
  r.path = "*";
  r.handler = [st](MockExchange& ex) { dispatch(*st, ex); };
  const LlmProvider p = spec.provider;
  r.status_reply = [p](int status, std::optional<std::chrono::seconds> retry_after) {
    return std::optional<FaultReply>(llm_error_reply(p, status, retry_after));
  };
  return {std::move(r)};
}

}  // namespace sluice::chaos
