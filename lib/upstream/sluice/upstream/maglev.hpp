// The maglev table (Google's Maglev, NSDI 2016): a prime number of slots filled by the endpoints
// in turn, each along its own permutation of the slots, a heavier endpoint taking turns more often.
// Lookups are one index; keys spread within a few percent of the weights, and when an endpoint
// leaves, little more than its own keys move.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "sluice/upstream/balancer.hpp"

namespace sluice::upstream {

class MaglevTable final : public HashTable {
 public:
  // Over the eligible endpoints of `hosts` (options.panic). See build_table() for `ids`.
  static std::shared_ptr<const MaglevTable> build(LbHosts hosts, std::span<const std::uint64_t> ids,
                                                  const TableOptions& options);

  std::optional<std::size_t> pick(const PickContext& ctx) const override;
  config::LbPolicy policy() const override { return config::LbPolicy::maglev; }
  std::span<const std::uint32_t> members() const override { return members_; }

  // Slots in the table (a prime), and how many of them belong to `endpoint`.
  std::size_t size() const { return slots_.size(); }
  std::size_t slots_of(std::size_t endpoint) const;

 private:
  std::vector<std::uint32_t> slots_;  // the endpoint of each slot
  std::vector<std::uint32_t> members_;
};

// The smallest prime >= n (and >= 2).
std::size_t next_prime(std::size_t n);

}  // namespace sluice::upstream
