// CircuitBreaker on a manual clock: trips on failure and slow-call rates, the minimum request
// count, the sliding window, half-open probing, the growing open time; and BreakerGate, the
// lock-free admission workers use.
#include "sluice/upstream/breaker.hpp"

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

using namespace std::chrono_literals;
using sluice::ManualClock;
using sluice::TimePoint;
using sluice::upstream::BreakerAdmission;
using sluice::upstream::BreakerGate;
using sluice::upstream::BreakerOutcome;
using sluice::upstream::BreakerState;
using sluice::upstream::CircuitBreaker;

namespace {

sluice::config::Breaker config() {
  sluice::config::Breaker c;
  c.enabled = true;
  c.window = 10s;
  c.minimum_requests = 20;
  c.failure_rate_threshold = 50;
  c.slow_call_rate_threshold = 100;
  c.slow_call_duration = 1s;
  c.open_time = 5s;
  c.max_open_time = 60s;
  c.half_open_probes = 3;
  return c;
}

const BreakerOutcome ok{.failed = false, .latency = 10ms};
const BreakerOutcome fail{.failed = true, .latency = 10ms};
const BreakerOutcome probe_ok{.failed = false, .latency = 10ms, .probe = true};
const BreakerOutcome probe_fail{.failed = true, .latency = 10ms, .probe = true};

void record_n(CircuitBreaker& b, const BreakerOutcome& o, int n, TimePoint now) {
  for (int i = 0; i < n; ++i) b.record(o, now);
}

// Opens b with 20 failures at `now`.
void trip(CircuitBreaker& b, TimePoint now) {
  record_n(b, fail, 20, now);
}

// Moves an open breaker to half-open and lets its probes report `o`.
void probe_all(CircuitBreaker& b, const BreakerOutcome& o, TimePoint now) {
  REQUIRE(b.state(now) == BreakerState::half_open);
  for (std::uint32_t i = 0; i < b.half_open_probes(); ++i) {
    REQUIRE(b.try_acquire_probe(now));
    b.record(o, now);
    if (b.state(now) != BreakerState::half_open) break;
  }
}

}  // namespace

TEST_CASE("breaker stays closed below the minimum request count", "[upstream][breaker]") {
  ManualClock clock;
  CircuitBreaker b(config(), clock.now());
  record_n(b, fail, 19, clock.now());
  CHECK(b.state(clock.now()) == BreakerState::closed);
  CHECK(b.failure_rate(clock.now()) == 100.0);
  CHECK(b.window_requests(clock.now()) == 19);
  b.record(fail, clock.now());
  CHECK(b.state(clock.now()) == BreakerState::open);
}

TEST_CASE("breaker trips at the failure rate threshold with a reason", "[upstream][breaker]") {
  ManualClock clock;
  CircuitBreaker b(config(), clock.now());
  record_n(b, ok, 10, clock.now());
  record_n(b, fail, 9, clock.now());
  b.record(ok, clock.now());  // 9 of 20: 45%
  CHECK(b.state(clock.now()) == BreakerState::closed);
  b.record(fail, clock.now());  // 10 of 21: 47.6%
  CHECK(b.state(clock.now()) == BreakerState::closed);
  b.record(fail, clock.now());  // 11 of 22: 50%
  CHECK(b.state(clock.now()) == BreakerState::open);
  CHECK(b.reason() == "failure rate 50% >= 50% over 22 requests in 10s");
  CHECK(b.since() == clock.now());
  REQUIRE(b.until().has_value());
  CHECK(*b.until() == clock.now() + 5s);
  CHECK(b.transitions().to_open == 1);
}

TEST_CASE("breaker reason shows a fractional rate", "[upstream][breaker]") {
  ManualClock clock;
  auto c = config();
  c.minimum_requests = 8;
  c.failure_rate_threshold = 60;
  CircuitBreaker b(c, clock.now());
  record_n(b, ok, 3, clock.now());
  record_n(b, fail, 5, clock.now());  // 5 of 8: 62.5%
  CHECK(b.state(clock.now()) == BreakerState::open);
  CHECK(b.reason() == "failure rate 62.5% >= 60% over 8 requests in 10s");
}

