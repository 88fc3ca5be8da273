// FaultPlan decisions and counters.
#include "sluice/chaos/fault_plan.hpp"

#include <algorithm>
#include <cctype>
#include <ctime>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "sluice/chaos/mock_server.hpp"
#include "sluice/core/text.hpp"

namespace sluice::chaos {

namespace {

using text::iequals;

std::string_view path_of(std::string_view target) {
  std::size_t q = target.find('?');
  return q == std::string_view::npos ? target : target.substr(0, q);
}

}  // namespace

bool FaultMatch::matches(const MockRequest& req, std::string_view body) const {
  if (!method.empty() && method != req.method) return false;
  if (!path.empty()) {
    std::string_view p = path_of(req.target);
    if (path.back() == '*') {
      std::string_view prefix(path.data(), path.size() - 1);
      if (p.substr(0, prefix.size()) != prefix) return false;
    } else if (p != path) {
      return false;
    }
  }
  if (!header_name.empty()) {
    bool found = false;
    for (const auto& [k, v] : req.headers) {
      if (iequals(k, header_name) && (header_value.empty() || v == header_value)) {
        found = true;
        break;
      }
    }
    if (!found) return false;
  }
  if (!body_contains.empty() && body.find(body_contains) == std::string_view::npos) return false;
  return true;
}

std::string_view action_name(const FaultAction& a) {
  struct Name {
    std::string_view operator()(const LatencyFault&) const { return "latency"; }
    std::string_view operator()(const StatusFault&) const { return "status"; }
    std::string_view operator()(const ResetFault&) const { return "reset"; }
    std::string_view operator()(const HangFault&) const { return "hang"; }
    std::string_view operator()(const BandwidthFault&) const { return "bandwidth"; }
    std::string_view operator()(const DribbleFault&) const { return "dribble"; }
    std::string_view operator()(const TruncatedSseFault&) const { return "truncated_sse"; }
    std::string_view operator()(const StreamCutFault&) const { return "stream_cut"; }
    std::string_view operator()(const MalformedSseFault&) const { return "malformed_sse"; }
    std::string_view operator()(const MalformedJsonFault&) const { return "malformed_json"; }
    std::string_view operator()(const EmptyResponseFault&) const { return "empty_response"; }
  };
  return std::visit(Name{}, a);
}

bool ends_exchange(const FaultAction& a) {
  if (const auto* r = std::get_if<ResetFault>(&a))
    return r->when == ResetFault::When::before_response;
  return std::holds_alternative<StatusFault>(a) || std::holds_alternative<HangFault>(a) ||
         std::holds_alternative<MalformedJsonFault>(a) ||
         std::holds_alternative<EmptyResponseFault>(a);
}

// --- FaultPlan

FaultPlan::FaultPlan(std::vector<Fault> faults, std::unique_ptr<Rng> rng, const Clock& clock)
    : faults_(std::move(faults)),
      stats_(std::make_unique<Stats[]>(faults_.size())),
      clock_(clock),
      rng_(std::move(rng)) {
  for (std::size_t i = 0; i < faults_.size(); ++i) {
    Fault& f = faults_[i];
    if (f.name.empty()) f.name = fmt::format("{}#{}", action_name(f.action), i + 1);
    if (f.match.needs_body()) needs_body_ = true;
  }
}

FaultPlan::FaultPlan(std::vector<Fault> faults, std::uint64_t seed, const Clock& clock)
    : FaultPlan(std::move(faults), std::make_unique<SeededRng>(seed), clock) {}

FaultDecision FaultPlan::decide(const MockRequest& req, std::string_view body) const {
  FaultDecision d;
  std::lock_guard lk(mu_);
  for (std::size_t i = 0; i < faults_.size(); ++i) {
    const Fault& f = faults_[i];
    if (!f.match.matches(req, body)) continue;
    std::uint64_t nth = stats_[i].matched.fetch_add(1) + 1;  // 1-based among matching requests
    if (f.first_n > 0 && nth > f.first_n) continue;
    if (f.every_nth > 0 && nth % f.every_nth != 0) continue;
    // Draw only for a real probability, so rules at 0 or 1 leave the Rng stream untouched.
    if (f.probability <= 0) continue;
    if (f.probability < 1 && !(rng_->uniform() < f.probability)) continue;
    stats_[i].fired.fetch_add(1);
    d.fired.push_back(&f);
    if (const auto* l = std::get_if<LatencyFault>(&f.action);
        l && l->scope == LatencyScope::response) {
      d.response_latency += chaos::sample(l->distribution, *rng_);
    }
    if (ends_exchange(f.action)) break;
  }
  return d;
}

Duration FaultPlan::sample(const LatencyDistribution& d) const {
  std::lock_guard lk(mu_);
  return chaos::sample(d, *rng_);
}

FaultCounters FaultPlan::counters() const {
  FaultCounters c;
  c.faults.reserve(faults_.size());
  for (std::size_t i = 0; i < faults_.size(); ++i) {
    c.faults.push_back({faults_[i].name, std::string(action_name(faults_[i].action)),
                        stats_[i].matched.load(), stats_[i].fired.load()});
  }
  return c;
}

void FaultPlan::continue_counters(const FaultPlan& previous) {
  for (std::size_t i = 0; i < faults_.size(); ++i) {
    for (std::size_t k = 0; k < previous.faults_.size(); ++k) {
      if (previous.faults_[k].name != faults_[i].name) continue;
      stats_[i].matched.store(previous.stats_[k].matched.load());
      stats_[i].fired.store(previous.stats_[k].fired.load());
      break;
    }
  }
}

nlohmann::json FaultCounters::to_json() const {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& f : faults) {
    list.push_back(
        {{"name", f.name}, {"action", f.action}, {"matched", f.matched}, {"fired", f.fired}});
  }
  return {{"requests", requests}, {"faults", std::move(list)}};
}

std::uint64_t FaultCounters::fired(std::string_view name) const {
  for (const auto& f : faults) {
    if (f.name == name) return f.fired;
  }
  return 0;
}

std::string format_http_date(std::chrono::system_clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  return fmt::format("{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT", kDays[tm.tm_wday], tm.tm_mday,
                     kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::string retry_after_value(const RetryAfter& r, std::chrono::system_clock::time_point now) {
  if (r.form == RetryAfter::Form::http_date) return format_http_date(now + r.delay);
  return std::to_string(r.delay.count());
}

}  // namespace sluice::chaos
