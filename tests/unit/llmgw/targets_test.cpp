// The order in which an alias's strategy tries its targets.
#include <map>
#include <vector>

#include <catch2/catch.hpp>

#include "sluice/llmgw/targets.hpp"

using namespace sluice;
using namespace sluice::llmgw;

TEST_CASE("targets: weighted order follows the weights", "[llmgw]") {
  std::vector<CandidateView> c = {{1}, {3}, {0}};
  SeededRng rng(7);
  std::map<std::size_t, int> first;
  for (int i = 0; i < 4000; ++i) {
    auto o = order_targets(config::LlmStrategy::weighted, c, rng);
    REQUIRE(o.size() == 3);
    CHECK(o[2] == 2);  // weight 0: a spare, always last
    ++first[o[0]];
  }
  // 3:1, with a wide margin.
  CHECK(first[1] > 2600);
  CHECK(first[1] < 3400);
  CHECK(first[0] > 600);
}

TEST_CASE("targets: least_in_flight, lowest_latency and cheapest sort on their figure", "[llmgw]") {
  SeededRng rng(1);
  std::vector<CandidateView> c = {{1, 5, 80, 2.0}, {1, 1, 0, 10.0}, {1, 3, 20, -1}};
  CHECK(order_targets(config::LlmStrategy::least_in_flight, c, rng) ==
        std::vector<std::size_t>{1, 2, 0});
  // Unmeasured targets first, so they get measured.
  CHECK(order_targets(config::LlmStrategy::lowest_latency, c, rng) ==
        std::vector<std::size_t>{1, 2, 0});
  // Unknown prices last.
  CHECK(order_targets(config::LlmStrategy::cheapest, c, rng) == std::vector<std::size_t>{0, 1, 2});
}

TEST_CASE("targets: the registry keeps one state per provider and model", "[llmgw]") {
  TargetRegistry r;
  auto a = r.get("openai", "gpt-4o");
  auto b = r.get("openai", "gpt-4o");
  auto c = r.get("openai", "gpt-4o-mini");
  CHECK(a == b);
  CHECK(a != c);
  a->success(100);
  a->success(200);
  CHECK(a->latency_ms() == Approx(130));
}
