// sluice.toml: the resilience keys of [[clusters]] and [[routes]] (resilience.hpp).
#include <fstream>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "sluice/core/config/load.hpp"

using namespace sluice;
using namespace sluice::config;
using namespace std::chrono_literals;

namespace {

// One route to cluster "up" with `route_extra` in [[routes]] and `cluster_extra` in [[clusters]].
std::string text(std::string_view cluster_extra, std::string_view route_extra = "") {
  return fmt::format(R"([[listeners]]
listen = "127.0.0.1:0"
[[routes]]
cluster = "up"
{}
[[clusters]]
name = "up"
endpoints = ["127.0.0.1:9001", {{ address = "127.0.0.1:9002", weight = 3 }}]
{}
)",
                     route_extra, cluster_extra);
}

Config ok(const std::string& t) {
  auto r = load_string(t, "s.toml");
  INFO((r ? std::string() : r.error().message));
  REQUIRE(r);
  return std::move(*r);
}

std::string error(const std::string& t) {
  auto r = load_string(t, "s.toml");
  REQUIRE_FALSE(r);
  return r.error().message;
}

}  // namespace

TEST_CASE("config: resilience defaults are off and safe", "[config]") {
  auto c = ok(text(""));
  const auto& cl = c.clusters[0];
  CHECK_FALSE(cl.health_check.enabled);
  CHECK_FALSE(cl.outlier.enabled);
  CHECK_FALSE(cl.breaker.enabled);
  CHECK(cl.panic_threshold == 50);
  CHECK(cl.panic_mode == PanicMode::route_all);
  CHECK(cl.endpoints[0].weight == 1);
  CHECK(cl.endpoints[1].weight == 3);
  CHECK(cl.endpoints[1].address.port == 9002);
  CHECK(c.routes[0].retry.attempts == 1);
}

