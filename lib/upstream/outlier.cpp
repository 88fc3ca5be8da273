// Passive outlier detection: the consecutive, success-rate, failure-percentage and latency rules.
#include "sluice/upstream/outlier.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include <fmt/format.h>

namespace sluice::upstream {

namespace {

constexpr std::size_t idx(OutlierRule r) {
  return static_cast<std::size_t>(r);
}

// One decimal, without a trailing ".0": 81.3, 95.
std::string round1(double v) {
  std::string s = fmt::format("{:.1f}", v);
  if (s.size() > 2 && s.compare(s.size() - 2, 2, ".0") == 0) s.resize(s.size() - 2);
  return s;
}

// 850us, 812ms, 40.5ms, 12.3s: latencies as people read them.
std::string human(Duration d) {
  const double us = static_cast<double>(d.count()) / 1e3;
  if (us < 1e3) return round1(us) + "us";
  if (us < 1e7) return round1(us / 1e3) + "ms";
  return round1(us / 1e6) + "s";
}

// Nearest-rank p90; reorders `v`.
Duration p90(std::vector<Duration>& v) {
  const std::size_t rank = (9 * v.size() + 9) / 10;  // ceil(0.9 n), >= 1 for n >= 1
  auto nth = v.begin() + static_cast<std::ptrdiff_t>(rank - 1);
  std::nth_element(v.begin(), nth, v.end());
  return *nth;
}

template <class T>
void saturating_inc(T& v) {
  if (v < std::numeric_limits<T>::max()) ++v;
}

struct Candidate {
  std::size_t i;
  double severity;  // larger is worse
  std::string detail;
};

}  // namespace

std::string_view to_string(OutlierRule r) {
  switch (r) {
    case OutlierRule::consecutive_5xx:
      return "consecutive_5xx";
    case OutlierRule::consecutive_gateway_failure:
      return "consecutive_gateway_failure";
    case OutlierRule::success_rate:
      return "success_rate";
    case OutlierRule::failure_percentage:
      return "failure_percentage";
    case OutlierRule::latency:
      return "latency";
  }
  return "unknown";
}

OutlierDetector::OutlierDetector(const config::OutlierDetection& cfg, std::size_t endpoints,
                                 Rng& rng)
    : cfg_(cfg), rng_(&rng), hosts_(endpoints), ejected_(endpoints, false) {}

std::size_t OutlierDetector::max_ejected() const {
  const std::size_t n = hosts_.size();
  if (n <= 1) return 0;
  const double pct = std::clamp(cfg_.max_ejection_percent, 0.0, 100.0);
  // The epsilon keeps 30% of 10 at 3 despite binary fractions.
  const auto cap =
      static_cast<std::size_t>(std::floor(pct * static_cast<double>(n) / 100.0 + 1e-9));
  return std::min(cap, n);
}

void OutlierDetector::start_window(TimePoint now) {
  if (!window_start_) window_start_ = now;
}

void OutlierDetector::clear_interval(Host& h) {
  h.requests = 0;
  h.successes = 0;
  h.latency_seen = 0;
  h.latencies.clear();
}

void OutlierDetector::sample_latency(Host& h, Duration latency) {
  if (cfg_.latency_factor <= 0) return;
  // Algorithm R: every answered request of the interval is equally likely to be kept.
  saturating_inc(h.latency_seen);
  const Duration lat = std::max(latency, Duration{0});
  if (h.latencies.size() < kLatencySamples) {
    if (h.latencies.capacity() < kLatencySamples) h.latencies.reserve(kLatencySamples);
    h.latencies.push_back(lat);
  } else {
    const std::uint64_t j = rng_->next() % h.latency_seen;
    if (j < kLatencySamples) h.latencies[j] = lat;
  }
}

void OutlierDetector::record(std::size_t i, const Outcome& outcome, TimePoint now) {
  if (!cfg_.enabled || i >= hosts_.size()) return;
  start_window(now);
  if (ejected_[i]) return;
  Host& h = hosts_[i];
  if (outcome.kind == OutcomeKind::cancelled) {  // no answer yet, no failure either
    sample_latency(h, outcome.latency);
    return;
  }
  saturating_inc(h.requests);
  switch (outcome.kind) {
    case OutcomeKind::success:
      saturating_inc(h.successes);
      h.consecutive_5xx = 0;
      h.consecutive_gw = 0;
      break;
    case OutcomeKind::http_5xx:
      saturating_inc(h.consecutive_5xx);
      h.consecutive_gw = 0;
      break;
    case OutcomeKind::gateway_failure:
      saturating_inc(h.consecutive_5xx);
      saturating_inc(h.consecutive_gw);
      break;
    case OutcomeKind::cancelled:  // handled above
      break;
  }
  if (outcome.kind != OutcomeKind::gateway_failure) sample_latency(h, outcome.latency);

  const std::uint32_t gw_thr = cfg_.consecutive_gateway_failure;
  if (gw_thr > 0 && h.consecutive_gw >= gw_thr) {
    // Ejected, or held by the cap, which would hold the 5xx rule back just the same.
    try_eject(i, OutlierRule::consecutive_gateway_failure,
              fmt::format("{} consecutive gateway failures (connect error, reset or timeout)",
                          h.consecutive_gw),
              now, h.consecutive_gw == gw_thr);
    return;
  }
  const std::uint32_t x5_thr = cfg_.consecutive_5xx;
  if (x5_thr > 0 && h.consecutive_5xx >= x5_thr) {
    try_eject(i, OutlierRule::consecutive_5xx, fmt::format("{} consecutive 5xx", h.consecutive_5xx),
              now, h.consecutive_5xx == x5_thr);
  }
}

bool OutlierDetector::try_eject(std::size_t i, OutlierRule rule, std::string detail, TimePoint now,
                                bool count_skip) {
  if (ejected_[i]) return false;
  if (ejected_count_ >= max_ejected()) {
    if (count_skip) saturating_inc(skipped_[idx(rule)]);
    return false;
  }
  Host& h = hosts_[i];
  const Duration base = std::max(cfg_.base_ejection_time, Duration{0});
  const Duration cap = std::max(cfg_.max_ejection_time, base);
  Duration d{0};
  if (base.count() > 0) {
    // Grow the multiplier only while base x multiplier is below the cap, so that decay starts
    // from the cap rather than from an unbounded count.
    const auto at_cap = static_cast<std::uint64_t>(cap.count() / base.count());
    if (h.multiplier < at_cap || base * h.multiplier < cap) saturating_inc(h.multiplier);
    d = h.multiplier > at_cap ? cap : std::min(base * h.multiplier, cap);
  } else {
    h.multiplier = std::max<std::uint32_t>(h.multiplier, 1);
  }
  const double jitter = std::max(cfg_.ejection_jitter, 0.0);
  if (jitter > 0 && d.count() > 0) {
    d += Duration{
        static_cast<Duration::rep>(static_cast<double>(d.count()) * jitter * rng_->uniform())};
  }
  h.rule = rule;
  h.since = now;
  h.until = now + d;
  saturating_inc(h.times_ejected);
  h.detail = std::move(detail);
  h.interval_held.reset();
  h.held_detail.clear();
  clear_interval(h);
  ejected_[i] = true;
  ++ejected_count_;
  ++version_;
  saturating_inc(ejections_[idx(rule)]);
  return true;
}

void OutlierDetector::uneject(std::size_t i, TimePoint now) {
  Host& h = hosts_[i];
  ejected_[i] = false;
  --ejected_count_;
  ++version_;
  h.consecutive_5xx = 0;
  h.consecutive_gw = 0;
  h.interval_held.reset();
  h.held_detail.clear();
  clear_interval(h);
  h.decay_from = now;
}

bool OutlierDetector::readmit(std::size_t i, TimePoint now) {
  if (i >= hosts_.size() || !ejected_[i]) return false;
  uneject(i, now);
  return true;
}

void OutlierDetector::tick(TimePoint now) {
  if (!cfg_.enabled) return;
  start_window(now);
  const Duration interval = std::max(cfg_.interval, Duration{1});
  for (std::size_t i = 0; i < hosts_.size(); ++i) {
    Host& h = hosts_[i];
    if (ejected_[i]) {
      if (now >= h.until) uneject(i, now);
      continue;
    }
    if (h.multiplier > 0 && now > h.decay_from) {
      const auto steps = static_cast<std::uint64_t>((now - h.decay_from) / interval);
      if (steps > 0) {
        h.multiplier -= static_cast<std::uint32_t>(std::min<std::uint64_t>(steps, h.multiplier));
        h.decay_from += interval * static_cast<Duration::rep>(steps);
      }
    }
  }
  if (now - *window_start_ >= interval) {
    run_interval_rules(now);
    window_start_ = now;
  }
}

void OutlierDetector::run_interval_rules(TimePoint now) {
  const std::size_t n = hosts_.size();
  for (std::size_t i = 0; i < n; ++i) {
    Host& h = hosts_[i];
    h.interval_held.reset();
    h.held_detail.clear();
    if (ejected_[i]) continue;  // keep the figures that led to the ejection
    h.last_requests = h.requests;
    h.last_success_rate.reset();
    if (h.requests > 0)
      h.last_success_rate =
          100.0 * static_cast<double>(h.successes) / static_cast<double>(h.requests);
    h.last_p90.reset();
    if (!h.latencies.empty()) h.last_p90 = p90(h.latencies);
  }

  // Each rule yields candidates, worst first; ejections then go through the cap in that order.
  std::vector<std::pair<OutlierRule, std::vector<Candidate>>> rules;

  auto eligible = [&](std::uint32_t volume) {
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < n; ++i)
      if (!ejected_[i] && hosts_[i].requests >= std::max<std::uint64_t>(volume, 1))
        out.push_back(i);
    return out;
  };

