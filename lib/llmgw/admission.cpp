#include "sluice/llmgw/admission.hpp"

#include <cmath>

#include <fmt/format.h>

namespace sluice::llmgw {

Admission::Admission(store::BucketSet& buckets, const std::vector<LimitScope>& scopes,
                     TimePoint now) {
  for (const auto& s : scopes) {
    if (s.limits.rpm) rpm_.push_back({s.name, buckets.get(s.name + "/rpm", s.limits.rpm, now)});
    if (s.limits.tpm) tpm_.push_back({s.name, buckets.get(s.name + "/tpm", s.limits.tpm, now)});
  }
}

std::optional<Admission::Refusal> Admission::admit(std::uint64_t tokens, TimePoint now) {
  auto refuse = [&](const Held& h, bool is_tokens, std::uint64_t n) {
    Refusal r;
    r.scope = h.scope;
    r.tokens = is_tokens;
    r.limit = h.bucket->limit();
    r.asked = n;
    r.retry_after = h.bucket->wait_for(n, now);
    return r;
  };
  std::size_t took_rpm = 0, took_tpm = 0;
  auto undo = [&] {
    for (std::size_t i = 0; i < took_rpm; ++i) rpm_[i].bucket->credit(1, now);
    for (std::size_t i = 0; i < took_tpm; ++i) tpm_[i].bucket->credit(tokens, now);
  };
  for (; took_rpm < rpm_.size(); ++took_rpm) {
    if (!rpm_[took_rpm].bucket->try_take(1, now)) {
      auto r = refuse(rpm_[took_rpm], false, 1);
      undo();
      return r;
    }
  }
  for (; took_tpm < tpm_.size(); ++took_tpm) {
    // A request without tokens to count still needs a bucket that is not in debt.
    bool ok = tokens == 0 ? tpm_[took_tpm].bucket->remaining(now) > 0
                          : tpm_[took_tpm].bucket->try_take(tokens, now);
    if (!ok) {
      auto r = refuse(tpm_[took_tpm], true, std::max<std::uint64_t>(tokens, 1));
      undo();
      return r;
    }
  }
  return std::nullopt;
}

void Admission::debit(std::uint64_t tokens, TimePoint now) {
  if (tokens == 0) return;
  for (auto& h : tpm_) h.bucket->debit(tokens, now);
}

void Admission::credit(std::uint64_t tokens, TimePoint now) {
  if (tokens == 0) return;
  for (auto& h : tpm_) h.bucket->credit(tokens, now);
}

bool Admission::exhausted(TimePoint now) const {
  for (const auto& h : tpm_)
    if (h.bucket->remaining(now) <= 0) return true;
  return false;
}

std::vector<LimitHeader> Admission::headers(TimePoint now) const {
  std::vector<LimitHeader> out;
  auto add = [&](const std::vector<Held>& held, std::string_view kind) {
    const Held* tight = nullptr;
    for (const auto& h : held)
      if (!tight || h.bucket->remaining(now) < tight->bucket->remaining(now)) tight = &h;
    if (!tight) return;
    std::int64_t remaining = std::max<std::int64_t>(0, tight->bucket->remaining(now));
    out.push_back(
        {fmt::format("x-ratelimit-limit-{}", kind), std::to_string(tight->bucket->limit())});
    out.push_back({fmt::format("x-ratelimit-remaining-{}", kind), std::to_string(remaining)});
    out.push_back(
        {fmt::format("x-ratelimit-reset-{}", kind), format_reset(tight->bucket->until_full(now))});
  };
  add(rpm_, "requests");
  add(tpm_, "tokens");
  return out;
}

std::string Admission::Refusal::message() const {
  std::string what = tokens ? "tokens per minute" : "requests per minute";
  if (retry_after == Duration::max())
    return fmt::format(
        "the request needs {} tokens, more than the {} limit of {} ({}) allows "
        "in a minute; send a shorter prompt or a smaller max_tokens",
        asked, what, limit, scope);
  return fmt::format("rate limit of {} {} reached for {}; retry in {}", limit, what, scope,
                     format_reset(retry_after));
}

std::string format_reset(Duration d) {
  using namespace std::chrono;
  if (d <= Duration::zero()) return "0s";
  if (d == Duration::max()) return "60s";
  auto ms = duration_cast<milliseconds>(d).count();
  if (ms < 1000) return fmt::format("{}ms", std::max<std::int64_t>(ms, 1));
  double s = static_cast<double>(ms) / 1000.0;
  if (s < 60) return fmt::format("{}s", std::round(s * 100) / 100);
  auto whole = static_cast<std::int64_t>(s);
  return fmt::format("{}m{}s", whole / 60, whole % 60);
}

}  // namespace sluice::llmgw
