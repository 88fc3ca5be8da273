#include "sluice/gateway/runtime.hpp"

#include <thread>

#include <fmt/format.h>

#include "sluice/core/config/load.hpp"
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

unsigned workers_of(const config::Config& cfg) {
  return cfg.server.workers ? cfg.server.workers
                            : std::max(1u, std::thread::hardware_concurrency());
}

Result<std::shared_ptr<const Runtime>> Runtime::build(std::shared_ptr<const config::Config> cfg,
                                                      upstream::Resolver& resolver) {
  auto rt = std::make_shared<Runtime>();
  rt->cfg_ = cfg;
  auto router = Router::build(cfg->routes);
  if (!router) return router.error();
  rt->router_ = std::move(*router);

  std::vector<std::shared_ptr<const upstream::Cluster>> clusters;
  for (std::size_t i = 0; i < cfg->clusters.size(); ++i) {
    auto built = upstream::Cluster::build(cfg->clusters[i], i, resolver, workers_of(*cfg));
    if (!built) return built.error();
    clusters.push_back(std::move(*built));
  }
  for (std::size_t i = 0; i < cfg->routes.size(); ++i) {
    const auto& r = cfg->routes[i];
    RouteRuntime rr;
    rr.cfg = &r;
    for (const auto& c : clusters)
      if (c->name() == r.cluster) rr.cluster = c;
    if (r.fallback && !r.fallback->cluster.empty())
      for (const auto& c : clusters)
        if (c->name() == r.fallback->cluster) rr.fallback_cluster = c;
    if (!rr.cluster)
      return config::config_error(r.pos, fmt::format("routes[{}].cluster", i),
                                  fmt::format("no cluster named \"{}\"", r.cluster),
                                  "name one of the [[clusters]]");
    for (const auto& ep : rr.cluster->endpoints())
      rr.stat_keys.push_back(stat_key(r.name, rr.cluster->name(), ep.name));
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
