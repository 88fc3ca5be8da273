// The ring_hash table: a Ketama-style consistent-hash ring with virtual nodes in proportion to
// weight. A key belongs to the first point at or after its hash, so removing an endpoint moves only
// that endpoint's keys, each to the next endpoint on the ring.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "sluice/upstream/balancer.hpp"

namespace sluice::upstream {

class RingHashTable final : public HashTable {
 public:
  // Over the eligible endpoints of `hosts` (options.panic). See build_table() for `ids`.
  static std::shared_ptr<const RingHashTable> build(LbHosts hosts,
                                                    std::span<const std::uint64_t> ids,
                                                    const TableOptions& options);

  std::optional<std::size_t> pick(const PickContext& ctx) const override;
  config::LbPolicy policy() const override { return config::LbPolicy::ring_hash; }
  std::span<const std::uint32_t> members() const override { return members_; }

  // Points on the ring, and how many of them belong to `endpoint`.
  std::size_t size() const { return points_.size(); }
  std::size_t points_of(std::size_t endpoint) const;

 private:
  std::vector<std::uint64_t> points_;  // ascending
  std::vector<std::uint32_t> owners_;  // the endpoint of each point
  std::vector<std::uint32_t> members_;
};

}  // namespace sluice::upstream
