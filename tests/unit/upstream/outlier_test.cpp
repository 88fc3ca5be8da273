// Passive outlier detection: every rule, the ejection backoff, decay and the cap, on a manual
// clock.
#include "sluice/upstream/outlier.hpp"

#include <cmath>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

using namespace std::chrono_literals;
using sluice::Duration;
using sluice::ManualClock;
using sluice::SeededRng;
using sluice::TimePoint;
using sluice::config::OutlierDetection;
using sluice::upstream::Outcome;
using sluice::upstream::OutcomeKind;
using sluice::upstream::OutlierDetector;
using sluice::upstream::OutlierRule;

namespace {

// Enabled, every rule off, no jitter, no cap: each test turns on what it exercises.
OutlierDetection quiet() {
  OutlierDetection c;
  c.enabled = true;
  c.consecutive_5xx = 0;
  c.consecutive_gateway_failure = 0;
  c.success_rate = false;
  c.failure_percentage_threshold = 0;
  c.latency_factor = 0;
  c.ejection_jitter = 0;
  c.max_ejection_percent = 100;
  c.interval = 10s;
  c.base_ejection_time = 30s;
  c.max_ejection_time = 300s;
  return c;
}

void repeat(OutlierDetector& d, std::size_t i, int n, Outcome o, TimePoint now) {
  for (int k = 0; k < n; ++k) d.record(i, o, now);
}

const Outcome kOk = Outcome::from_status(200, 10ms);
const Outcome k500 = Outcome::from_status(500, 10ms);
const Outcome kReset = Outcome::gateway();

// `requests` requests to endpoint i, of which `successes` succeed.
void traffic(OutlierDetector& d, std::size_t i, int requests, int successes, TimePoint now) {
  repeat(d, i, successes, kOk, now);
  repeat(d, i, requests - successes, k500, now);
}

}  // namespace

TEST_CASE("outlier: consecutive 5xx ejects on the record that reaches the count",
          "[upstream][outlier]") {
  ManualClock clock;
  SeededRng rng(1);
  auto cfg = quiet();
  cfg.consecutive_5xx = 5;
  OutlierDetector d(cfg, 3, rng);

  repeat(d, 0, 4, k500, clock.now());
  CHECK_FALSE(d.ejected(0));
  CHECK(d.report(0).consecutive_5xx == 4);
  d.record(0, kOk, clock.now());  // a success resets the streak
  CHECK(d.report(0).consecutive_5xx == 0);
  repeat(d, 0, 4, k500, clock.now());
  CHECK_FALSE(d.ejected(0));
  const auto v = d.version();
  d.record(0, k500, clock.now());
  CHECK(d.ejected(0));
  CHECK(d.version() != v);
  CHECK(d.ejected_count() == 1);
  CHECK(d.ejected_mask() == std::vector<bool>{true, false, false});

  const auto r = d.report(0);
  CHECK(r.ejected);
  REQUIRE(r.rule);
  CHECK(*r.rule == OutlierRule::consecutive_5xx);
  CHECK(r.detail == "5 consecutive 5xx");
  CHECK(r.since == clock.now());
  CHECK(r.until == clock.now() + 30s);
  CHECK(r.times_ejected == 1);
  CHECK(r.multiplier == 1);
  CHECK(d.ejections_total(OutlierRule::consecutive_5xx) == 1);
  CHECK(d.ejections_total(OutlierRule::consecutive_gateway_failure) == 0);
}

TEST_CASE("outlier: 4xx answers count as success", "[upstream][outlier]") {
  ManualClock clock;
  SeededRng rng(1);
  auto cfg = quiet();
  cfg.consecutive_5xx = 3;
  OutlierDetector d(cfg, 2, rng);
  repeat(d, 0, 2, k500, clock.now());
  d.record(0, Outcome::from_status(404, 1ms), clock.now());
  repeat(d, 0, 2, k500, clock.now());
  CHECK_FALSE(d.ejected(0));
  d.record(0, Outcome::from_status(503, 1ms), clock.now());
  CHECK(d.ejected(0));
}

