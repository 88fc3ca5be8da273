// Latency distributions for fault plans, sampled with the injected Rng so a seed reproduces a run.
#pragma once

#include <chrono>
#include <string_view>

#include "sluice/core/clock.hpp"
#include "sluice/core/units.hpp"

namespace sluice::chaos {

struct LatencyDistribution {
  enum class Kind { fixed, uniform, normal, lognormal };
  Kind kind = Kind::fixed;
  Duration a{0};     // fixed: the value; uniform: min; normal: mean; lognormal: median
  Duration b{0};     // uniform: max; normal: standard deviation
  double sigma = 0;  // lognormal: standard deviation of the logarithm

  static LatencyDistribution fixed(Duration value) { return {Kind::fixed, value, {}, 0}; }
  static LatencyDistribution uniform(Duration min, Duration max) {
    return {Kind::uniform, min, max, 0};
  }
  static LatencyDistribution normal(Duration mean, Duration stddev) {
    return {Kind::normal, mean, stddev, 0};
  }
  static LatencyDistribution lognormal(Duration median, double sigma) {
    return {Kind::lognormal, median, {}, sigma};
  }
};

std::string_view to_string(LatencyDistribution::Kind k);

// Uniform in [lo, hi).
double sample_uniform(Rng& rng, double lo, double hi);
// Standard normal (Box-Muller; one draw per call keeps the Rng stream easy to reason about).
double sample_standard_normal(Rng& rng);
// A delay drawn from d; negative draws (a normal's left tail) become zero.
Duration sample(const LatencyDistribution& d, Rng& rng);

}  // namespace sluice::chaos
