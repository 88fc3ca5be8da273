// The rules every policy keeps (balancer.hpp): health, panic, weights of zero, retries that go
// elsewhere, one endpoint, none.
#include "sluice/upstream/balancer.hpp"

#include <cmath>
#include <limits>
#include <memory>
#include <set>
#include <vector>

#include <catch2/catch.hpp>

#include "sluice/upstream/key_hash.hpp"

using sluice::SeededRng;
using sluice::config::LbPolicy;
using namespace sluice::upstream;

namespace {

constexpr LbPolicy kPolicies[] = {LbPolicy::round_robin, LbPolicy::weighted_round_robin,
                                  LbPolicy::random,      LbPolicy::least_request,
                                  LbPolicy::ring_hash,   LbPolicy::maglev};

const char* name(LbPolicy p) {
  switch (p) {
    case LbPolicy::round_robin:
      return "round_robin";
    case LbPolicy::weighted_round_robin:
      return "weighted_round_robin";
    case LbPolicy::random:
      return "random";
    case LbPolicy::least_request:
      return "least_request";
    case LbPolicy::ring_hash:
      return "ring_hash";
    case LbPolicy::maglev:
      return "maglev";
  }
  return "?";
}

// A balancer plus, for the hash policies, the table built from the same hosts: what a worker
// holds after loading one snapshot.
struct Setup {
  SeededRng rng{42};
  std::unique_ptr<Balancer> balancer;
  std::shared_ptr<const HashTable> table;

  Setup(LbPolicy policy, LbHosts hosts, Panic panic = Panic::no)
      : balancer(make_balancer(policy, rng)) {
    TableOptions options;
    options.panic = panic;
    options.maglev_table_size = 1009;  // small keeps the tests quick; balance has its own tests
    table = build_table(policy, hosts, {}, options);
  }

  std::optional<std::size_t> pick(LbHosts hosts, std::uint64_t key,
                                  std::size_t exclude = kNoEndpoint, Panic panic = Panic::no) {
    return balancer->pick({.hosts = hosts,
                           .hash = key_hash_bytes(&key, sizeof key),
                           .exclude = exclude,
                           .panic = panic,
                           .table = table.get()});
  }
};

}  // namespace

TEST_CASE("every policy answers nullopt when no endpoint is usable", "[upstream][balancer]") {
  for (LbPolicy policy : kPolicies) {
    INFO(name(policy));
    std::vector<LbHost> hosts(5, LbHost{1, false});
    Setup s(policy, hosts);
    for (std::uint64_t k = 0; k < 20; ++k) CHECK_FALSE(s.pick(hosts, k).has_value());
    CHECK_FALSE(s.pick(hosts, 1, 3).has_value());
    // And with no endpoints at all.
    Setup empty(policy, {});
    CHECK_FALSE(empty.pick({}, 1).has_value());
  }
}

TEST_CASE("every policy picks the single usable endpoint", "[upstream][balancer]") {
  for (LbPolicy policy : kPolicies) {
    INFO(name(policy));
    std::vector<LbHost> hosts(6, LbHost{1, false});
    hosts[4].usable = true;
    Setup s(policy, hosts);
    for (std::uint64_t k = 0; k < 50; ++k) CHECK(s.pick(hosts, k) == 4u);
    // A retry from it has nowhere else to go, so it goes back there.
    CHECK(s.pick(hosts, 9, 4) == 4u);
    std::vector<LbHost> one{{3, true}};
    Setup single(policy, one);
    CHECK(single.pick(one, 5) == 0u);
    CHECK(single.pick(one, 5, 0) == 0u);
  }
}

TEST_CASE("every policy avoids unusable endpoints", "[upstream][balancer]") {
  std::vector<LbHost> hosts(12, LbHost{2, true});
  for (std::size_t i : {1u, 4u, 5u, 9u, 11u}) hosts[i].usable = false;
  for (LbPolicy policy : kPolicies) {
    INFO(name(policy));
    Setup s(policy, hosts);
    std::set<std::size_t> seen;
    for (std::uint64_t k = 0; k < 2000; ++k) {
      const auto p = s.pick(hosts, k);
      REQUIRE(p.has_value());
      CHECK(hosts[*p].usable);
      seen.insert(*p);
    }
    CHECK(seen == std::set<std::size_t>{0, 2, 3, 6, 7, 8, 10});
  }
}

TEST_CASE("every policy gives no traffic to a weight of zero or NaN", "[upstream][balancer]") {
  std::vector<LbHost> hosts{{1, true},
                            {0, true},
                            {std::numeric_limits<double>::quiet_NaN(), true},
                            {-1, true},
                            {std::numeric_limits<double>::infinity(), true},
                            {1, true}};
  for (LbPolicy policy : kPolicies) {
    INFO(name(policy));
    Setup s(policy, hosts, Panic::yes);
    for (std::uint64_t k = 0; k < 500; ++k) {
      const auto p = s.pick(hosts, k, kNoEndpoint, Panic::yes);
      REQUIRE(p.has_value());
      CHECK((*p == 0 || *p == 5));
    }
  }
}