  if (cfg_.success_rate) {
    const auto hosts = eligible(cfg_.success_rate_request_volume);
    if (!hosts.empty() && hosts.size() >= cfg_.success_rate_minimum_hosts) {
      double sum = 0;
      for (auto i : hosts) sum += *hosts_[i].last_success_rate;
      const double mean = sum / static_cast<double>(hosts.size());
      double var = 0;
      for (auto i : hosts) var += std::pow(*hosts_[i].last_success_rate - mean, 2);
      const double stdev = std::sqrt(var / static_cast<double>(hosts.size()));
      const double threshold = mean - cfg_.success_rate_stdev_factor * stdev;
      std::vector<Candidate> c;
      for (auto i : hosts) {
        const double rate = *hosts_[i].last_success_rate;
        if (rate < threshold)
          c.push_back({i, -rate,
                       fmt::format("success rate {}% < threshold {}% (mean {}%, stdev {}%)",
                                   round1(rate), round1(threshold), round1(mean), round1(stdev))});
      }
      rules.emplace_back(OutlierRule::success_rate, std::move(c));
    }
  }

  if (cfg_.failure_percentage_threshold > 0) {
    const auto hosts = eligible(cfg_.failure_percentage_request_volume);
    if (!hosts.empty() && hosts.size() >= cfg_.failure_percentage_minimum_hosts) {
      std::vector<Candidate> c;
      for (auto i : hosts) {
        const double failed = 100.0 - *hosts_[i].last_success_rate;
        if (failed >= cfg_.failure_percentage_threshold)
          c.push_back({i, failed,
                       fmt::format("failure percentage {}% >= threshold {}%", round1(failed),
                                   round1(cfg_.failure_percentage_threshold))});
      }
      rules.emplace_back(OutlierRule::failure_percentage, std::move(c));
    }
  }

