#include "sluice/upstream/breaker.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include <fmt/format.h>

namespace sluice::upstream {

namespace {

// "62%", "62.5%": a whole number when it is one, else one decimal.
std::string percent(double p) {
  double r = std::round(p * 10) / 10;
  if (r == std::floor(r)) return fmt::format("{:.0f}%", r);
  return fmt::format("{:.1f}%", r);
}

double rate(std::uint32_t part, std::uint32_t total) {
  return total == 0 ? 0.0 : 100.0 * static_cast<double>(part) / static_cast<double>(total);
}

// Word layout of BreakerGate: [state:2][generation:30][probes left:32].
constexpr std::uint64_t kGenMask = (1ull << 30) - 1;
constexpr std::uint64_t kLeftMask = 0xffff'ffffull;

std::uint64_t pack(BreakerState s, std::uint32_t gen, std::uint32_t left) {
  return (static_cast<std::uint64_t>(s) << 62) | ((gen & kGenMask) << 32) | left;
}
BreakerState state_of(std::uint64_t w) {
  return static_cast<BreakerState>(w >> 62);
}
std::uint32_t gen_of(std::uint64_t w) {
  return static_cast<std::uint32_t>((w >> 32) & kGenMask);
}
std::uint32_t left_of(std::uint64_t w) {
  return static_cast<std::uint32_t>(w & kLeftMask);
}

}  // namespace

std::string_view to_string(BreakerState s) {
  switch (s) {
    case BreakerState::closed:
      return "closed";
    case BreakerState::open:
      return "open";
    case BreakerState::half_open:
      return "half_open";
  }
  return "unknown";
}

CircuitBreaker::CircuitBreaker(const config::Breaker& cfg, TimePoint now)
    : cfg_(cfg),
      probes_(std::max<std::uint32_t>(1, cfg.half_open_probes)),
      bucket_width_(std::max<Duration>(Duration{1}, cfg.window / kBuckets)),
      since_(now) {}

void CircuitBreaker::inherit(const CircuitBreaker& old) {
  if (old.bucket_width_ == bucket_width_) buckets_ = old.buckets_;
  state_ = old.state_;
  since_ = old.since_;
  until_ = old.until_;
  consecutive_openings_ = old.consecutive_openings_;
  generation_ = old.generation_;
  probes_claimed_ = 0;
  probe_successes_ = old.probe_successes_;
  transitions_ = old.transitions_;
  reason_ = old.reason_;
}

std::int64_t CircuitBreaker::epoch_of(TimePoint t) const {
  auto ns = t.time_since_epoch().count();
  auto w = bucket_width_.count();
  // Floor division, so that time points before the clock's epoch still bucket correctly.
  return ns >= 0 ? ns / w : -((-ns + w - 1) / w);
}

void CircuitBreaker::add(TimePoint now, bool failed, bool slow) {
  std::int64_t e = epoch_of(now);
  auto slot = static_cast<std::size_t>(
      ((e % static_cast<std::int64_t>(kBuckets)) + static_cast<std::int64_t>(kBuckets)) %
      static_cast<std::int64_t>(kBuckets));
  Bucket& b = buckets_[slot];
  if (b.epoch != e) {
    // A late report older than what the slot holds now has aged out already.
    if (b.epoch > e) return;
    b = Bucket{e, 0, 0, 0};
  }
  ++b.total;
  if (failed) ++b.failures;
  if (slow) ++b.slow;
}

CircuitBreaker::Totals CircuitBreaker::totals(TimePoint now) const {
  std::int64_t e = epoch_of(now);
  Totals t;
  for (const Bucket& b : buckets_) {
    if (b.epoch > e - static_cast<std::int64_t>(kBuckets) && b.epoch <= e) {
      t.total += b.total;
      t.failures += b.failures;
      t.slow += b.slow;
    }
  }
  return t;
}

Duration CircuitBreaker::open_time_for(std::uint32_t openings) const {
  Duration cap = std::max(cfg_.open_time, cfg_.max_open_time);
  Duration d = cfg_.open_time;
  for (std::uint32_t i = 1; i < openings && d < cap; ++i) d = (d > cap / 2) ? cap : d * 2;
  return std::min(d, cap);
}

void CircuitBreaker::open(TimePoint now, std::string reason) {
  ++consecutive_openings_;
  state_ = BreakerState::open;
  since_ = now;
  until_ = now + open_time_for(consecutive_openings_);
  reason_ = std::move(reason);
  ++transitions_.to_open;
}

void CircuitBreaker::close(TimePoint now) {
  state_ = BreakerState::closed;
  since_ = now;
  until_ = TimePoint{};
  reason_ = fmt::format("{} of {} half-open probes succeeded", probe_successes_, probes_);
  consecutive_openings_ = 0;
  buckets_.fill(Bucket{});
  ++transitions_.to_closed;
}

BreakerState CircuitBreaker::state(TimePoint now) {
  if (state_ == BreakerState::open && now >= until_) {
    Duration was_open = until_ - since_;
    state_ = BreakerState::half_open;
    since_ = until_;
    reason_ =
        fmt::format("open for {}; letting {} probes through", format_duration(was_open), probes_);
    ++generation_;
    probes_claimed_ = 0;
    probe_successes_ = 0;
    ++transitions_.to_half_open;
  }
  return state_;
}

void CircuitBreaker::record(const BreakerOutcome& o, TimePoint now) {
  if (!cfg_.enabled) return;
  bool slow = o.latency >= cfg_.slow_call_duration;
  switch (state(now)) {
    case BreakerState::open:
      return;
    case BreakerState::half_open:
      if (!o.probe) return;
      if (o.failed) {
        open(now, "a half-open probe failed");
      } else if (slow) {
        open(now, fmt::format("a half-open probe was slow ({} >= {})", format_duration(o.latency),
                              format_duration(cfg_.slow_call_duration)));
      } else if (++probe_successes_ >= probes_) {
        close(now);
      }
      return;
    case BreakerState::closed:
      break;
  }
  add(now, o.failed, slow);
  Totals t = totals(now);
  if (t.total < std::max<std::uint32_t>(1, cfg_.minimum_requests)) return;
  double fr = rate(t.failures, t.total);
  double sr = rate(t.slow, t.total);
  // A rate of zero never trips, even with a threshold of zero.
  if (t.failures > 0 && fr >= cfg_.failure_rate_threshold) {
    open(now,
         fmt::format("failure rate {} >= {} over {} requests in {}", percent(fr),
                     percent(cfg_.failure_rate_threshold), t.total, format_duration(cfg_.window)));
  } else if (t.slow > 0 && sr >= cfg_.slow_call_rate_threshold) {
    open(now, fmt::format("slow call rate {} >= {} over {} requests in {} (slow: >= {})",
                          percent(sr), percent(cfg_.slow_call_rate_threshold), t.total,
                          format_duration(cfg_.window), format_duration(cfg_.slow_call_duration)));
  }
}

BreakerAdmission CircuitBreaker::admit(TimePoint now) {
  if (!cfg_.enabled) return {BreakerAdmission::Kind::normal, generation_};
  switch (state(now)) {
    case BreakerState::closed:
      return {BreakerAdmission::Kind::normal, generation_};
    case BreakerState::open:
      return {BreakerAdmission::Kind::rejected, generation_};
    case BreakerState::half_open:
      if (probes_claimed_ >= probes_) return {BreakerAdmission::Kind::rejected, generation_};
      ++probes_claimed_;
      return {BreakerAdmission::Kind::probe, generation_};
  }
  return {};
}

bool CircuitBreaker::try_acquire_probe(TimePoint now) {
  if (state(now) != BreakerState::half_open || probes_claimed_ >= probes_) return false;
  ++probes_claimed_;
  return true;
}

std::optional<TimePoint> CircuitBreaker::until() const {
  if (state_ != BreakerState::open) return std::nullopt;
  return until_;
}

double CircuitBreaker::failure_rate(TimePoint now) const {
  Totals t = totals(now);
  return rate(t.failures, t.total);
}

double CircuitBreaker::slow_call_rate(TimePoint now) const {
  Totals t = totals(now);
  return rate(t.slow, t.total);
}

std::uint32_t CircuitBreaker::window_requests(TimePoint now) const {
  return totals(now).total;
}

BreakerStatus CircuitBreaker::status(TimePoint now) {
  BreakerStatus s;
  s.state = state(now);
  s.since = since_;
  s.until = until();
  Totals t = totals(now);
  s.failure_rate = rate(t.failures, t.total);
  s.slow_call_rate = rate(t.slow, t.total);
  s.window_requests = t.total;
  s.consecutive_openings = consecutive_openings_;
  s.generation = generation_;
  s.transitions = transitions_;
  s.reason = reason_;
  return s;
}

BreakerGate::BreakerGate()
    : word_(pack(BreakerState::closed, 0, 0)), snapshot_(std::make_shared<const BreakerStatus>()) {}

void BreakerGate::publish(CircuitBreaker& b, TimePoint now) {
  auto s = std::make_shared<const BreakerStatus>(b.status(now));
  std::uint64_t cur = word_.load(std::memory_order_acquire);
  bool same_half_open = s->state == BreakerState::half_open &&
                        state_of(cur) == BreakerState::half_open &&
                        gen_of(cur) == (s->generation & kGenMask);
  if (!same_half_open) {
    std::uint32_t left = s->state == BreakerState::half_open ? b.half_open_probes() : 0;
    word_.store(pack(s->state, s->generation, left), std::memory_order_release);
  }
  snapshot_.store(std::move(s), std::memory_order_release);
}

BreakerAdmission BreakerGate::admit() {
  std::uint64_t w = word_.load(std::memory_order_acquire);
  for (;;) {
    switch (state_of(w)) {
      case BreakerState::closed:
        return {BreakerAdmission::Kind::normal, gen_of(w)};
      case BreakerState::open:
        return {BreakerAdmission::Kind::rejected, gen_of(w)};
      case BreakerState::half_open:
        break;
    }
    if (left_of(w) == 0) return {BreakerAdmission::Kind::rejected, gen_of(w)};
    if (word_.compare_exchange_weak(w, w - 1, std::memory_order_acq_rel, std::memory_order_acquire))
      return {BreakerAdmission::Kind::probe, gen_of(w)};
  }
}

void BreakerGate::return_probe(const BreakerAdmission& a) {
  if (!a.is_probe()) return;
  std::uint64_t w = word_.load(std::memory_order_acquire);
  while (state_of(w) == BreakerState::half_open && gen_of(w) == (a.generation & kGenMask) &&
         left_of(w) < kLeftMask) {
    if (word_.compare_exchange_weak(w, w + 1, std::memory_order_acq_rel, std::memory_order_acquire))
      return;
  }
}

BreakerState BreakerGate::state() const {
  return state_of(word_.load(std::memory_order_acquire));
}

std::uint32_t BreakerGate::probes_left() const {
  return left_of(word_.load(std::memory_order_acquire));
}

}  // namespace sluice::upstream
