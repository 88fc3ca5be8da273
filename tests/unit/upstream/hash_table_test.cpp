// ring_hash and maglev tables: consistency, balance, and how many keys move when the endpoint set
// changes. Figures are measured on 100k keys over 10 endpoints and asserted with some headroom.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "sluice/upstream/balancer.hpp"
#include "sluice/upstream/key_hash.hpp"
#include "sluice/upstream/maglev.hpp"
#include "sluice/upstream/ring_hash.hpp"

using sluice::config::LbPolicy;
using namespace sluice::upstream;

namespace {

constexpr int kKeys = 100000;

const std::vector<std::uint64_t>& keys() {
  static const std::vector<std::uint64_t> k = [] {
    std::vector<std::uint64_t> v;
    for (int i = 0; i < kKeys; ++i) v.push_back(key_hash("user-" + std::to_string(i)));
    return v;
  }();
  return k;
}

std::vector<std::size_t> assign(const HashTable& table, LbHosts hosts) {
  std::vector<std::size_t> out;
  out.reserve(kKeys);
  for (std::uint64_t h : keys()) {
    const auto p = table.pick({.hosts = hosts, .hash = h});
    REQUIRE(p.has_value());
    out.push_back(*p);
  }
  return out;
}

std::vector<int> load(const std::vector<std::size_t>& owners, std::size_t n) {
  std::vector<int> counts(n, 0);
  for (std::size_t o : owners) ++counts[o];
  return counts;
}

double max_over_min(const std::vector<int>& counts) {
  int lo = kKeys, hi = 0;
  for (int c : counts) {
    if (c == 0) continue;  // an endpoint outside the table
    lo = std::min(lo, c);
    hi = std::max(hi, c);
  }
  return double(hi) / lo;
}

struct Movement {
  double moved;          // fraction of all keys that changed endpoint
  double from_removed;   // fraction of the moved keys that had been on the removed endpoint
  double removed_share;  // fraction of all keys the removed endpoint had
};

Movement movement(const std::vector<std::size_t>& before, const std::vector<std::size_t>& after,
                  std::size_t removed) {
  int moved = 0, from_removed = 0, on_removed = 0;
  for (std::size_t i = 0; i < before.size(); ++i) {
    on_removed += before[i] == removed;
    if (before[i] == after[i]) continue;
    ++moved;
    from_removed += before[i] == removed;
  }
  return {double(moved) / kKeys, moved ? double(from_removed) / moved : 1.0,
          double(on_removed) / kKeys};
}

std::shared_ptr<const HashTable> table_for(LbPolicy policy, LbHosts hosts,
                                           std::span<const std::uint64_t> ids = {}) {
  return build_table(policy, hosts, ids);
}

// Bounds per policy, from the measured figures in the test bodies.
struct Bounds {
  double balance;  // max/min keys per endpoint over 10 equal endpoints
};

// Measured: ring_hash 1.32 (256 points per endpoint), maglev 1.03 (65537 slots).
Bounds bounds(LbPolicy p) {
  return p == LbPolicy::maglev ? Bounds{1.06} : Bounds{1.4};
}

}  // namespace

TEST_CASE("hash tables send a key to the same endpoint every time", "[upstream][hash_table]") {
  const std::vector<LbHost> hosts(10, LbHost{1, true});
  for (LbPolicy policy : {LbPolicy::ring_hash, LbPolicy::maglev}) {
    INFO(int(policy));
    const auto a = table_for(policy, hosts);
    const auto b = table_for(policy, hosts);  // another build of the same snapshot
    const auto first = assign(*a, hosts);
    CHECK(assign(*a, hosts) == first);
    CHECK(assign(*b, hosts) == first);
  }
}

TEST_CASE("hash tables balance keys over equal endpoints", "[upstream][hash_table]") {
  const std::vector<LbHost> hosts(10, LbHost{1, true});
  for (LbPolicy policy : {LbPolicy::ring_hash, LbPolicy::maglev}) {
    const auto counts = load(assign(*table_for(policy, hosts), hosts), hosts.size());
    const double ratio = max_over_min(counts);
    INFO((policy == LbPolicy::maglev ? "maglev" : "ring_hash") << " max/min " << ratio);
    CHECK(std::count(counts.begin(), counts.end(), 0) == 0);
    CHECK(ratio < bounds(policy).balance);
  }
}