TEST_CASE("outlier: consecutive gateway failures; an answer resets them", "[upstream][outlier]") {
  ManualClock clock;
  SeededRng rng(1);
  auto cfg = quiet();
  cfg.consecutive_gateway_failure = 3;
  OutlierDetector d(cfg, 2, rng);

  repeat(d, 0, 2, kReset, clock.now());
  d.record(0, k500, clock.now());  // the endpoint answered: its transport works
  CHECK(d.report(0).consecutive_gateway_failure == 0);
  repeat(d, 0, 2, kReset, clock.now());
  CHECK_FALSE(d.ejected(0));
  d.record(0, kReset, clock.now());
  REQUIRE(d.ejected(0));
  CHECK(*d.report(0).rule == OutlierRule::consecutive_gateway_failure);
  CHECK(d.report(0).detail == "3 consecutive gateway failures (connect error, reset or timeout)");
  CHECK(d.ejections_total(OutlierRule::consecutive_gateway_failure) == 1);
}

TEST_CASE("outlier: gateway failures also count toward consecutive 5xx", "[upstream][outlier]") {
  ManualClock clock;
  SeededRng rng(1);
  auto cfg = quiet();
  cfg.consecutive_5xx = 4;
  OutlierDetector d(cfg, 2, rng);
  d.record(0, k500, clock.now());
  d.record(0, kReset, clock.now());
  d.record(0, k500, clock.now());
  CHECK_FALSE(d.ejected(0));
  d.record(0, kReset, clock.now());
  REQUIRE(d.ejected(0));
  CHECK(*d.report(0).rule == OutlierRule::consecutive_5xx);
}

TEST_CASE("outlier: a zero threshold turns a consecutive rule off", "[upstream][outlier]") {
  ManualClock clock;
  SeededRng rng(1);
  auto cfg = quiet();
  OutlierDetector d(cfg, 2, rng);
  repeat(d, 0, 1000, k500, clock.now());
  repeat(d, 0, 1000, kReset, clock.now());
  CHECK_FALSE(d.ejected(0));
  CHECK(d.ejected_count() == 0);
}

TEST_CASE("outlier: disabled detection never ejects", "[upstream][outlier]") {
  ManualClock clock;
  SeededRng rng(1);
  auto cfg = quiet();
  cfg.enabled = false;
  cfg.consecutive_5xx = 1;
  OutlierDetector d(cfg, 4, rng);
  repeat(d, 0, 10, k500, clock.now());
  d.tick(clock.now() + 1h);
  CHECK(d.ejected_count() == 0);
  CHECK_FALSE(d.next_deadline());
}

TEST_CASE("outlier: re-admission happens on tick once the ejection time passed",
          "[upstream][outlier]") {
  ManualClock clock;
  SeededRng rng(1);
  auto cfg = quiet();
  cfg.consecutive_5xx = 2;
  OutlierDetector d(cfg, 2, rng);
  repeat(d, 1, 2, k500, clock.now());
  REQUIRE(d.ejected(1));
  const auto until = d.report(1).until;
  REQUIRE(d.next_deadline());
  CHECK(*d.next_deadline() <= until);

  clock.advance(29s);
  d.tick(clock.now());
  CHECK(d.ejected(1));
  clock.advance(1s);
  CHECK(d.ejected(1));  // queries never read the clock: tick() does the re-admission
  d.tick(clock.now());
  CHECK_FALSE(d.ejected(1));
  // Counters reset on re-admission: one more 5xx does not re-eject.
  CHECK(d.report(1).consecutive_5xx == 0);
  d.record(1, k500, clock.now());
  CHECK_FALSE(d.ejected(1));
}

TEST_CASE("outlier: outcomes reported for an ejected endpoint are ignored", "[upstream][outlier]") {
  ManualClock clock;
  SeededRng rng(1);
  auto cfg = quiet();
  cfg.consecutive_5xx = 2;
  OutlierDetector d(cfg, 2, rng);
  repeat(d, 0, 2, k500, clock.now());
  REQUIRE(d.ejected(0));
  repeat(d, 0, 10, k500, clock.now());
  CHECK(d.report(0).times_ejected == 1);
  CHECK(d.report(0).consecutive_5xx == 2);
  d.record(99, k500, clock.now());  // out of range: ignored, no crash
  CHECK(d.ejected_count() == 1);
}

