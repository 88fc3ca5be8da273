// The error-rate / slow-call circuit breaker of a cluster ([clusters.breaker]): a pure state
// machine owned by the control thread, and the lock-free gate through which workers are admitted.
//
// How the two halves work together:
// - CircuitBreaker is single-threaded. The control thread feeds it the outcomes that workers
//   report in batches (record), and drives time (state(now); arm a timer at until() so the
//   open -> half-open step happens on time).
// - After a change, the control thread calls BreakerGate::publish(breaker, now). The gate holds
//   one 64-bit atomic word, [state:2][half-open generation:30][probes left:32], which is all a
//   worker reads to be admitted, and an immutable BreakerStatus snapshot for explanations
//   ("breaker open until T because ...") and diagnose.
// - Entering half-open bumps the generation, and publish stores the word with probes left =
//   half_open_probes. Workers claim a probe with a CAS that decrements the count, so across all
//   workers exactly half_open_probes requests get through. A worker's claim carries the
//   generation, so a stale claim can never eat into (or hand back to) a later half-open period.
// - A worker reports each outcome with probe = true when its admission was a probe; in half-open
//   only probe outcomes count (others were admitted before the opening and describe the past).
//   A probe that ends without an answer (the client went away, shutdown) must call
//   BreakerGate::return_probe, or the breaker would wait for it forever.
// - While the snapshot says open, workers reject even when until() has passed: the breaker
//   becomes half-open only when the control thread says so (at its timer).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "sluice/core/clock.hpp"
#include "sluice/core/config/resilience.hpp"
#include "sluice/core/units.hpp"

namespace sluice::upstream {

enum class BreakerState : std::uint8_t { closed = 0, open = 1, half_open = 2 };

std::string_view to_string(BreakerState s);

// What admission gave a request: rejected, a normal pass (closed) or a half-open probe.
struct BreakerAdmission {
  enum class Kind : std::uint8_t { rejected, normal, probe };
  Kind kind = Kind::rejected;
  std::uint32_t generation = 0;  // the half-open period a probe belongs to

  explicit operator bool() const { return kind != Kind::rejected; }
  bool is_probe() const { return kind == Kind::probe; }
};

// One finished request, as a worker reports it.
struct BreakerOutcome {
  bool failed = false;  // the caller's verdict (5xx, reset, timeout, ...)
  Duration latency{};   // slow when latency >= slow_call_duration
  bool probe = false;   // admitted as a half-open probe (BreakerAdmission::is_probe)
};

struct BreakerTransitions {
  std::uint64_t to_open = 0;
  std::uint64_t to_half_open = 0;
  std::uint64_t to_closed = 0;
};

// Everything there is to say about a breaker at one instant; also the published snapshot.
struct BreakerStatus {
  BreakerState state = BreakerState::closed;
  TimePoint since{};               // when the current state began
  std::optional<TimePoint> until;  // when open: the earliest move to half-open
  double failure_rate = 0;         // percent of the window's requests (0 when empty)
  double slow_call_rate = 0;       // percent
  std::uint32_t window_requests = 0;
  std::uint32_t consecutive_openings = 0;  // since the last full close
  std::uint32_t generation = 0;            // half-open periods entered so far
  BreakerTransitions transitions;
  std::string reason;  // why the last transition happened; "" before the first
};

class CircuitBreaker {
 public:
  static constexpr std::size_t kBuckets = 10;  // the window is kBuckets buckets of window/kBuckets

  // A disabled config (enabled = false) gives a breaker that is always closed and admits all.
  CircuitBreaker(const config::Breaker& cfg, TimePoint now);

  // Counts a finished request. Closed: into the window, then may trip open. Open: ignored.
  // Half-open: only probe outcomes count; a failed or slow probe reopens with the doubled open
  // time, and half_open_probes successes close the breaker and clear the window.
  void record(const BreakerOutcome& o, TimePoint now);