TEST_CASE("hash tables move about 1/N of keys when one of N endpoints leaves",
          "[upstream][hash_table]") {
  std::vector<LbHost> hosts(10, LbHost{1, true});
  const std::size_t removed = 3;
  for (LbPolicy policy : {LbPolicy::ring_hash, LbPolicy::maglev}) {
    const char* label = policy == LbPolicy::maglev ? "maglev" : "ring_hash";
    const auto before = assign(*table_for(policy, hosts), hosts);
    auto down = hosts;
    down[removed].usable = false;
    SECTION(std::string(label) + ": table rebuilt for the usable set") {
      const auto after = assign(*table_for(policy, down), down);
      const Movement m = movement(before, after, removed);
      INFO(label << " rebuilt: moved " << m.moved << " from removed " << m.from_removed
                 << " removed share " << m.removed_share);
      // Measured: ring_hash moves 8.7% (exactly the removed endpoint's keys); maglev 10.2%, of
      // which 97.8% were the removed endpoint's.
      CHECK(m.moved <= 1.2 / 10);
      CHECK(m.from_removed >= (policy == LbPolicy::maglev ? 0.95 : 1.0));
    }
    SECTION(std::string(label) + ": stale table, the walk falls over") {
      const auto table = table_for(policy, hosts);
      const auto after = assign(*table, down);
      const Movement m = movement(before, after, removed);
      INFO(label << " stale: moved " << m.moved << " from removed " << m.from_removed);
      CHECK(m.moved == Approx(m.removed_share));
      CHECK(m.from_removed == 1.0);
      // The removed endpoint's keys spread over the others rather than landing on one neighbour.
      std::vector<int> dest(hosts.size(), 0);
      for (std::size_t i = 0; i < before.size(); ++i) {
        if (before[i] == removed) ++dest[after[i]];
      }
      const int biggest = *std::max_element(dest.begin(), dest.end());
      // Measured: the largest destination takes 18.5% of them (ring_hash), 12.9% (maglev), of
      // 9 possible destinations.
      INFO(label << " stale: largest destination share "
                 << double(biggest) / (m.removed_share * kKeys));
      CHECK(biggest < m.removed_share * kKeys * (policy == LbPolicy::maglev ? 0.2 : 0.3));
    }
  }
}

TEST_CASE("hash tables move about 1/(N+1) of keys to an endpoint that joins",
          "[upstream][hash_table]") {
  const std::vector<LbHost> ten(10, LbHost{1, true});
  const std::vector<LbHost> eleven(11, LbHost{1, true});
  for (LbPolicy policy : {LbPolicy::ring_hash, LbPolicy::maglev}) {
    const char* label = policy == LbPolicy::maglev ? "maglev" : "ring_hash";
    const auto before = assign(*table_for(policy, ten), ten);
    const auto after = assign(*table_for(policy, eleven), eleven);
    int moved = 0, to_new = 0;
    for (std::size_t i = 0; i < before.size(); ++i) {
      if (before[i] == after[i]) continue;
      ++moved;
      to_new += after[i] == 10;
    }
    // Measured: ring_hash moves 8.3%, all to the new endpoint; maglev 9.1%, 97.7% to it.
    INFO(label << " join: moved " << double(moved) / kKeys << " to new " << double(to_new) / moved);
    CHECK(moved <= 1.2 / 11 * kKeys);
    CHECK(to_new >= (policy == LbPolicy::maglev ? 0.95 : 1.0) * moved);
  }
}

TEST_CASE("hash tables move keys only onto an endpoint that ramps up", "[upstream][hash_table]") {
  std::vector<LbHost> hosts(10, LbHost{1, true});
  hosts[7].weight = 0.3;  // in slow start
  auto later = hosts;
  later[7].weight = 0.6;
  for (LbPolicy policy : {LbPolicy::ring_hash, LbPolicy::maglev}) {
    const char* label = policy == LbPolicy::maglev ? "maglev" : "ring_hash";
    const auto before = assign(*table_for(policy, hosts), hosts);
    const auto after = assign(*table_for(policy, later), later);
    int moved = 0, to_ramping = 0;
    for (std::size_t i = 0; i < before.size(); ++i) {
      if (before[i] == after[i]) continue;
      ++moved;
      to_ramping += after[i] == 7;
    }
    // Its share grows from 0.3 / 9.3 to 0.6 / 9.6, by 3.0%. Measured: ring_hash moves 3.4%, all
    // to it; maglev 3.2%, 95% to it.
    INFO(label << " ramp: moved " << double(moved) / kKeys << " to ramping "
               << double(to_ramping) / moved);
    CHECK(moved < 0.045 * kKeys);
    CHECK(to_ramping >= (policy == LbPolicy::maglev ? 0.9 : 1.0) * moved);
  }
}