TEST_CASE("outlier: ejection time backs off by the ejection count up to the max",
          "[upstream][outlier]") {
  ManualClock clock;
  SeededRng rng(1);
  auto cfg = quiet();
  cfg.consecutive_5xx = 1;
  cfg.base_ejection_time = 10s;
  cfg.max_ejection_time = 35s;
  cfg.interval = 1h;  // no decay during the test
  OutlierDetector d(cfg, 2, rng);

  const std::vector<Duration> expected{10s, 20s, 30s, 35s, 35s, 35s};
  const std::vector<std::uint32_t> multipliers{1, 2, 3, 4, 4, 4};
  for (std::size_t k = 0; k < expected.size(); ++k) {
    d.record(0, k500, clock.now());
    REQUIRE(d.ejected(0));
    const auto r = d.report(0);
    CHECK(r.until - r.since == expected[k]);
    CHECK(r.multiplier == multipliers[k]);
    CHECK(r.times_ejected == k + 1);
    clock.advance(expected[k]);
    d.tick(clock.now());
    REQUIRE_FALSE(d.ejected(0));
  }
}

TEST_CASE("outlier: max below base ejects for base", "[upstream][outlier]") {
  ManualClock clock;
  SeededRng rng(1);
  auto cfg = quiet();
  cfg.consecutive_5xx = 1;
  cfg.base_ejection_time = 30s;
  cfg.max_ejection_time = 10s;
  OutlierDetector d(cfg, 2, rng);
  d.record(0, k500, clock.now());
  const auto r = d.report(0);
  CHECK(r.until - r.since == 30s);
}

TEST_CASE("outlier: jitter lengthens ejections by at most the jitter fraction",
          "[upstream][outlier]") {
  ManualClock clock;
  auto cfg = quiet();
  cfg.consecutive_5xx = 1;
  cfg.base_ejection_time = 10s;
  cfg.ejection_jitter = 0.5;
  std::set<Duration::rep> seen;
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    SeededRng rng(seed);
    OutlierDetector d(cfg, 2, rng);
    d.record(0, k500, clock.now());
    const auto r = d.report(0);
    const Duration len = r.until - r.since;
    REQUIRE(len >= 10s);
    REQUIRE(len < 15s);
    seen.insert(len.count());
  }
  CHECK(seen.size() > 150);  // jitter is applied, not a constant
}

TEST_CASE("outlier: the multiplier decays one step per interval out of ejection",
          "[upstream][outlier]") {
  ManualClock clock;
  SeededRng rng(1);
  auto cfg = quiet();
  cfg.consecutive_5xx = 1;
  cfg.base_ejection_time = 10s;
  cfg.max_ejection_time = 300s;
  cfg.interval = 10s;
  OutlierDetector d(cfg, 2, rng);

  // Three ejections back to back: multiplier 3.
  for (Duration len : {10s, 20s, 30s}) {
    d.record(0, k500, clock.now());
    clock.advance(len);
    d.tick(clock.now());
    REQUIRE_FALSE(d.ejected(0));
  }
  REQUIRE(d.report(0).multiplier == 3);

  clock.advance(9s);
  d.tick(clock.now());
  CHECK(d.report(0).multiplier == 3);  // not a full interval yet
  clock.advance(1s);
  d.tick(clock.now());
  CHECK(d.report(0).multiplier == 2);
  clock.advance(10s);
  d.tick(clock.now());
  CHECK(d.report(0).multiplier == 1);

  // The next ejection builds on multiplier 1: 2 x base.
  d.record(0, k500, clock.now());
  auto r = d.report(0);
  CHECK(r.until - r.since == 20s);
  CHECK(r.times_ejected == 4);  // the total never decays

  // A late tick catches up on several intervals at once.
  clock.advance(20s);
  d.tick(clock.now());
  REQUIRE_FALSE(d.ejected(0));
  clock.advance(45s);
  d.tick(clock.now());
  CHECK(d.report(0).multiplier == 0);
  d.record(0, k500, clock.now());
  r = d.report(0);
  CHECK(r.until - r.since == 10s);
}

