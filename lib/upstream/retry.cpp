#include "sluice/upstream/retry.hpp"

#include <algorithm>
#include <array>
#include <cmath>

namespace sluice::upstream {

namespace {

using namespace std::chrono_literals;

// Retry-After values beyond this (about 31 years) saturate: already far above any cap.
constexpr std::int64_t kMaxRetryAfterSeconds = 1'000'000'000;

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// A tiny left-to-right reader for the three HTTP-date forms.
class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}

  bool lit(std::string_view x) {
    if (s_.substr(0, x.size()) != x) return false;
    s_.remove_prefix(x.size());
    return true;
  }
  bool digits(std::size_t n, int& out) {
    if (s_.size() < n) return false;
    int v = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (!is_digit(s_[i])) return false;
      v = v * 10 + (s_[i] - '0');
    }
    s_.remove_prefix(n);
    out = v;
    return true;
  }
  // One of `names`; its index in out.
  template <std::size_t N>
  bool one_of(const std::array<std::string_view, N>& names, int& out) {
    for (std::size_t i = 0; i < N; ++i) {
      if (lit(names[i])) {
        out = static_cast<int>(i);
        return true;
      }
    }
    return false;
  }
  bool done() const { return s_.empty(); }

 private:
  std::string_view s_;
};

constexpr std::array<std::string_view, 7> kDays = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
constexpr std::array<std::string_view, 7> kLongDays = {
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};
constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

bool time_of_day(Reader& r, int& h, int& m, int& s) {
  return r.digits(2, h) && r.lit(":") && r.digits(2, m) && r.lit(":") && r.digits(2, s);
}

std::optional<std::chrono::sys_seconds> make_time(int y, int mon, int d, int h, int m, int s) {
  using namespace std::chrono;
  year_month_day ymd{year{y}, month{static_cast<unsigned>(mon)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || m > 59 || s > 60) return std::nullopt;  // 60: a leap second
  return sys_days{ymd} + hours{h} + minutes{m} + seconds{s};
}

Duration doubled_capped(Duration d, Duration cap) {
  return d > cap / 2 ? cap : d * 2;
}

}  // namespace

// Idempotency ------------------------------------------------------------------------------

Idempotent idempotency_of(std::string_view method) {
  static constexpr std::array<std::string_view, 6> kIdempotent = {"GET",   "HEAD", "OPTIONS",
                                                                  "TRACE", "PUT",  "DELETE"};
  return std::find(kIdempotent.begin(), kIdempotent.end(), method) != kIdempotent.end()
             ? Idempotent::yes
             : Idempotent::no;
}

AttemptResult AttemptResult::from_error(const Error& e) {
  if (e.source != ErrorSource::upstream) return {.kind = Kind::other_failure};
  switch (e.kind) {
    case ErrorKind::connect:
    case ErrorKind::dns:
    case ErrorKind::tls:
      return connect_failure();
    case ErrorKind::reset:
    case ErrorKind::io:
      return reset();
    case ErrorKind::timeout:
      return timeout();
    default:
      return {.kind = Kind::other_failure};
  }
}

std::string_view to_string(RetryStop s) {
  switch (s) {
    case RetryStop::none:
      return "none";
    case RetryStop::not_retriable:
      return "not_retriable";
    case RetryStop::non_idempotent:
      return "non_idempotent";
    case RetryStop::attempts_exhausted:
      return "attempts_exhausted";
    case RetryStop::retry_after_too_long:
      return "retry_after_too_long";
    case RetryStop::deadline:
      return "deadline";
  }
  return "unknown";
}

// HTTP-date and Retry-After --------------------------------------------------------------