  if (cfg_.latency_factor > 0) {
    std::vector<std::size_t> hosts;
    const auto volume = std::max<std::uint64_t>(cfg_.latency_request_volume, 1);
    for (std::size_t i = 0; i < n; ++i)
      if (!ejected_[i] && hosts_[i].latency_seen >= volume && hosts_[i].last_p90)
        hosts.push_back(i);
    if (hosts.size() >= kLatencyMinimumHosts) {
      std::vector<Duration> p90s;
      for (auto i : hosts) p90s.push_back(*hosts_[i].last_p90);
      std::sort(p90s.begin(), p90s.end());
      const std::size_t m = p90s.size();
      const Duration median = m % 2 ? p90s[m / 2] : (p90s[m / 2 - 1] + p90s[m / 2]) / 2;
      const double limit = cfg_.latency_factor * static_cast<double>(median.count());
      std::vector<Candidate> c;
      for (auto i : hosts) {
        const Duration p = *hosts_[i].last_p90;
        if (static_cast<double>(p.count()) > limit && p > cfg_.latency_floor)
          c.push_back(
              {i, static_cast<double>(p.count()),
               fmt::format("p90 {} > {} x cluster median {} (floor {})", human(p),
                           round1(cfg_.latency_factor), human(median), human(cfg_.latency_floor))});
      }
      rules.emplace_back(OutlierRule::latency, std::move(c));
    }
  }

  for (auto& [rule, cands] : rules) {
    std::stable_sort(cands.begin(), cands.end(), [](const Candidate& a, const Candidate& b) {
      return a.severity > b.severity;
    });
    for (auto& c : cands) {
      Host& h = hosts_[c.i];
      if (ejected_[c.i]) continue;
      const bool first_hold = !h.interval_held.has_value();
      std::string detail = c.detail;
      if (!try_eject(c.i, rule, std::move(c.detail), now, first_hold) && first_hold) {
        h.interval_held = rule;
        h.held_detail = std::move(detail);
      }
    }
  }

