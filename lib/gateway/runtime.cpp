#include "sluice/gateway/runtime.hpp"

#include <thread>

#include <fmt/format.h>

#include "sluice/core/config/load.hpp"
#include "sluice/core/log.hpp"
#include "sluice/net/listen.hpp"

namespace sluice::gateway {

std::string stat_key(std::string_view route, std::string_view cluster, std::string_view endpoint) {
  std::string k;
  k.reserve(route.size() + cluster.size() + endpoint.size() + 2);
  k += route;
  k += '\x1f';
  k += cluster;
  k += '\x1f';
  k += endpoint;
  return k;
}

namespace {

std::vector<std::string> stat_keys_of(const config::Route& r, const upstream::Cluster& c) {
  std::vector<std::string> keys;
  for (const auto& ep : c.endpoints()) keys.push_back(stat_key(r.name, c.name(), ep.name));
  return keys;
}

}  // namespace

unsigned workers_of(const config::Config& cfg) {
  return cfg.server.workers ? cfg.server.workers
                            : std::max(1u, std::thread::hardware_concurrency());
}

Result<std::shared_ptr<const Runtime>> Runtime::build(std::shared_ptr<const config::Config> cfg,
                                                      upstream::Resolver& resolver,
                                                      const Runtime* previous,
                                                      const HandlerFactory* handlers) {
  auto rt = std::make_shared<Runtime>();
  rt->cfg_ = cfg;
  auto router = Router::build(cfg->routes);
  if (!router) return router.error();
  rt->router_ = std::move(*router);

  std::vector<std::shared_ptr<const upstream::Cluster>> clusters;
  for (std::size_t i = 0; i < cfg->clusters.size(); ++i) {
    const upstream::Cluster* before = previous ? previous->cluster(cfg->clusters[i].name) : nullptr;
    std::vector<upstream::ResolveFailure> kept;
    auto built =
        upstream::Cluster::build(cfg->clusters[i], i, resolver, workers_of(*cfg), before, &kept);
    if (!built) return built.error();
    for (const auto& f : kept)
      log::warn("dns_resolve_failed", {{"cluster", cfg->clusters[i].name},
                                       {"host", f.host},
                                       {"error", f.error},
                                       {"action", "kept the previous addresses"}});
    clusters.push_back(std::move(*built));
  }
  for (std::size_t i = 0; i < cfg->routes.size(); ++i) {
    const auto& r = cfg->routes[i];
    RouteRuntime rr;
    rr.cfg = &r;
    if (r.llm) {
      if (!handlers || !*handlers)
        return config::config_error(r.pos, fmt::format("routes[{}].llm", i),
                                    "this command does not serve LLM routes",
                                    "run the config with sluice serve");
      const RouteHandler* before = nullptr;
      if (previous)
        for (const auto& pr : previous->routes_)
          if (pr.handler && pr.cfg->name == r.name) before = pr.handler.get();
      auto h = (*handlers)(*cfg, r, before);
      if (!h) return h.error();
      rr.handler = std::move(*h);
      rr.retry = std::make_shared<upstream::RetryPolicy>(r.retry);
      rr.hedge = std::make_shared<upstream::HedgePolicy>(r.retry);
      rr.retry_budget = std::make_shared<upstream::RetryBudget>(r.retry);
      rr.retry_counters = std::make_shared<RetryCounters>();
      rt->routes_.push_back(std::move(rr));
      continue;
    }
    for (const auto& c : clusters)
      if (c->name() == r.cluster) rr.cluster = c;
    if (r.fallback && !r.fallback->cluster.empty())
      for (const auto& c : clusters)
        if (c->name() == r.fallback->cluster) rr.fallback_cluster = c;
    if (!rr.cluster)
      return config::config_error(r.pos, fmt::format("routes[{}].cluster", i),
                                  fmt::format("no cluster named \"{}\"", r.cluster),
                                  "name one of the [[clusters]]");
    rr.stat_keys = stat_keys_of(r, *rr.cluster);
    rr.retry = std::make_shared<upstream::RetryPolicy>(r.retry);
    rr.hedge = std::make_shared<upstream::HedgePolicy>(r.retry);
    rr.retry_budget = std::make_shared<upstream::RetryBudget>(r.retry);
    rr.retry_counters = std::make_shared<RetryCounters>();
    rt->routes_.push_back(std::move(rr));
  }
  rt->clusters_ = std::move(clusters);
  for (std::size_t i = 0; i < cfg->listeners.size(); ++i) {
    const auto& l = cfg->listeners[i];
    ListenerRuntime lr;
    lr.cfg = &l;
    auto addr = resolver.resolve(l.address.host);
    if (!addr)
      return config::config_error(l.pos, fmt::format("listeners[{}].listen", i),
                                  addr.error().message, "use an IP address or a resolvable name");
    lr.address = net::tcp::endpoint(*addr, l.address.port);
    if (l.tls) {
      auto ctx = net::make_server_tls(*l.tls);
      if (!ctx)
        return config::config_error(l.pos, fmt::format("listeners[{}].tls", i), ctx.error().message,
                                    "check the cert_file and key_file");
      lr.tls = std::move(*ctx);
    }
    rt->listeners_.push_back(std::move(lr));
  }
  return std::shared_ptr<const Runtime>(std::move(rt));
}

Result<std::shared_ptr<const Runtime>> Runtime::with_clusters(
    const Runtime& old, const std::vector<std::shared_ptr<const upstream::Cluster>>& fresh) {
  auto rt = std::make_shared<Runtime>();
  rt->cfg_ = old.cfg_;
  auto router = Router::build(rt->cfg_->routes);  // the router is not copyable; same routes
  if (!router) return router.error();
  rt->router_ = std::move(*router);
  rt->clusters_ = old.clusters_;
  rt->routes_ = old.routes_;
  rt->listeners_ = old.listeners_;
  auto replace = [&](std::shared_ptr<const upstream::Cluster>& c) {
    if (!c) return;
    for (const auto& f : fresh)
      if (f->name() == c->name()) c = f;
  };
  for (auto& c : rt->clusters_) replace(c);
  for (auto& r : rt->routes_) {
    replace(r.cluster);
    replace(r.fallback_cluster);
    if (r.cluster) r.stat_keys = stat_keys_of(*r.cfg, *r.cluster);
  }
  return std::shared_ptr<const Runtime>(std::move(rt));
}

void RetryCounters::count(std::string_view reason) {
  if (reason == "connect_failure")
    ++connect_failure;
  else if (reason == "reset")
    ++reset;
  else if (reason == "timeout")
    ++timeout;
  else if (reason == "5xx")
    ++status_5xx;
  else if (reason == "gateway_error")
    ++gateway_error;
  else if (reason == "status_429")
    ++status_429;
  else if (reason == "retriable_status")
    ++retriable_status;
}

const upstream::Cluster* Runtime::cluster(std::string_view name) const {
  for (const auto& c : clusters_)
    if (c->name() == name) return c.get();
  return nullptr;
}

const ListenerRuntime* Runtime::listener(std::string_view name) const {
  for (const auto& l : listeners_)
    if (l.cfg->name == name) return &l;
  return nullptr;
}

}  // namespace sluice::gateway
