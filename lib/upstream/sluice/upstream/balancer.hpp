// Load balancers: the contract every policy keeps when a worker picks an endpoint from a health
// snapshot, and the factory that builds one from config::LbPolicy.
//
// Threads. A balancer is per worker: each worker owns its instances (from make_balancer) and calls
// pick() from its own thread only, so cursors and weights are plain fields, never atomics or locks.
// What workers share is immutable: the snapshot the control thread publishes (a vector of LbHost)
// and, for ring_hash and maglev, a HashTable built from that same snapshot by build_table() off the
// hot path and held next to it by shared_ptr. A worker loads the snapshot once per request and
// passes both in the PickContext, so a table always matches the hosts it was built from (a stale
// one is still safe: indices past the snapshot's end are skipped).
//
// Costs. pick() never allocates (weighted_round_robin resizes its state once when the endpoint
// count changes), never locks, never throws. round_robin and least_request are O(1) expected
// while most endpoints are usable; weighted_round_robin and random scan the snapshot (O(N), a few
// ns per endpoint); ring_hash is O(log ring), maglev O(1). Walking past unusable or excluded
// endpoints costs more, only on that path.
//
// Every policy keeps these rules:
//  - it picks only eligible endpoints: usable (or any, with Panic::yes) and weight > 0;
//  - `exclude` (the endpoint of the try that failed) is returned only when no other endpoint is
//    eligible, so a retry goes elsewhere whenever there is somewhere else;
//  - nothing eligible: nullopt (the caller answers "no healthy upstream" and says why).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "sluice/core/clock.hpp"
#include "sluice/core/config/resilience.hpp"

namespace sluice::upstream {

// One endpoint as the balancers see it, at its index in the cluster.
struct LbHost {
  // Effective weight: configured weight x slow-start factor in (0, 1]. Must be in (0, kMaxWeight];
  // an entry with any other weight (0, negative, NaN, huge) gets no traffic, not even in panic.
  double weight = 1.0;
  bool usable = true;  // passes health checks, not ejected, breaker not open
};

// Far above the configured maximum (1e6), low enough that sums of weights stay exact enough.
inline constexpr double kMaxWeight = 1e9;

// The snapshot's endpoints, indexed like Cluster::endpoints().
using LbHosts = std::span<const LbHost>;

// Panic routing: the cluster has too few usable endpoints, so every endpoint counts as usable.
enum class Panic { no, yes };

inline bool eligible(const LbHost& h, Panic panic) {
  return (h.usable || panic == Panic::yes) && h.weight > 0.0 && h.weight <= kMaxWeight;
}

// Requests in flight per endpoint, for least_request. Non-owning: what it reads must outlive the
// pick. Reads are relaxed; a count a few requests stale only blurs the comparison.
class ActiveRequests {
 public:
  using Reader = std::uint32_t (*)(const void* context, std::size_t index);

  ActiveRequests() = default;  // every endpoint has 0 in flight
  // One counter per endpoint, by index; an index past the end reads 0.
  explicit ActiveRequests(std::span<const std::atomic<std::uint32_t>> counts)
      : counts_(counts.data()), size_(counts.size()) {}
  // Counters kept elsewhere (per endpoint structs, per worker tallies).
  ActiveRequests(Reader reader, const void* context) : reader_(reader), context_(context) {}

  std::uint32_t operator()(std::size_t index) const {
    if (reader_ != nullptr) return reader_(context_, index);
    return index < size_ ? counts_[index].load(std::memory_order_relaxed) : 0;
  }

