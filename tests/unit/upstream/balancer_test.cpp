// round_robin, weighted_round_robin, random and least_request: order, proportions and load.
#include "sluice/upstream/balancer.hpp"

#include <atomic>
#include <cmath>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "sluice/upstream/balancers.hpp"

using sluice::SeededRng;
using sluice::config::LbPolicy;
using namespace sluice::upstream;

namespace {

std::vector<LbHost> equal_hosts(std::size_t n) {
  return std::vector<LbHost>(n, LbHost{1.0, true});
}

std::vector<std::size_t> picks(Balancer& b, const PickContext& ctx, int count) {
  std::vector<std::size_t> out;
  for (int i = 0; i < count; ++i) {
    auto p = b.pick(ctx);
    REQUIRE(p.has_value());
    out.push_back(*p);
  }
  return out;
}

std::string letters(const std::vector<std::size_t>& seq) {
  std::string s;
  for (std::size_t i : seq) s += static_cast<char>('a' + i);
  return s;
}

std::vector<int> tally(const std::vector<std::size_t>& seq, std::size_t n) {
  std::vector<int> counts(n, 0);
  for (std::size_t i : seq) ++counts[i];
  return counts;
}

}  // namespace

TEST_CASE("round_robin visits endpoints in index order", "[upstream][balancer]") {
  SeededRng rng(1);
  auto b = make_balancer(LbPolicy::round_robin, rng);
  CHECK(b->policy() == LbPolicy::round_robin);
  const auto hosts = equal_hosts(3);
  CHECK(letters(picks(*b, {.hosts = hosts}, 7)) == "abcabca");
}

TEST_CASE("round_robin starts at first_index", "[upstream][balancer]") {
  SeededRng rng(1);
  auto b = make_balancer(LbPolicy::round_robin, rng, {.first_index = 5});
  const auto hosts = equal_hosts(3);
  CHECK(letters(picks(*b, {.hosts = hosts}, 4)) == "cabc");  // 5 mod 3 = 2
}

TEST_CASE("round_robin skips unusable endpoints and stays even", "[upstream][balancer]") {
  SeededRng rng(1);
  auto b = make_balancer(LbPolicy::round_robin, rng);
  auto hosts = equal_hosts(4);
  hosts[1].usable = false;
  hosts[2].usable = false;
  CHECK(letters(picks(*b, {.hosts = hosts}, 6)) == "adadad");
  // Endpoint 2 comes back: it joins the rotation where the cursor stands.
  hosts[2].usable = true;
  CHECK(letters(picks(*b, {.hosts = hosts}, 6)) == "acdacd");
}

TEST_CASE("round_robin ignores weights", "[upstream][balancer]") {
  SeededRng rng(1);
  auto b = make_balancer(LbPolicy::round_robin, rng);
  std::vector<LbHost> hosts{{10.0, true}, {1.0, true}};
  CHECK(letters(picks(*b, {.hosts = hosts}, 4)) == "abab");
}

TEST_CASE("weighted_round_robin gives 5:1:1 smoothly interleaved", "[upstream][balancer]") {
  SeededRng rng(1);
  auto b = make_balancer(LbPolicy::weighted_round_robin, rng);
  CHECK(b->policy() == LbPolicy::weighted_round_robin);
  std::vector<LbHost> hosts{{5, true}, {1, true}, {1, true}};
  // nginx's smooth sequence: the light endpoints land inside the run, never bunched at one end.
  const auto seq = picks(*b, {.hosts = hosts}, 70);
  CHECK(letters(seq).substr(0, 14) == "aabacaaaabacaa");
  CHECK(tally(seq, 3) == std::vector<int>{50, 10, 10});
  // Every cycle of 7 consecutive picks has the exact proportions, not just the total.
  for (std::size_t start = 0; start + 7 <= seq.size(); start += 7) {
    const std::vector<std::size_t> cycle(seq.begin() + start, seq.begin() + start + 7);
    CHECK(tally(cycle, 3) == std::vector<int>{5, 1, 1});
  }
}

TEST_CASE("weighted_round_robin with equal weights is round robin", "[upstream][balancer]") {
  SeededRng rng(1);
  auto b = make_balancer(LbPolicy::weighted_round_robin, rng);
  const auto hosts = equal_hosts(3);
  CHECK(letters(picks(*b, {.hosts = hosts}, 6)) == "abcabc");
}

