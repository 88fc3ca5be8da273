// The control thread's side of upstream health: the active health-check loop of every endpoint
// of every cluster that has [clusters.health_check], and the tick that feeds reported outcomes
// to outlier detection and breakers and publishes their snapshots. A reload rebinds it to the
// new runtime; the loops of the old one end at their next step.
#pragma once

#include <cstdint>
#include <memory>

#include "sluice/gateway/runtime.hpp"
#include "sluice/net/asio.hpp"

namespace sluice::gateway {

class HealthService {
 public:
  explicit HealthService(net::asio::io_context& control) : io_(control) {}
  // Starts checking `rt`'s clusters (and stops checking the previous runtime's).
  void bind(std::shared_ptr<const Runtime> rt);
  void stop();

 private:
  net::awaitable<void> check_loop(std::shared_ptr<const Runtime> rt, std::uint64_t generation,
                                  const upstream::Cluster* cluster, std::size_t endpoint);
  net::awaitable<void> tick_loop(std::uint64_t generation);
  bool current(std::uint64_t generation) const { return !stopped_ && generation == generation_; }

  net::asio::io_context& io_;
  std::shared_ptr<const Runtime> rt_;
  std::uint64_t generation_ = 0;
  bool stopped_ = false;
};

// Appends the upstream state metrics of every cluster of rt (health, ejections, panic, breaker).
void render_upstream_metrics(const Runtime& rt, std::string& out);

}  // namespace sluice::gateway