TEST_CASE("breaker trips on the slow call rate", "[upstream][breaker]") {
  ManualClock clock;
  auto c = config();
  c.slow_call_rate_threshold = 50;
  CircuitBreaker b(c, clock.now());
  record_n(b, BreakerOutcome{.failed = false, .latency = 999ms}, 10, clock.now());
  record_n(b, BreakerOutcome{.failed = false, .latency = 1s}, 9, clock.now());
  CHECK(b.state(clock.now()) == BreakerState::closed);
  CHECK(b.slow_call_rate(clock.now()) == Approx(100.0 * 9 / 19));
  b.record(BreakerOutcome{.failed = false, .latency = 2s}, clock.now());  // 10 of 20 slow
  CHECK(b.state(clock.now()) == BreakerState::open);
  CHECK(b.reason() == "slow call rate 50% >= 50% over 20 requests in 10s (slow: >= 1s)");
}

TEST_CASE("breaker default slow threshold trips only when every call is slow",
          "[upstream][breaker]") {
  ManualClock clock;
  CircuitBreaker fast(config(), clock.now());
  record_n(fast, ok, 100, clock.now());
  CHECK(fast.state(clock.now()) == BreakerState::closed);

  CircuitBreaker mixed(config(), clock.now());
  record_n(mixed, BreakerOutcome{.failed = false, .latency = 5s}, 19, clock.now());
  mixed.record(ok, clock.now());
  CHECK(mixed.state(clock.now()) == BreakerState::closed);

  CircuitBreaker slow(config(), clock.now());
  record_n(slow, BreakerOutcome{.failed = false, .latency = 5s}, 20, clock.now());
  CHECK(slow.state(clock.now()) == BreakerState::open);
}

TEST_CASE("breaker window slides so old failures age out", "[upstream][breaker]") {
  ManualClock clock;
  CircuitBreaker b(config(), clock.now());
  record_n(b, fail, 15, clock.now());
  clock.advance(5s);
  record_n(b, ok, 4, clock.now());
  CHECK(b.window_requests(clock.now()) == 19);
  // Ten seconds after the failures they have left the window, bucket by bucket.
  clock.advance(5s);
  CHECK(b.window_requests(clock.now()) == 4);
  CHECK(b.failure_rate(clock.now()) == 0.0);
  record_n(b, fail, 10, clock.now());
  record_n(b, ok, 6, clock.now());  // 10 of 20 without the aged-out 15
  CHECK(b.state(clock.now()) == BreakerState::open);
  CHECK(b.reason() == "failure rate 50% >= 50% over 20 requests in 10s");
}

TEST_CASE("breaker window forgets everything after a full window", "[upstream][breaker]") {
  ManualClock clock;
  CircuitBreaker b(config(), clock.now());
  record_n(b, fail, 19, clock.now());
  clock.advance(10s);
  CHECK(b.window_requests(clock.now()) == 0);
  b.record(fail, clock.now());  // 1 of 1: below the minimum
  CHECK(b.state(clock.now()) == BreakerState::closed);
  // Bounded memory: a long quiet gap then traffic reuses the same buckets.
  clock.advance(1h);
  record_n(b, ok, 20, clock.now());
  CHECK(b.window_requests(clock.now()) == 20);
}

TEST_CASE("breaker drops late reports older than the window", "[upstream][breaker]") {
  ManualClock clock;
  CircuitBreaker b(config(), clock.now());
  TimePoint old = clock.now();
  clock.advance(30s);
  record_n(b, ok, 5, clock.now());
  record_n(b, fail, 50, old);
  CHECK(b.window_requests(clock.now()) == 5);
  CHECK(b.state(clock.now()) == BreakerState::closed);
}

TEST_CASE("breaker open rejects until the open time passes, then lets exactly the probes through",
          "[upstream][breaker]") {
  ManualClock clock;
  CircuitBreaker b(config(), clock.now());
  trip(b, clock.now());
  CHECK_FALSE(b.allow(clock.now()));
  clock.advance(5s - 1ns);
  CHECK(b.state(clock.now()) == BreakerState::open);
  CHECK_FALSE(b.allow(clock.now()));
  clock.advance(1ns);
  CHECK(b.state(clock.now()) == BreakerState::half_open);
  CHECK(b.since() == clock.now());
  CHECK_FALSE(b.until().has_value());
  CHECK(b.transitions().to_half_open == 1);
  CHECK(b.reason() == "open for 5s; letting 3 probes through");
  auto a1 = b.admit(clock.now());
  CHECK(a1.is_probe());
  CHECK(b.try_acquire_probe(clock.now()));
  CHECK(b.allow(clock.now()));
  CHECK_FALSE(b.allow(clock.now()));
  CHECK_FALSE(b.try_acquire_probe(clock.now()));
}