TEST_CASE("outlier: the cap holds for 1 to 10 endpoints when every endpoint fails",
          "[upstream][outlier]") {
  for (double pct : {50.0, 100.0, 30.0, 10.0}) {
    for (std::size_t n = 1; n <= 10; ++n) {
      ManualClock clock;
      SeededRng rng(n);
      auto cfg = quiet();
      cfg.consecutive_5xx = 3;
      cfg.max_ejection_percent = pct;
      OutlierDetector d(cfg, n, rng);
      const std::size_t cap =
          n == 1 ? 0 : static_cast<std::size_t>(std::floor(pct * static_cast<double>(n) / 100));
      INFO("n=" << n << " pct=" << pct);
      CHECK(d.max_ejected() == cap);
      for (int round = 0; round < 3; ++round)
        for (std::size_t i = 0; i < n; ++i) repeat(d, i, 5, k500, clock.now());
      CHECK(d.ejected_count() == cap);
      std::size_t flagged = 0;
      for (std::size_t i = 0; i < n; ++i) flagged += d.ejected(i) ? 1 : 0;
      CHECK(flagged == cap);
      // Each held-back endpoint is counted once for its streak, not once per failure.
      CHECK(d.skipped_by_cap(OutlierRule::consecutive_5xx) == n - cap);
      CHECK(d.ejections_total(OutlierRule::consecutive_5xx) == cap);
    }
  }
}

TEST_CASE("outlier: floor of the percentage: 2 endpoints at 50% eject 1, 3 eject 1",
          "[upstream][outlier]") {
  ManualClock clock;
  SeededRng rng(1);
  auto cfg = quiet();
  cfg.max_ejection_percent = 50;
  CHECK(OutlierDetector(cfg, 1, rng).max_ejected() == 0);
  CHECK(OutlierDetector(cfg, 2, rng).max_ejected() == 1);
  CHECK(OutlierDetector(cfg, 3, rng).max_ejected() == 1);
  CHECK(OutlierDetector(cfg, 4, rng).max_ejected() == 2);
  cfg.max_ejection_percent = 100;
  CHECK(OutlierDetector(cfg, 1, rng).max_ejected() == 0);  // the only endpoint stays
  CHECK(OutlierDetector(cfg, 2, rng).max_ejected() == 2);
}

TEST_CASE("outlier: an endpoint held back by the cap says so, and is ejected once room frees up",
          "[upstream][outlier]") {
  ManualClock clock;
  SeededRng rng(1);
  auto cfg = quiet();
  cfg.consecutive_5xx = 2;
  cfg.max_ejection_percent = 50;
  OutlierDetector d(cfg, 2, rng);
  repeat(d, 0, 2, k500, clock.now());
  REQUIRE(d.ejected(0));
  repeat(d, 1, 2, k500, clock.now());
  CHECK_FALSE(d.ejected(1));
  auto r = d.report(1);
  REQUIRE(r.held_by_cap);
  CHECK(*r.held_by_cap == OutlierRule::consecutive_5xx);
  CHECK(r.detail.find("2 consecutive 5xx") == 0);
  CHECK(r.detail.find("1 of 2 endpoints already ejected") != std::string::npos);

  CHECK(d.readmit(0, clock.now()));
  d.record(1, k500, clock.now());  // the streak goes on: this failure ejects
  CHECK(d.ejected(1));
  CHECK_FALSE(d.report(1).held_by_cap);
  CHECK(d.skipped_by_cap(OutlierRule::consecutive_5xx) == 1);
}

TEST_CASE("outlier: readmit ends an ejection at once", "[upstream][outlier]") {
  ManualClock clock;
  SeededRng rng(1);
  auto cfg = quiet();
  cfg.consecutive_gateway_failure = 2;
  OutlierDetector d(cfg, 3, rng);
  CHECK_FALSE(d.readmit(2, clock.now()));
  repeat(d, 2, 2, kReset, clock.now());
  REQUIRE(d.ejected(2));
  const auto v = d.version();
  clock.advance(1s);
  CHECK(d.readmit(2, clock.now()));
  CHECK_FALSE(d.ejected(2));
  CHECK(d.version() != v);
  CHECK(d.report(2).consecutive_gateway_failure == 0);
  CHECK(d.report(2).times_ejected == 1);
  CHECK_FALSE(d.readmit(2, clock.now()));
  CHECK_FALSE(d.readmit(7, clock.now()));
}

