// make_balancer and build_table: from config::LbPolicy to the balancer and table that implement it.
#include "sluice/upstream/balancer.hpp"

#include "sluice/upstream/balancers.hpp"
#include "sluice/upstream/lb_scan.hpp"
#include "sluice/upstream/maglev.hpp"
#include "sluice/upstream/ring_hash.hpp"

namespace sluice::upstream {

std::optional<std::size_t> HashBalancer::pick(const PickContext& ctx) {
  if (ctx.table != nullptr) {
    if (auto chosen = ctx.table->pick(ctx)) return chosen;
  }
  if (auto chosen = lb::hash_walk(ctx)) return chosen;
  return lb::excluded_if_eligible(ctx);
}

std::unique_ptr<Balancer> make_balancer(config::LbPolicy policy, Rng& rng,
                                        const BalancerOptions& options) {
  using P = config::LbPolicy;
  switch (policy) {
    case P::round_robin:
      return std::make_unique<RoundRobinBalancer>(options.first_index);
    case P::weighted_round_robin:
      return std::make_unique<WeightedRoundRobinBalancer>();
    case P::random:
      return std::make_unique<RandomBalancer>(rng);
    case P::least_request:
      return std::make_unique<LeastRequestBalancer>(rng, options.active_request_bias);
    case P::ring_hash:
    case P::maglev:
      return std::make_unique<HashBalancer>(policy);
  }
  return std::make_unique<RoundRobinBalancer>(options.first_index);
}

std::shared_ptr<const HashTable> build_table(config::LbPolicy policy, LbHosts hosts,
                                             std::span<const std::uint64_t> ids,
                                             const TableOptions& options) {
  switch (policy) {
    case config::LbPolicy::ring_hash:
      return RingHashTable::build(hosts, ids, options);
    case config::LbPolicy::maglev:
      return MaglevTable::build(hosts, ids, options);
    default:
      return nullptr;
  }
}

}  // namespace sluice::upstream
