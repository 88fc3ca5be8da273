#include "llm_route.hpp"

#include <chrono>

#include <fmt/format.h>

#include "sluice/core/config/load.hpp"
#include "services.hpp"
#include "sluice/llmgw/handler.hpp"

namespace sluice::llmgw {

namespace {

std::string_view anthropic_type(int status) {
  switch (status) {
    case 400:
      return "invalid_request_error";
    case 401:
      return "authentication_error";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 413:
      return "request_too_large";
    case 429:
      return "rate_limit_error";
    case 503:
    case 529:
      return "overloaded_error";
    default:
      return "api_error";
  }
}

}  // namespace

net::awaitable<void> send_llm_error(gateway::HandlerIo& io, llm::WireFormat ingress, int status,
                                    std::string_view type, std::string message,
                                    std::vector<gateway::Header> extra) {
  nlohmann::json body;
  if (ingress == llm::WireFormat::anthropic) {
    body = {{"type", "error"},
            {"error", {{"type", anthropic_type(status)}, {"message", std::move(message)}}},
            {"request_id", io.request_id()}};
  } else {
    body = {{"error",
             {{"message", std::move(message)},
              {"type", type},
              {"param", nullptr},
              {"code", nullptr},
              {"request_id", io.request_id()}}}};
  }
  extra.insert(extra.begin(), gateway::Header{"content-type", "application/json"});
  io.note_error(type);
  std::string text = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  co_await io.respond(status, extra, text);
}

Result<std::shared_ptr<const LlmRoute>> LlmRoute::build(const config::Config& cfg,
                                                        const config::Route& route,
                                                        const LlmRoute* previous) {
  auto r = std::make_shared<LlmRoute>();
  r->route_ = &route;
  r->max_body_bytes_ = cfg.server.max_body_bytes;
  for (std::size_t i = 0; i < cfg.providers.size(); ++i) {
    auto p = Provider::make(cfg.providers[i], i);
    if (!p) return p.error();
    r->providers_.push_back(std::move(*p));
  }
  r->prices_ = llm::PriceTable::builtin();
  for (const auto& po : cfg.prices) {
    llm::Price price;
    price.input = po.input;
    price.output = po.output;
    price.cached_input = po.cached_input >= 0 ? po.cached_input : po.input;
    price.cache_write = po.cache_write >= 0 ? po.cache_write : po.input;
    r->prices_.set(po.model, price);
  }
  if (previous) {
    r->carried_ = previous->carried_;
  } else {
    r->carried_.targets = std::make_shared<TargetRegistry>();
    r->carried_.metrics = std::make_shared<LlmMetrics>(route.name);
  }
  auto services = shared_services(cfg);
  if (!services) return services.error();
  r->services_ = std::move(*services);
  r->keys_ = std::make_unique<KeyTable>(cfg.keys);
  const auto& sc = route.llm->sessions;
  if (!sc.enabled) {
    r->carried_.sessions.reset();
  } else if (!r->carried_.sessions || r->carried_.sessions_config.ttl != sc.ttl ||
             r->carried_.sessions_config.max_messages != sc.max_messages ||
             r->carried_.sessions_config.max_bytes != sc.max_bytes ||
             (previous && previous->services_ != r->services_)) {
    auto s = open_sessions(cfg.store, sc);
    if (!s) return s.error();
    r->carried_.sessions = std::move(*s);
    r->carried_.sessions_config = sc;
  }
  const auto& cc = route.llm->cache;
  if (!cc.enabled) {
    r->carried_.cache.reset();
  } else if (!r->carried_.cache || r->carried_.cache->max_entries() != cc.max_entries ||
             r->carried_.cache->max_bytes() != cc.max_bytes || r->carried_.cache->ttl() != cc.ttl) {
    r->carried_.cache = std::make_shared<llm::ResponseCache>(cc.max_entries, cc.max_bytes, cc.ttl);
  }
  auto provider_index = [&](const std::string& name) -> std::optional<std::size_t> {
    for (std::size_t i = 0; i < r->providers_.size(); ++i)
      if (r->providers_[i].name() == name) return i;
    return std::nullopt;
  };
  auto alias_index = [&](const std::string& name) -> std::optional<std::size_t> {
    for (std::size_t i = 0; i < cfg.models.size(); ++i)
      if (cfg.models[i].name == name) return i;
    return std::nullopt;
  };
  for (const auto& m : cfg.models) {
    AliasRt a;
    a.cfg = &m;
    a.cooldown = {m.cooldown_failures, m.cooldown};
    for (const auto& t : m.targets) {
      auto pi = provider_index(t.provider);
      if (!pi)
        return config::config_error(m.pos, "models.targets.provider",
                                    fmt::format("no provider named \"{}\"", t.provider),
                                    "name one of the [[providers]]");
      TargetRt tr;
      tr.cfg = &t;
      tr.provider = *pi;
      tr.state = r->carried_.targets->get(t.provider, t.model);
      if (!t.model.empty())
        if (const llm::Price* p = r->prices_.find(t.model)) tr.price = p->input + p->output;
      a.targets.push_back(std::move(tr));
    }
    for (const auto& f : m.fallbacks)
      if (auto i = alias_index(f)) a.fallbacks.push_back(*i);
    if (!m.context_fallback.empty()) a.context_fallback = alias_index(m.context_fallback);
    r->aliases_.push_back(std::move(a));
    if (m.name == "*") r->star_ = r->aliases_.size() - 1;
  }
  return std::shared_ptr<const LlmRoute>(std::move(r));
}

const AliasRt* LlmRoute::alias_named(std::string_view name) const {
  for (const auto& a : aliases_)
    if (a.cfg->name == name) return &a;
  return nullptr;
}

const AliasRt* LlmRoute::find_alias(std::string_view model) const {
  const auto& allowed = route_->llm->models;
  auto served = [&](const AliasRt& a) {
    return allowed.empty() ||
           std::find(allowed.begin(), allowed.end(), a.cfg->name) != allowed.end();
  };
  for (const auto& a : aliases_)
    if (a.cfg->name == model && served(a)) return &a;
  if (star_ && !model.empty() && served(aliases_[*star_])) return &aliases_[*star_];
  return nullptr;
}

net::awaitable<void> LlmRoute::handle(gateway::HandlerIo& io) const {
  std::string_view path = io.path();
  while (path.size() > 1 && path.ends_with('/')) path.remove_suffix(1);
  std::string_view method = io.head().method;
  llm::WireFormat ingress =
      path.ends_with("/messages") ? llm::WireFormat::anthropic : llm::WireFormat::openai;
  enum class Api { chat, embeddings, models, none } api = Api::none;
  if (path.ends_with("/chat/completions") || path.ends_with("/messages"))
    api = Api::chat;
  else if (path.ends_with("/embeddings"))
    api = Api::embeddings;
  else if (path.ends_with("/models"))
    api = Api::models;
  if (api == Api::none) {
    co_await send_llm_error(
        io, ingress, 404, "not_found",
        fmt::format("no LLM API at {}; this route serves POST .../v1/chat/completions, "
                    "POST .../v1/messages, POST .../v1/embeddings and GET .../v1/models",
                    path));
    co_return;
  }
  const bool get = api == Api::models;
  if (get ? method != "GET" && method != "HEAD" : method != "POST") {
    std::string_view allowed = get ? "GET" : "POST";
    std::vector<gateway::Header> allow{{"allow", std::string(allowed)}};
    co_await send_llm_error(io, ingress, 405, "method_not_allowed",
                            fmt::format("{} takes {}", path, allowed), std::move(allow));
    co_return;
  }
  if (api == Api::chat)
    co_await serve_chat(*this, io, ingress);
  else if (api == Api::embeddings)
    co_await embeddings(io);
  else
    co_await models(io);
}

// GET /v1/models: the aliases this route serves, in OpenAI's list shape.
net::awaitable<void> LlmRoute::models(gateway::HandlerIo& io) const {
  nlohmann::json data = nlohmann::json::array();
  const auto& allowed = route_->llm->models;
  auto created = std::chrono::duration_cast<std::chrono::seconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
  for (const auto& a : aliases_) {
    if (a.cfg->name == "*") continue;
    if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), a.cfg->name) == allowed.end())
      continue;
    nlohmann::json targets = nlohmann::json::array();
    for (const auto& t : a.targets) {
      nlohmann::json tj = {{"provider", t.cfg->provider}, {"model", t.cfg->model}};
      if (t.cfg->context_window) tj["context_window"] = *t.cfg->context_window;
      targets.push_back(std::move(tj));
    }
    data.push_back({{"id", a.cfg->name},
                    {"object", "model"},
                    {"created", created},
                    {"owned_by", "sluice"},
                    {"targets", std::move(targets)}});
  }
  nlohmann::json body = {{"object", "list"}, {"data", std::move(data)}};
  std::vector<gateway::Header> headers{{"content-type", "application/json"}};
  std::string text = body.dump();
  co_await io.respond(200, headers, text);
}

gateway::HandlerFactory handler_factory() {
  return [](const config::Config& cfg, const config::Route& route,
            const gateway::RouteHandler* previous)
             -> Result<std::shared_ptr<const gateway::RouteHandler>> {
    auto built = LlmRoute::build(cfg, route, dynamic_cast<const LlmRoute*>(previous));
    if (!built) return built.error();
    return std::shared_ptr<const gateway::RouteHandler>(std::move(*built));
  };
}

}  // namespace sluice::llmgw