TEST_CASE("outlier: success-rate rule ejects below mean - factor x stdev", "[upstream][outlier]") {
  ManualClock clock;
  SeededRng rng(1);
  auto cfg = quiet();
  cfg.success_rate = true;
  cfg.success_rate_minimum_hosts = 5;
  cfg.success_rate_request_volume = 100;
  cfg.success_rate_stdev_factor = 1.9;
  OutlierDetector d(cfg, 6, rng);

  // Rates 100, 100, 100, 100, 50: mean 90, stdev sqrt((4 x 10^2 + 40^2) / 5) = 20,
  // threshold 90 - 1.9 x 20 = 52. Endpoint 5 has too little traffic to count.
  for (std::size_t i = 0; i < 4; ++i) traffic(d, i, 100, 100, clock.now());
  traffic(d, 4, 100, 50, clock.now());
  traffic(d, 5, 99, 0, clock.now());
  clock.advance(9s);
  d.tick(clock.now());
  CHECK(d.ejected_count() == 0);  // the interval is not over
  clock.advance(1s);
  d.tick(clock.now());
  CHECK(d.ejected(4));
  CHECK_FALSE(d.ejected(5));
  CHECK(d.ejected_count() == 1);
  const auto r = d.report(4);
  CHECK(*r.rule == OutlierRule::success_rate);
  CHECK(r.detail == "success rate 50% < threshold 52% (mean 90%, stdev 20%)");
  REQUIRE(r.success_rate);
  CHECK(*r.success_rate == Approx(50));
  CHECK(r.interval_requests == 100);
  CHECK(d.report(0).success_rate.value_or(-1) == Approx(100));
  CHECK(d.report(5).success_rate.value_or(-1) == Approx(0));
  CHECK(d.ejections_total(OutlierRule::success_rate) == 1);

  // Statistics restart each interval: nothing happens in a quiet interval.
  clock.advance(10s);
  d.tick(clock.now());
  CHECK(d.ejected_count() == 1);
}

TEST_CASE("outlier: success-rate rule needs enough endpoints with enough volume",
          "[upstream][outlier]") {
  ManualClock clock;
  SeededRng rng(1);
  auto cfg = quiet();
  cfg.success_rate = true;
  cfg.success_rate_minimum_hosts = 5;
  cfg.success_rate_request_volume = 100;
  OutlierDetector d(cfg, 5, rng);
  for (std::size_t i = 0; i < 3; ++i) traffic(d, i, 100, 100, clock.now());
  traffic(d, 3, 100, 0, clock.now());
  traffic(d, 4, 50, 50, clock.now());  // below the volume: only 4 qualifying endpoints
  clock.advance(10s);
  d.tick(clock.now());
  CHECK(d.ejected_count() == 0);

  // Same rates with enough volume everywhere: 0% is far below the others.
  for (std::size_t i = 0; i < 3; ++i) traffic(d, i, 100, 100, clock.now());
  traffic(d, 3, 100, 0, clock.now());
  traffic(d, 4, 100, 100, clock.now());
  clock.advance(10s);
  d.tick(clock.now());
  CHECK(d.ejected(3));
  CHECK(d.ejected_count() == 1);
}

TEST_CASE("outlier: equal success rates eject nobody", "[upstream][outlier]") {
  ManualClock clock;
  SeededRng rng(1);
  auto cfg = quiet();
  cfg.success_rate = true;
  cfg.success_rate_minimum_hosts = 3;
  cfg.success_rate_request_volume = 10;
  OutlierDetector d(cfg, 4, rng);
  for (std::size_t i = 0; i < 4; ++i) traffic(d, i, 20, 10, clock.now());
  clock.advance(10s);
  d.tick(clock.now());
  CHECK(d.ejected_count() == 0);
  CHECK(d.report(2).success_rate.value_or(-1) == Approx(50));
}

