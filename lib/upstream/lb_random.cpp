// random and least_request (power of two choices).
#include <cmath>

#include "sluice/upstream/balancers.hpp"
#include "sluice/upstream/lb_scan.hpp"

namespace sluice::upstream {

std::optional<std::size_t> RandomBalancer::pick(const PickContext& ctx) {
  const std::size_t n = ctx.hosts.size();
  double total = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (lb::candidate(ctx, i)) total += ctx.hosts[i].weight;
  }
  if (total <= 0) return lb::excluded_if_eligible(ctx);
  double r = rng_.uniform() * total;
  std::size_t last = n;
  for (std::size_t i = 0; i < n; ++i) {
    if (!lb::candidate(ctx, i)) continue;
    r -= ctx.hosts[i].weight;
    if (r < 0) return i;
    last = i;
  }
  return last;  // rounding left r a hair above 0: the last candidate owns the end of the range
}

double LeastRequestBalancer::score(const PickContext& ctx, std::size_t i) const {
  const double load = static_cast<double>(ctx.active != nullptr ? (*ctx.active)(i) : 0) + 1.0;
  const double w = ctx.hosts[i].weight;
  if (bias_ == 1.0) return w / load;
  if (bias_ == 0.0) return w;
  return w / std::pow(load, bias_);
}

std::optional<std::size_t> LeastRequestBalancer::pick(const PickContext& ctx) {
  const auto a = lb::random_candidate(ctx, rng_);
  if (!a) return lb::excluded_if_eligible(ctx);
  const auto b = lb::random_candidate(ctx, rng_, a);
  if (!b) return a;
  const double sa = score(ctx, *a);
  const double sb = score(ctx, *b);
  if (sa != sb) return sa > sb ? a : b;
  return (rng_.next() >> 63) != 0 ? a : b;
}

}  // namespace sluice::upstream