 private:
  const std::atomic<std::uint32_t>* counts_ = nullptr;
  std::size_t size_ = 0;
  Reader reader_ = nullptr;
  const void* context_ = nullptr;
};

class HashTable;

// PickContext::exclude when the pick is not a retry.
inline constexpr std::size_t kNoEndpoint = static_cast<std::size_t>(-1);

// What one pick needs. Cheap to build per request; it only points at the caller's data. Every
// member but `hosts` is a scalar, so designated initializers may leave any of them out under
// GCC's -Wmissing-field-initializers.
struct PickContext {
  LbHosts hosts;
  // ring_hash and maglev: the request's key hash (key_hash() of a header, cookie or source IP).
  std::uint64_t hash = 0;
  // A retry: the endpoint of the failed try, avoided while another endpoint is eligible.
  std::size_t exclude = kNoEndpoint;
  Panic panic = Panic::no;
  // least_request: requests in flight per endpoint; nullptr reads 0 for every endpoint.
  const ActiveRequests* active = nullptr;
  // ring_hash and maglev: the table built from `hosts` (build_table). Without one, or when none of
  // its endpoints is eligible, the key falls back to a plain hash-and-walk over `hosts`: still
  // deterministic, but neither weighted nor minimally disruptive.
  const HashTable* table = nullptr;
};

class Balancer {
 public:
  virtual ~Balancer() = default;
  // The index of the chosen endpoint in ctx.hosts, or nullopt when no endpoint is eligible.
  virtual std::optional<std::size_t> pick(const PickContext& ctx) = 0;
  virtual config::LbPolicy policy() const = 0;
};

struct BalancerOptions {
  // round_robin: the index tried first. Give each worker a different one (its worker number) so
  // that N workers starting together do not all hit endpoint 0 first.
  std::size_t first_index = 0;
  // least_request: score = weight / (active + 1)^bias. 0 ignores load (weights only), 1 (Envoy's
  // default) trades them evenly, higher avoids loaded endpoints harder.
  double active_request_bias = 1.0;
};

// A balancer for one worker. `rng` (random, least_request) must outlive it and belong to the same
// worker: Rng implementations are not thread-safe.
std::unique_ptr<Balancer> make_balancer(config::LbPolicy policy, Rng& rng,
                                        const BalancerOptions& options = {});

// An immutable lookup structure from the key hash to an endpoint (ring_hash, maglev), built from
// one snapshot by the control thread and shared by every worker.
class HashTable {
 public:
  virtual ~HashTable() = default;
  // The endpoint for ctx.hash, walking on deterministically (ring order, table order) past
  // endpoints that are not eligible or excluded. nullopt when none of the table's endpoints is
  // eligible and not excluded; the balancer then falls back as PickContext::table says.
  virtual std::optional<std::size_t> pick(const PickContext& ctx) const = 0;
  virtual config::LbPolicy policy() const = 0;
  // The endpoints in the table, ascending, each once.
  virtual std::span<const std::uint32_t> members() const = 0;
};

struct TableOptions {
  // ring_hash: an endpoint gets weight x max(ring_points_per_weight, min_ring_size / N) points
  // (virtual nodes), rounded, at least 1, where N counts every endpoint of the snapshot, usable or
  // not. So a health change or a slow-start step never re-cuts the other endpoints' points: only
  // the keys of the endpoint that leaves, joins or ramps up move. A ring that would pass
  // max_ring_size is scaled down to it (only with very large weights); then the cut depends on
  // the whole set again.
  std::size_t ring_points_per_weight = 256;
  std::size_t min_ring_size = 1024;
  std::size_t max_ring_size = std::size_t{1} << 18;
  // maglev: the number of slots, rounded up to a prime. Keys spread evenly while it is much larger
  // than the endpoint count (Google's paper: about 100x).
  std::size_t maglev_table_size = 65537;
  // Panic::yes builds over every endpoint with a weight, for a cluster in panic routing.
  Panic panic = Panic::no;
};

// The table for `policy` over the eligible endpoints of `hosts`, or nullptr for policies that use
// none. `ids` give each endpoint a stable identity, e.g. key_hash(endpoint.name), so that keys stay
// put when the endpoint list is reordered or grows; empty: the index is the identity.
std::shared_ptr<const HashTable> build_table(config::LbPolicy policy, LbHosts hosts,
                                             std::span<const std::uint64_t> ids = {},
                                             const TableOptions& options = {});

}  // namespace sluice::upstream