TEST_CASE("outlier: failure-percentage rule ejects at or above the threshold",
          "[upstream][outlier]") {
  ManualClock clock;
  SeededRng rng(1);
  auto cfg = quiet();
  cfg.failure_percentage_threshold = 40;
  cfg.failure_percentage_minimum_hosts = 3;
  cfg.failure_percentage_request_volume = 10;
  OutlierDetector d(cfg, 4, rng);
  traffic(d, 0, 10, 5, clock.now());  // 50% failed
  traffic(d, 1, 10, 6, clock.now());  // 40%: at the threshold
  traffic(d, 2, 10, 9, clock.now());  // 10%
  traffic(d, 3, 9, 0, clock.now());   // 100%, but below the volume
  clock.advance(10s);
  d.tick(clock.now());
  CHECK(d.ejected(0));
  CHECK(d.ejected(1));
  CHECK_FALSE(d.ejected(2));
  CHECK_FALSE(d.ejected(3));
  CHECK(d.report(0).detail == "failure percentage 50% >= threshold 40%");
  CHECK(d.ejections_total(OutlierRule::failure_percentage) == 2);
}

TEST_CASE("outlier: failure-percentage rule needs its minimum hosts", "[upstream][outlier]") {
  ManualClock clock;
  SeededRng rng(1);
  auto cfg = quiet();
  cfg.failure_percentage_threshold = 40;
  cfg.failure_percentage_minimum_hosts = 3;
  cfg.failure_percentage_request_volume = 10;
  OutlierDetector d(cfg, 3, rng);
  traffic(d, 0, 10, 0, clock.now());
  traffic(d, 1, 10, 10, clock.now());
  clock.advance(10s);
  d.tick(clock.now());
  CHECK(d.ejected_count() == 0);
}

TEST_CASE("outlier: interval rules eject the worst endpoints first within the cap",
          "[upstream][outlier]") {
  ManualClock clock;
  SeededRng rng(1);
  auto cfg = quiet();
  cfg.failure_percentage_threshold = 30;
  cfg.failure_percentage_minimum_hosts = 4;
  cfg.failure_percentage_request_volume = 10;
  cfg.max_ejection_percent = 25;  // 1 of 4
  OutlierDetector d(cfg, 4, rng);
  traffic(d, 0, 10, 6, clock.now());  // 40% failed
  traffic(d, 1, 10, 1, clock.now());  // 90% failed: the worst
  traffic(d, 2, 10, 5, clock.now());  // 50%
  traffic(d, 3, 10, 10, clock.now());
  clock.advance(10s);
  d.tick(clock.now());
  CHECK(d.ejected(1));
  CHECK(d.ejected_count() == 1);
  CHECK(d.skipped_by_cap(OutlierRule::failure_percentage) == 2);
  const auto held = d.report(2);
  REQUIRE(held.held_by_cap);
  CHECK(*held.held_by_cap == OutlierRule::failure_percentage);
  CHECK(held.detail.find("failure percentage 50% >= threshold 30%") == 0);
}

namespace {

// `n` answered requests to endpoint i with latency `lat`.
void answered(OutlierDetector& d, std::size_t i, int n, Duration lat, TimePoint now) {
  repeat(d, i, n, Outcome::from_status(200, lat), now);
}

OutlierDetection latency_cfg() {
  auto cfg = quiet();
  cfg.latency_factor = 3;
  cfg.latency_floor = 100ms;
  cfg.latency_request_volume = 20;
  return cfg;
}

}  // namespace

TEST_CASE("outlier: latency rule ejects a p90 above factor x median and the floor",
          "[upstream][outlier]") {
  ManualClock clock;
  SeededRng rng(1);
  OutlierDetector d(latency_cfg(), 4, rng);
  for (std::size_t i = 0; i < 3; ++i) answered(d, i, 20, 40ms, clock.now());
  answered(d, 3, 20, 812ms, clock.now());
  clock.advance(10s);
  d.tick(clock.now());
  CHECK(d.ejected(3));
  CHECK(d.ejected_count() == 1);
  const auto r = d.report(3);
  CHECK(*r.rule == OutlierRule::latency);
  CHECK(r.detail == "p90 812ms > 3 x cluster median 40ms (floor 100ms)");
  REQUIRE(r.latency_p90);
  CHECK(*r.latency_p90 == 812ms);
  CHECK(d.report(0).latency_p90.value_or(0s) == 40ms);
  CHECK(d.ejections_total(OutlierRule::latency) == 1);
}