std::optional<std::chrono::sys_seconds> parse_http_date(std::string_view s) {
  s = trim_ows(s);
  int wd = 0, d = 0, mon = 0, y = 0, h = 0, m = 0, sec = 0;
  auto comma = s.find(',');
  if (comma == 3) {  // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
    Reader r(s);
    if (r.one_of(kDays, wd) && r.lit(", ") && r.digits(2, d) && r.lit(" ") &&
        r.one_of(kMonths, mon) && r.lit(" ") && r.digits(4, y) && r.lit(" ") &&
        time_of_day(r, h, m, sec) && r.lit(" GMT") && r.done())
      return make_time(y, mon + 1, d, h, m, sec);
    return std::nullopt;
  }
  if (comma != std::string_view::npos) {  // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
    Reader r(s);
    int yy = 0;
    if (r.one_of(kLongDays, wd) && r.lit(", ") && r.digits(2, d) && r.lit("-") &&
        r.one_of(kMonths, mon) && r.lit("-") && r.digits(2, yy) && r.lit(" ") &&
        time_of_day(r, h, m, sec) && r.lit(" GMT") && r.done())
      return make_time(yy < 70 ? 2000 + yy : 1900 + yy, mon + 1, d, h, m, sec);
    return std::nullopt;
  }
  // asctime: Sun Nov  6 08:49:37 1994 (the day is space-padded)
  Reader r(s);
  if (!(r.one_of(kDays, wd) && r.lit(" ") && r.one_of(kMonths, mon) && r.lit(" ")))
    return std::nullopt;
  if (!(r.lit(" ") ? r.digits(1, d) : r.digits(2, d))) return std::nullopt;
  if (r.lit(" ") && time_of_day(r, h, m, sec) && r.lit(" ") && r.digits(4, y) && r.done())
    return make_time(y, mon + 1, d, h, m, sec);
  return std::nullopt;
}

std::optional<Duration> parse_retry_after(std::string_view value, WallTime wall_now) {
  using namespace std::chrono;
  value = trim_ows(value);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), is_digit)) {
    std::int64_t secs = 0;
    for (char c : value) {
      secs = secs * 10 + (c - '0');
      if (secs > kMaxRetryAfterSeconds) {
        secs = kMaxRetryAfterSeconds;
        break;
      }
    }
    return seconds{secs};
  }
  auto date = parse_http_date(value);
  if (!date) return std::nullopt;
  auto now_s = floor<seconds>(wall_now);
  std::int64_t delta = (date->time_since_epoch() - now_s.time_since_epoch()).count();
  if (delta <= 0) return Duration{0};
  if (delta > kMaxRetryAfterSeconds) return seconds{kMaxRetryAfterSeconds};
  Duration d = seconds{delta} - duration_cast<Duration>(wall_now - now_s);
  return std::max(d, Duration{0});
}

// RetryPolicy ------------------------------------------------------------------------------

std::string_view RetryPolicy::matched_condition(const AttemptResult& r) const {
  switch (r.kind) {
    case AttemptResult::Kind::connect_failure:
      return cfg_.retries_on(config::RetryOn::connect_failure) ? "connect_failure" : "";
    case AttemptResult::Kind::reset:
      return cfg_.retries_on(config::RetryOn::reset) ? "reset" : "";
    case AttemptResult::Kind::timeout:
      return cfg_.retries_on(config::RetryOn::timeout) ? "timeout" : "";
    case AttemptResult::Kind::other_failure:
      return "";
    case AttemptResult::Kind::status:
      break;
  }
  const int s = r.status;
  if (s == 429 && cfg_.retries_on(config::RetryOn::status_429)) return "status_429";
  if ((s == 502 || s == 503 || s == 504) && cfg_.retries_on(config::RetryOn::gateway_error))
    return "gateway_error";
  if (s >= 500 && s <= 599 && cfg_.retries_on(config::RetryOn::status_5xx)) return "5xx";
  if (cfg_.retries_on(config::RetryOn::retriable_status) &&
      std::find(cfg_.statuses.begin(), cfg_.statuses.end(), s) != cfg_.statuses.end())
    return "retriable_status";
  return "";
}

Duration RetryPolicy::backoff_cap(std::uint32_t retry) const {
  const Duration max = std::max(cfg_.backoff_max, Duration{0});
  Duration d = std::clamp(cfg_.backoff_base, Duration{0}, max);
  for (std::uint32_t i = 1; i < retry && d < max; ++i) d = std::min(doubled_capped(d, max), max);
  return d;
}

Duration RetryPolicy::backoff(std::uint32_t retry, Rng& rng) const {
  Duration cap = backoff_cap(retry);
  if (cap <= Duration{0}) return Duration{0};
  auto ns = static_cast<Duration::rep>(rng.uniform() * static_cast<double>(cap.count()));
  return std::clamp(Duration{ns}, Duration{0}, cap);
}

