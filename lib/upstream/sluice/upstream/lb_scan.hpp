// Scans over a snapshot that the balancers share: which endpoints a pick may return, the walk to
// the next one, a uniform random one; and what table builds start from. Internal to the balancers.
// Nothing that pick() uses allocates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "sluice/upstream/balancer.hpp"
#include "sluice/upstream/key_hash.hpp"

namespace sluice::upstream::lb {

// Eligible and not the excluded endpoint: what a pick should return when it can.
inline bool candidate(const PickContext& ctx, std::size_t i) {
  return i < ctx.hosts.size() && ctx.exclude != i && eligible(ctx.hosts[i], ctx.panic);
}

// The last resort of every policy: the excluded endpoint when it is the only eligible one.
inline std::optional<std::size_t> excluded_if_eligible(const PickContext& ctx) {
  if (ctx.exclude < ctx.hosts.size() && eligible(ctx.hosts[ctx.exclude], ctx.panic)) {
    return ctx.exclude;
  }
  return std::nullopt;
}

// The first candidate at or after `start`, wrapping around once.
inline std::optional<std::size_t> next_candidate(const PickContext& ctx, std::size_t start) {
  const std::size_t n = ctx.hosts.size();
  for (std::size_t k = 0; k < n; ++k) {
    std::size_t i = start + k;
    if (i >= n) i -= n;
    if (candidate(ctx, i)) return i;
  }
  return std::nullopt;
}

// ring_hash and maglev: the owner of the first slot at or after `at` (wrapping around) that is a
// candidate. `members` are the endpoints the table covers; when none is a candidate the walk is
// skipped, so it ends early.
inline std::optional<std::size_t> table_walk(const PickContext& ctx,
                                             std::span<const std::uint32_t> owners,
                                             std::span<const std::uint32_t> members,
                                             std::size_t at) {
  const std::size_t n = owners.size();
  if (at >= n) return std::nullopt;
  if (candidate(ctx, owners[at])) return owners[at];
  bool any = false;
  for (std::uint32_t i : members) any = any || candidate(ctx, i);
  if (!any) return std::nullopt;
  for (std::size_t k = 1; k < n; ++k) {
    std::size_t p = at + k;
    if (p >= n) p -= n;
    if (candidate(ctx, owners[p])) return owners[p];
  }
  return std::nullopt;
}

// A uniformly random candidate other than `skip`. A few draws usually hit one; when most
// endpoints are out, counting and drawing the k-th keeps it uniform and bounded.
std::optional<std::size_t> random_candidate(const PickContext& ctx, Rng& rng,
                                            std::optional<std::size_t> skip = std::nullopt);

// ring_hash and maglev without a usable table: start where the key lands among all endpoints and
// walk on. Deterministic, unweighted.
inline std::optional<std::size_t> hash_walk(const PickContext& ctx) {
  if (ctx.hosts.empty()) return std::nullopt;
  return next_candidate(ctx, scale_to(mix64(ctx.hash), ctx.hosts.size()));
}

// Table builds: the endpoints a table covers, ascending.
inline std::vector<std::uint32_t> table_members(LbHosts hosts, Panic panic) {
  std::vector<std::uint32_t> members;
  for (std::size_t i = 0; i < hosts.size() && i < UINT32_MAX; ++i) {
    if (eligible(hosts[i], panic)) members.push_back(static_cast<std::uint32_t>(i));
  }
  return members;
}

// Table builds: an endpoint's identity, from which its points or permutation derive.
inline std::uint64_t endpoint_id(std::span<const std::uint64_t> ids, std::size_t i) {
  return i < ids.size() ? ids[i] : static_cast<std::uint64_t>(i);
}

}  // namespace sluice::upstream::lb
