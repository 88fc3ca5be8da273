// Retries of a route ([routes.retry]): whether and when to try again after a failed attempt
// (RetryPolicy), Retry-After parsing, the retry budget shared by all workers (RetryBudget) and
// the hedging decision (HedgePolicy). Pure decisions: the gateway owns the timers and the I/O.
//
// RetryPolicy::decide, in order:
// 1. The condition: a connect failure, reset or timeout, or an HTTP status (429 ->
//    "status_429", 502/503/504 -> "gateway_error", other 5xx -> "5xx", a listed status ->
//    "retriable_status"), each only when its RetryOn flag is set. The first matching label, in
//    that order, is the metric reason. gateway_error and 5xx cover statuses only; transport
//    failures have their own flags. Anything else is final (not_retriable).
// 2. Idempotency: a method outside RFC 9110's idempotent set (GET HEAD OPTIONS TRACE PUT
//    DELETE) is retried only with non_idempotent = true, since the upstream may have acted on it
//    already. The exception is a connect failure: nothing was sent, so it is always safe.
// 3. Attempts: `attempts` counts every try, the first included.
// 4. The delay: exponential backoff with full jitter, uniform(0, min(backoff_max,
//    backoff_base * 2^(retry-1))). A Retry-After on the answer (delta-seconds or HTTP-date,
//    relative to the wall clock passed in; unparseable values are ignored) raises the delay to
//    max(backoff, retry_after). A Retry-After above retry_after_max stops retrying: the upstream
//    asked for a longer pause than we will hold the client for, so the client gets the answer,
//    Retry-After included, and can decide itself.
// 5. The deadline: a retry that would start at or after the deadline is not scheduled.
// The budget is checked by the caller after a positive decision (RetryBudget::try_acquire_retry).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

#include "sluice/core/clock.hpp"
#include "sluice/core/config/resilience.hpp"
#include "sluice/core/error.hpp"
#include "sluice/core/units.hpp"

namespace sluice::upstream {

using WallTime = std::chrono::system_clock::time_point;

enum class Idempotent : std::uint8_t { no, yes };

// RFC 9110 9.2.2: GET, HEAD, OPTIONS, TRACE, PUT and DELETE. Methods are case-sensitive, so
// "get" (an unknown method) is not idempotent.
Idempotent idempotency_of(std::string_view method);

// What one try ended with: a transport failure, or an answer with a status.
struct AttemptResult {
  enum class Kind : std::uint8_t {
    connect_failure,  // no connection (connect, DNS, TLS handshake): nothing was sent
    reset,            // the connection broke after the request went out
    timeout,          // the per-try timeout fired before an answer
    other_failure,    // anything else (a protocol error, a downstream or internal one): final
    status,           // an HTTP answer
  };
  Kind kind = Kind::status;
  int status = 0;
  std::string_view retry_after{};  // the Retry-After header value, "" when absent

  static AttemptResult connect_failure() { return {.kind = Kind::connect_failure}; }
  static AttemptResult reset() { return {.kind = Kind::reset}; }
  static AttemptResult timeout() { return {.kind = Kind::timeout}; }
  static AttemptResult http(int status, std::string_view retry_after = {}) {
    return {.kind = Kind::status, .status = status, .retry_after = retry_after};
  }
  // Maps an upstream error by kind: connect/dns/tls -> connect_failure, reset, timeout.
  // Errors from downstream or internal sources are never retried (other_failure).
  static AttemptResult from_error(const Error& e);
};

enum class RetryStop : std::uint8_t {
  none,                  // retrying
  not_retriable,         // no enabled condition matches (including successes)
  non_idempotent,        // matched, but the method is not idempotent
  attempts_exhausted,    // `attempts` tries made
  retry_after_too_long,  // Retry-After > retry_after_max
  deadline,              // the retry would start at or after the deadline
};

// The metric / log label: "none", "not_retriable", "non_idempotent", ...
std::string_view to_string(RetryStop s);

struct RetryDecision {
  bool retry = false;
  Duration delay{};         // wait this long, then try again
  std::string_view reason;  // the matched condition ("connect_failure", "5xx", ...) or ""
  RetryStop stop = RetryStop::not_retriable;
  std::optional<Duration> retry_after;  // the parsed Retry-After, when there was one
};

struct RetryContext {
  std::uint32_t attempt = 1;  // tries made so far, the failed one included
  TimePoint now{};
  TimePoint deadline = TimePoint::max();  // over all tries
  Idempotent idempotent = Idempotent::yes;
  WallTime wall_now{};  // for HTTP-date Retry-After values
};

class RetryPolicy {
 public:
  explicit RetryPolicy(const config::Retry& cfg) : cfg_(cfg) {}

  RetryDecision decide(const AttemptResult& r, const RetryContext& ctx, Rng& rng) const;

