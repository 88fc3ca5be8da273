// round_robin and weighted_round_robin.
#include "sluice/upstream/balancers.hpp"
#include "sluice/upstream/lb_scan.hpp"

namespace sluice::upstream {

std::optional<std::size_t> RoundRobinBalancer::pick(const PickContext& ctx) {
  const std::size_t n = ctx.hosts.size();
  if (n == 0) return std::nullopt;
  auto chosen = lb::next_candidate(ctx, next_ % n);
  if (!chosen) chosen = lb::excluded_if_eligible(ctx);
  if (chosen) next_ = *chosen + 1;
  return chosen;
}

std::optional<std::size_t> WeightedRoundRobinBalancer::pick(const PickContext& ctx) {
  const std::size_t n = ctx.hosts.size();
  if (credit_.size() != n) credit_.assign(n, 0.0);
  std::size_t best = n;
  double total = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!lb::candidate(ctx, i)) {
      // The excluded endpoint keeps its credit: it sits out one retry, it is not penalised.
      if (ctx.exclude != i) credit_[i] = 0;
      continue;
    }
    const double w = ctx.hosts[i].weight;
    credit_[i] += w;
    total += w;
    if (best == n || credit_[i] > credit_[best]) best = i;
  }
  if (best == n) return lb::excluded_if_eligible(ctx);
  credit_[best] -= total;
  return best;
}

}  // namespace sluice::upstream
