#include "sluice/upstream/cluster_state.hpp"

#include <fmt/format.h>

#include "sluice/core/log.hpp"
#include "sluice/core/units.hpp"
#include "sluice/upstream/key_hash.hpp"

namespace sluice::upstream {

nlohmann::json EndpointExplanation::to_json() const {
  nlohmann::json j = {{"endpoint", name}, {"state", state}};
  if (!reason.empty()) j["reason"] = reason;
  return j;
}

namespace {

std::vector<std::string> names_of(const std::vector<TrackedEndpoint>& eps) {
  std::vector<std::string> out;
  for (const auto& e : eps) out.push_back(e.name);
  return out;
}

}  // namespace

ClusterState::ClusterState(const config::Cluster& cfg, std::vector<TrackedEndpoint> endpoints,
                           const Clock& clock, std::uint64_t seed)
    : cfg_(cfg),
      names_(names_of(endpoints)),
      clock_(clock),
      rng_(seed),
      limits_(cfg.breaker),
      bulkhead_(cfg.bulkhead),
      connections_(std::make_shared<Bulkhead>(config::Bulkhead{
          cfg.breaker.max_connections, cfg.breaker.max_pending, cfg.connect_timeout})),
      active_(std::make_unique<std::atomic<std::uint32_t>[]>(names_.size())),
      health_(names_.size(), cfg.health_check.healthy_threshold,
              cfg.health_check.unhealthy_threshold),
      outlier_(cfg.outlier, names_.size(), rng_),
      breaker_(cfg.breaker, clock.now()),
      draining_(names_.size(), false),
      slow_start_(names_.size()),
      was_usable_(names_.size(), true) {
  for (const auto& n : names_) ids_.push_back(key_hash(n));
  for (const auto& e : endpoints) {
    addresses_.push_back(e.address);
    weights_.push_back(e.weight);
  }
  std::lock_guard lk(mu_);
  publish_locked(clock_.now());
  gate_.publish(breaker_, clock_.now());
}

void ClusterState::report(std::size_t endpoint, const Outcome& o,
                          const BreakerAdmission& admission) {
  traffic.fetch_add(1, std::memory_order_relaxed);
  if (!cfg_.outlier.enabled && !cfg_.breaker.enabled) return;
  std::lock_guard lk(report_mu_);
  reports_.push_back({endpoint, o, admission});
}

void ClusterState::tick() {
  std::vector<Report> batch;
  {
    std::lock_guard lk(report_mu_);
    batch.swap(reports_);
  }
  const TimePoint now = clock_.now();
  std::lock_guard lk(mu_);
  const auto outlier_version = outlier_.version();
  const auto transitions = breaker_.transitions().to_open + breaker_.transitions().to_half_open +
                           breaker_.transitions().to_closed;
  for (const auto& r : batch) {
    outlier_.record(r.endpoint, r.outcome, now);
    if (cfg_.breaker.enabled && r.outcome.kind != OutcomeKind::cancelled) {
      bool failed = r.outcome.kind != OutcomeKind::success;
      breaker_.record({failed, r.outcome.latency, r.admission.is_probe()}, now);
    }
  }
  outlier_.tick(now);
  if (cfg_.breaker.enabled) {
    breaker_.state(now);  // open -> half-open on time
    auto after = breaker_.transitions().to_open + breaker_.transitions().to_half_open +
                 breaker_.transitions().to_closed;
    if (after != transitions || !batch.empty()) gate_.publish(breaker_, now);
  }
  bool ramping = false;
  for (std::size_t i = 0; i < names_.size(); ++i)
    ramping = ramping || slow_start_.ramping(i, now, cfg_.slow_start);
  // One more publish after the last ramp ends, so the snapshot reaches full weight.
  if (outlier_.version() != outlier_version || ramping || was_ramping_) publish_locked(now);
  was_ramping_ = ramping;
}

void ClusterState::record_check(std::size_t endpoint, CheckResult r) {
  const TimePoint now = clock_.now();
  std::lock_guard lk(mu_);
  if (endpoint >= names_.size()) return;
  bool passed = r.passed;
  bool changed = health_.record(endpoint, std::move(r), clock_.wall());
  if (changed) ++health_transitions_;
  // A passing check ends an outlier ejection at once.
  bool readmitted = passed && outlier_.readmit(endpoint, now);
  if (changed || readmitted) publish_locked(now);
}

bool ClusterState::set_draining(std::string_view endpoint, bool draining) {
  std::lock_guard lk(mu_);
  for (std::size_t i = 0; i < names_.size(); ++i) {
    if (names_[i] != endpoint) continue;
    draining_[i] = draining;
    publish_locked(clock_.now());
    return true;
  }
  return false;
}

void ClusterState::inherit(const ClusterState& old) {
  if (&old == this || old.cfg_.name != cfg_.name) return;
  const TimePoint now = clock_.now();
  std::scoped_lock lk(mu_, old.mu_);
  std::vector<std::optional<std::size_t>> old_of_new(names_.size());
  for (std::size_t j = 0; j < names_.size(); ++j)
    for (std::size_t k = 0; k < old.names_.size(); ++k)
      if (names_[j] == old.names_[k] && addresses_[j] == old.addresses_[k]) {
        old_of_new[j] = k;
        break;
      }
  for (std::size_t j = 0; j < names_.size(); ++j) {
    if (!old_of_new[j]) continue;
    const std::size_t k = *old_of_new[j];
    health_.adopt(j, old.health_.endpoint(k));
    draining_[j] = old.draining_[k];
    was_usable_[j] = old.was_usable_[k];
  }
  slow_start_ = old.slow_start_;
  slow_start_.remap(old_of_new, now);
  outlier_.adopt(old.outlier_, old_of_new, now);
  health_transitions_ = old.health_transitions_;
  if (cfg_.breaker.enabled && old.cfg_.breaker.enabled) breaker_.inherit(old.breaker_);
  // Pooled connections keep their slots: with the same limits they go on counting against them.
  if (cfg_.breaker.max_connections == old.cfg_.breaker.max_connections &&
      cfg_.breaker.max_pending == old.cfg_.breaker.max_pending)
    connections_ = old.connections_;
  publish_locked(now);
  gate_.publish(breaker_, now);
}

void ClusterState::publish_locked(TimePoint now) {
  auto s = std::make_shared<ClusterSnapshot>();
  s->endpoints.resize(names_.size());
  std::vector<bool> usable(names_.size());
  for (std::size_t i = 0; i < names_.size(); ++i) {
    EndpointView& v = s->endpoints[i];
    v.healthy = !cfg_.health_check.enabled || health_.endpoint(i).healthy;
    v.ejected = outlier_.ejected(i);
    v.draining = draining_[i];
    v.usable = v.healthy && !v.ejected && !v.draining;
    // Coming back (or joining) starts the slow-start ramp.
    if (v.usable && !was_usable_[i]) slow_start_.admit(i, now);
    was_usable_[i] = v.usable;
    double factor = slow_start_.weight_factor(i, now, cfg_.slow_start);
    v.slow_start = v.usable && factor < 1.0;
    v.weight = weights_[i] * factor;
    usable[i] = v.usable;
    if (v.usable) ++s->usable;
  }
  auto set = routing_set(usable, cfg_.panic_threshold, cfg_.panic_mode);
  // Draining endpoints take no new requests, even in panic.
  if (set.mode == RouteMode::panic_route_all)
    std::erase_if(set.endpoints, [&](std::size_t i) { return draining_[i]; });
  s->mode = set.mode;
  s->routable = std::move(set.endpoints);
  s->panic = set.mode == RouteMode::panic_route_all ? Panic::yes : Panic::no;
  s->hosts.resize(names_.size());
  for (std::size_t i = 0; i < names_.size(); ++i)
    s->hosts[i] = {draining_[i] ? 0.0 : s->endpoints[i].weight, s->endpoints[i].usable};
  if (cfg_.lb == config::LbPolicy::ring_hash || cfg_.lb == config::LbPolicy::maglev) {
    TableOptions o;
    o.panic = s->panic;
    s->table = build_table(cfg_.lb, s->hosts, ids_, o);
  }
  s->version = ++version_;
  snap_.store(std::move(s));
}

std::string ClusterState::ejection_text(std::size_t i, TimePoint now) const {
  auto rep = outlier_.report(i);
  auto left = rep.until > now ? rep.until - now : Duration{0};
  auto wall_until =
      clock_.wall() + std::chrono::duration_cast<std::chrono::system_clock::duration>(left);
  return fmt::format("ejected by outlier detection ({}: {}) until {} (in {}), ejection #{}",
                     rep.rule ? to_string(*rep.rule) : "?", rep.detail, log::rfc3339(wall_until),
                     format_duration(left), rep.times_ejected);
}

std::vector<EndpointExplanation> ClusterState::explain() const {
  const TimePoint now = clock_.now();
  std::lock_guard lk(mu_);
  std::vector<EndpointExplanation> out;
  for (std::size_t i = 0; i < names_.size(); ++i) {
    EndpointExplanation e;
    e.name = names_[i];
    const auto& h = health_.endpoint(i);
    if (draining_[i]) {
      e.state = "draining";
      e.reason = "drained through the admin API";
    } else if (cfg_.health_check.enabled && !h.healthy) {
      e.state = "unhealthy";
      e.reason = fmt::format(
          "failed {} consecutive health checks ({} {}): last error at {}: {}", h.failures,
          cfg_.health_check.kind == config::HealthCheck::Kind::http ? cfg_.health_check.method
                                                                    : "TCP",
          cfg_.health_check.kind == config::HealthCheck::Kind::http ? cfg_.health_check.path
                                                                    : "connect",
          log::rfc3339(h.last_at), h.last.error);
    } else if (outlier_.ejected(i)) {
      e.state = "ejected";
      e.reason = ejection_text(i, now);
    } else if (slow_start_.ramping(i, now, cfg_.slow_start)) {
      e.state = "slow_start";
      e.reason = fmt::format("ramping up after admission: weight at {:.0f}%",
                             100 * slow_start_.weight_factor(i, now, cfg_.slow_start));
    } else {
      e.state = "healthy";
    }
    out.push_back(std::move(e));
  }
  return out;
}

nlohmann::json ClusterState::to_json() const {
  const TimePoint now = clock_.now();
  auto snap = snapshot();
  auto explained = explain();
  std::lock_guard lk(mu_);
  nlohmann::json eps = nlohmann::json::array();
  for (std::size_t i = 0; i < names_.size(); ++i) {
    const auto& h = health_.endpoint(i);
    auto rep = outlier_.report(i);
    nlohmann::json e = explained[i].to_json();
    e["usable"] = snap->endpoints[i].usable;
    e["weight"] = snap->endpoints[i].weight;
    if (cfg_.health_check.enabled) {
      nlohmann::json hc = {{"healthy", h.healthy},
                           {"consecutive_passes", h.passes},
                           {"consecutive_failures", h.failures},
                           {"transitions", h.transitions}};
      if (h.checked) {
        hc["last_check"] = log::rfc3339(h.last_at);
        hc["last_latency_ms"] = std::chrono::duration<double, std::milli>(h.last.latency).count();
        if (h.last.status) hc["last_status"] = h.last.status;
        if (!h.last.error.empty()) hc["last_error"] = h.last.error;
      }
      e["health_check"] = std::move(hc);
    }
    if (cfg_.outlier.enabled) {
      nlohmann::json o = {{"ejected", rep.ejected},
                          {"times_ejected", rep.times_ejected},
                          {"consecutive_5xx", rep.consecutive_5xx},
                          {"consecutive_gateway_failure", rep.consecutive_gateway_failure}};
      if (rep.ejected) {
        o["rule"] = std::string(to_string(*rep.rule));
        o["detail"] = rep.detail;
        auto left = rep.until > now ? rep.until - now : Duration{0};
        o["ejected_for_ms"] = std::chrono::duration<double, std::milli>(left).count();
      }
      if (rep.success_rate) o["success_rate"] = *rep.success_rate;
      if (rep.latency_p90)
        o["latency_p90_ms"] = std::chrono::duration<double, std::milli>(*rep.latency_p90).count();
      if (rep.held_by_cap) o["held_by_cap"] = std::string(to_string(*rep.held_by_cap));
      e["outlier"] = std::move(o);
    }
    eps.push_back(std::move(e));
  }
  nlohmann::json j = {{"cluster", cfg_.name},
                      {"mode", std::string(to_string(snap->mode))},
                      {"usable", snap->usable},
                      {"total", names_.size()},
                      {"endpoints", std::move(eps)}};
  // A steady-clock instant as wall-clock text, for people and for `sluice diagnose`.
  auto wall_text = [&](TimePoint t) {
    auto ago = std::chrono::duration_cast<std::chrono::system_clock::duration>(now - t);
    return log::rfc3339(clock_.wall() - ago);
  };
  if (cfg_.breaker.enabled) {
    nlohmann::json b = {{"state", std::string(to_string(gate_.state()))}};
    if (!breaker_.reason().empty()) b["reason"] = breaker_.reason();
    b["openings"] = breaker_.transitions().to_open;
    // Since when it is in its state, and while open, when it may half-open.
    if (breaker_.transitions().to_open > 0) b["since"] = wall_text(breaker_.since());
    if (auto until = breaker_.until()) {
      auto left = *until > now ? *until - now : Duration{0};
      b["until"] = wall_text(*until);
      b["open_for_ms"] = std::chrono::duration<double, std::milli>(left).count();
    }
    j["breaker"] = std::move(b);
  }
  if (cfg_.bulkhead.max_concurrent > 0)
    j["bulkhead"] = {
        {"max_concurrent", cfg_.bulkhead.max_concurrent},
        {"max_queue", cfg_.bulkhead.max_queue},
        {"queue_timeout_ms",
         std::chrono::duration<double, std::milli>(cfg_.bulkhead.queue_timeout).count()},
        {"in_flight", bulkhead_.in_flight()},
        {"queued", bulkhead_.queued()},
        {"rejected_total", bulkhead_.rejected_total()}};
  return j;
}

void ClusterState::write_metrics(std::map<std::string, std::string>& families) const {
  auto snap = snapshot();
  std::lock_guard lk(mu_);
  const std::string& c = cfg_.name;
  for (std::size_t i = 0; i < names_.size(); ++i) {
    const auto& v = snap->endpoints[i];
    families["sluice_upstream_endpoint_healthy"] +=
        fmt::format("sluice_upstream_endpoint_healthy{{cluster=\"{}\",endpoint=\"{}\"}} {}\n", c,
                    names_[i], v.healthy ? 1 : 0);
    families["sluice_upstream_endpoint_ejected"] +=
        fmt::format("sluice_upstream_endpoint_ejected{{cluster=\"{}\",endpoint=\"{}\"}} {}\n", c,
                    names_[i], v.ejected ? 1 : 0);
    families["sluice_upstream_endpoint_usable"] +=
        fmt::format("sluice_upstream_endpoint_usable{{cluster=\"{}\",endpoint=\"{}\"}} {}\n", c,
                    names_[i], v.usable ? 1 : 0);
  }
  families["sluice_upstream_health_transitions_total"] += fmt::format(
      "sluice_upstream_health_transitions_total{{cluster=\"{}\"}} {}\n", c, health_transitions_);
  for (std::size_t r = 0; r < kOutlierRuleCount; ++r) {
    auto rule = static_cast<OutlierRule>(r);
    families["sluice_upstream_ejections_total"] +=
        fmt::format("sluice_upstream_ejections_total{{cluster=\"{}\",rule=\"{}\"}} {}\n", c,
                    to_string(rule), outlier_.ejections_total(rule));
    families["sluice_upstream_ejections_skipped_total"] +=
        fmt::format("sluice_upstream_ejections_skipped_total{{cluster=\"{}\",rule=\"{}\"}} {}\n", c,
                    to_string(rule), outlier_.skipped_by_cap(rule));
  }
  if (cfg_.bulkhead.max_concurrent > 0) {
    families["sluice_bulkhead_in_flight"] +=
        fmt::format("sluice_bulkhead_in_flight{{cluster=\"{}\"}} {}\n", c, bulkhead_.in_flight());
    families["sluice_bulkhead_queued"] +=
        fmt::format("sluice_bulkhead_queued{{cluster=\"{}\"}} {}\n", c, bulkhead_.queued());
    families["sluice_bulkhead_rejected_total"] += fmt::format(
        "sluice_bulkhead_rejected_total{{cluster=\"{}\"}} {}\n", c, bulkhead_.rejected_total());
  }
  families["sluice_upstream_connections"] += fmt::format(
      "sluice_upstream_connections{{cluster=\"{}\"}} {}\n", c, connections_->in_flight());
  families["sluice_upstream_pending"] +=
      fmt::format("sluice_upstream_pending{{cluster=\"{}\"}} {}\n", c, connections_->queued());
  families["sluice_upstream_pending_overflow_total"] +=
      fmt::format("sluice_upstream_pending_overflow_total{{cluster=\"{}\"}} {}\n", c,
                  connections_->rejected_total());
  families["sluice_upstream_panic"] += fmt::format("sluice_upstream_panic{{cluster=\"{}\"}} {}\n",
                                                   c, snap->mode == RouteMode::normal ? 0 : 1);
  if (cfg_.breaker.enabled) {
    families["sluice_breaker_state"] += fmt::format("sluice_breaker_state{{cluster=\"{}\"}} {}\n",
                                                    c, static_cast<int>(gate_.state()));
    const auto& t = breaker_.transitions();
    families["sluice_breaker_transitions_total"] += fmt::format(
        "sluice_breaker_transitions_total{{cluster=\"{}\",to=\"open\"}} {}\n", c, t.to_open);
    families["sluice_breaker_transitions_total"] +=
        fmt::format("sluice_breaker_transitions_total{{cluster=\"{}\",to=\"half_open\"}} {}\n", c,
                    t.to_half_open);
    families["sluice_breaker_transitions_total"] += fmt::format(
        "sluice_breaker_transitions_total{{cluster=\"{}\",to=\"closed\"}} {}\n", c, t.to_closed);
  }
}

}  // namespace sluice::upstream
