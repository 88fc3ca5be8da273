// What a cluster's endpoints are worth to the balancer beyond health: the slow-start weight of a
// newly admitted endpoint, and which endpoints to route to when too few are usable (panic).
// Pure functions and a small single-threaded tracker, run on the control thread.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

#include "sluice/core/clock.hpp"
#include "sluice/core/config/resilience.hpp"
#include "sluice/core/units.hpp"

namespace sluice::upstream {

// ---- Slow start -------------------------------------------------------------------------------

// The weight factor at the moment an endpoint is admitted.
inline constexpr double kSlowStartMinFactor = 0.1;

// The factor to multiply a new endpoint's weight by, `since_admitted` after its admission, for a
// ramp-up window `window` (config::Cluster::slow_start):
//   factor = 0.1 + 0.9 x since_admitted / window, clamped to [0.1, 1.0].
// A straight line from 0.1 at admission to 1.0 at the end of the window. (Envoy's aggression = 1
// curve is max(0.1, t / window): flat for the first tenth. This one never stalls.)
// window <= 0 (slow start off) gives 1.0. A negative since_admitted gives 0.1.
double slow_start_weight_factor(Duration since_admitted, Duration window);

// When each endpoint of a cluster was last admitted. An endpoint is "new" when it joins the
// cluster after start-up, or comes back after an outlier ejection or a failed health check; the
// control thread calls admit() then. Endpoints present at construction are established (factor
// 1.0): a gateway that just started has no warm endpoints to protect the new ones from.
class SlowStart {
 public:
  explicit SlowStart(std::size_t endpoints) : admitted_(endpoints) {}

  void admit(std::size_t i, TimePoint now) {
    if (i < admitted_.size()) admitted_[i] = now;
  }
  // The endpoint list changed size: indices < min(old, n) keep their admission time, new ones
  // are admitted at `now`.
  void resize(std::size_t n, TimePoint now);
  // The endpoint list changed arbitrarily: new index j was old index old_of_new[j], or is new
  // (nullopt, admitted at `now`). The same mapping OutlierDetector::remap takes.
  void remap(const std::vector<std::optional<std::size_t>>& old_of_new, TimePoint now);

  // nullopt for an established endpoint.
  std::optional<TimePoint> admitted_at(std::size_t i) const {
    return i < admitted_.size() ? admitted_[i] : std::nullopt;
  }
  // The weight factor of endpoint i now; 1.0 when established, out of range or past the window.
  double weight_factor(std::size_t i, TimePoint now, Duration window) const;
  // True while the factor is below 1.0 (for the diagnostic 503: "slow start until T").
  bool ramping(std::size_t i, TimePoint now, Duration window) const {
    return weight_factor(i, now, window) < 1.0;
  }
  std::size_t size() const { return admitted_.size(); }

 private:
  std::vector<std::optional<TimePoint>> admitted_;
};

// ---- Panic ------------------------------------------------------------------------------------
//
// A cluster is in panic when fewer than panic_threshold percent of its endpoints are usable
// (usable: passing active health checks and not ejected by outlier detection; an endpoint in
// slow start is usable). In panic, health information is considered too broken to trust, and
// config::PanicMode says what to do, explicitly (envoy#2671: Envoy silently routes to every host):
//   - route_all: balance over ALL endpoints, unusable ones included, hoping most answer;
//   - fail_fast: route to none; the caller answers the diagnostic 503 at once.
// Outside panic, traffic goes to the usable endpoints only. If that set is empty (possible only
// with threshold 0, which disables panic), the caller answers the diagnostic 503 as well.

// usable x 100 < threshold_percent x total. threshold_percent <= 0: never. total 0: never
// (there is nothing to route to either way).
bool in_panic(std::size_t usable, std::size_t total, double threshold_percent);

enum class RouteMode {
  normal,           // not in panic: the usable endpoints
  panic_route_all,  // in panic, PanicMode::route_all: every endpoint
  panic_fail_fast,  // in panic, PanicMode::fail_fast: no endpoint; answer 503
};

// "normal", "panic_route_all", "panic_fail_fast": for logs, metrics and the 503 body.
std::string_view to_string(RouteMode m);

struct RoutingSet {
  RouteMode mode = RouteMode::normal;
  std::vector<std::size_t> endpoints;  // indices to balance over, ascending; may be empty
  std::size_t usable = 0;
  std::size_t total = 0;
};

// The endpoints to route to, given each endpoint's usability (usable.size() is N).
RoutingSet routing_set(const std::vector<bool>& usable, double panic_threshold_percent,
                       config::PanicMode mode);

}  // namespace sluice::upstream
