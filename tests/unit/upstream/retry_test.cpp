// RetryPolicy (the conditions matrix, idempotency, attempts, backoff with full jitter on a seeded
// Rng, Retry-After and the deadline), Retry-After / HTTP-date parsing, RetryBudget and
// HedgePolicy.
#include "sluice/upstream/retry.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

using namespace std::chrono_literals;
using sluice::Duration;
using sluice::ManualClock;
using sluice::SeededRng;
using sluice::TimePoint;
using sluice::config::RetryOn;
using sluice::upstream::AttemptResult;
using sluice::upstream::HedgePolicy;
using sluice::upstream::Idempotent;
using sluice::upstream::RetryBudget;
using sluice::upstream::RetryContext;
using sluice::upstream::RetryPolicy;
using sluice::upstream::RetryStop;
using sluice::upstream::WallTime;

namespace {

std::uint32_t flags(std::initializer_list<RetryOn> on) {
  std::uint32_t f = 0;
  for (auto c : on) f |= static_cast<std::uint32_t>(c);
  return f;
}

sluice::config::Retry retry_config(std::uint32_t on) {
  sluice::config::Retry c;
  c.attempts = 3;
  c.on = on;
  c.backoff_base = 25ms;
  c.backoff_max = 250ms;
  c.retry_after_max = 10s;
  return c;
}

// 1994-11-06 08:49:37 UTC, the RFC's example date.
const WallTime kRfcDate =
    std::chrono::sys_days{std::chrono::year{1994} / 11 / 6} + 8h + 49min + 37s;

RetryContext ctx(std::uint32_t attempt, TimePoint now) {
  RetryContext c;
  c.attempt = attempt;
  c.now = now;
  c.wall_now = kRfcDate;
  return c;
}

}  // namespace

TEST_CASE("retry conditions matrix", "[upstream][retry]") {
  struct Row {
    std::uint32_t on;
    AttemptResult result;
    std::string label;
  };
  const std::uint32_t all =
      flags({RetryOn::connect_failure, RetryOn::reset, RetryOn::timeout, RetryOn::gateway_error,
             RetryOn::status_5xx, RetryOn::retriable_status, RetryOn::status_429});
  const std::vector<Row> rows = {
      {flags({RetryOn::connect_failure}), AttemptResult::connect_failure(), "connect_failure"},
      {flags({RetryOn::reset}), AttemptResult::connect_failure(), ""},
      {flags({RetryOn::reset}), AttemptResult::reset(), "reset"},
      {flags({RetryOn::connect_failure}), AttemptResult::reset(), ""},
      {flags({RetryOn::timeout}), AttemptResult::timeout(), "timeout"},
      {flags({RetryOn::reset}), AttemptResult::timeout(), ""},
      {flags({RetryOn::gateway_error}), AttemptResult::http(502), "gateway_error"},
      {flags({RetryOn::gateway_error}), AttemptResult::http(503), "gateway_error"},
      {flags({RetryOn::gateway_error}), AttemptResult::http(504), "gateway_error"},
      {flags({RetryOn::gateway_error}), AttemptResult::http(500), ""},
      {flags({RetryOn::gateway_error}), AttemptResult::connect_failure(), ""},
      {flags({RetryOn::status_5xx}), AttemptResult::http(500), "5xx"},
      {flags({RetryOn::status_5xx}), AttemptResult::http(503), "5xx"},
      {flags({RetryOn::status_5xx}), AttemptResult::http(599), "5xx"},
      {flags({RetryOn::status_5xx}), AttemptResult::http(429), ""},
      {flags({RetryOn::status_5xx}), AttemptResult::http(404), ""},
      {flags({RetryOn::status_429}), AttemptResult::http(429), "status_429"},
      {flags({RetryOn::status_429}), AttemptResult::http(503), ""},
      {flags({RetryOn::retriable_status}), AttemptResult::http(409), "retriable_status"},
      {flags({RetryOn::retriable_status}), AttemptResult::http(410), ""},
      {all, AttemptResult::http(200), ""},
      {all, AttemptResult::http(404), ""},
      {all, AttemptResult::http(503), "gateway_error"},
      {all, AttemptResult::http(500), "5xx"},
      {all, AttemptResult::http(429), "status_429"},
      {all, AttemptResult::http(409), "retriable_status"},
      {all, AttemptResult{.kind = AttemptResult::Kind::other_failure}, ""},
  };
  for (const auto& row : rows) {
    auto c = retry_config(row.on);
    c.statuses = {409};
    RetryPolicy p(c);
    SeededRng rng(1);
    INFO("on=" << row.on << " status=" << row.result.status
               << " kind=" << static_cast<int>(row.result.kind));
    CHECK(p.matched_condition(row.result) == row.label);
    auto d = p.decide(row.result, ctx(1, TimePoint{} + 100s), rng);
    CHECK(d.retry == !row.label.empty());
    CHECK(d.reason == row.label);
    CHECK(d.stop == (row.label.empty() ? RetryStop::not_retriable : RetryStop::none));
  }
}

