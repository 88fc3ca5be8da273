// The token bucket is exact: L at once, one more every 60/L s, debt and credit to the token.
#include "sluice/store/token_bucket.hpp"

#include <atomic>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

using namespace std::chrono_literals;
using sluice::ManualClock;
using sluice::store::BucketSet;
using sluice::store::TokenBucket;

TEST_CASE("a full bucket admits exactly its limit at one instant", "[store][bucket]") {
  ManualClock clock;
  TokenBucket b(100);
  for (int i = 0; i < 100; ++i) REQUIRE(b.try_take(1, clock.now()));
  CHECK_FALSE(b.try_take(1, clock.now()));
  CHECK(b.remaining(clock.now()) == 0);
  CHECK_FALSE(TokenBucket(100).try_take(101, clock.now()));
  CHECK(TokenBucket(100).try_take(100, clock.now()));
  CHECK(TokenBucket(100).wait_for(101, clock.now()) == sluice::Duration::max());
}

TEST_CASE("refill is continuous: one unit every 60/L seconds", "[store][bucket]") {
  ManualClock clock;
  TokenBucket b(60);
  REQUIRE(b.try_take(60, clock.now()));
  clock.advance(999ms);
  CHECK_FALSE(b.try_take(1, clock.now()));
  clock.advance(1ms);
  CHECK(b.try_take(1, clock.now()));
  CHECK_FALSE(b.try_take(1, clock.now()));

  // L = 7: 60/7 s is not a whole number of ns; wait_for rounds up and is then exact.
  TokenBucket odd(7);
  REQUIRE(odd.try_take(7, clock.now()));
  auto w = odd.wait_for(1, clock.now());
  CHECK(w == 8'571'428'572ns);
  clock.advance(w - 1ns);
  CHECK_FALSE(odd.try_take(1, clock.now()));
  clock.advance(1ns);
  CHECK(odd.try_take(1, clock.now()));
}

TEST_CASE("no drift over a long run", "[store][bucket]") {
  ManualClock clock;
  TokenBucket b(7);
  REQUIRE(b.try_take(7, clock.now()));
  std::uint64_t admitted = 0;
  // 70 minutes in 1 ms steps would be slow; 10 ms steps still admit each token on time.
  for (int i = 0; i < 70 * 60 * 100; ++i) {
    clock.advance(10ms);
    while (b.try_take(1, clock.now())) ++admitted;
  }
  CHECK(admitted == 7 * 70);
}

TEST_CASE("debt delays admission by the time it takes to repay", "[store][bucket]") {
  ManualClock clock;
  TokenBucket b(60);
  b.debit(70, clock.now());  // 10 in debt
  CHECK(b.remaining(clock.now()) == -10);
  CHECK(b.wait_for(1, clock.now()) == 11s);
  clock.advance(10s);
  CHECK(b.remaining(clock.now()) == 0);
  CHECK_FALSE(b.try_take(1, clock.now()));
  clock.advance(1s);
  CHECK(b.try_take(1, clock.now()));
}

TEST_CASE("credit gives back but never above capacity", "[store][bucket]") {
  ManualClock clock;
  TokenBucket b(10);
  REQUIRE(b.try_take(4, clock.now()));
  b.credit(3, clock.now());
  CHECK(b.remaining(clock.now()) == 9);
  b.credit(100, clock.now());
  CHECK(b.remaining(clock.now()) == 10);
  CHECK(b.until_full(clock.now()) == 0ns);
  CHECK_FALSE(b.try_take(11, clock.now()));
}

TEST_CASE("wait_for and until_full are exact", "[store][bucket]") {
  ManualClock clock;
  TokenBucket b(120);  // one every 500 ms
  CHECK(b.wait_for(120, clock.now()) == 0ns);
  REQUIRE(b.try_take(100, clock.now()));
  CHECK(b.wait_for(20, clock.now()) == 0ns);
  CHECK(b.wait_for(21, clock.now()) == 500ms);
  CHECK(b.until_full(clock.now()) == 50s);
  clock.advance(20s);
  CHECK(b.remaining(clock.now()) == 60);
  CHECK(b.until_full(clock.now()) == 30s);
}

TEST_CASE("four threads at a frozen instant admit exactly the limit", "[store][bucket]") {
  ManualClock clock;
  TokenBucket b(1000);
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i)
        if (b.try_take(1, clock.now())) ++admitted;
    });
  for (auto& t : threads) t.join();
  CHECK(admitted == 1000);
}

TEST_CASE("a limit of zero admits nothing", "[store][bucket]") {
  ManualClock clock;
  TokenBucket b(0);
  CHECK_FALSE(b.try_take(1, clock.now()));
  CHECK(b.remaining(clock.now()) == 0);
}

TEST_CASE("BucketSet shares buckets and keeps the fill in proportion on reload",
          "[store][bucket]") {
  ManualClock clock;
  BucketSet set;
  auto a = set.get("key-a", 100, clock.now());
  CHECK(set.get("key-a", 100, clock.now()) == a);
  REQUIRE(a->try_take(50, clock.now()));  // half full
  auto resized = set.get("key-a", 200, clock.now());
  CHECK(resized != a);
  CHECK(resized->limit() == 200);
  CHECK(resized->remaining(clock.now()) == 100);
  CHECK(set.get("key-b", 5, clock.now())->remaining(clock.now()) == 5);
  CHECK(set.size() == 2);
}