TEST_CASE("breaker closes when every probe succeeds and clears the window", "[upstream][breaker]") {
  ManualClock clock;
  CircuitBreaker b(config(), clock.now());
  trip(b, clock.now());
  clock.advance(5s);
  REQUIRE(b.state(clock.now()) == BreakerState::half_open);
  b.record(probe_ok, clock.now());
  b.record(probe_ok, clock.now());
  CHECK(b.state(clock.now()) == BreakerState::half_open);
  b.record(probe_ok, clock.now());
  CHECK(b.state(clock.now()) == BreakerState::closed);
  CHECK(b.reason() == "3 of 3 half-open probes succeeded");
  CHECK(b.window_requests(clock.now()) == 0);
  CHECK(b.consecutive_openings() == 0);
  CHECK(b.transitions().to_closed == 1);
  CHECK(b.allow(clock.now()));
  // The window starts empty: 19 failures are below the minimum again.
  record_n(b, fail, 19, clock.now());
  CHECK(b.state(clock.now()) == BreakerState::closed);
}

TEST_CASE("breaker growing open time doubles per reopening up to the cap", "[upstream][breaker]") {
  ManualClock clock;
  CircuitBreaker b(config(), clock.now());
  trip(b, clock.now());
  std::vector<std::chrono::nanoseconds> open_times;
  for (int i = 0; i < 6; ++i) {
    REQUIRE(b.until().has_value());
    open_times.push_back(*b.until() - clock.now());
    clock.advance(*b.until() - clock.now());
    REQUIRE(b.try_acquire_probe(clock.now()));
    b.record(probe_fail, clock.now());
    REQUIRE(b.state(clock.now()) == BreakerState::open);
  }
  CHECK(open_times == std::vector<std::chrono::nanoseconds>{5s, 10s, 20s, 40s, 60s, 60s});
  CHECK(b.consecutive_openings() == 7);
  CHECK(b.reason() == "a half-open probe failed");
  CHECK(b.transitions().to_open == 7);
  CHECK(b.transitions().to_half_open == 6);
}

TEST_CASE("breaker open time resets to the first after a full close", "[upstream][breaker]") {
  ManualClock clock;
  CircuitBreaker b(config(), clock.now());
  trip(b, clock.now());
  clock.advance(5s);
  probe_all(b, probe_fail, clock.now());  // reopened for 10s
  CHECK(*b.until() - clock.now() == 10s);
  clock.advance(10s);
  probe_all(b, probe_ok, clock.now());
  REQUIRE(b.state(clock.now()) == BreakerState::closed);
  CHECK(b.next_open_time() == 5s);
  trip(b, clock.now());
  CHECK(*b.until() - clock.now() == 5s);
}

TEST_CASE("breaker reopens on a slow probe", "[upstream][breaker]") {
  ManualClock clock;
  CircuitBreaker b(config(), clock.now());
  trip(b, clock.now());
  clock.advance(5s);
  REQUIRE(b.try_acquire_probe(clock.now()));
  b.record(probe_ok, clock.now());
  b.record(BreakerOutcome{.failed = false, .latency = 1500ms, .probe = true}, clock.now());
  CHECK(b.state(clock.now()) == BreakerState::open);
  CHECK(b.reason() == "a half-open probe was slow (1500ms >= 1s)");
  CHECK(*b.until() - clock.now() == 10s);
}

TEST_CASE("breaker ignores outcomes while open and non-probe outcomes while half-open",
          "[upstream][breaker]") {
  ManualClock clock;
  CircuitBreaker b(config(), clock.now());
  trip(b, clock.now());
  record_n(b, ok, 100, clock.now());
  CHECK(b.state(clock.now()) == BreakerState::open);
  clock.advance(5s);
  REQUIRE(b.state(clock.now()) == BreakerState::half_open);
  record_n(b, ok, 10, clock.now());  // admitted before the opening: no verdict
  b.record(fail, clock.now());       // same
  CHECK(b.state(clock.now()) == BreakerState::half_open);
}

TEST_CASE("breaker disabled never opens", "[upstream][breaker]") {
  ManualClock clock;
  auto c = config();
  c.enabled = false;
  CircuitBreaker b(c, clock.now());
  record_n(b, fail, 1000, clock.now());
  CHECK(b.state(clock.now()) == BreakerState::closed);
  CHECK(b.allow(clock.now()));
  CHECK(b.transitions().to_open == 0);
}

