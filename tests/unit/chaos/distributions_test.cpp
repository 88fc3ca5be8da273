// Statistical checks of the latency distributions, with fixed seeds.
#include "sluice/chaos/distributions.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <vector>

#include <catch2/catch.hpp>

using namespace std::chrono_literals;
using sluice::Duration;
using sluice::SeededRng;
using sluice::chaos::LatencyDistribution;

namespace {

constexpr int kDraws = 20000;

struct Stats {
  double mean = 0;
  double stddev = 0;
  double median = 0;
  double min = 0;
  double max = 0;
};

// Draws in milliseconds.
Stats draw(const LatencyDistribution& d, std::uint64_t seed) {
  SeededRng rng(seed);
  std::vector<double> xs;
  xs.reserve(kDraws);
  for (int i = 0; i < kDraws; ++i) {
    xs.push_back(std::chrono::duration<double, std::milli>(sluice::chaos::sample(d, rng)).count());
  }
  Stats s;
  for (double x : xs) s.mean += x;
  s.mean /= kDraws;
  for (double x : xs) s.stddev += (x - s.mean) * (x - s.mean);
  s.stddev = std::sqrt(s.stddev / (kDraws - 1));
  std::sort(xs.begin(), xs.end());
  s.median = xs[kDraws / 2];
  s.min = xs.front();
  s.max = xs.back();
  return s;
}

}  // namespace

TEST_CASE("fixed latency is always the value", "[chaos][distributions]") {
  Stats s = draw(LatencyDistribution::fixed(200ms), 1);
  CHECK(s.min == Approx(200.0));
  CHECK(s.max == Approx(200.0));
}

TEST_CASE("uniform latency stays within its bounds and centres on the midpoint",
          "[chaos][distributions]") {
  Stats s = draw(LatencyDistribution::uniform(100ms, 300ms), 7);
  CHECK(s.min >= 100.0);
  CHECK(s.max < 300.0);
  CHECK(s.min < 101.0);  // the whole range is used
  CHECK(s.max > 299.0);
  CHECK(s.mean == Approx(200.0).margin(2.0));
  // The standard deviation of U(a, b) is (b - a) / sqrt(12).
  CHECK(s.stddev == Approx(200.0 / std::sqrt(12.0)).epsilon(0.03));
}

TEST_CASE("normal latency has the configured mean and standard deviation",
          "[chaos][distributions]") {
  Stats s = draw(LatencyDistribution::normal(500ms, 50ms), 42);
  CHECK(s.mean == Approx(500.0).margin(1.5));
  CHECK(s.stddev == Approx(50.0).epsilon(0.03));
  CHECK(s.median == Approx(500.0).margin(2.0));
}

TEST_CASE("normal latency never goes below zero", "[chaos][distributions]") {
  Stats s = draw(LatencyDistribution::normal(10ms, 20ms), 3);
  CHECK(s.min == 0.0);  // about 30% of draws fall below zero and are clamped
  CHECK(s.max > 10.0);
}

TEST_CASE("lognormal latency has the configured median and a right tail",
          "[chaos][distributions]") {
  const double sigma = 0.5;
  Stats s = draw(LatencyDistribution::lognormal(100ms, sigma), 11);
  CHECK(s.median == Approx(100.0).epsilon(0.03));
  // The mean of a lognormal is median * exp(sigma^2 / 2).
  CHECK(s.mean == Approx(100.0 * std::exp(sigma * sigma / 2)).epsilon(0.03));
  CHECK(s.min > 0.0);
  CHECK(s.mean > s.median);
}

TEST_CASE("lognormal with sigma 0 is the median", "[chaos][distributions]") {
  Stats s = draw(LatencyDistribution::lognormal(80ms, 0.0), 5);
  CHECK(s.min == Approx(80.0));
  CHECK(s.max == Approx(80.0));
}

TEST_CASE("the standard normal sampler has mean 0 and variance 1", "[chaos][distributions]") {
  SeededRng rng(99);
  double sum = 0;
  double sq = 0;
  for (int i = 0; i < kDraws; ++i) {
    double z = sluice::chaos::sample_standard_normal(rng);
    sum += z;
    sq += z * z;
  }
  CHECK(sum / kDraws == Approx(0.0).margin(0.03));
  CHECK(sq / kDraws == Approx(1.0).epsilon(0.03));
}

TEST_CASE("the same seed reproduces the same draws", "[chaos][distributions]") {
  auto d = LatencyDistribution::lognormal(50ms, 1.0);
  SeededRng a(1234);
  SeededRng b(1234);
  SeededRng c(4321);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    Duration x = sluice::chaos::sample(d, a);
    CHECK(x == sluice::chaos::sample(d, b));
    if (x != sluice::chaos::sample(d, c)) differs = true;
  }
  CHECK(differs);
}
