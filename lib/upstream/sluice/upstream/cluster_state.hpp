// The live state of one cluster's endpoints: active health, outlier ejections, the breaker, manual
// drains and slow start, combined into an immutable snapshot that workers read without locks.
//
// Threads: workers call snapshot(), report() and the breaker gate; everything else (checks,
// ticks, drains, publishing) is the control thread's. report() hands outcomes over through a
// small mutex-protected batch that the control thread swaps out on each tick.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "sluice/core/clock.hpp"
#include "sluice/core/config/schema.hpp"
#include <nlohmann/json.hpp>

#include "sluice/upstream/balancer.hpp"
#include "sluice/upstream/breaker.hpp"
#include "sluice/upstream/endpoint_state.hpp"
#include "sluice/upstream/health_check.hpp"
#include "sluice/upstream/limits.hpp"
#include "sluice/upstream/outlier.hpp"

namespace sluice::upstream {

// One endpoint as the snapshot shows it.
struct EndpointView {
  bool usable = true;   // may take traffic now (panic mode aside)
  double weight = 1.0;  // configured weight x slow-start factor
  bool healthy = true;  // active health (true without checks)
  bool ejected = false;
  bool draining = false;
  bool slow_start = false;  // ramping up after joining or re-admission
};

struct ClusterSnapshot {
  std::vector<EndpointView> endpoints;
  std::size_t usable = 0;
  // Below panic_threshold: route_all sends traffic to every endpoint, fail_fast to none.
  RouteMode mode = RouteMode::normal;
  std::vector<std::size_t> routable;  // the endpoints to balance over (routing_set())
  // What the balancers read: per endpoint (weight 0 for drained ones, so not even panic routing
  // picks them), panic routing, and the ring_hash / maglev table built from the same hosts.
  std::vector<LbHost> hosts;
  Panic panic = Panic::no;
  std::shared_ptr<const HashTable> table;
  std::uint64_t version = 0;
};

// Why an endpoint is in the state it is in, for the diagnostic 503, /admin/upstreams and
// `sluice diagnose`.
struct EndpointExplanation {
  std::string name;
  std::string state;   // "healthy", "unhealthy", "ejected", "draining", "slow_start"
  std::string reason;  // a sentence; empty when healthy
  nlohmann::json to_json() const;
};

// One endpoint as the state tracks it. An endpoint "persists" across a reload or a DNS refresh
// when both its name and its address are the same.
struct TrackedEndpoint {
  std::string name;     // the metrics and admin label ("host:port", or "ADDR:PORT" when discovered)
  std::string address;  // the resolved "ADDR:PORT"
  double weight = 1.0;  // the configured weight
};

class ClusterState {
 public:
  ClusterState(const config::Cluster& cfg, std::vector<TrackedEndpoint> endpoints,
               const Clock& clock, std::uint64_t seed);

  // --- workers
  std::shared_ptr<const ClusterSnapshot> snapshot() const { return snap_.load(); }
  void report(std::size_t endpoint, const Outcome& o, const BreakerAdmission& admission);
  BreakerGate& breaker_gate() { return gate_; }
  // [clusters.breaker] max_requests and max_retries, over every worker.
  ResourceLimits& limits() { return limits_; }
  // [clusters.bulkhead]: requests in flight to the cluster, with a bounded queue.
  Bulkhead& bulkhead() { return bulkhead_; }
  // breaker.max_connections: upstream connections open (connecting, in use or pooled), over all
  // workers; a request waits for one to close (breaker.max_pending of them, up to
  // connect_timeout) when the cluster is at the limit.
  Bulkhead& connections() { return *connections_; }
  // What a connection's slot keeps alive: the limit outlives this state while pooled connections
  // hold slots, and inherit() passes it on when the limits did not change.
  std::shared_ptr<Bulkhead> shared_connections() const { return connections_; }
  bool breaker_enabled() const { return cfg_.breaker.enabled; }
  // Requests reported since the control thread last looked, for the no-traffic check interval.
  std::atomic<std::uint64_t> traffic{0};
  // Requests in flight per endpoint, over every worker (least_request reads them).
  std::atomic<std::uint32_t>& active(std::size_t endpoint) { return active_[endpoint]; }
  ActiveRequests active_view() const {
    return ActiveRequests(
        std::span<const std::atomic<std::uint32_t>>(active_.get(), names_.size()));
  }

  // --- control thread
  // Drains reported outcomes into the outlier detector and breaker, runs their timers, and
  // publishes a new snapshot when anything changed.
  void tick();
  // An active check finished.
  void record_check(std::size_t endpoint, CheckResult r);
  // Manual drain from the admin API. False for an unknown endpoint.
  bool set_draining(std::string_view endpoint, bool draining);
  // Carries the state of `old` (the same cluster in the runtime this one replaces) over, before
  // this state is published to workers. For every endpoint that persists (same name and
  // address): active health (up/down, consecutive counts, last result), outlier ejection (until,
  // multiplier, count), the manual drain and its slow-start ramp. The breaker carries over when it
  // is enabled in both. Endpoints that are new start as after start-up, except that they begin a
  // slow-start ramp (they join a running cluster). Cluster-wide counters (health transitions,
  // ejections by rule, breaker transitions) carry over too, so metrics stay monotonic.
  void inherit(const ClusterState& old);

  const config::Cluster& config() const { return cfg_; }
  std::size_t size() const { return names_.size(); }
  // Per endpoint, in order.
  std::vector<EndpointExplanation> explain() const;
  // Samples for /metrics, appended to families[family name] as Prometheus text lines (the caller
  // adds HELP and TYPE once per family, so families of several clusters stay grouped).
  void write_metrics(std::map<std::string, std::string>& families) const;
  // For /admin/upstreams.
  nlohmann::json to_json() const;

 private:
  void publish_locked(TimePoint now);
  std::string ejection_text(std::size_t i, TimePoint now) const;

  config::Cluster cfg_;
  std::vector<std::string> names_;
  std::vector<std::string> addresses_;
  std::vector<double> weights_;
  const Clock& clock_;
  SeededRng rng_;
  std::atomic<std::shared_ptr<const ClusterSnapshot>> snap_;
  BreakerGate gate_;
  ResourceLimits limits_;
  Bulkhead bulkhead_;
  std::shared_ptr<Bulkhead> connections_;
  std::unique_ptr<std::atomic<std::uint32_t>[]> active_;
  std::vector<std::uint64_t> ids_;  // key_hash of each endpoint name: stable hash-table ids

  std::mutex report_mu_;
  struct Report {
    std::size_t endpoint;
    Outcome outcome;
    BreakerAdmission admission;
  };
  std::vector<Report> reports_;  // guarded by report_mu_

  // Control-thread state; mu_ guards it against the admin thread's reads.
  mutable std::mutex mu_;
  HealthTracker health_;
  OutlierDetector outlier_;
  CircuitBreaker breaker_;
  std::vector<bool> draining_;
  SlowStart slow_start_;
  bool was_ramping_ = false;  // at the last tick (guarded by mu_)
  std::vector<bool> was_usable_;
  std::uint64_t version_ = 0;
  std::uint64_t health_transitions_ = 0;
};

}  // namespace sluice::upstream
