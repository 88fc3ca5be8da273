// Slow-start weights and the panic routing decision.
#include "sluice/upstream/endpoint_state.hpp"

#include <algorithm>
#include <utility>

namespace sluice::upstream {

double slow_start_weight_factor(Duration since_admitted, Duration window) {
  if (window.count() <= 0) return 1.0;
  if (since_admitted.count() <= 0) return kSlowStartMinFactor;
  if (since_admitted >= window) return 1.0;
  const double t =
      static_cast<double>(since_admitted.count()) / static_cast<double>(window.count());
  return std::clamp(kSlowStartMinFactor + (1.0 - kSlowStartMinFactor) * t, kSlowStartMinFactor,
                    1.0);
}

void SlowStart::resize(std::size_t n, TimePoint now) {
  const std::size_t old = admitted_.size();
  admitted_.resize(n);
  for (std::size_t i = old; i < n; ++i) admitted_[i] = now;
}

void SlowStart::remap(const std::vector<std::optional<std::size_t>>& old_of_new, TimePoint now) {
  std::vector<std::optional<TimePoint>> next(old_of_new.size());
  for (std::size_t j = 0; j < old_of_new.size(); ++j) {
    const auto& o = old_of_new[j];
    next[j] = (o && *o < admitted_.size()) ? admitted_[*o] : std::optional<TimePoint>{now};
  }
  admitted_ = std::move(next);
}

double SlowStart::weight_factor(std::size_t i, TimePoint now, Duration window) const {
  if (i >= admitted_.size() || !admitted_[i]) return 1.0;
  return slow_start_weight_factor(now - *admitted_[i], window);
}

bool in_panic(std::size_t usable, std::size_t total, double threshold_percent) {
  if (threshold_percent <= 0 || total == 0) return false;
  return static_cast<double>(usable) * 100.0 < threshold_percent * static_cast<double>(total);
}

std::string_view to_string(RouteMode m) {
  switch (m) {
    case RouteMode::normal:
      return "normal";
    case RouteMode::panic_route_all:
      return "panic_route_all";
    case RouteMode::panic_fail_fast:
      return "panic_fail_fast";
  }
  return "unknown";
}

RoutingSet routing_set(const std::vector<bool>& usable, double panic_threshold_percent,
                       config::PanicMode mode) {
  RoutingSet s;
  s.total = usable.size();
  s.usable = static_cast<std::size_t>(std::count(usable.begin(), usable.end(), true));
  if (!in_panic(s.usable, s.total, panic_threshold_percent)) {
    s.mode = RouteMode::normal;
    s.endpoints.reserve(s.usable);
    for (std::size_t i = 0; i < usable.size(); ++i)
      if (usable[i]) s.endpoints.push_back(i);
    return s;
  }
  if (mode == config::PanicMode::fail_fast) {
    s.mode = RouteMode::panic_fail_fast;
    return s;
  }
  s.mode = RouteMode::panic_route_all;
  s.endpoints.resize(s.total);
  for (std::size_t i = 0; i < s.total; ++i) s.endpoints[i] = i;
  return s;
}

}  // namespace sluice::upstream
