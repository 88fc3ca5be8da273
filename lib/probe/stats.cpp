#include "sluice/probe/stats.hpp"

#include <algorithm>
#include <cmath>

namespace sluice::probe {
namespace {

Duration nearest_rank(const std::vector<Duration>& sorted, double percent) {
  auto rank =
      static_cast<std::size_t>(std::ceil(percent / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

}  // namespace

LatencyStats latency_stats(std::vector<Duration> samples) {
  LatencyStats s;
  if (samples.empty()) return s;
  std::sort(samples.begin(), samples.end());
  s.count = samples.size();
  s.min = samples.front();
  s.max = samples.back();
  s.median = nearest_rank(samples, 50);
  s.p95 = nearest_rank(samples, 95);
  return s;
}

}  // namespace sluice::probe
