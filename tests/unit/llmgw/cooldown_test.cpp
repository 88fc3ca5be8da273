// The cooldown state machine of a model target, on a manual time.
#include <catch2/catch.hpp>

#include "sluice/llmgw/cooldown.hpp"

using namespace sluice;
using namespace sluice::llmgw;
using namespace std::chrono_literals;

TEST_CASE("cooldown: the Nth failure in a row cools the target down for the period", "[llmgw]") {
  CooldownPolicy p{3, 30s};
  Cooldown c;
  TimePoint t0{std::chrono::hours(1)};
  CHECK(c.available(t0));
  CHECK_FALSE(c.failure(p, t0));
  CHECK_FALSE(c.failure(p, t0));
  CHECK(c.available(t0));
  CHECK(c.failure(p, t0 + 1s));
  CHECK_FALSE(c.available(t0 + 1s));
  CHECK_FALSE(c.available(t0 + 30s));
  CHECK(c.available(t0 + 31s));
}

TEST_CASE("cooldown: a success ends the streak", "[llmgw]") {
  CooldownPolicy p{2, 10s};
  Cooldown c;
  TimePoint t0{std::chrono::hours(1)};
  CHECK_FALSE(c.failure(p, t0));
  c.success();
  CHECK_FALSE(c.failure(p, t0));
  CHECK(c.available(t0));
  CHECK(c.failure(p, t0));
  CHECK_FALSE(c.available(t0 + 9s));
}

TEST_CASE("cooldown: the provider's Retry-After starts it at once and wins over the period",
          "[llmgw]") {
  CooldownPolicy p{3, 30s};
  Cooldown c;
  TimePoint t0{std::chrono::hours(1)};
  CHECK(c.failure(p, t0, 5s));
  CHECK_FALSE(c.available(t0 + 4s));
  CHECK(c.available(t0 + 5s));
  // A shorter Retry-After never shortens a cooldown already running.
  CHECK(c.failure(p, t0 + 5s, 60s));
  CHECK(c.failure(p, t0 + 6s, 1s));
  CHECK_FALSE(c.available(t0 + 30s));
  CHECK(c.available(t0 + 65s));
}

TEST_CASE("cooldown: a zero period never cools down on streaks", "[llmgw]") {
  CooldownPolicy p{1, 0s};
  Cooldown c;
  TimePoint t0{std::chrono::hours(1)};
  CHECK_FALSE(c.failure(p, t0));
  CHECK(c.available(t0));
}
