// Populating and looking up the maglev table.
#include "sluice/upstream/maglev.hpp"

#include <algorithm>
#include <limits>

#include "sluice/upstream/key_hash.hpp"
#include "sluice/upstream/lb_scan.hpp"

namespace sluice::upstream {

namespace {

constexpr std::uint32_t kEmpty = std::numeric_limits<std::uint32_t>::max();
// Tables past this size buy nothing but memory.
constexpr std::size_t kMaxSlots = std::size_t{1} << 24;

bool is_prime(std::size_t n) {
  if (n < 2) return false;
  if (n % 2 == 0) return n == 2;
  for (std::size_t d = 3; d * d <= n; d += 2) {
    if (n % d == 0) return false;
  }
  return true;
}

// One endpoint while the table fills: where its permutation stands and how far it may take turns.
struct Filler {
  std::uint32_t endpoint;
  double weight;           // relative to the heaviest endpoint, in (0, 1]
  double turns = 0;        // slots taken so far
  std::uint64_t position;  // the next slot of its permutation
  std::uint64_t skip;
};

}  // namespace

std::size_t next_prime(std::size_t n) {
  n = std::max<std::size_t>(n, 2);
  while (!is_prime(n)) ++n;
  return n;
}

std::shared_ptr<const MaglevTable> MaglevTable::build(LbHosts hosts,
                                                      std::span<const std::uint64_t> ids,
                                                      const TableOptions& options) {
  auto table = std::make_shared<MaglevTable>();
  table->members_ = lb::table_members(hosts, options.panic);
  if (table->members_.empty()) return table;

  const std::uint64_t m = next_prime(std::min(options.maglev_table_size, kMaxSlots));
  double heaviest = 0;
  for (std::uint32_t i : table->members_) heaviest = std::max(heaviest, hosts[i].weight);

  std::vector<Filler> fillers;
  fillers.reserve(table->members_.size());
  for (std::uint32_t i : table->members_) {
    const std::uint64_t id = lb::endpoint_id(ids, i);
    // The permutation is (offset + j * skip) mod m; skip in [1, m) and m prime visit every slot.
    const std::uint64_t offset = key_hash_bytes(&id, sizeof id, 0x6d61676c65763031ull) % m;
    const std::uint64_t skip = key_hash_bytes(&id, sizeof id, 0x6d61676c65763032ull) % (m - 1) + 1;
    fillers.push_back(Filler{i, hosts[i].weight / heaviest, 0, offset, skip});
  }

  // Rounds: the heaviest endpoint takes a slot every round, one of half its weight every other
  // round, and so on (Envoy's weighted variant of the paper's loop).
  table->slots_.assign(m, kEmpty);
  std::uint64_t filled = 0;
  for (std::uint64_t round = 1; filled < m; ++round) {
    for (Filler& f : fillers) {
      if (filled == m) break;
      if (static_cast<double>(round) * f.weight < f.turns) continue;
      f.turns += 1;
      while (table->slots_[f.position] != kEmpty) {
        f.position += f.skip;
        if (f.position >= m) f.position -= m;
      }
      table->slots_[f.position] = f.endpoint;
      ++filled;
    }
  }
  return table;
}

std::optional<std::size_t> MaglevTable::pick(const PickContext& ctx) const {
  const std::size_t n = slots_.size();
  if (n == 0) return std::nullopt;
  // Fall over to the following slots: neighbours belong to unrelated endpoints, so the keys of an
  // endpoint that is out spread over the others.
  return lb::table_walk(ctx, slots_, members_, scale_to(mix64(ctx.hash), n));
}

std::size_t MaglevTable::slots_of(std::size_t endpoint) const {
  return static_cast<std::size_t>(std::count(slots_.begin(), slots_.end(), endpoint));
}

}  // namespace sluice::upstream