TEST_CASE("retry default config retries connect failures and resets only", "[upstream][retry]") {
  sluice::config::Retry c;
  c.attempts = 2;
  RetryPolicy p(c);
  SeededRng rng(1);
  auto now = TimePoint{} + 100s;
  CHECK(p.decide(AttemptResult::connect_failure(), ctx(1, now), rng).retry);
  CHECK(p.decide(AttemptResult::reset(), ctx(1, now), rng).retry);
  CHECK_FALSE(p.decide(AttemptResult::timeout(), ctx(1, now), rng).retry);
  CHECK_FALSE(p.decide(AttemptResult::http(503), ctx(1, now), rng).retry);
}

TEST_CASE("retry maps errors by kind and source", "[upstream][retry]") {
  using sluice::ErrorKind;
  using sluice::ErrorSource;
  using Kind = AttemptResult::Kind;
  auto kind = [](ErrorKind k, ErrorSource s) {
    return AttemptResult::from_error(sluice::make_error(k, s, "x")).kind;
  };
  CHECK(kind(ErrorKind::connect, ErrorSource::upstream) == Kind::connect_failure);
  CHECK(kind(ErrorKind::dns, ErrorSource::upstream) == Kind::connect_failure);
  CHECK(kind(ErrorKind::tls, ErrorSource::upstream) == Kind::connect_failure);
  CHECK(kind(ErrorKind::reset, ErrorSource::upstream) == Kind::reset);
  CHECK(kind(ErrorKind::io, ErrorSource::upstream) == Kind::reset);
  CHECK(kind(ErrorKind::timeout, ErrorSource::upstream) == Kind::timeout);
  CHECK(kind(ErrorKind::protocol, ErrorSource::upstream) == Kind::other_failure);
  CHECK(kind(ErrorKind::reset, ErrorSource::downstream) == Kind::other_failure);
  CHECK(kind(ErrorKind::connect, ErrorSource::internal) == Kind::other_failure);
}

TEST_CASE("retry idempotent methods follow RFC 9110", "[upstream][retry]") {
  using sluice::upstream::idempotency_of;
  for (const char* m : {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})
    CHECK(idempotency_of(m) == Idempotent::yes);
  for (const char* m : {"POST", "PATCH", "CONNECT", "get", "PURGE", ""})
    CHECK(idempotency_of(m) == Idempotent::no);
}

TEST_CASE("retry never retries non-idempotent requests except after a connect failure",
          "[upstream][retry]") {
  auto on = flags({RetryOn::connect_failure, RetryOn::reset, RetryOn::timeout, RetryOn::status_5xx,
                   RetryOn::status_429});
  RetryPolicy strict(retry_config(on));
  SeededRng rng(7);
  auto c = ctx(1, TimePoint{} + 100s);
  c.idempotent = Idempotent::no;
  for (auto r : {AttemptResult::reset(), AttemptResult::timeout(), AttemptResult::http(503),
                 AttemptResult::http(429)}) {
    auto d = strict.decide(r, c, rng);
    CHECK_FALSE(d.retry);
    CHECK(d.stop == RetryStop::non_idempotent);
    CHECK_FALSE(d.reason.empty());
  }
  // Nothing was sent: safe for a POST too.
  CHECK(strict.decide(AttemptResult::connect_failure(), c, rng).retry);

  auto lax_cfg = retry_config(on);
  lax_cfg.non_idempotent = true;
  RetryPolicy lax(lax_cfg);
  CHECK(lax.decide(AttemptResult::reset(), c, rng).retry);
  CHECK(lax.decide(AttemptResult::http(503), c, rng).retry);
}