TEST_CASE("outlier: latency rule respects the floor", "[upstream][outlier]") {
  ManualClock clock;
  SeededRng rng(1);
  auto cfg = latency_cfg();
  {
    OutlierDetector d(cfg, 4, rng);
    for (std::size_t i = 0; i < 3; ++i) answered(d, i, 20, 10ms, clock.now());
    answered(d, 3, 20, 90ms, clock.now());  // 9 x the median, but under the 100ms floor
    clock.advance(10s);
    d.tick(clock.now());
    CHECK(d.ejected_count() == 0);
  }
  cfg.latency_floor = 50ms;
  {
    OutlierDetector d(cfg, 4, rng);
    for (std::size_t i = 0; i < 3; ++i) answered(d, i, 20, 10ms, clock.now());
    answered(d, 3, 20, 90ms, clock.now());
    clock.advance(10s);
    d.tick(clock.now());
    CHECK(d.ejected(3));
  }
}

TEST_CASE("outlier: latency rule uses the p90, not the worst request", "[upstream][outlier]") {
  ManualClock clock;
  SeededRng rng(1);
  OutlierDetector d(latency_cfg(), 4, rng);
  for (std::size_t i = 0; i < 3; ++i) answered(d, i, 20, 40ms, clock.now());
  answered(d, 3, 18, 40ms, clock.now());  // 2 slow of 20: the p90 is still 40ms
  answered(d, 3, 2, 2s, clock.now());
  clock.advance(10s);
  d.tick(clock.now());
  CHECK(d.ejected_count() == 0);
  CHECK(d.report(3).latency_p90.value_or(0s) == 40ms);

  for (std::size_t i = 0; i < 3; ++i) answered(d, i, 20, 40ms, clock.now());
  answered(d, 3, 17, 40ms, clock.now());  // 3 slow of 20: the p90 is slow
  answered(d, 3, 3, 2s, clock.now());
  clock.advance(10s);
  d.tick(clock.now());
  CHECK(d.ejected(3));
}

TEST_CASE("outlier: latency rule needs 3 endpoints with enough answered requests",
          "[upstream][outlier]") {
  ManualClock clock;
  SeededRng rng(1);
  OutlierDetector d(latency_cfg(), 3, rng);
  answered(d, 0, 20, 40ms, clock.now());
  answered(d, 1, 19, 40ms, clock.now());  // one short of the volume...
  repeat(d, 1, 10, kReset, clock.now());  // ...and failures without an answer carry no latency
  answered(d, 2, 20, 2s, clock.now());
  clock.advance(10s);
  d.tick(clock.now());
  CHECK(d.ejected_count() == 0);

  // The same with the volume reached everywhere: 3 endpoints qualify and the slow one goes.
  answered(d, 0, 20, 40ms, clock.now());
  answered(d, 1, 20, 40ms, clock.now());
  answered(d, 2, 20, 2s, clock.now());
  clock.advance(10s);
  d.tick(clock.now());
  CHECK(d.ejected(2));
}

TEST_CASE("outlier: latency samples stay bounded and the p90 stays right", "[upstream][outlier]") {
  ManualClock clock;
  SeededRng rng(7);
  OutlierDetector d(latency_cfg(), 4, rng);
  // 10,000 requests per endpoint; endpoint 3 answers half its requests in 1s.
  for (int k = 0; k < 10000; ++k) {
    for (std::size_t i = 0; i < 3; ++i) answered(d, i, 1, 40ms, clock.now());
    answered(d, 3, 1, k % 2 ? 1s : 40ms, clock.now());
  }
  clock.advance(10s);
  d.tick(clock.now());
  CHECK(d.report(0).latency_p90.value_or(0s) == 40ms);
  CHECK(d.report(3).latency_p90.value_or(0s) == 1s);
  CHECK(d.ejected(3));
}

