// Active health checks: the result of one check, the pure per-endpoint state machine that turns
// results into healthy/unhealthy with thresholds, and the async prober (HTTP or TCP, with TLS
// where the cluster uses it) that the control thread runs.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "sluice/core/clock.hpp"
#include "sluice/core/config/resilience.hpp"
#include "sluice/net/asio.hpp"
#include "sluice/net/tls.hpp"
#include "sluice/upstream/endpoint.hpp"

namespace sluice::upstream {

struct CheckResult {
  bool passed = false;
  std::string error;  // why it failed: "connect: connection refused", "status 503 not in 200-399"
  int status = 0;     // HTTP status; 0 for TCP checks or when none arrived
  Duration latency{0};
};

// Per-endpoint state from consecutive results. An endpoint starts healthy (so a gateway serves
// from its first second) and changes state only at the thresholds.
class HealthTracker {
 public:
  HealthTracker(std::size_t endpoints, std::uint32_t healthy_threshold,
                std::uint32_t unhealthy_threshold);

  struct Endpoint {
    bool healthy = true;
    std::uint32_t passes = 0;    // consecutive
    std::uint32_t failures = 0;  // consecutive
    bool checked = false;        // at least one result
    CheckResult last;
    std::chrono::system_clock::time_point last_at{};  // wall time of the last result
    std::chrono::system_clock::time_point changed_at{};
    std::uint64_t transitions = 0;
  };

  // Returns true when the endpoint changed state.
  bool record(std::size_t i, CheckResult r, std::chrono::system_clock::time_point wall);
  const Endpoint& endpoint(std::size_t i) const { return eps_[i]; }
  // Carries an endpoint's state over from the tracker this one replaces (a reload).
  void adopt(std::size_t i, const Endpoint& e) {
    if (i < eps_.size()) eps_[i] = e;
  }
  std::size_t size() const { return eps_.size(); }

 private:
  std::uint32_t healthy_threshold_, unhealthy_threshold_;
  std::vector<Endpoint> eps_;
};

// The delay before the next check: interval (no_traffic_interval when the cluster carried no
// traffic since the last one) stretched by up to `jitter` of itself, at random.
Duration next_check_delay(const config::HealthCheck& hc, bool had_traffic, Rng& rng);

// "200-399", "200, 204, 300-399": the expected statuses as the config says them.
std::string describe_statuses(const std::vector<std::pair<int, int>>& ranges);

// Runs one check of `ep` on the calling coroutine's executor, bounded by hc.timeout.
net::awaitable<CheckResult> check_endpoint(const Endpoint& ep, const config::HealthCheck& hc,
                                           net::SslContext* tls);

}  // namespace sluice::upstream
