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
#include "sluice/upstream/resolver.hpp"

namespace sluice::upstream {

struct Endpoint {
  std::string name;  // "host:port" as configured; the metrics and log label
  std::string host;  // configured host (name or literal)
  std::uint16_t port = 0;
  net::tcp::endpoint address;
  bool tls = false;
  std::string host_header;  // for auto_host_rewrite: host, plus :port unless it's the default
  std::string server_name;  // SNI and verification name ("" for address literals without sni)
  std::string pool_key;     // identifies interchangeable connections
  std::size_t index = 0;    // position in the cluster
};

class Cluster {
 public:
  // index: the cluster's position in the config, for error messages (clusters[INDEX]...).
  static Result<std::shared_ptr<const Cluster>> build(const config::Cluster& cfg, std::size_t index,
                                                      Resolver& resolver);

  const std::string& name() const { return cfg_.name; }
  const config::Cluster& config() const { return cfg_; }
  const std::vector<Endpoint>& endpoints() const { return endpoints_; }
  net::SslContext* tls_context() const { return tls_.get(); }

  // Round robin.
  const Endpoint& pick() const;
  // The next endpoint after `prev` (for a retry that should go elsewhere).
  const Endpoint& next_after(const Endpoint& prev) const;

 private:
  explicit Cluster(const config::Cluster& cfg) : cfg_(cfg) {}
  config::Cluster cfg_;
  std::vector<Endpoint> endpoints_;
  std::shared_ptr<net::SslContext> tls_;
  mutable std::atomic<std::uint32_t> cursor_{0};
};

}  // namespace sluice::upstream
