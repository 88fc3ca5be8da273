// The uniform random candidate draw shared by random-ish balancers.
#include "sluice/upstream/lb_scan.hpp"

namespace sluice::upstream::lb {

std::optional<std::size_t> random_candidate(const PickContext& ctx, Rng& rng,
                                            std::optional<std::size_t> skip) {
  const std::size_t n = ctx.hosts.size();
  if (n == 0) return std::nullopt;
  // Each accepted draw is uniform over the candidates, and so is the fallback: so is the mix.
  constexpr int kDraws = 8;
  for (int t = 0; t < kDraws; ++t) {
    const std::size_t i = scale_to(rng.next(), n);
    if (skip != i && candidate(ctx, i)) return i;
  }
  std::size_t count = 0;
  for (std::size_t i = 0; i < n; ++i) count += (skip != i && candidate(ctx, i)) ? 1 : 0;
  if (count == 0) return std::nullopt;
  std::size_t k = scale_to(rng.next(), count);
  for (std::size_t i = 0; i < n; ++i) {
    if (skip != i && candidate(ctx, i) && k-- == 0) return i;
  }
  return std::nullopt;
}

}  // namespace sluice::upstream::lb