TEST_CASE("weighted_round_robin follows slow-start weights", "[upstream][balancer]") {
  SeededRng rng(1);
  auto b = make_balancer(LbPolicy::weighted_round_robin, rng);
  // Endpoint b has weight 4 but is 25% through its slow start: effective 1, so 4:1 with a.
  std::vector<LbHost> hosts{{4, true}, {4 * 0.25, true}};
  CHECK(tally(picks(*b, {.hosts = hosts}, 50), 2) == std::vector<int>{40, 10});
  // The ramp ends: 1:1 from the next cycle on.
  hosts[1].weight = 4;
  CHECK(tally(picks(*b, {.hosts = hosts}, 50), 2) == std::vector<int>{25, 25});
}

TEST_CASE("weighted_round_robin skips unusable endpoints and readmits them without a burst",
          "[upstream][balancer]") {
  SeededRng rng(1);
  auto b = make_balancer(LbPolicy::weighted_round_robin, rng);
  std::vector<LbHost> hosts{{2, true}, {1, true}, {1, true}};
  hosts[0].usable = false;
  const auto down = picks(*b, {.hosts = hosts}, 20);
  CHECK(tally(down, 3) == std::vector<int>{0, 10, 10});
  hosts[0].usable = true;
  const auto back = picks(*b, {.hosts = hosts}, 4);
  CHECK(tally(back, 3) == std::vector<int>{2, 1, 1});
}

TEST_CASE("weighted_round_robin keeps working when the endpoint count changes",
          "[upstream][balancer]") {
  SeededRng rng(1);
  auto b = make_balancer(LbPolicy::weighted_round_robin, rng);
  std::vector<LbHost> three{{1, true}, {1, true}, {1, true}};
  std::vector<LbHost> two{{3, true}, {1, true}};
  picks(*b, {.hosts = three}, 5);
  CHECK(tally(picks(*b, {.hosts = two}, 40), 2) == std::vector<int>{30, 10});
}

TEST_CASE("random follows the weights with a fixed seed", "[upstream][balancer]") {
  SeededRng rng(7);
  auto b = make_balancer(LbPolicy::random, rng);
  CHECK(b->policy() == LbPolicy::random);
  std::vector<LbHost> hosts{{1, true}, {2, true}, {3, true}, {4, true}, {100, false}};
  const int n = 100000;
  const auto counts = tally(picks(*b, {.hosts = hosts}, n), hosts.size());
  CHECK(counts[4] == 0);
  for (std::size_t i = 0; i < 4; ++i) {
    const double expected = (i + 1) / 10.0;
    INFO("endpoint " << i << " share " << counts[i] / double(n));
    CHECK(std::abs(counts[i] / double(n) - expected) < 0.01);  // ~6 sigma at n = 100k
  }
}

TEST_CASE("random is reproducible from its seed", "[upstream][balancer]") {
  SeededRng r1(11), r2(11), r3(12);
  auto a = make_balancer(LbPolicy::random, r1);
  auto b = make_balancer(LbPolicy::random, r2);
  auto c = make_balancer(LbPolicy::random, r3);
  const auto hosts = equal_hosts(8);
  const auto sa = picks(*a, {.hosts = hosts}, 50);
  CHECK(sa == picks(*b, {.hosts = hosts}, 50));
  CHECK(sa != picks(*c, {.hosts = hosts}, 50));
}

TEST_CASE("least_request spreads evenly at equal load", "[upstream][balancer]") {
  SeededRng rng(3);
  auto b = make_balancer(LbPolicy::least_request, rng);
  CHECK(b->policy() == LbPolicy::least_request);
  const auto hosts = equal_hosts(4);
  std::vector<std::atomic<std::uint32_t>> active(4);
  for (auto& a : active) a = 7;  // everyone equally busy: every comparison is a tie
  const ActiveRequests in_flight_reader(active);
  PickContext ctx{.hosts = hosts, .active = &in_flight_reader};
  const auto counts = tally(picks(*b, ctx, 40000), 4);
  for (int c : counts) {
    INFO("count " << c);
    CHECK(std::abs(c - 10000) < 400);  // ~8 sigma
  }
}

