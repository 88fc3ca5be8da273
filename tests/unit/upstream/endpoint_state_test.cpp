// Slow-start weights over time and the panic routing decision.
#include "sluice/upstream/endpoint_state.hpp"

#include <vector>

#include <catch2/catch.hpp>

using namespace std::chrono_literals;
using sluice::ManualClock;
using sluice::config::PanicMode;
using sluice::upstream::in_panic;
using sluice::upstream::RouteMode;
using sluice::upstream::routing_set;
using sluice::upstream::slow_start_weight_factor;
using sluice::upstream::SlowStart;

TEST_CASE("slow start: the factor ramps linearly from 0.1 to 1 over the window",
          "[upstream][slow_start]") {
  CHECK(slow_start_weight_factor(0s, 10s) == Approx(0.1));
  CHECK(slow_start_weight_factor(1s, 10s) == Approx(0.19));
  CHECK(slow_start_weight_factor(5s, 10s) == Approx(0.55));
  CHECK(slow_start_weight_factor(9s, 10s) == Approx(0.91));
  CHECK(slow_start_weight_factor(10s, 10s) == 1.0);
  CHECK(slow_start_weight_factor(1h, 10s) == 1.0);
  CHECK(slow_start_weight_factor(-1s, 10s) == Approx(0.1));
}

TEST_CASE("slow start: a zero window means no slow start", "[upstream][slow_start]") {
  CHECK(slow_start_weight_factor(0s, 0s) == 1.0);
  CHECK(slow_start_weight_factor(-5s, 0s) == 1.0);
  CHECK(slow_start_weight_factor(0s, -1s) == 1.0);
}

TEST_CASE("slow start: the factor never decreases over the window", "[upstream][slow_start]") {
  double prev = 0;
  for (int ms = 0; ms <= 30'000; ms += 250) {
    const double f = slow_start_weight_factor(std::chrono::milliseconds(ms), 30s);
    REQUIRE(f >= prev);
    REQUIRE(f >= 0.1);
    REQUIRE(f <= 1.0);
    prev = f;
  }
  CHECK(prev == 1.0);
}

TEST_CASE("slow start: tracker ramps admitted endpoints, established ones are at full weight",
          "[upstream][slow_start]") {
  ManualClock clock;
  SlowStart s(3);
  CHECK(s.weight_factor(0, clock.now(), 10s) == 1.0);
  CHECK_FALSE(s.admitted_at(0));

  s.admit(1, clock.now());  // e.g. re-admitted after an outlier ejection
  CHECK(s.admitted_at(1) == clock.now());
  CHECK(s.weight_factor(1, clock.now(), 10s) == Approx(0.1));
  CHECK(s.ramping(1, clock.now(), 10s));
  clock.advance(5s);
  CHECK(s.weight_factor(1, clock.now(), 10s) == Approx(0.55));
  CHECK(s.weight_factor(0, clock.now(), 10s) == 1.0);
  clock.advance(5s);
  CHECK(s.weight_factor(1, clock.now(), 10s) == 1.0);
  CHECK_FALSE(s.ramping(1, clock.now(), 10s));
  CHECK(s.weight_factor(1, clock.now(), 0s) == 1.0);   // slow start off
  CHECK(s.weight_factor(9, clock.now(), 10s) == 1.0);  // out of range

  // Admitted again (after a failed health check): the ramp restarts.
  s.admit(1, clock.now());
  CHECK(s.weight_factor(1, clock.now(), 10s) == Approx(0.1));
}

TEST_CASE("slow start: joining endpoints ramp, survivors keep their state",
          "[upstream][slow_start]") {
  ManualClock clock;
  SlowStart s(2);
  clock.advance(1s);
  s.resize(4, clock.now());
  CHECK(s.size() == 4);
  CHECK(s.weight_factor(0, clock.now(), 10s) == 1.0);
  CHECK(s.weight_factor(3, clock.now(), 10s) == Approx(0.1));
  clock.advance(2s);
  CHECK(s.weight_factor(2, clock.now(), 10s) == Approx(0.28));

  // New list: [old 3, old 0, new].
  s.remap({3, 0, std::nullopt}, clock.now());
  CHECK(s.size() == 3);
  CHECK(s.weight_factor(0, clock.now(), 10s) == Approx(0.28));
  CHECK(s.weight_factor(1, clock.now(), 10s) == 1.0);
  CHECK(s.weight_factor(2, clock.now(), 10s) == Approx(0.1));

  s.resize(1, clock.now());
  CHECK(s.size() == 1);
  CHECK(s.weight_factor(0, clock.now(), 10s) == Approx(0.28));
}

TEST_CASE("panic: fewer usable endpoints than the threshold", "[upstream][panic]") {
  CHECK_FALSE(in_panic(5, 10, 50));  // exactly half is not below half
  CHECK(in_panic(4, 10, 50));
  CHECK(in_panic(0, 10, 50));
  CHECK_FALSE(in_panic(10, 10, 50));
  CHECK(in_panic(1, 3, 50));
  CHECK_FALSE(in_panic(2, 3, 50));
  CHECK(in_panic(9, 10, 100));
  CHECK_FALSE(in_panic(10, 10, 100));
  CHECK_FALSE(in_panic(0, 10, 0));  // threshold 0: never
  CHECK_FALSE(in_panic(0, 0, 50));  // nothing to route to either way
}

TEST_CASE("panic: outside panic, only the usable endpoints", "[upstream][panic]") {
  const auto s = routing_set({true, false, true, true}, 50, PanicMode::route_all);
  CHECK(s.mode == RouteMode::normal);
  CHECK(s.endpoints == std::vector<std::size_t>{0, 2, 3});
  CHECK(s.usable == 3);
  CHECK(s.total == 4);
}

TEST_CASE("panic: route_all balances over every endpoint", "[upstream][panic]") {
  const auto s = routing_set({false, true, false, false}, 50, PanicMode::route_all);
  CHECK(s.mode == RouteMode::panic_route_all);
  CHECK(s.endpoints == std::vector<std::size_t>{0, 1, 2, 3});
  CHECK(s.usable == 1);
  CHECK(s.total == 4);
}

TEST_CASE("panic: fail_fast routes to none", "[upstream][panic]") {
  const auto s = routing_set({false, true, false, false}, 50, PanicMode::fail_fast);
  CHECK(s.mode == RouteMode::panic_fail_fast);
  CHECK(s.endpoints.empty());
  CHECK(s.usable == 1);
  CHECK(s.total == 4);
  // The same cluster above the threshold is not in panic under either mode.
  const auto ok = routing_set({false, true, true, false}, 50, PanicMode::fail_fast);
  CHECK(ok.mode == RouteMode::normal);
  CHECK(ok.endpoints == std::vector<std::size_t>{1, 2});
}

TEST_CASE("panic: threshold 0 never panics, even with nothing usable", "[upstream][panic]") {
  const auto s = routing_set({false, false}, 0, PanicMode::route_all);
  CHECK(s.mode == RouteMode::normal);
  CHECK(s.endpoints.empty());
}

TEST_CASE("panic: mode names", "[upstream][panic]") {
  using sluice::upstream::to_string;
  CHECK(to_string(RouteMode::normal) == "normal");
  CHECK(to_string(RouteMode::panic_route_all) == "panic_route_all");
  CHECK(to_string(RouteMode::panic_fail_fast) == "panic_fail_fast");
}
