// Passive outlier detection for one cluster: ejects endpoints from the answers to real traffic.
// A single-threaded pure state machine owned by the control thread: no locks, no timers, no I/O.
// Time comes in as `now`, randomness (ejection jitter, latency sampling) from the injected Rng.
//
// Driving it:
//   - record(i, outcome, now) for every finished request (workers report in batches);
//   - tick(now) at least every `interval`; better, arm a timer for next_deadline(). tick()
//     re-admits endpoints whose ejection expired, decays ejection multipliers and, once per
//     `interval`, runs the success-rate, failure-percentage and latency rules;
//   - readmit(i, now) when an active health check passes: ejection ends at once;
//   - resize(n) / remap(...) when discovery changes the endpoint list;
//   - publish ejected_mask() whenever version() moved.
// ejected(i) never looks at the clock: an expired ejection lasts until the next tick().
//
// Rules (Envoy's outlier detection, with two fixes: a cap that really caps, and latency):
//   - consecutive_5xx: `consecutive_5xx` failures in a row, answered 5xx or no answer at all
//     (a gateway failure also reaches the client as a 5xx). Any success resets it.
//   - consecutive_gateway_failure: `consecutive_gateway_failure` connect errors / resets /
//     timeouts in a row. Any answer (success or 5xx) resets it: the transport works.
//     Both consecutive rules eject on the record() that reaches the count; while the cap holds
//     an ejection back, every further failure of the streak tries again.
//   - success_rate: among non-ejected endpoints with >= success_rate_request_volume requests
//     in the interval, and only when there are >= success_rate_minimum_hosts of them: eject
//     each whose success rate < mean - success_rate_stdev_factor * stdev (population stdev).
//   - failure_percentage (threshold 0: off): among non-ejected endpoints with
//     >= failure_percentage_request_volume requests, when >= failure_percentage_minimum_hosts
//     qualify: eject each whose failure percentage >= the threshold.
//   - latency (latency_factor 0: off): among non-ejected endpoints with >= latency_request_volume
//     answered requests, when >= kLatencyMinimumHosts (3) qualify: eject each whose interval p90
//     > latency_factor x the median of the qualifying p90s, and > latency_floor. Only answered
//     requests (success or 5xx) carry a latency; connect errors and timeouts do not.
//     Each endpoint keeps at most kLatencySamples latencies per interval (a uniform reservoir),
//     so the p90 is exact up to that many requests and sampled beyond.
//   Within a tick the interval rules are applied in that order, worst endpoint first.
//
// Ejection time = min(base_ejection_time x multiplier, max(max_ejection_time, base)), then up to
// ejection_jitter of that longer, at random. The multiplier grows by one per ejection (it stops
// growing once the product reaches the max) and drops by one per full `interval` the endpoint
// spends not ejected. times_ejected counts every ejection and never decays.
//
// Cap: at most floor(max_ejection_percent / 100 x N) endpoints are ejected at once, and a
// cluster's only endpoint is never ejected (N = 1 gives 0). N = 2 at 50% gives 1; N = 3 gives 1.
// An ejection the cap holds back is counted in skipped_by_cap(rule) (once per consecutive
// streak, once per interval for the interval rules) and shown in report(i).held_by_cap.
//
// Outcomes recorded for an ejected endpoint (late reports, or panic-mode traffic) are ignored.
// Re-admission (expiry or readmit()) resets the consecutive counters and interval statistics.
// With `enabled` false, record() and tick() do nothing and nothing is ever ejected.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/core/clock.hpp"
#include "sluice/core/config/resilience.hpp"
#include "sluice/core/units.hpp"

namespace sluice::upstream {

enum class OutcomeKind : std::uint8_t {
  success,          // an answer below 500 (a 4xx is the client's problem, not the endpoint's)
  http_5xx,         // the endpoint answered 5xx
  gateway_failure,  // no answer: connect error, reset or timeout
  cancelled,        // cut short by its hedge: latency is a lower bound; feeds the latency rule only
};

struct Outcome {
  OutcomeKind kind = OutcomeKind::success;
  Duration latency{0};  // time to the answer (ignored for gateway_failure)

  // 1xx..4xx: success; 5xx: http_5xx.
  static Outcome from_status(int status, Duration latency) {
    return {status >= 500 ? OutcomeKind::http_5xx : OutcomeKind::success, latency};
  }
  static Outcome gateway(Duration elapsed = Duration{0}) {
    return {OutcomeKind::gateway_failure, elapsed};
  }
};

enum class OutlierRule : std::uint8_t {
  consecutive_5xx,
  consecutive_gateway_failure,
  success_rate,
  failure_percentage,
  latency,
};
inline constexpr std::size_t kOutlierRuleCount = 5;

// "consecutive_5xx", "consecutive_gateway_failure", "success_rate", "failure_percentage",
// "latency": the metric label and the admin/503 spelling.
std::string_view to_string(OutlierRule r);

// What the diagnostic 503, the admin API and metrics show for one endpoint.
struct OutlierReport {
  bool ejected = false;
  std::optional<OutlierRule> rule;  // of the current ejection, else of the last one
  TimePoint since{};                // current (or last) ejection: start...
  TimePoint until{};                // ...and planned end (jitter included)
  std::uint32_t multiplier = 0;     // the backoff level the next ejection builds on
  std::uint64_t times_ejected = 0;  // all ejections, never decays
  std::uint32_t consecutive_5xx = 0;
  std::uint32_t consecutive_gateway_failure = 0;
  // From the last interval the rules ran over, when the endpoint had traffic in it:
  std::uint64_t interval_requests = 0;
  std::optional<double> success_rate;  // percent
  std::optional<Duration> latency_p90;
  // A rule that wants this endpoint out while the cap keeps it in.
  std::optional<OutlierRule> held_by_cap;
  // Human text: why it is (or was last) ejected, or why it is held by the cap, e.g.
  // "5 consecutive 5xx", "success rate 42% < threshold 81.3% (mean 95%, stdev 7%)",
  // "p90 812ms > 3 x cluster median 40ms".
  std::string detail;
};

class OutlierDetector {
 public:
  static constexpr std::size_t kLatencySamples = 256;     // per endpoint and interval
  static constexpr std::size_t kLatencyMinimumHosts = 3;  // the median needs a majority