TEST_CASE("retry stops after the configured attempts", "[upstream][retry]") {
  RetryPolicy p(retry_config(flags({RetryOn::reset})));  // attempts = 3
  SeededRng rng(3);
  auto now = TimePoint{} + 100s;
  CHECK(p.decide(AttemptResult::reset(), ctx(1, now), rng).retry);
  CHECK(p.decide(AttemptResult::reset(), ctx(2, now), rng).retry);
  auto d = p.decide(AttemptResult::reset(), ctx(3, now), rng);
  CHECK_FALSE(d.retry);
  CHECK(d.stop == RetryStop::attempts_exhausted);
  CHECK(sluice::upstream::to_string(d.stop) == "attempts_exhausted");

  auto once = retry_config(flags({RetryOn::reset}));
  once.attempts = 1;
  CHECK(RetryPolicy(once).decide(AttemptResult::reset(), ctx(1, now), rng).stop ==
        RetryStop::attempts_exhausted);
}

TEST_CASE("retry backoff cap doubles up to backoff_max", "[upstream][retry]") {
  RetryPolicy p(retry_config(flags({RetryOn::reset})));
  std::vector<Duration> caps;
  for (std::uint32_t r = 1; r <= 7; ++r) caps.push_back(p.backoff_cap(r));
  CHECK(caps == std::vector<Duration>{25ms, 50ms, 100ms, 200ms, 250ms, 250ms, 250ms});
  CHECK(p.backoff_cap(1000) == 250ms);  // no overflow for absurd retry counts
}

TEST_CASE("retry backoff is full jitter with a mean near half the cap", "[upstream][retry]") {
  RetryPolicy p(retry_config(flags({RetryOn::reset})));
  SeededRng rng(42);
  for (std::uint32_t retry : {1u, 3u, 6u}) {
    const Duration cap = p.backoff_cap(retry);
    constexpr int kN = 20000;
    double sum = 0;
    Duration lo = cap, hi{0};
    int low_quarter = 0;
    for (int i = 0; i < kN; ++i) {
      Duration d = p.backoff(retry, rng);
      REQUIRE(d >= Duration{0});
      REQUIRE(d < cap);
      lo = std::min(lo, d);
      hi = std::max(hi, d);
      if (d < cap / 4) ++low_quarter;
      sum += static_cast<double>(d.count());
    }
    double mean = sum / kN;
    INFO("retry " << retry);
    CHECK(mean == Approx(static_cast<double>(cap.count()) / 2).epsilon(0.02));
    CHECK(lo < cap / 100);       // the full range is used, down to ~0...
    CHECK(hi > cap * 99 / 100);  // ...and up to the cap
    CHECK(low_quarter == Approx(kN / 4).epsilon(0.05));
  }
}

TEST_CASE("retry backoff is reproducible with a fixed seed", "[upstream][retry]") {
  RetryPolicy p(retry_config(flags({RetryOn::reset})));
  SeededRng a(99), b(99), c(100);
  std::vector<Duration> da, db, dc;
  for (std::uint32_t r = 1; r <= 5; ++r) {
    da.push_back(p.backoff(r, a));
    db.push_back(p.backoff(r, b));
    dc.push_back(p.backoff(r, c));
  }
  CHECK(da == db);
  CHECK(da != dc);
  // The decision's delay is the backoff draw for the retry about to happen.
  SeededRng d1(5), d2(5);
  auto dec = p.decide(AttemptResult::reset(), ctx(2, TimePoint{} + 100s), d1);
  CHECK(dec.delay == p.backoff(2, d2));
}

