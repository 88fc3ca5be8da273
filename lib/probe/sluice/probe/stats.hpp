// Latency statistics of repeated probes: min, median, p95 and max by the nearest-rank method.
#pragma once

#include <cstddef>
#include <vector>

#include "sluice/core/units.hpp"

namespace sluice::probe {

struct LatencyStats {
  std::size_t count = 0;
  Duration min{0};
  Duration median{0};
  Duration p95{0};
  Duration max{0};
};

// Nearest rank: the smallest sample with at least p% of the samples at or below it. An empty
// input gives count 0 and zeros.
LatencyStats latency_stats(std::vector<Duration> samples);

}  // namespace sluice::probe