  // The condition label that r matches under the config's flags, or "" (step 1 above).
  std::string_view matched_condition(const AttemptResult& r) const;
  // min(backoff_max, backoff_base * 2^(retry-1)); retry counts from 1.
  Duration backoff_cap(std::uint32_t retry) const;
  // A uniform draw in [0, backoff_cap(retry)).
  Duration backoff(std::uint32_t retry, Rng& rng) const;

  const config::Retry& config() const { return cfg_; }

 private:
  config::Retry cfg_;
};

// RFC 9110 5.6.7: IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"), and the obsolete RFC 850
// ("Sunday, 06-Nov-94 08:49:37 GMT"; years 70-99 are 19xx, 00-69 are 20xx) and asctime
// ("Sun Nov  6 08:49:37 1994") forms. nullopt for anything else (the weekday is not checked
// against the date). Seconds, so that years up to 9999 fit.
std::optional<std::chrono::sys_seconds> parse_http_date(std::string_view s);

// A Retry-After value as a delay from wall_now: delta-seconds ("120"; saturates rather than
// overflows) or an HTTP-date (a date in the past gives 0). nullopt when it is neither.
std::optional<Duration> parse_retry_after(std::string_view value, WallTime wall_now);

// Retries in flight <= max(budget_min_concurrency, budget_percent% of requests in flight), over
// every worker, with atomics. Hold a RequestGuard for the whole life of each request (all its
// tries), and a RetryGuard from a positive retry decision until that retry's try has ended
// (the backoff wait included).
class RetryBudget {
 public:
  class RequestGuard {
   public:
    RequestGuard(RequestGuard&& o) noexcept : owner_(std::exchange(o.owner_, nullptr)) {}
    RequestGuard& operator=(RequestGuard&& o) noexcept;
    RequestGuard(const RequestGuard&) = delete;
    RequestGuard& operator=(const RequestGuard&) = delete;
    ~RequestGuard() { release(); }
    void release();

   private:
    friend class RetryBudget;
    explicit RequestGuard(RetryBudget* owner) : owner_(owner) {}
    RetryBudget* owner_;
  };

  class RetryGuard {
   public:
    RetryGuard(RetryGuard&& o) noexcept : owner_(std::exchange(o.owner_, nullptr)) {}
    RetryGuard& operator=(RetryGuard&& o) noexcept;
    RetryGuard(const RetryGuard&) = delete;
    RetryGuard& operator=(const RetryGuard&) = delete;
    ~RetryGuard() { release(); }
    void release();

   private:
    friend class RetryBudget;
    explicit RetryGuard(RetryBudget* owner) : owner_(owner) {}
    RetryBudget* owner_;
  };

  RetryBudget(double percent, std::uint32_t min_concurrency)
      : percent_(percent), min_concurrency_(min_concurrency) {}
  explicit RetryBudget(const config::Retry& cfg)
      : RetryBudget(cfg.budget_percent, cfg.budget_min_concurrency) {}
  RetryBudget(const RetryBudget&) = delete;
  RetryBudget& operator=(const RetryBudget&) = delete;

  RequestGuard track_request();
  // nullopt when the budget is spent; that also bumps exhausted().
  std::optional<RetryGuard> try_acquire_retry();

  // max(min_concurrency, floor(percent% of requests in flight)).
  std::uint64_t limit() const;
  std::uint64_t requests_in_flight() const { return requests_.load(std::memory_order_acquire); }
  std::uint64_t retries_in_flight() const { return retries_.load(std::memory_order_acquire); }
  std::uint64_t exhausted() const { return exhausted_.load(std::memory_order_relaxed); }

 private:
  double percent_;
  std::uint32_t min_concurrency_;
  std::atomic<std::uint64_t> requests_{0};
  std::atomic<std::uint64_t> retries_{0};
  std::atomic<std::uint64_t> exhausted_{0};
};

// Hedging ([routes.retry] hedge_delay): when no answer has come hedge_delay after the first try
// was sent, a second try goes out and the first good answer wins. A hedge sends the request
// twice, so only idempotent requests are hedged, and it counts as a try against `attempts`.
class HedgePolicy {
 public:
  explicit HedgePolicy(const config::Retry& cfg) : cfg_(cfg) {}

  bool enabled() const { return cfg_.hedge_delay.has_value() && cfg_.attempts > 1; }
  // When to launch the hedge of a try sent at first_sent (nullopt: never).
  std::optional<TimePoint> hedge_at(TimePoint first_sent, Idempotent idem) const;
  // At the hedge timer: launch a hedge now? tries_started counts the tries already sent.
  bool should_hedge(TimePoint first_sent, TimePoint now, bool answered, Idempotent idem,
                    std::uint32_t tries_started, TimePoint deadline = TimePoint::max()) const;

 private:
  config::Retry cfg_;
};

}  // namespace sluice::upstream
