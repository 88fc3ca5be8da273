// The immutable snapshot a request runs against: config, router, clusters, TLS contexts.
// Reload builds a new one and publishes it; in-flight requests keep the one they started with.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "sluice/core/config/schema.hpp"
#include "sluice/core/error.hpp"
#include "sluice/gateway/route_handler.hpp"
#include "sluice/gateway/router.hpp"
#include "sluice/net/tls.hpp"
#include "sluice/upstream/cluster.hpp"
#include "sluice/upstream/retry.hpp"

namespace sluice::gateway {

// Retry and fallback metrics of one route, from every worker.
struct RetryCounters {
  std::atomic<std::uint64_t> connect_failure{0}, reset{0}, timeout{0}, status_5xx{0},
      gateway_error{0}, status_429{0}, retriable_status{0};
  std::atomic<std::uint64_t> budget_exhausted{0};
  std::atomic<std::uint64_t> fallback_cluster{0}, fallback_static{0};  // [routes.fallback] used
  std::atomic<std::uint64_t> hedges{0}, hedge_wins{0};  // hedges sent; hedges that answered
  void count(std::string_view reason);
};

struct RouteRuntime {
  const config::Route* cfg = nullptr;
  std::shared_ptr<const upstream::Cluster> cluster;
  std::shared_ptr<const upstream::Cluster> fallback_cluster;  // [routes.fallback] cluster
  std::vector<std::string> stat_keys;                         // per endpoint index
  // [routes.retry]; the budget is shared by every worker.
  std::shared_ptr<const upstream::RetryPolicy> retry;
  std::shared_ptr<const upstream::HedgePolicy> hedge;
  std::shared_ptr<upstream::RetryBudget> retry_budget;
  std::shared_ptr<RetryCounters> retry_counters;
  // [routes.llm]: the route is answered by this handler; cluster is null.
  std::shared_ptr<const RouteHandler> handler;
};

struct ListenerRuntime {
  const config::Listener* cfg = nullptr;
  net::tcp::endpoint address;  // resolved bind address (port 0 until bound)
  std::shared_ptr<net::SslContext> tls;
};

class Runtime {
 public:
  // previous: the runtime this one replaces (a reload), or null at start. Each cluster of the
  // same name inherits its endpoint state (upstream::ClusterState::inherit), and a discovered
  // name that fails to resolve keeps its previous addresses (logged as dns_resolve_failed).
  // handlers builds the handler of each LLM route; without it an LLM route is a config error.
  static Result<std::shared_ptr<const Runtime>> build(std::shared_ptr<const config::Config> cfg,
                                                      upstream::Resolver& resolver,
                                                      const Runtime* previous = nullptr,
                                                      const HandlerFactory* handlers = nullptr);
  // `old` with some clusters replaced by rebuilt ones of the same name (a DNS refresh changed
  // their endpoints). Everything else, retry budgets and counters included, is shared with `old`.
  static Result<std::shared_ptr<const Runtime>> with_clusters(
      const Runtime& old, const std::vector<std::shared_ptr<const upstream::Cluster>>& fresh);

  const config::Config& config() const { return *cfg_; }
  std::shared_ptr<const config::Config> config_ptr() const { return cfg_; }
  const Router& router() const { return router_; }
  const RouteRuntime& route(std::size_t i) const { return routes_[i]; }
  const std::vector<ListenerRuntime>& listeners() const { return listeners_; }
  const ListenerRuntime* listener(std::string_view name) const;
  // Every cluster, in config order.
  const std::vector<std::shared_ptr<const upstream::Cluster>>& clusters() const {
    return clusters_;
  }
  const upstream::Cluster* cluster(std::string_view name) const;

 private:
  std::shared_ptr<const config::Config> cfg_;
  Router router_;
  std::vector<std::shared_ptr<const upstream::Cluster>> clusters_;
  std::vector<RouteRuntime> routes_;
  std::vector<ListenerRuntime> listeners_;
};

// The number of worker threads the config asks for (server.workers, 0: one per core).
unsigned workers_of(const config::Config& cfg);

// The series key of requests that matched no route or failed before choosing an endpoint.
std::string stat_key(std::string_view route, std::string_view cluster, std::string_view endpoint);

}  // namespace sluice::gateway
