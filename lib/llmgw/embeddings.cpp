// POST /v1/embeddings: OpenAI's format, passed through to OpenAI-family providers (openai,
// openai-compatible) with the alias's model swapped in; the same walk, fallbacks and cooldowns
// as chat. Anthropic has no embeddings API and Gemini's (embedContent) is not translated: such
// targets are skipped with a clear error.
#include <fmt/format.h>

#include "llm_route.hpp"
#include "sluice/gateway/upstream_call.hpp"
#include "sluice/gateway/worker.hpp"
#include "sluice/llm/provider_error.hpp"
#include "sluice/llmgw/request_scan.hpp"
#include "walker.hpp"

namespace sluice::llmgw {

net::awaitable<void> LlmRoute::embeddings(gateway::HandlerIo& io) const {
  const auto start = std::chrono::steady_clock::now();
  std::string body;
  if (!co_await io.read_body(body)) co_return;
  auto scan = scan_openai_request(body);
  if (!scan || !scan->has_model) {
    std::string why = scan ? std::string("model: required") : scan.error().message;
    co_await send_llm_error(io, llm::WireFormat::openai, 400, "invalid_request_error", why);
    co_return;
  }
  const AliasRt* alias = find_alias(scan->model);
  if (!alias) {
    co_await send_llm_error(io, llm::WireFormat::openai, 404, "model_not_found",
                            fmt::format("the model \"{}\" is not served here", scan->model));
    co_return;
  }
  TargetWalker walk(*this, *alias, walk_rng());
  std::optional<llm::ProviderError> last;
  int attempts = 0, hops = 0;
  std::string provider, model, out_body, resp;
  for (const TargetRt* t = walk.next(coarse_now()); t; t = walk.next(coarse_now())) {
    if (attempts > 0) ++hops;
    const Provider& p = providers_[t->provider];
    model = t->cfg->model.empty() ? scan->model : t->cfg->model;
    provider = p.name();
    ++attempts;
    const upstream::Cluster* cluster = io.runtime().cluster(p.name());
    if (!p.openai_family() || !cluster) {
      last = llm::ProviderError{400,
                                "invalid_request_error",
                                "",
                                fmt::format("provider {} ({}) has no embeddings API here", p.name(),
                                            config::to_string(p.config().kind)),
                                llm::ProviderErrorKind::invalid_request,
                                std::nullopt,
                                llm::WireFormat::openai};
      continue;
    }
    std::string_view send = body;
    if (model != scan->model) {
      out_body = replace_model(body, *scan, model);
      send = out_body;
    }
    std::string target = p.embeddings_target();
    gateway::UpstreamRequest ur;
    ur.target = target;
    ur.host = p.config().host_header;
    ur.headers = &p.headers();
    ur.body = send;
    ur.timeout = p.config().timeout;
    ur.idle_timeout = p.config().stream_idle_timeout;
    gateway::UpstreamCall call(io.worker(), *cluster);
    auto e = co_await call.start(ur);
    io.note_upstream(cluster->name(), call.endpoint() ? call.endpoint()->name : "", attempts,
                     call.ttfb_ms());
    resp.clear();
    if (e == gateway::CallError::none) e = co_await call.read_all(resp, max_body_bytes_);
    if (e != gateway::CallError::none) {
      metrics().attempt({p.name(), model, gateway::to_string(e)});
      if (!gateway::before_request(e) || e == gateway::CallError::connect_error)
        t->state->failure(alias->cooldown, coarse_now(), std::nullopt);
      last = llm::ProviderError{e == gateway::CallError::timeout ? 504 : 502,
                                std::string(gateway::to_string(e)),
                                "",
                                fmt::format("provider {}: {}", p.name(), gateway::to_string(e)),
                                llm::ProviderErrorKind::server,
                                std::nullopt,
                                llm::WireFormat::openai};
      continue;
    }
    int status = call.status();
    if (status < 200 || status >= 300) {
      auto err = parse_error(p.format(), status, resp, call.head().get("retry-after"),
                             std::chrono::system_clock::now());
      metrics().attempt({p.name(), model, llm::to_string(err.kind)});
      bool give_up = err.kind == llm::ProviderErrorKind::invalid_request ||
                     err.kind == llm::ProviderErrorKind::context_length;
      if (!give_up)
        t->state->failure(alias->cooldown, coarse_now(),
                          err.retry_after_s
                              ? std::optional<Duration>(std::chrono::seconds(*err.retry_after_s))
                              : std::nullopt);
      last = std::move(err);
      if (give_up) break;
      continue;
    }
    metrics().attempt({p.name(), model, "ok"});
    t->state->success(call.ttfb_ms());
    std::int64_t tokens = -1;
    auto j = nlohmann::json::parse(resp, nullptr, false);
    if (j.is_object() && j.contains("usage") && j["usage"].is_object() &&
        j["usage"].contains("prompt_tokens") && j["usage"]["prompt_tokens"].is_number_integer())
      tokens = j["usage"]["prompt_tokens"].get<std::int64_t>();
    double cost = 0;
    if (tokens > 0)
      if (const llm::Price* price = prices_.find(model)) cost = tokens * price->input / 1e6;
    RequestRecord r;
    r.operation = "embeddings";
    r.alias = alias->cfg->name;
    r.provider = provider;
    r.model = model;
    r.input_tokens = tokens;
    r.duration_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    r.cost_usd = cost;
    r.fallbacks = hops;
    metrics().record(r);
    if (io.logging())
      io.log_fields({{"llm_alias", alias->cfg->name},
                     {"llm_provider", provider},
                     {"llm_model", model},
                     {"llm_tokens_in", tokens < 0 ? nlohmann::json() : nlohmann::json(tokens)},
                     {"llm_fallbacks", hops},
                     {"llm_cost_usd", cost}});
    std::vector<gateway::Header> headers{{"content-type", "application/json"},
                                         {"x-sluice-provider", provider},
                                         {"x-sluice-model", model},
                                         {"x-sluice-attempts", std::to_string(attempts)},
                                         {"x-sluice-fallbacks", std::to_string(hops)}};
    co_await io.respond(200, headers, resp);
    co_return;
  }
  if (!last) {
    co_await send_llm_error(
        io, llm::WireFormat::openai, 429, "rate_limit_exceeded",
        fmt::format("every target of model \"{}\" is cooling down", alias->cfg->name));
    co_return;
  }
  io.note_error("llm_provider_error");
  std::vector<gateway::Header> headers{{"content-type", "application/json"},
                                       {"x-sluice-attempts", std::to_string(attempts)},
                                       {"x-sluice-fallbacks", std::to_string(hops)}};
  if (last->retry_after_s) headers.push_back({"retry-after", std::to_string(*last->retry_after_s)});
  std::string err_body = llm::write_error(*last, llm::WireFormat::openai).dump();
  co_await io.respond(llm::client_status(*last), headers, err_body);
}

}  // namespace sluice::llmgw