TEST_CASE("least_request never picks the busiest endpoint while two others are eligible",
          "[upstream][balancer]") {
  SeededRng rng(3);
  auto b = make_balancer(LbPolicy::least_request, rng);
  const auto hosts = equal_hosts(4);
  std::vector<std::atomic<std::uint32_t>> active(4);
  active[2] = 50;
  const ActiveRequests in_flight_reader(active);
  PickContext ctx{.hosts = hosts, .active = &in_flight_reader};
  const auto counts = tally(picks(*b, ctx, 30000), 4);
  CHECK(counts[2] == 0);
  for (std::size_t i : {0u, 1u, 3u}) CHECK(std::abs(counts[i] - 10000) < 400);
}

TEST_CASE("least_request sends little to a slow endpoint under live load", "[upstream][balancer]") {
  // One request arrives per tick; endpoint 0 takes 40 ticks to answer, the others 4. Round robin
  // would give endpoint 0 a quarter of the requests and let them pile up there.
  SeededRng rng(5);
  auto b = make_balancer(LbPolicy::least_request, rng);
  const auto hosts = equal_hosts(4);
  std::vector<std::atomic<std::uint32_t>> active(4);
  const ActiveRequests in_flight_reader(active);
  PickContext ctx{.hosts = hosts, .active = &in_flight_reader};
  std::deque<std::pair<int, std::size_t>> in_flight;  // (finish tick, endpoint)
  std::vector<int> counts(4, 0);
  const int ticks = 20000;
  std::uint32_t worst_backlog = 0;
  for (int t = 0; t < ticks; ++t) {
    for (auto it = in_flight.begin(); it != in_flight.end();) {
      if (it->first == t) {
        --active[it->second];
        it = in_flight.erase(it);
      } else {
        ++it;
      }
    }
    const auto p = b->pick(ctx);
    REQUIRE(p.has_value());
    ++counts[*p];
    ++active[*p];
    in_flight.emplace_back(t + (*p == 0 ? 40 : 4), *p);
    worst_backlog = std::max(worst_backlog, active[0].load());
  }
  const double slow_share = counts[0] / double(ticks);
  INFO("slow endpoint share " << slow_share << ", its worst backlog " << worst_backlog);
  // Measured: 5.7% of requests and a backlog of at most 4 (round robin: 25%, and a backlog of 10).
  CHECK(slow_share < 0.10);
  CHECK(worst_backlog <= 6);
}

TEST_CASE("least_request reads counts through a callback", "[upstream][balancer]") {
  SeededRng rng(3);
  auto b = make_balancer(LbPolicy::least_request, rng);
  const auto hosts = equal_hosts(2);
  const std::vector<std::uint32_t> load{0, 9};
  const ActiveRequests active(
      [](const void* c, std::size_t i) {
        return (*static_cast<const std::vector<std::uint32_t>*>(c))[i];
      },
      &load);
  CHECK(active(1) == 9);
  CHECK(tally(picks(*b, {.hosts = hosts, .active = &active}, 100), 2) == std::vector<int>{100, 0});
}

TEST_CASE("least_request trades weight against load by active_request_bias",
          "[upstream][balancer]") {
  std::vector<LbHost> hosts{{2, true}, {1, true}};
  std::vector<std::atomic<std::uint32_t>> active(2);
  active[0] = 1;  // score with bias 1: 2 / (1 + 1) = 1, the same as 1 / (0 + 1)
  const ActiveRequests in_flight_reader(active);
  PickContext ctx{.hosts = hosts, .active = &in_flight_reader};
  SeededRng rng(9);
  auto even = make_balancer(LbPolicy::least_request, rng, {.active_request_bias = 1.0});
  const auto tie = tally(picks(*even, ctx, 10000), 2);
  CHECK(std::abs(tie[0] - 5000) < 300);  // a tie: a coin flip
  auto weights_only = make_balancer(LbPolicy::least_request, rng, {.active_request_bias = 0.0});
  CHECK(tally(picks(*weights_only, ctx, 100), 2) == std::vector<int>{100, 0});
  auto load_averse = make_balancer(LbPolicy::least_request, rng, {.active_request_bias = 2.0});
  CHECK(tally(picks(*load_averse, ctx, 100), 2) == std::vector<int>{0, 100});  // 2/4 < 1/1
}
