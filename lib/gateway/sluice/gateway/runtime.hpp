// The immutable snapshot a request runs against: config, router, clusters, TLS contexts.
// Reload builds a new one and publishes it; in-flight requests keep the one they started with.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "sluice/core/config/schema.hpp"
#include "sluice/core/error.hpp"
#include "sluice/gateway/router.hpp"
#include "sluice/net/tls.hpp"
#include "sluice/upstream/cluster.hpp"

namespace sluice::gateway {

struct RouteRuntime {
  const config::Route* cfg = nullptr;
  std::shared_ptr<const upstream::Cluster> cluster;
  std::vector<std::string> stat_keys;  // per endpoint index
};

struct ListenerRuntime {
  const config::Listener* cfg = nullptr;
  net::tcp::endpoint address;  // resolved bind address (port 0 until bound)
  std::shared_ptr<net::SslContext> tls;
};

class Runtime {
 public:
  static Result<std::shared_ptr<const Runtime>> build(std::shared_ptr<const config::Config> cfg,
                                                      upstream::Resolver& resolver);

  const config::Config& config() const { return *cfg_; }
  std::shared_ptr<const config::Config> config_ptr() const { return cfg_; }
  const Router& router() const { return router_; }
  const RouteRuntime& route(std::size_t i) const { return routes_[i]; }
  const std::vector<ListenerRuntime>& listeners() const { return listeners_; }
  const ListenerRuntime* listener(std::string_view name) const;

 private:
  std::shared_ptr<const config::Config> cfg_;
  Router router_;
  std::vector<RouteRuntime> routes_;
  std::vector<ListenerRuntime> listeners_;
};

// The series key of requests that matched no route or failed before choosing an endpoint.
std::string stat_key(std::string_view route, std::string_view cluster, std::string_view endpoint);

}  // namespace sluice::gateway
