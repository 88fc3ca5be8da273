// Nearest-rank latency statistics for --repeat.
#include <catch2/catch.hpp>

#include "sluice/probe/stats.hpp"

using namespace sluice;
using namespace sluice::probe;
using namespace std::chrono_literals;

TEST_CASE("probe stats: nearest rank over unsorted samples", "[probe][stats]") {
  auto s = latency_stats({5ms, 1ms, 4ms, 2ms, 3ms});
  CHECK(s.count == 5);
  CHECK(s.min == 1ms);
  CHECK(s.median == 3ms);
  CHECK(s.p95 == 5ms);
  CHECK(s.max == 5ms);
}

TEST_CASE("probe stats: one sample, an even count, and none", "[probe][stats]") {
  auto one = latency_stats({7ms});
  CHECK(one.min == 7ms);
  CHECK(one.median == 7ms);
  CHECK(one.p95 == 7ms);
  auto even = latency_stats({1ms, 2ms, 3ms, 4ms});
  CHECK(even.median == 2ms);  // rank ceil(0.5 * 4) = 2
  CHECK(even.p95 == 4ms);
  std::vector<Duration> hundred;
  for (int i = 100; i >= 1; --i) hundred.push_back(std::chrono::milliseconds(i));
  auto h = latency_stats(hundred);
  CHECK(h.median == 50ms);
  CHECK(h.p95 == 95ms);
  CHECK(h.max == 100ms);
  auto none = latency_stats({});
  CHECK(none.count == 0);
  CHECK(none.max == 0ms);
}
