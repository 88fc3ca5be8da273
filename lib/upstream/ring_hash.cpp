// Building and walking the ring_hash ring.
#include "sluice/upstream/ring_hash.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "sluice/upstream/key_hash.hpp"
#include "sluice/upstream/lb_scan.hpp"

namespace sluice::upstream {

std::shared_ptr<const RingHashTable> RingHashTable::build(LbHosts hosts,
                                                          std::span<const std::uint64_t> ids,
                                                          const TableOptions& options) {
  auto table = std::make_shared<RingHashTable>();
  std::vector<std::uint32_t> candidates = lb::table_members(hosts, options.panic);
  if (candidates.empty()) return table;

  const double n = static_cast<double>(hosts.size());
  double per_weight = std::max(static_cast<double>(options.ring_points_per_weight),
                               std::ceil(static_cast<double>(options.min_ring_size) / n));
  per_weight = std::max(per_weight, 1.0);
  double total = 0;
  for (std::uint32_t i : candidates) total += hosts[i].weight * per_weight;
  const double max_size = static_cast<double>(std::max<std::size_t>(options.max_ring_size, 1));
  if (total > max_size) per_weight *= max_size / total;

  std::vector<std::pair<std::uint64_t, std::uint32_t>> points;
  points.reserve(static_cast<std::size_t>(std::min(total, max_size)) + candidates.size());
  for (std::uint32_t i : candidates) {
    // Replicas 0..count-1: a heavier weight adds points and keeps the ones it had.
    const auto count =
        static_cast<std::uint64_t>(std::max(1.0, std::round(hosts[i].weight * per_weight)));
    const std::uint64_t id = lb::endpoint_id(ids, i);
    for (std::uint64_t replica = 0; replica < count; ++replica) {
      const std::uint64_t key[2] = {id, replica};
      points.emplace_back(key_hash_bytes(key, sizeof key), i);
    }
  }
  std::sort(points.begin(), points.end());

  table->points_.reserve(points.size());
  table->owners_.reserve(points.size());
  for (const auto& [point, owner] : points) {
    table->points_.push_back(point);
    table->owners_.push_back(owner);
  }
  table->members_ = std::move(candidates);  // each has at least one point
  return table;
}

std::optional<std::size_t> RingHashTable::pick(const PickContext& ctx) const {
  const std::size_t n = points_.size();
  if (n == 0) return std::nullopt;
  const std::uint64_t h = mix64(ctx.hash);
  std::size_t at = static_cast<std::size_t>(std::lower_bound(points_.begin(), points_.end(), h) -
                                            points_.begin());
  if (at == n) at = 0;
  return lb::table_walk(ctx, owners_, members_, at);  // falls over clockwise
}

std::size_t RingHashTable::points_of(std::size_t endpoint) const {
  return static_cast<std::size_t>(std::count(owners_.begin(), owners_.end(), endpoint));
}

}  // namespace sluice::upstream