RetryDecision RetryPolicy::decide(const AttemptResult& r, const RetryContext& ctx, Rng& rng) const {
  RetryDecision d;
  d.reason = matched_condition(r);
  if (d.reason.empty()) {
    d.stop = RetryStop::not_retriable;
    return d;
  }
  // A connect failure sent nothing, so even a POST may go again.
  if (ctx.idempotent == Idempotent::no && r.kind != AttemptResult::Kind::connect_failure &&
      !cfg_.non_idempotent) {
    d.stop = RetryStop::non_idempotent;
    return d;
  }
  const std::uint32_t attempt = std::max<std::uint32_t>(1, ctx.attempt);
  if (attempt >= std::max<std::uint32_t>(1, cfg_.attempts)) {
    d.stop = RetryStop::attempts_exhausted;
    return d;
  }
  Duration delay = backoff(attempt, rng);
  if (r.kind == AttemptResult::Kind::status && !r.retry_after.empty()) {
    d.retry_after = parse_retry_after(r.retry_after, ctx.wall_now);
    if (d.retry_after) {
      if (*d.retry_after > cfg_.retry_after_max) {
        d.stop = RetryStop::retry_after_too_long;
        return d;
      }
      delay = std::max(delay, *d.retry_after);
    }
  }
  if (ctx.deadline != TimePoint::max() &&
      (ctx.now >= ctx.deadline || delay >= ctx.deadline - ctx.now)) {
    d.stop = RetryStop::deadline;
    return d;
  }
  d.retry = true;
  d.delay = delay;
  d.stop = RetryStop::none;
  return d;
}

// RetryBudget ------------------------------------------------------------------------------

std::uint64_t RetryBudget::limit() const {
  const auto requests = static_cast<double>(requests_.load(std::memory_order_acquire));
  double share = percent_ > 0 ? std::floor(requests * percent_ / 100.0 + 1e-9) : 0.0;
  return std::max<std::uint64_t>(min_concurrency_, static_cast<std::uint64_t>(share));
}

RetryBudget::RequestGuard RetryBudget::track_request() {
  requests_.fetch_add(1, std::memory_order_acq_rel);
  return RequestGuard(this);
}

std::optional<RetryBudget::RetryGuard> RetryBudget::try_acquire_retry() {
  std::uint64_t r = retries_.load(std::memory_order_acquire);
  for (;;) {
    if (r >= limit()) {
      exhausted_.fetch_add(1, std::memory_order_relaxed);
      return std::nullopt;
    }
    if (retries_.compare_exchange_weak(r, r + 1, std::memory_order_acq_rel,
                                       std::memory_order_acquire))
      return RetryGuard(this);
  }
}

RetryBudget::RequestGuard& RetryBudget::RequestGuard::operator=(RequestGuard&& o) noexcept {
  if (this != &o) {
    release();
    owner_ = std::exchange(o.owner_, nullptr);
  }
  return *this;
}

void RetryBudget::RequestGuard::release() {
  if (owner_ != nullptr)
    std::exchange(owner_, nullptr)->requests_.fetch_sub(1, std::memory_order_acq_rel);
}

RetryBudget::RetryGuard& RetryBudget::RetryGuard::operator=(RetryGuard&& o) noexcept {
  if (this != &o) {
    release();
    owner_ = std::exchange(o.owner_, nullptr);
  }
  return *this;
}

void RetryBudget::RetryGuard::release() {
  if (owner_ != nullptr)
    std::exchange(owner_, nullptr)->retries_.fetch_sub(1, std::memory_order_acq_rel);
}

// HedgePolicy ------------------------------------------------------------------------------

std::optional<TimePoint> HedgePolicy::hedge_at(TimePoint first_sent, Idempotent idem) const {
  if (!enabled() || idem == Idempotent::no) return std::nullopt;
  return first_sent + *cfg_.hedge_delay;
}

bool HedgePolicy::should_hedge(TimePoint first_sent, TimePoint now, bool answered, Idempotent idem,
                               std::uint32_t tries_started, TimePoint deadline) const {
  auto at = hedge_at(first_sent, idem);
  return at && !answered && tries_started < cfg_.attempts && now >= *at && now < deadline;
}

}  // namespace sluice::upstream