TEST_CASE("breaker status gathers the introspection", "[upstream][breaker]") {
  ManualClock clock;
  CircuitBreaker b(config(), clock.now());
  record_n(b, ok, 8, clock.now());
  record_n(b, fail, 2, clock.now());
  auto s = b.status(clock.now());
  CHECK(s.state == BreakerState::closed);
  CHECK(s.window_requests == 10);
  CHECK(s.failure_rate == 20.0);
  CHECK(s.slow_call_rate == 0.0);
  CHECK_FALSE(s.until.has_value());
  trip(b, clock.now());
  s = b.status(clock.now());
  CHECK(s.state == BreakerState::open);
  CHECK(s.until == clock.now() + 5s);
  CHECK(s.consecutive_openings == 1);
  CHECK(s.transitions.to_open == 1);
  CHECK(s.reason == "failure rate 60% >= 50% over 20 requests in 10s");
  CHECK(s.window_requests == 20);  // the breaker stops counting once open
  CHECK(sluice::upstream::to_string(s.state) == "open");
}

TEST_CASE("breaker gate admits by the published state", "[upstream][breaker]") {
  ManualClock clock;
  CircuitBreaker b(config(), clock.now());
  BreakerGate gate;
  gate.publish(b, clock.now());
  CHECK(gate.admit().kind == BreakerAdmission::Kind::normal);
  trip(b, clock.now());
  // Workers see the change only once it is published.
  CHECK(gate.admit().kind == BreakerAdmission::Kind::normal);
  gate.publish(b, clock.now());
  CHECK_FALSE(gate.admit());
  CHECK(gate.snapshot()->state == BreakerState::open);
  CHECK(gate.snapshot()->until == clock.now() + 5s);
  CHECK(gate.snapshot()->reason == "failure rate 100% >= 50% over 20 requests in 10s");
  clock.advance(5s);
  // Time alone does not open the gate: the control thread moves the breaker to half-open.
  CHECK_FALSE(gate.admit());
  gate.publish(b, clock.now());
  CHECK(gate.state() == BreakerState::half_open);
  CHECK(gate.probes_left() == 3);
}

TEST_CASE("breaker gate hands out exactly the probes and keeps claims across republish",
          "[upstream][breaker]") {
  ManualClock clock;
  CircuitBreaker b(config(), clock.now());
  BreakerGate gate;
  trip(b, clock.now());
  clock.advance(5s);
  gate.publish(b, clock.now());
  auto p1 = gate.admit();
  auto p2 = gate.admit();
  CHECK(p1.is_probe());
  CHECK(p2.is_probe());
  CHECK(p1.generation == b.generation());
  gate.publish(b, clock.now());  // same half-open period: claims stay claimed
  CHECK(gate.probes_left() == 1);
  CHECK(gate.admit().is_probe());
  CHECK_FALSE(gate.admit());
  gate.return_probe(p2);  // a probe whose client went away
  CHECK(gate.probes_left() == 1);
  CHECK(gate.admit().is_probe());
  CHECK_FALSE(gate.admit());
}

TEST_CASE("breaker gate ignores probe returns from an earlier half-open period",
          "[upstream][breaker]") {
  ManualClock clock;
  CircuitBreaker b(config(), clock.now());
  BreakerGate gate;
  trip(b, clock.now());
  clock.advance(5s);
  gate.publish(b, clock.now());
  auto stale = gate.admit();
  REQUIRE(stale.is_probe());
  b.record(probe_fail, clock.now());
  gate.publish(b, clock.now());
  CHECK_FALSE(gate.admit());
  clock.advance(10s);
  gate.publish(b, clock.now());
  REQUIRE(gate.state() == BreakerState::half_open);
  CHECK(gate.probes_left() == 3);
  gate.return_probe(stale);
  CHECK(gate.probes_left() == 3);
  CHECK(gate.admit().generation == stale.generation + 1);
}

TEST_CASE("breaker gate gives exactly the probes to concurrent workers", "[upstream][breaker]") {
  ManualClock clock;
  auto c = config();
  c.half_open_probes = 7;
  CircuitBreaker b(c, clock.now());
  BreakerGate gate;
  trip(b, clock.now());
  clock.advance(5s);
  gate.publish(b, clock.now());
  std::atomic<int> probes{0};
  std::atomic<int> rejected{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < 4; ++t) {
    workers.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        auto a = gate.admit();
        (a.is_probe() ? probes : rejected).fetch_add(1);
      }
    });
  }
  for (auto& w : workers) w.join();
  CHECK(probes.load() == 7);
  CHECK(rejected.load() == 4 * 2000 - 7);
}