TEST_CASE("config: health checks, outlier detection, panic and the breaker are read", "[config]") {
  auto c = ok(text(R"(panic_threshold = 30
panic_mode = "fail_fast"
[clusters.health_check]
path = "/ready"
method = "head"
expected_statuses = [200, "300-302", "2xx"]
body_contains = "UP"
interval = "2s"
jitter = 0.2
timeout = "300ms"
healthy_threshold = 1
unhealthy_threshold = 4
no_traffic_interval = "1m"
[clusters.outlier_detection]
consecutive_5xx = 3
consecutive_gateway_failure = 0
base_ejection_time = "1s"
max_ejection_time = "10s"
max_ejection_percent = 34
latency_factor = 3
latency_floor = "50ms"
[clusters.breaker]
failure_rate_threshold = 40
open_time = "2s")"));
  const auto& cl = c.clusters[0];
  CHECK(cl.health_check.enabled);
  CHECK(cl.health_check.path == "/ready");
  CHECK(cl.health_check.method == "HEAD");
  REQUIRE(cl.health_check.expected_statuses.size() == 3);
  CHECK(cl.health_check.expected_statuses[1] == std::pair<int, int>{300, 302});
  CHECK(cl.health_check.expected_statuses[2] == std::pair<int, int>{200, 299});
  CHECK(cl.health_check.interval == 2s);
  CHECK(cl.health_check.jitter == 0.2);
  CHECK(cl.health_check.unhealthy_threshold == 4);
  CHECK(cl.outlier.enabled);
  CHECK(cl.outlier.consecutive_5xx == 3);
  CHECK(cl.outlier.consecutive_gateway_failure == 0);
  CHECK(cl.outlier.max_ejection_percent == 34);
  CHECK(cl.outlier.latency_factor == 3);
  CHECK(cl.panic_threshold == 30);
  CHECK(cl.panic_mode == PanicMode::fail_fast);
  CHECK(cl.breaker.enabled);
  CHECK(cl.breaker.failure_rate_threshold == 40);
  CHECK(cl.breaker.open_time == 2s);
}

TEST_CASE("config: load balancing, hash keys and slow start", "[config]") {
  auto c =
      ok(text("lb_policy = \"ring_hash\"\nhash_key = \"header:X-User\"\nslow_start = \"30s\""));
  CHECK(c.clusters[0].lb == LbPolicy::ring_hash);
  CHECK(c.clusters[0].hash_key.source == HashKey::Source::header);
  CHECK(c.clusters[0].hash_key.name == "x-user");
  CHECK(c.clusters[0].slow_start == 30s);
  CHECK(ok(text("lb_policy = \"maglev\"\nhash_key = \"cookie:sid\"")).clusters[0].hash_key.name ==
        "sid");
  CHECK(ok(text("lb_policy = \"least_request\"")).clusters[0].lb == LbPolicy::least_request);
  CHECK(error(text("lb_policy = \"leastrequest\"")).find("did you mean \"least_request\"?") !=
        std::string::npos);
  CHECK(error(text("lb_policy = \"maglev\"\nhash_key = \"header:\"")).find("is not a hash key") !=
        std::string::npos);
}

TEST_CASE("config: a bulkhead", "[config]") {
  auto c =
      ok(text("[clusters.bulkhead]\nmax_concurrent = 8\nmax_queue = 4\nqueue_timeout = \"250ms\""));
  CHECK(c.clusters[0].bulkhead.max_concurrent == 8);
  CHECK(c.clusters[0].bulkhead.max_queue == 4);
  CHECK(c.clusters[0].bulkhead.queue_timeout == 250ms);
  CHECK(error(text("[clusters.bulkhead]\nmax_queue = 4"))
            .find("clusters[0].bulkhead.max_concurrent: required key is missing") !=
        std::string::npos);
}

TEST_CASE("config: a route's retry table", "[config]") {
  auto c = ok(text("", R"([routes.retry]
attempts = 3
on = ["reset", "gateway-error", "429"]
statuses = [409]
per_try_timeout = "500ms"
backoff_base = "10ms"
backoff_max = "100ms"
budget_percent = 25)"));
  const auto& r = c.routes[0].retry;
  CHECK(r.attempts == 3);
  CHECK(r.retries_on(RetryOn::reset));
  CHECK(r.retries_on(RetryOn::gateway_error));
  CHECK(r.retries_on(RetryOn::status_429));
  CHECK(r.retries_on(RetryOn::retriable_status));  // implied by statuses
  CHECK_FALSE(r.retries_on(RetryOn::connect_failure));
  CHECK(r.statuses == std::vector<int>{409});
  CHECK(r.per_try_timeout == 500ms);
  CHECK(r.budget_percent == 25);
  CHECK(ok(text("", "[routes.retry]")).routes[0].retry.attempts == 2);
}

TEST_CASE("config: resilience errors name the key and a fix", "[config]") {
  CHECK(error(text("panic_mode = \"fail_fst\""))
            .find("clusters[0].panic_mode: unknown value \"fail_fst\" (hint: did you mean "
                  "\"fail_fast\"?)") != std::string::npos);
  CHECK(error(text("[clusters.health_check]\nexpected_statuses = [\"2x\"]"))
            .find("clusters[0].health_check.expected_statuses[0]: is not a status") !=
        std::string::npos);
  CHECK(error(text("[clusters.health_check]\nbody_regex = \"(\""))
            .find("clusters[0].health_check.body_regex: invalid regular expression") !=
        std::string::npos);
  CHECK(error(text("[clusters.outlier_detection]\nbase_ejection_time = \"10s\"\n"
                   "max_ejection_time = \"1s\""))
            .find("max_ejection_time: is shorter than base_ejection_time") != std::string::npos);
  CHECK(error(text("", "[routes.retry]\non = [\"resett\"]"))
            .find("routes[0].retry.on[0]: unknown retry condition \"resett\" (hint: did you mean "
                  "\"reset\"?)") != std::string::npos);
  CHECK(error(text("", "[routes.retry]\nattempts = 11")).find("routes[0].retry.attempts") !=
        std::string::npos);
  CHECK(error(text("[clusters.outlier_detection]\nconsecutive_5x = 3"))
            .find("did you mean \"consecutive_5xx\"?") != std::string::npos);
  CHECK(error(text("hash_key = \"header:x-user\"")).find("only ring_hash and maglev") !=
        std::string::npos);
}

TEST_CASE("config: dns_refresh is a duration", "[config]") {
  CHECK(ok(text("dns_refresh = \"10s\"")).clusters[0].dns_refresh == 10s);
}

TEST_CASE("config: breaker connection limits", "[config]") {
  auto c = ok(text("[clusters.breaker]\nmax_connections = 3\nmax_pending = 0"));
  CHECK(c.clusters[0].breaker.max_connections == 3);
  CHECK(c.clusters[0].breaker.max_pending == 0);
  CHECK_FALSE(c.clusters[0].breaker.enabled);  // limits alone do not turn the breaker on
  CHECK(error(text("[clusters.breaker]\nmax_connections = 0"))
            .find("clusters[0].breaker.max_connections") != std::string::npos);
}

TEST_CASE("config: hedge_delay needs a second attempt", "[config]") {
  CHECK(ok(text("", "[routes.retry]\nhedge_delay = \"50ms\"")).routes[0].retry.hedge_delay == 50ms);
  CHECK(error(text("", "[routes.retry]\nattempts = 1\nhedge_delay = \"50ms\""))
            .find("routes[0].retry.hedge_delay: needs attempts = 2 or more") != std::string::npos);
}

TEST_CASE("config: the man page documents every resilience key", "[config]") {
  std::ifstream in(std::string(SLUICE_SOURCE_DIR) + "/man/sluice.toml.5");
  std::stringstream man;
  man << in.rdbuf();
  for (std::string_view key : {"health_check",
                               "outlier_detection",
                               "panic_threshold",
                               "panic_mode",
                               "breaker",
                               "retry",
                               "weight",
                               "expected_statuses",
                               "body_contains",
                               "body_regex",
                               "no_traffic_interval",
                               "healthy_threshold",
                               "unhealthy_threshold",
                               "consecutive_5xx",
                               "consecutive_gateway_failure",
                               "base_ejection_time",
                               "max_ejection_time",
                               "ejection_jitter",
                               "max_ejection_percent",
                               "success_rate_stdev_factor",
                               "failure_percentage_threshold",
                               "latency_factor",
                               "latency_floor",
                               "minimum_requests",
                               "failure_rate_threshold",
                               "slow_call_rate_threshold",
                               "open_time",
                               "max_open_time",
                               "half_open_probes",
                               "attempts",
                               "per_try_timeout",
                               "deadline",
                               "backoff_base",
                               "retry_after_max",
                               "non_idempotent",
                               "budget_percent",
                               "budget_min_concurrency",
                               "hedge_delay",
                               "fallback",
                               "max_requests",
                               "max_connections",
                               "max_pending",
                               "max_retries",
                               "lb_policy",
                               "hash_key",
                               "slow_start",
                               "weighted_round_robin",
                               "least_request",
                               "ring_hash",
                               "maglev"}) {
    INFO(key);
    CHECK(man.str().find(std::string(key)) != std::string::npos);
  }
}
