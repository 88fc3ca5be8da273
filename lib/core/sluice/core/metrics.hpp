// Metric primitives and the Prometheus text exposition writer. Owners keep their own counters
// (per worker, no sharing on the hot path) and render them through PromWriter on scrape.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace sluice::metrics {

// Latency histogram with fixed bounds in seconds (Prometheus "le" buckets).
class LatencyHistogram {
 public:
  static constexpr std::array<double, 14> kBounds = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  void observe(double seconds) {
    std::size_t i = 0;
    while (i < kBounds.size() && seconds > kBounds[i]) ++i;
    ++buckets_[i];
    sum_ += seconds;
    ++count_;
  }
  void merge(const LatencyHistogram& o) {
    for (std::size_t i = 0; i < buckets_.size(); ++i) buckets_[i] += o.buckets_[i];
    sum_ += o.sum_;
    count_ += o.count_;
  }
  std::uint64_t count() const { return count_; }
  double sum() const { return sum_; }
  // Non-cumulative count in bucket i (i == kBounds.size() is +Inf).
  std::uint64_t bucket(std::size_t i) const { return buckets_[i]; }

 private:
  std::array<std::uint64_t, kBounds.size() + 1> buckets_{};
  double sum_ = 0;
  std::uint64_t count_ = 0;
};

using Label = std::pair<std::string_view, std::string_view>;

class PromWriter {
 public:
  // Starts a family: "# HELP" and "# TYPE" lines. Each family must be written once.
  void family(std::string_view name, std::string_view type, std::string_view help);
  void sample(std::string_view name, std::initializer_list<Label> labels, double value);
  void histogram(std::string_view name, std::initializer_list<Label> labels,
                 const LatencyHistogram& h);
  const std::string& text() const { return out_; }

 private:
  void labels(std::initializer_list<Label> labels, const Label* extra);
  std::string out_;
};

}  // namespace sluice::metrics
