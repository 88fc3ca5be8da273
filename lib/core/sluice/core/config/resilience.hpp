// The resilience part of the sluice.toml schema: per-cluster health checks, outlier detection,
// panic mode, slow start, load balancing, circuit breakers and bulkheads, and per-route retries,
// hedging and fallbacks. Plain structs; man sluice.toml(5) documents every key and default. The
// state machines that use them live in lib/upstream.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sluice/core/units.hpp"

namespace sluice::config {

using namespace std::chrono_literals;

// [clusters.health_check]: active checks of every endpoint.
struct HealthCheck {
  bool enabled = false;  // true once the table is present, unless it says enabled = false
  enum class Kind { http, tcp };
  Kind kind = Kind::http;
  std::string path = "/health";
  std::string method = "GET";
  std::string host;  // the Host header; default: the endpoint's host[:port]
  std::vector<std::pair<int, int>> expected_statuses{{200, 399}};  // inclusive ranges
  std::string body_contains;                                       // empty: not checked
  std::string body_regex;  // empty: not checked (ECMAScript)
  Duration interval = 5s;
  double jitter = 0.1;  // each interval is stretched by up to this fraction, at random
  Duration timeout = 1s;
  std::uint32_t healthy_threshold = 2;    // consecutive passes to mark an endpoint up
  std::uint32_t unhealthy_threshold = 3;  // consecutive failures to mark it down
  Duration no_traffic_interval = 30s;     // the interval while the cluster carries no traffic
};

// [clusters.outlier_detection]: passive ejection from the answers to real traffic.
struct OutlierDetection {
  bool enabled = false;
  std::uint32_t consecutive_5xx = 5;              // 0: off
  std::uint32_t consecutive_gateway_failure = 5;  // connect errors, resets, timeouts; 0: off
  Duration interval = 10s;  // how often the rate and latency rules run, and counters decay
  Duration base_ejection_time = 30s;  // times the endpoint's ejection count
  Duration max_ejection_time = 300s;
  double ejection_jitter = 0.1;      // ejections last up to this fraction longer, at random
  double max_ejection_percent = 50;  // at most floor(this% of N) endpoints ejected at once
  // Success rate: eject below mean - stdev_factor * stdev of the endpoints' success rates.
  bool success_rate = true;
  std::uint32_t success_rate_minimum_hosts = 5;
  std::uint32_t success_rate_request_volume = 100;  // per endpoint and interval
  double success_rate_stdev_factor = 1.9;
  // Failure percentage: eject at or above this failure percentage (0: off).
  double failure_percentage_threshold = 0;
  std::uint32_t failure_percentage_minimum_hosts = 5;
  std::uint32_t failure_percentage_request_volume = 50;
  // Latency: eject an endpoint whose p90 over the interval exceeds factor x the cluster median
  // p90, and the floor (0: off).
  double latency_factor = 0;
  Duration latency_floor = 100ms;
  std::uint32_t latency_request_volume = 20;
};

// What a cluster does when the share of usable endpoints falls below panic_threshold.
enum class PanicMode { route_all, fail_fast };

enum class LbPolicy { round_robin, weighted_round_robin, random, least_request, ring_hash, maglev };

// The key of ring_hash and maglev.
struct HashKey {
  enum class Source { header, cookie, source_ip };
  Source source = Source::source_ip;
  std::string name;  // the header or cookie name
};

// [clusters.breaker]: resource limits and the error-rate / slow-call breaker.
struct Breaker {
  std::uint32_t max_connections = 1024;   // upstream connections open at once, all workers
  std::uint32_t max_pending = 1024;       // requests waiting for a connection
  std::uint32_t max_requests = 1024;      // requests in flight
  std::uint32_t max_retries = 3;          // retries in flight
  bool enabled = false;                   // the error-rate / slow-call breaker
  Duration window = 10s;                  // the sliding window
  std::uint32_t minimum_requests = 20;    // in the window, before the rates count
  double failure_rate_threshold = 50;     // percent
  double slow_call_rate_threshold = 100;  // percent; 100 with no slow calls never trips
  Duration slow_call_duration = 1s;
  Duration open_time = 5s;             // the first open period; each reopening doubles it...
  Duration max_open_time = 60s;        // ...up to this
  std::uint32_t half_open_probes = 3;  // requests let through half-open; all must succeed
};

// [clusters.bulkhead]: a per-cluster concurrency limit with a bounded queue.
struct Bulkhead {
  std::uint32_t max_concurrent = 0;  // 0: off
  std::uint32_t max_queue = 0;
  Duration queue_timeout = 1s;
};

enum class RetryOn : std::uint32_t {
  connect_failure = 1u << 0,
  reset = 1u << 1,
  timeout = 1u << 2,
  gateway_error = 1u << 3,  // 502, 503, 504
  status_5xx = 1u << 4,
  retriable_status = 1u << 5,  // the statuses listed in Retry::statuses
  status_429 = 1u << 6,
};

// [routes.retry]
struct Retry {
  std::uint32_t attempts = 1;  // tries in all, the first included; 1: no retries
  std::uint32_t on = static_cast<std::uint32_t>(RetryOn::connect_failure) |
                     static_cast<std::uint32_t>(RetryOn::reset);
  std::vector<int> statuses;  // for retriable_status
  std::optional<Duration> per_try_timeout;
  std::optional<Duration> deadline;          // over all tries; default: the route timeout
  Duration backoff_base = 25ms;              // exponential with full jitter...
  Duration backoff_max = 250ms;              // ...capped here
  Duration retry_after_max = 10s;            // Retry-After is honoured up to this
  bool non_idempotent = false;               // retry POST, PATCH and the like too
  double budget_percent = 20;                // retries in flight <= this% of requests in flight...
  std::uint32_t budget_min_concurrency = 3;  // ...or this many, whichever is larger
  std::optional<Duration> hedge_delay;       // a second try after this delay; the first good wins

  bool retries_on(RetryOn c) const { return (on & static_cast<std::uint32_t>(c)) != 0; }
};

// [routes.fallback]: used when no endpoint is usable or the breaker is open.
struct Fallback {
  std::string cluster;  // another cluster, or
  int status = 0;       // a static response (0: none)
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

}  // namespace sluice::config
