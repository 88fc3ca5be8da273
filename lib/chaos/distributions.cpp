// Sampling of latency distributions.
#include "sluice/chaos/distributions.hpp"

#include <cmath>
#include <numbers>

namespace sluice::chaos {

std::string_view to_string(LatencyDistribution::Kind k) {
  switch (k) {
    case LatencyDistribution::Kind::fixed:
      return "fixed";
    case LatencyDistribution::Kind::uniform:
      return "uniform";
    case LatencyDistribution::Kind::normal:
      return "normal";
    case LatencyDistribution::Kind::lognormal:
      return "lognormal";
  }
  return "fixed";
}

double sample_uniform(Rng& rng, double lo, double hi) {
  return lo + (hi - lo) * rng.uniform();
}

double sample_standard_normal(Rng& rng) {
  // 1 - u is in (0, 1], so the logarithm is finite.
  double u1 = 1.0 - rng.uniform();
  double u2 = rng.uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

Duration sample(const LatencyDistribution& d, Rng& rng) {
  double ns = 0;
  const auto a = static_cast<double>(d.a.count());
  const auto b = static_cast<double>(d.b.count());
  switch (d.kind) {
    case LatencyDistribution::Kind::fixed:
      ns = a;
      break;
    case LatencyDistribution::Kind::uniform:
      ns = sample_uniform(rng, a, b);
      break;
    case LatencyDistribution::Kind::normal:
      ns = a + b * sample_standard_normal(rng);
      break;
    case LatencyDistribution::Kind::lognormal:
      ns = a * std::exp(d.sigma * sample_standard_normal(rng));
      break;
  }
  if (!(ns > 0)) return Duration{0};
  return Duration{static_cast<Duration::rep>(ns)};
}

}  // namespace sluice::chaos