TEST_CASE("retry after parses delta seconds", "[upstream][retry]") {
  using sluice::upstream::parse_retry_after;
  CHECK(parse_retry_after("120", kRfcDate) == Duration{120s});
  CHECK(parse_retry_after(" 5\t", kRfcDate) == Duration{5s});
  CHECK(parse_retry_after("0", kRfcDate) == Duration{0});
  CHECK(parse_retry_after("99999999999999999999999", kRfcDate) == Duration{1'000'000'000s});
}

TEST_CASE("retry after parses the three HTTP-date forms", "[upstream][retry]") {
  using sluice::upstream::parse_http_date;
  using sluice::upstream::parse_retry_after;
  const auto expected = std::chrono::floor<std::chrono::seconds>(kRfcDate);
  CHECK(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT") == expected);
  CHECK(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT") == expected);
  CHECK(parse_http_date("Sun Nov  6 08:49:37 1994") == expected);
  CHECK(parse_http_date("Thu, 01 Jan 2026 00:00:00 GMT") ==
        std::chrono::sys_days{std::chrono::year{2026} / 1 / 1});
  CHECK(parse_http_date("Thursday, 01-Jan-26 00:00:00 GMT") ==
        std::chrono::sys_days{std::chrono::year{2026} / 1 / 1});

  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT", kRfcDate) == Duration{30s});
  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT", kRfcDate + 250ms) == Duration{29750ms});
  // A date in the past means "now".
  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", kRfcDate) == Duration{0});
  // Far future dates do not overflow.
  CHECK(parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", kRfcDate) == Duration{1'000'000'000s});
}

TEST_CASE("retry after rejects garbage", "[upstream][retry]") {
  using sluice::upstream::parse_retry_after;
  for (const char* v :
       {"", "   ", "soon", "-1", "+5", "1.5", "5s", "0x10", "Sun, 06 Nov 1994 08:49:37 UTC",
        "Sun, 6 Nov 1994 08:49:37 GMT", "Sun, 31 Feb 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 24:00:00 GMT", "Sun, 06 Nov 1994 08:49:37 GMT trailing",
        "Sun, 06 Foo 1994 08:49:37 GMT", "Sunday, 06-Nov-1994 08:49:37 GMT",
        "Sun Nov 6 08:49:37 1994", "Xyz, 06 Nov 1994 08:49:37 GMT"}) {
    INFO("value: \"" << v << "\"");
    CHECK_FALSE(parse_retry_after(v, kRfcDate).has_value());
  }
}

TEST_CASE("retry honours Retry-After up to retry_after_max", "[upstream][retry]") {
  RetryPolicy p(retry_config(flags({RetryOn::status_429, RetryOn::gateway_error})));
  SeededRng rng(11);
  auto now = TimePoint{} + 100s;
  auto d = p.decide(AttemptResult::http(429, "2"), ctx(1, now), rng);
  CHECK(d.retry);
  CHECK(d.delay == 2s);
  CHECK(d.retry_after == Duration{2s});
  CHECK(d.reason == "status_429");

  d = p.decide(AttemptResult::http(503, "Sun, 06 Nov 1994 08:49:47 GMT"), ctx(1, now), rng);
  CHECK(d.retry);
  CHECK(d.delay == 10s);  // exactly the cap is still honoured

  // Shorter than the backoff: the backoff wins.
  SeededRng a(12), b(12);
  d = p.decide(AttemptResult::http(503, "0"), ctx(2, now), a);
  CHECK(d.delay == p.backoff(2, b));

  // Garbage is ignored, not fatal.
  d = p.decide(AttemptResult::http(503, "later"), ctx(1, now), rng);
  CHECK(d.retry);
  CHECK_FALSE(d.retry_after.has_value());
  CHECK(d.delay < 25ms);

  // Longer than the cap: the client gets the answer as it is.
  d = p.decide(AttemptResult::http(429, "11"), ctx(1, now), rng);
  CHECK_FALSE(d.retry);
  CHECK(d.stop == RetryStop::retry_after_too_long);
  CHECK(d.retry_after == Duration{11s});
}

TEST_CASE("retry never schedules past the deadline", "[upstream][retry]") {
  ManualClock clock;
  RetryPolicy p(retry_config(flags({RetryOn::reset, RetryOn::status_429})));
  auto c = ctx(1, clock.now());
  c.deadline = clock.now() + 1s;
  SeededRng rng(5);
  CHECK(p.decide(AttemptResult::reset(), c, rng).retry);  // backoff < 25ms
  // Retry-After 2s would start the retry after the deadline.
  auto d = p.decide(AttemptResult::http(429, "2"), c, rng);
  CHECK_FALSE(d.retry);
  CHECK(d.stop == RetryStop::deadline);
  // The deadline has passed.
  clock.advance(1s);
  c.now = clock.now();
  CHECK(p.decide(AttemptResult::reset(), c, rng).stop == RetryStop::deadline);
  // Less room than the drawn backoff: the delay would reach the deadline.
  SeededRng probe(6), same(6);
  Duration delay = p.backoff(1, probe);
  REQUIRE(delay > Duration{0});
  c.now = clock.now();
  c.deadline = clock.now() + delay;
  CHECK(p.decide(AttemptResult::reset(), c, same).stop == RetryStop::deadline);
}

TEST_CASE("retry budget allows the minimum concurrency or the percentage",
          "[upstream][retry][budget]") {
  RetryBudget budget(20, 3);
  CHECK(budget.limit() == 3);
  std::vector<RetryBudget::RetryGuard> retries;
  for (int i = 0; i < 3; ++i) {
    auto g = budget.try_acquire_retry();
    REQUIRE(g);
    retries.push_back(std::move(*g));
  }
  CHECK_FALSE(budget.try_acquire_retry());
  CHECK(budget.exhausted() == 1);

  std::vector<RetryBudget::RequestGuard> requests;
  for (int i = 0; i < 19; ++i) requests.push_back(budget.track_request());
  CHECK(budget.limit() == 3);  // 20% of 19 is 3.8: floor 3
  CHECK_FALSE(budget.try_acquire_retry());
  CHECK(budget.exhausted() == 2);
  requests.push_back(budget.track_request());
  CHECK(budget.limit() == 4);  // 20% of 20
  auto fourth = budget.try_acquire_retry();
  REQUIRE(fourth);
  CHECK(budget.retries_in_flight() == 4);
  CHECK_FALSE(budget.try_acquire_retry());
  CHECK(budget.exhausted() == 3);

  // A retry ending frees its place; requests ending shrink the budget again.
  retries.pop_back();
  CHECK(budget.retries_in_flight() == 3);
  CHECK(budget.try_acquire_retry());
  requests.clear();
  CHECK(budget.requests_in_flight() == 0);
  CHECK(budget.limit() == 3);
  CHECK_FALSE(budget.try_acquire_retry());  // 3 retries left in flight: at the minimum
  CHECK(budget.exhausted() == 4);
}

TEST_CASE("retry budget from the route config", "[upstream][retry][budget]") {
  sluice::config::Retry c;
  c.budget_percent = 50;
  c.budget_min_concurrency = 0;
  RetryBudget budget(c);
  CHECK(budget.limit() == 0);
  CHECK_FALSE(budget.try_acquire_retry());
  auto r1 = budget.track_request();
  auto r2 = budget.track_request();
  CHECK(budget.limit() == 1);
  auto g = budget.try_acquire_retry();
  CHECK(g);
  r1.release();
  r1.release();
  CHECK(budget.requests_in_flight() == 1);
}

TEST_CASE("hedge decision waits for hedge_delay on idempotent requests", "[upstream][retry]") {
  auto c = retry_config(flags({RetryOn::reset}));
  c.hedge_delay = 100ms;
  HedgePolicy h(c);
  TimePoint sent = TimePoint{} + 100s;
  CHECK(h.enabled());
  CHECK(h.hedge_at(sent, Idempotent::yes) == sent + 100ms);
  CHECK_FALSE(h.hedge_at(sent, Idempotent::no).has_value());
  CHECK_FALSE(h.should_hedge(sent, sent + 99ms, false, Idempotent::yes, 1));
  CHECK(h.should_hedge(sent, sent + 100ms, false, Idempotent::yes, 1));
  CHECK_FALSE(h.should_hedge(sent, sent + 100ms, true, Idempotent::yes, 1));   // answered
  CHECK_FALSE(h.should_hedge(sent, sent + 100ms, false, Idempotent::no, 1));   // a POST
  CHECK_FALSE(h.should_hedge(sent, sent + 100ms, false, Idempotent::yes, 3));  // attempts used
  CHECK_FALSE(h.should_hedge(sent, sent + 100ms, false, Idempotent::yes, 1, sent + 50ms));

  auto off = retry_config(flags({RetryOn::reset}));
  CHECK_FALSE(HedgePolicy(off).enabled());
  CHECK_FALSE(HedgePolicy(off).should_hedge(sent, sent + 1h, false, Idempotent::yes, 1));
}