TEST_CASE("every policy routes to all endpoints in panic", "[upstream][balancer]") {
  std::vector<LbHost> hosts(4, LbHost{1, false});
  hosts[3].usable = true;
  for (LbPolicy policy : kPolicies) {
    INFO(name(policy));
    // The control thread builds the table for panic too; also without that, a stale table.
    for (Panic built_for : {Panic::yes, Panic::no}) {
      Setup s(policy, hosts, built_for);
      std::set<std::size_t> seen;
      for (std::uint64_t k = 0; k < 400; ++k) {
        const auto p = s.pick(hosts, k, kNoEndpoint, Panic::yes);
        REQUIRE(p.has_value());
        seen.insert(*p);
      }
      // A hash table built for the usable set alone keeps sending keys there, which is allowed.
      const bool narrow =
          built_for == Panic::no && (policy == LbPolicy::ring_hash || policy == LbPolicy::maglev);
      CHECK(seen.size() == (narrow ? 1u : 4u));
    }
  }
}

TEST_CASE("every policy sends a retry to a different endpoint", "[upstream][balancer]") {
  std::vector<LbHost> hosts(5, LbHost{1, true});
  hosts[2].usable = false;
  for (LbPolicy policy : kPolicies) {
    INFO(name(policy));
    Setup s(policy, hosts);
    for (std::uint64_t k = 0; k < 500; ++k) {
      const auto first = s.pick(hosts, k);
      REQUIRE(first.has_value());
      const auto retry = s.pick(hosts, k, *first);
      REQUIRE(retry.has_value());
      CHECK(*retry != *first);
      CHECK(*retry != 2u);
    }
  }
}

TEST_CASE("hash policies send a key's retry to the same second choice", "[upstream][balancer]") {
  std::vector<LbHost> hosts(8, LbHost{1, true});
  for (LbPolicy policy : {LbPolicy::ring_hash, LbPolicy::maglev}) {
    INFO(name(policy));
    Setup s(policy, hosts);
    std::set<std::size_t> second_choices;
    for (std::uint64_t k = 0; k < 300; ++k) {
      const auto first = s.pick(hosts, k);
      const auto retry = s.pick(hosts, k, *first);
      CHECK(retry == s.pick(hosts, k, *first));
      second_choices.insert(*retry);
    }
    CHECK(second_choices.size() == hosts.size());  // retries spread, they do not pile on one
  }
}

TEST_CASE("hash policies without a table still hash deterministically", "[upstream][balancer]") {
  std::vector<LbHost> hosts(6, LbHost{1, true});
  hosts[0].usable = false;
  for (LbPolicy policy : {LbPolicy::ring_hash, LbPolicy::maglev}) {
    INFO(name(policy));
    SeededRng rng(1);
    auto b = make_balancer(policy, rng);
    std::set<std::size_t> seen;
    for (std::uint64_t k = 0; k < 300; ++k) {
      const PickContext ctx{.hosts = hosts, .hash = key_hash_bytes(&k, sizeof k)};
      const auto p = b->pick(ctx);
      REQUIRE(p.has_value());
      CHECK(*p != 0u);
      CHECK(b->pick(ctx) == p);
      seen.insert(*p);
    }
    CHECK(seen.size() == 5u);
  }
}

TEST_CASE("build_table makes tables only for hash policies", "[upstream][balancer]") {
  std::vector<LbHost> hosts(3, LbHost{1, true});
  CHECK(build_table(LbPolicy::round_robin, hosts) == nullptr);
  CHECK(build_table(LbPolicy::least_request, hosts) == nullptr);
  const auto ring = build_table(LbPolicy::ring_hash, hosts);
  const auto maglev = build_table(LbPolicy::maglev, hosts);
  REQUIRE(ring != nullptr);
  REQUIRE(maglev != nullptr);
  CHECK(ring->policy() == LbPolicy::ring_hash);
  CHECK(maglev->policy() == LbPolicy::maglev);
  const std::vector<std::uint32_t> all{0, 1, 2};
  CHECK(std::vector<std::uint32_t>(ring->members().begin(), ring->members().end()) == all);
  CHECK(std::vector<std::uint32_t>(maglev->members().begin(), maglev->members().end()) == all);
}

TEST_CASE("a table from a larger snapshot never yields an index past the hosts",
          "[upstream][balancer]") {
  const std::vector<LbHost> before(8, LbHost{1, true});
  const std::vector<LbHost> after(3, LbHost{1, true});  // the list shrank; the table is stale
  for (LbPolicy policy : {LbPolicy::ring_hash, LbPolicy::maglev}) {
    INFO(name(policy));
    Setup s(policy, before);
    std::set<std::size_t> seen;
    for (std::uint64_t k = 0; k < 500; ++k) {
      const auto p = s.pick(after, k);
      REQUIRE(p.has_value());
      CHECK(*p < after.size());
      seen.insert(*p);
    }
    CHECK(seen.size() == after.size());
  }
}
