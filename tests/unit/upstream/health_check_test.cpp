// Active health checks: the thresholds of HealthTracker and the check intervals.
#include "sluice/upstream/health_check.hpp"

#include <catch2/catch.hpp>

using namespace sluice;
using namespace sluice::upstream;
using namespace std::chrono_literals;

namespace {

CheckResult pass() {
  return {true, "", 200, 1ms};
}
CheckResult fail(std::string why = "status 503 not in 200-399") {
  return {false, std::move(why), 503, 1ms};
}

}  // namespace

TEST_CASE("health: an endpoint changes state only at the thresholds", "[upstream]") {
  HealthTracker t(2, /*healthy*/ 2, /*unhealthy*/ 3);
  auto wall = std::chrono::system_clock::now();
  CHECK(t.endpoint(0).healthy);  // healthy until proven otherwise
  CHECK_FALSE(t.record(0, fail(), wall));
  CHECK_FALSE(t.record(0, fail(), wall));
  CHECK(t.endpoint(0).healthy);
  CHECK(t.record(0, fail("connect: refused"), wall));  // the third in a row
  CHECK_FALSE(t.endpoint(0).healthy);
  CHECK(t.endpoint(0).failures == 3);
  CHECK(t.endpoint(0).last.error == "connect: refused");
  CHECK(t.endpoint(0).transitions == 1);
  CHECK_FALSE(t.record(0, pass(), wall));
  CHECK_FALSE(t.record(0, fail(), wall));  // a failure resets the passes
  CHECK_FALSE(t.record(0, pass(), wall));
  CHECK(t.record(0, pass(), wall));
  CHECK(t.endpoint(0).healthy);
  CHECK(t.endpoint(0).transitions == 2);
  CHECK(t.endpoint(1).healthy);  // the other endpoint is untouched
  CHECK_FALSE(t.endpoint(1).checked);
}

TEST_CASE("health: thresholds of 0 behave as 1", "[upstream]") {
  HealthTracker t(1, 0, 0);
  auto wall = std::chrono::system_clock::now();
  CHECK(t.record(0, fail(), wall));
  CHECK(t.record(0, pass(), wall));
}

TEST_CASE("health: the next check waits the interval plus jitter, longer without traffic",
          "[upstream]") {
  config::HealthCheck hc;
  hc.interval = 1s;
  hc.jitter = 0.5;
  hc.no_traffic_interval = 10s;
  SeededRng rng(7);
  Duration lo = Duration::max(), hi = Duration::zero();
  for (int i = 0; i < 1000; ++i) {
    auto d = next_check_delay(hc, true, rng);
    lo = std::min(lo, d);
    hi = std::max(hi, d);
  }
  CHECK(lo >= 1s);
  CHECK(hi < 1500ms);
  CHECK(hi > 1400ms);  // the jitter is used
  CHECK(lo < 1100ms);
  auto quiet = next_check_delay(hc, false, rng);
  CHECK(quiet >= 10s);
  CHECK(quiet < 15s);
  hc.jitter = 0;
  CHECK(next_check_delay(hc, true, rng) == 1s);
}

TEST_CASE("health: expected statuses are described as configured", "[upstream]") {
  CHECK(describe_statuses({{200, 399}}) == "200-399");
  CHECK(describe_statuses({{200, 200}, {204, 204}, {300, 399}}) == "200, 204, 300-399");
}