TEST_CASE("outlier: resize keeps surviving endpoints and re-applies the cap",
          "[upstream][outlier]") {
  ManualClock clock;
  SeededRng rng(1);
  auto cfg = quiet();
  cfg.consecutive_5xx = 1;
  cfg.max_ejection_percent = 50;
  OutlierDetector d(cfg, 10, rng);
  for (std::size_t i = 0; i < 5; ++i) {
    d.record(i, k500, clock.now());
    clock.advance(1s);  // later ejections end later
  }
  REQUIRE(d.ejected_count() == 5);

  d.resize(12, clock.now());
  CHECK(d.size() == 12);
  CHECK(d.ejected_count() == 5);
  CHECK_FALSE(d.ejected(11));
  CHECK(d.report(11).times_ejected == 0);

  // 4 endpoints allow 2 ejections: of the surviving 0..3, the two ending soonest end now.
  d.resize(4, clock.now());
  CHECK(d.size() == 4);
  CHECK(d.ejected_count() == 2);
  CHECK_FALSE(d.ejected(0));
  CHECK_FALSE(d.ejected(1));
  CHECK(d.ejected(2));
  CHECK(d.ejected(3));

  d.resize(1, clock.now());
  CHECK(d.ejected_count() == 0);  // a lone endpoint is never ejected
  d.record(0, k500, clock.now());
  CHECK_FALSE(d.ejected(0));
}

TEST_CASE("outlier: remap follows endpoints to their new indices", "[upstream][outlier]") {
  ManualClock clock;
  SeededRng rng(1);
  auto cfg = quiet();
  cfg.consecutive_5xx = 3;
  OutlierDetector d(cfg, 3, rng);
  repeat(d, 0, 3, k500, clock.now());  // ejected
  repeat(d, 2, 2, k500, clock.now());  // a streak of 2
  // New list: [old 2, new, old 0]; old 1 left.
  d.remap({2, std::nullopt, 0}, clock.now());
  CHECK(d.size() == 3);
  CHECK_FALSE(d.ejected(0));
  CHECK(d.report(0).consecutive_5xx == 2);
  CHECK_FALSE(d.ejected(1));
  CHECK(d.report(1).consecutive_5xx == 0);
  CHECK(d.ejected(2));
  CHECK(d.report(2).times_ejected == 1);
  d.record(0, k500, clock.now());
  CHECK(d.ejected(0));
}

TEST_CASE("outlier: next_deadline covers the interval and the earliest ejection end",
          "[upstream][outlier]") {
  ManualClock clock;
  SeededRng rng(1);
  auto cfg = quiet();
  cfg.consecutive_5xx = 1;
  cfg.base_ejection_time = 3s;
  OutlierDetector d(cfg, 3, rng);
  CHECK_FALSE(d.next_deadline());
  const auto t0 = clock.now();
  d.tick(t0);
  REQUIRE(d.next_deadline());
  CHECK(*d.next_deadline() == t0 + 10s);
  d.record(1, k500, t0);
  CHECK(*d.next_deadline() == t0 + 3s);
}

TEST_CASE("outlier: rule names", "[upstream][outlier]") {
  using sluice::upstream::to_string;
  CHECK(to_string(OutlierRule::consecutive_5xx) == "consecutive_5xx");
  CHECK(to_string(OutlierRule::consecutive_gateway_failure) == "consecutive_gateway_failure");
  CHECK(to_string(OutlierRule::success_rate) == "success_rate");
  CHECK(to_string(OutlierRule::failure_percentage) == "failure_percentage");
  CHECK(to_string(OutlierRule::latency) == "latency");
}

TEST_CASE("outlier: a try cut short by its hedge feeds the latency rule only",
          "[upstream][outlier]") {
  ManualClock clock;
  SeededRng rng(1);
  const Outcome cut{OutcomeKind::cancelled, 812ms};
  // It does not break a streak of 5xx...
  auto cfg = quiet();
  cfg.consecutive_5xx = 3;
  OutlierDetector streak(cfg, 2, rng);
  repeat(streak, 0, 2, k500, clock.now());
  streak.record(0, cut, clock.now());
  CHECK_FALSE(streak.ejected(0));
  streak.record(0, k500, clock.now());
  CHECK(streak.ejected(0));
  // ...and its time so far counts as a latency sample.
  OutlierDetector d(latency_cfg(), 4, rng);
  for (std::size_t i = 0; i < 3; ++i) answered(d, i, 20, 40ms, clock.now());
  repeat(d, 3, 20, cut, clock.now());
  clock.advance(10s);
  d.tick(clock.now());
  CHECK(d.ejected(3));
  CHECK(*d.report(3).rule == OutlierRule::latency);
}