  for (auto& h : hosts_) clear_interval(h);
}

void OutlierDetector::enforce_cap(TimePoint now) {
  while (ejected_count_ > max_ejected()) {
    std::size_t soonest = hosts_.size();
    for (std::size_t i = 0; i < hosts_.size(); ++i)
      if (ejected_[i] && (soonest == hosts_.size() || hosts_[i].until < hosts_[soonest].until))
        soonest = i;
    uneject(soonest, now);
  }
}

void OutlierDetector::resize(std::size_t n, TimePoint now) {
  std::vector<std::optional<std::size_t>> map(n);
  for (std::size_t j = 0; j < n && j < hosts_.size(); ++j) map[j] = j;
  remap(map, now);
}

void OutlierDetector::remap(const std::vector<std::optional<std::size_t>>& old_of_new,
                            TimePoint now) {
  std::vector<Host> hosts(old_of_new.size());
  std::vector<bool> ejected(old_of_new.size(), false);
  std::vector<bool> taken(hosts_.size(), false);
  std::size_t count = 0;
  for (std::size_t j = 0; j < old_of_new.size(); ++j) {
    const auto& o = old_of_new[j];
    if (o && *o < hosts_.size() && !taken[*o]) {
      taken[*o] = true;
      hosts[j] = std::move(hosts_[*o]);
      ejected[j] = ejected_[*o];
      count += ejected[j] ? 1 : 0;
    } else {
      hosts[j].decay_from = now;
    }
  }
  hosts_ = std::move(hosts);
  ejected_ = std::move(ejected);
  ejected_count_ = count;
  ++version_;
  enforce_cap(now);
}

void OutlierDetector::adopt(const OutlierDetector& old,
                            const std::vector<std::optional<std::size_t>>& old_of_new,
                            TimePoint now) {
  hosts_ = old.hosts_;
  ejected_ = old.ejected_;
  ejected_count_ = old.ejected_count_;
  window_start_ = old.window_start_;
  ejections_ = old.ejections_;
  skipped_ = old.skipped_;
  if (!cfg_.enabled) {
    // Nothing may stay ejected by a detector that is now off.
    std::fill(ejected_.begin(), ejected_.end(), false);
    ejected_count_ = 0;
  }
  remap(old_of_new, now);
}

std::optional<TimePoint> OutlierDetector::next_deadline() const {
  if (!cfg_.enabled) return std::nullopt;
  std::optional<TimePoint> t;
  if (window_start_) t = *window_start_ + std::max(cfg_.interval, Duration{1});
  for (std::size_t i = 0; i < hosts_.size(); ++i)
    if (ejected_[i] && (!t || hosts_[i].until < *t)) t = hosts_[i].until;
  return t;
}

OutlierReport OutlierDetector::report(std::size_t i) const {
  OutlierReport r;
  if (i >= hosts_.size()) return r;
  const Host& h = hosts_[i];
  r.ejected = ejected_[i];
  r.rule = h.rule;
  r.since = h.since;
  r.until = h.until;
  r.multiplier = h.multiplier;
  r.times_ejected = h.times_ejected;
  r.consecutive_5xx = h.consecutive_5xx;
  r.consecutive_gateway_failure = h.consecutive_gw;
  r.interval_requests = h.last_requests;
  r.success_rate = h.last_success_rate;
  r.latency_p90 = h.last_p90;
  r.detail = h.detail;
  if (r.ejected) return r;

  std::string why;
  if (cfg_.consecutive_gateway_failure > 0 &&
      h.consecutive_gw >= cfg_.consecutive_gateway_failure) {
    r.held_by_cap = OutlierRule::consecutive_gateway_failure;
    why = fmt::format("{} consecutive gateway failures (connect error, reset or timeout)",
                      h.consecutive_gw);
  } else if (cfg_.consecutive_5xx > 0 && h.consecutive_5xx >= cfg_.consecutive_5xx) {
    r.held_by_cap = OutlierRule::consecutive_5xx;
    why = fmt::format("{} consecutive 5xx", h.consecutive_5xx);
  } else if (h.interval_held) {
    r.held_by_cap = h.interval_held;
    why = h.held_detail;
  }
  if (r.held_by_cap && cfg_.enabled) {
    r.detail = fmt::format(
        "{}; not ejected: {} of {} endpoints already ejected, max_ejection_percent {}% allows {}",
        why, ejected_count_, hosts_.size(), round1(cfg_.max_ejection_percent), max_ejected());
  } else {
    r.held_by_cap.reset();
  }
  return r;
}

}  // namespace sluice::upstream