TEST_CASE("hash tables give keys in proportion to weight", "[upstream][hash_table]") {
  // Endpoint 0 weighs 3, endpoint 1 is halfway through slow start (0.5), the rest weigh 1.
  std::vector<LbHost> hosts(6, LbHost{1, true});
  hosts[0].weight = 3;
  hosts[1].weight = 0.5;
  for (LbPolicy policy : {LbPolicy::ring_hash, LbPolicy::maglev}) {
    const char* label = policy == LbPolicy::maglev ? "maglev" : "ring_hash";
    const auto counts = load(assign(*table_for(policy, hosts), hosts), hosts.size());
    const double unit = kKeys / 7.5;
    // Measured worst deviation from the weight: ring_hash 17% (endpoint 3 at 0.83), maglev 1.4%.
    const double tolerance = policy == LbPolicy::maglev ? 0.03 : 0.2;
    INFO(label);
    CHECK(counts[0] / unit == Approx(3).epsilon(tolerance));
    CHECK(counts[1] / unit == Approx(0.5).epsilon(tolerance));
    for (std::size_t i = 2; i < hosts.size(); ++i)
      CHECK(counts[i] / unit == Approx(1).epsilon(tolerance));
  }
}

TEST_CASE("hash tables keep keys with an endpoint's id when the list is reordered",
          "[upstream][hash_table]") {
  const std::vector<LbHost> hosts(5, LbHost{1, true});
  const std::vector<std::uint64_t> ids{key_hash("a:80"), key_hash("b:80"), key_hash("c:80"),
                                       key_hash("d:80"), key_hash("e:80")};
  const std::vector<std::uint64_t> reversed(ids.rbegin(), ids.rend());
  for (LbPolicy policy : {LbPolicy::ring_hash, LbPolicy::maglev}) {
    INFO(int(policy));
    const auto before = assign(*table_for(policy, hosts, ids), hosts);
    const auto after = assign(*table_for(policy, hosts, reversed), hosts);
    for (std::size_t i = 0; i < before.size(); i += 97) {
      REQUIRE(ids[before[i]] == reversed[after[i]]);
    }
  }
}

TEST_CASE("ring_hash gives each endpoint points by its weight alone", "[upstream][hash_table]") {
  std::vector<LbHost> hosts(10, LbHost{1, true});
  TableOptions options;  // 256 points per unit of weight, a ring of at least 1024
  const auto even = RingHashTable::build(hosts, {}, options);
  CHECK(even->size() == 2560);
  for (std::size_t i = 0; i < hosts.size(); ++i) CHECK(even->points_of(i) == 256);
  // Health and slow start leave the other endpoints' points alone.
  hosts[3].usable = false;
  hosts[4].weight = 0.25;
  const auto changed = RingHashTable::build(hosts, {}, options);
  CHECK(changed->points_of(3) == 0);
  CHECK(changed->points_of(4) == 64);
  CHECK(changed->points_of(5) == 256);
  // A weight too small for a whole point still gets one.
  hosts[4].weight = 0.001;
  CHECK(RingHashTable::build(hosts, {}, options)->points_of(4) == 1);
}

TEST_CASE("ring_hash stretches small clusters to min_ring_size and caps at max_ring_size",
          "[upstream][hash_table]") {
  std::vector<LbHost> two(2, LbHost{1, true});
  TableOptions options;
  CHECK(RingHashTable::build(two, {}, options)->size() == 1024);
  // The stretch counts every endpoint, usable or not, so one going down changes nothing else.
  two[1].usable = false;
  CHECK(RingHashTable::build(two, {}, options)->points_of(0) == 512);
  std::vector<LbHost> ten(10, LbHost{1, true});
  options.min_ring_size = 4096;
  CHECK(RingHashTable::build(ten, {}, options)->size() == 4100);
  options.max_ring_size = 500;
  const auto capped = RingHashTable::build(ten, {}, options);
  CHECK(capped->size() == 500);
  CHECK(capped->points_of(0) == 50);
}

TEST_CASE("maglev tables have a prime size and fill every slot", "[upstream][hash_table]") {
  CHECK(next_prime(65537) == 65537);
  CHECK(next_prime(1000) == 1009);
  CHECK(next_prime(0) == 2);
  std::vector<LbHost> hosts(7, LbHost{1, true});
  TableOptions options;
  const auto table = MaglevTable::build(hosts, {}, options);
  CHECK(table->size() == 65537);
  std::size_t total = 0;
  for (std::size_t i = 0; i < hosts.size(); ++i) total += table->slots_of(i);
  CHECK(total == table->size());
  options.maglev_table_size = 1000;
  CHECK(MaglevTable::build(hosts, {}, options)->size() == 1009);
}
