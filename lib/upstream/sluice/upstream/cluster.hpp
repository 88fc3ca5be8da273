// A cluster: its endpoints (resolved), its TLS client context and its load balancer.
// Immutable once built, except the balancer's cursor, so every worker may share it.
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
#include "sluice/upstream/endpoint.hpp"
#include "sluice/upstream/resolver.hpp"

namespace sluice::upstream {

class Cluster {
 public:
  // index: the cluster's position in the config, for error messages (clusters[INDEX]...).
  static Result<std::shared_ptr<const Cluster>> build(const config::Cluster& cfg, std::size_t index,
                                                      Resolver& resolver);

  const std::string& name() const { return cfg_.name; }
  const config::Cluster& config() const { return cfg_; }
  const std::vector<Endpoint>& endpoints() const { return endpoints_; }
  net::SslContext* tls_context() const { return tls_.get(); }

  // Round robin over every endpoint, ignoring health (for tools that probe them all).
  const Endpoint& pick() const;
  // The next endpoint after `prev` (for a retry that should go elsewhere).
  const Endpoint& next_after(const Endpoint& prev) const;
  // Round robin over the snapshot's routable endpoints, skipping `exclude` when another is
  // there (a retry goes elsewhere). nullptr when none is routable.
  const Endpoint* choose(const ClusterSnapshot& snap, const Endpoint* exclude = nullptr) const;

  // The live health, ejection and breaker state; shared by every worker.
  ClusterState& state() const { return *state_; }

 private:
  explicit Cluster(const config::Cluster& cfg) : cfg_(cfg) {}
  config::Cluster cfg_;
  std::vector<Endpoint> endpoints_;
  std::shared_ptr<net::SslContext> tls_;
  std::shared_ptr<ClusterState> state_;
  mutable std::atomic<std::uint32_t> cursor_{0};
};

}  // namespace sluice::upstream