  // Moves open -> half-open once until() has passed, then returns the state.
  BreakerState state(TimePoint now);

  // Single-threaded admission (for a driver without workers, and tests). Workers use BreakerGate.
  BreakerAdmission admit(TimePoint now);
  bool allow(TimePoint now) { return static_cast<bool>(admit(now)); }
  // Claims one of the half_open_probes slots; false when not half-open or all are claimed.
  bool try_acquire_probe(TimePoint now);

  // Takes over `old`'s state (a reload): state, times, window, openings and transition counts.
  // This breaker's config stays; the window is dropped when its bucket width changed.
  void inherit(const CircuitBreaker& old);

  // Introspection. The rate functions look at the window as of `now`.
  BreakerStatus status(TimePoint now);
  TimePoint since() const { return since_; }
  std::optional<TimePoint> until() const;
  double failure_rate(TimePoint now) const;
  double slow_call_rate(TimePoint now) const;
  std::uint32_t window_requests(TimePoint now) const;
  std::uint32_t consecutive_openings() const { return consecutive_openings_; }
  std::uint32_t generation() const { return generation_; }
  const BreakerTransitions& transitions() const { return transitions_; }
  const std::string& reason() const { return reason_; }
  std::uint32_t half_open_probes() const { return probes_; }
  // The open time the next opening would get: open_time * 2^consecutive_openings, capped.
  Duration next_open_time() const { return open_time_for(consecutive_openings_ + 1); }

 private:
  struct Bucket {
    std::int64_t epoch = INT64_MIN;
    std::uint32_t total = 0;
    std::uint32_t failures = 0;
    std::uint32_t slow = 0;
  };
  struct Totals {
    std::uint32_t total = 0;
    std::uint32_t failures = 0;
    std::uint32_t slow = 0;
  };

  std::int64_t epoch_of(TimePoint t) const;
  void add(TimePoint now, bool failed, bool slow);
  Totals totals(TimePoint now) const;
  Duration open_time_for(std::uint32_t openings) const;
  void open(TimePoint now, std::string reason);
  void close(TimePoint now);

  config::Breaker cfg_;
  std::uint32_t probes_;
  Duration bucket_width_;
  std::array<Bucket, kBuckets> buckets_{};

  BreakerState state_ = BreakerState::closed;
  TimePoint since_;
  TimePoint until_{};
  std::uint32_t consecutive_openings_ = 0;
  std::uint32_t generation_ = 0;
  std::uint32_t probes_claimed_ = 0;  // single-threaded admission only
  std::uint32_t probe_successes_ = 0;
  BreakerTransitions transitions_;
  std::string reason_;
};

// The workers' side of one breaker. publish() is for the control thread only (one writer);
// everything else may be called from any thread, without locks.
class BreakerGate {
 public:
  BreakerGate();  // closed until the first publish
  BreakerGate(const BreakerGate&) = delete;
  BreakerGate& operator=(const BreakerGate&) = delete;

  // Control thread: makes the breaker's current state visible to workers. Call it after every
  // record batch or timer tick that changed the state (compare transitions()), and whenever
  // fresher rates are wanted in the snapshot. Re-publishing the same half-open period keeps
  // the probes already claimed.
  void publish(CircuitBreaker& b, TimePoint now);

  // Workers: closed -> normal; open -> rejected; half-open -> a probe while any are left.
  BreakerAdmission admit();
  // Workers: gives back a probe that will never report an outcome (no effect once the half-open
  // period it belongs to is over).
  void return_probe(const BreakerAdmission& a);

  BreakerState state() const;
  std::uint32_t probes_left() const;
  std::shared_ptr<const BreakerStatus> snapshot() const { return snapshot_.load(); }

 private:
  std::atomic<std::uint64_t> word_;
  std::atomic<std::shared_ptr<const BreakerStatus>> snapshot_;
};

}  // namespace sluice::upstream
