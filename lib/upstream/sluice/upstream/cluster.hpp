// A cluster: its endpoints (resolved), its TLS client context, its live state (ClusterState) and
// one load balancer per worker. Immutable once built apart from those two, which are made for
// concurrent use, so every worker may share it.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "sluice/core/config/schema.hpp"
#include "sluice/core/error.hpp"
#include "sluice/net/asio.hpp"
#include "sluice/net/tls.hpp"
#include "sluice/upstream/cluster_state.hpp"
#include "sluice/upstream/discovery.hpp"
#include "sluice/upstream/endpoint.hpp"
#include "sluice/upstream/resolver.hpp"

namespace sluice::upstream {

class Cluster {
 public:
  // index: the cluster's position in the config, for error messages (clusters[INDEX]...).
  // workers: how many threads will call choose(), each with its own index below that.
  // previous: the same cluster in the runtime this one replaces (reload, DNS refresh), or null:
  // its state is inherited (ClusterState::inherit) and a discovered name that fails to resolve
  // keeps its addresses, listed in `kept` (resolve_endpoints).
  static Result<std::shared_ptr<const Cluster>> build(const config::Cluster& cfg, std::size_t index,
                                                      Resolver& resolver, std::size_t workers = 1,
                                                      const Cluster* previous = nullptr,
                                                      std::vector<ResolveFailure>* kept = nullptr);
  // The same from endpoints already resolved and expanded (rediscover()).
  static Result<std::shared_ptr<const Cluster>> from_endpoints(const config::Cluster& cfg,
                                                               std::size_t index,
                                                               std::vector<Endpoint> endpoints,
                                                               std::size_t workers,
                                                               const Cluster* previous);

  const std::string& name() const { return cfg_.name; }
  const config::Cluster& config() const { return cfg_; }
  const std::vector<Endpoint>& endpoints() const { return endpoints_; }
  net::SslContext* tls_context() const { return tls_.get(); }

  // The cluster's load balancer (lb_policy) over the snapshot, as worker `worker` (each worker
  // owns a balancer), avoiding `exclude` when another endpoint is eligible (a retry goes
  // elsewhere). `hash` is the request's key for ring_hash and maglev. nullptr when no endpoint is
  // routable.
  const Endpoint* choose(const ClusterSnapshot& snap, std::size_t worker,
                         const Endpoint* exclude = nullptr, std::uint64_t hash = 0) const;

  // The live health, ejection and breaker state; shared by every worker.
  ClusterState& state() const { return *state_; }
  // For what must keep the state alive beyond this cluster (a pooled connection's slot).
  std::shared_ptr<ClusterState> shared_state() const { return state_; }

 private:
  explicit Cluster(const config::Cluster& cfg) : cfg_(cfg) {}
  config::Cluster cfg_;
  std::vector<Endpoint> endpoints_;
  std::shared_ptr<net::SslContext> tls_;
  std::shared_ptr<ClusterState> state_;
  // One balancer per worker, each with its own Rng (neither is thread-safe).
  struct WorkerBalancer {
    SeededRng rng;
    std::unique_ptr<Balancer> balancer;
  };
  std::vector<std::unique_ptr<WorkerBalancer>> balancers_;
};

}  // namespace sluice::upstream