  // `rng` must outlive the detector. The config is copied.
  OutlierDetector(const config::OutlierDetection& cfg, std::size_t endpoints, Rng& rng);

  // One finished request to endpoint `i`. May eject `i` (consecutive rules). Out-of-range
  // indices (a report that raced a resize) are ignored.
  void record(std::size_t i, const Outcome& outcome, TimePoint now);
  // Re-admits expired ejections, decays multipliers, and runs the interval rules when at least
  // `interval` passed since they last ran (the first tick or record starts the first interval).
  void tick(TimePoint now);
  // An active health check passed: end the ejection of `i` now. False if it was not ejected.
  bool readmit(std::size_t i, TimePoint now);

  // The endpoint list changed size: indices < min(old, n) keep their state, new ones start
  // fresh. If the smaller cluster has more ejections than its cap, those ending soonest end now.
  void resize(std::size_t n, TimePoint now);
  // The endpoint list changed arbitrarily: new index j was old index old_of_new[j], or is new
  // (nullopt). Old indices not mentioned are dropped. The cap is re-applied as in resize().
  void remap(const std::vector<std::optional<std::size_t>>& old_of_new, TimePoint now);

  // Takes over `old`'s state (a reload): new index j was old index old_of_new[j], or is new
  // (nullopt). Ejections, multipliers, counters and the rule totals carry over; this detector's
  // config and Rng stay. The cap is re-applied as in remap().
  void adopt(const OutlierDetector& old, const std::vector<std::optional<std::size_t>>& old_of_new,
             TimePoint now);

  bool ejected(std::size_t i) const { return i < ejected_.size() && ejected_[i]; }
  // One flag per endpoint, for the immutable snapshot workers read.
  const std::vector<bool>& ejected_mask() const { return ejected_; }
  // Moves whenever the ejected set changes: publish a new snapshot when it differs.
  std::uint64_t version() const { return version_; }
  // When tick() next has work: the earliest ejection end or the next interval rule run.
  std::optional<TimePoint> next_deadline() const;

  std::size_t size() const { return ejected_.size(); }
  std::size_t ejected_count() const { return ejected_count_; }
  // floor(max_ejection_percent / 100 x N), and 0 for N <= 1.
  std::size_t max_ejected() const;

  OutlierReport report(std::size_t i) const;

  // Metrics: ejections made, and ejections the cap held back, by rule (totals).
  std::uint64_t ejections_total(OutlierRule r) const {
    return ejections_[static_cast<std::size_t>(r)];
  }
  std::uint64_t skipped_by_cap(OutlierRule r) const {
    return skipped_[static_cast<std::size_t>(r)];
  }

 private:
  struct Host {
    // consecutive rules
    std::uint32_t consecutive_5xx = 0;
    std::uint32_t consecutive_gw = 0;
    // ejection
    std::optional<OutlierRule> rule;
    TimePoint since{};
    TimePoint until{};
    std::uint32_t multiplier = 0;
    std::uint64_t times_ejected = 0;
    TimePoint decay_from{};  // start of the current not-ejected stretch (or last decay step)
    std::string detail;
    std::optional<OutlierRule> interval_held;
    std::string held_detail;
    // current interval
    std::uint64_t requests = 0;
    std::uint64_t successes = 0;
    std::uint64_t latency_seen = 0;
    std::vector<Duration> latencies;  // reservoir, at most kLatencySamples
    // last evaluated interval
    std::uint64_t last_requests = 0;
    std::optional<double> last_success_rate;
    std::optional<Duration> last_p90;
  };

  void start_window(TimePoint now);
  void sample_latency(Host& h, Duration latency);  // for the latency rule
  bool try_eject(std::size_t i, OutlierRule rule, std::string detail, TimePoint now,
                 bool count_skip);
  void uneject(std::size_t i, TimePoint now);
  void clear_interval(Host& h);
  void run_interval_rules(TimePoint now);
  void enforce_cap(TimePoint now);

  config::OutlierDetection cfg_;
  Rng* rng_;
  std::vector<Host> hosts_;
  std::vector<bool> ejected_;
  std::size_t ejected_count_ = 0;
  std::uint64_t version_ = 0;
  std::optional<TimePoint> window_start_;
  std::array<std::uint64_t, kOutlierRuleCount> ejections_{};
  std::array<std::uint64_t, kOutlierRuleCount> skipped_{};
};

}  // namespace sluice::upstream
