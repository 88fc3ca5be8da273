#include <utility>  // before Asio: Boost 1.74 uses std::exchange without including it

#include "sluice/gateway/health_service.hpp"

#include <map>

#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>

#include "sluice/core/clock.hpp"
#include "sluice/upstream/health_check.hpp"

namespace sluice::gateway {

namespace asio = net::asio;
using net::error_code;

namespace {

// How often reported outcomes reach outlier detection and breakers: the lag of a consecutive-5xx
// ejection, at negligible cost.
constexpr auto kTick = std::chrono::milliseconds(20);

}  // namespace

void HealthService::bind(std::shared_ptr<const Runtime> rt) {
  rt_ = std::move(rt);
  const std::uint64_t gen = ++generation_;
  asio::co_spawn(io_, tick_loop(gen), asio::detached);
  for (const auto& c : rt_->clusters()) {
    if (!c->config().health_check.enabled) continue;
    for (std::size_t i = 0; i < c->endpoints().size(); ++i)
      asio::co_spawn(io_, check_loop(rt_, gen, c.get(), i), asio::detached);
  }
}

void HealthService::stop() {
  stopped_ = true;
  rt_.reset();
}

net::awaitable<void> HealthService::tick_loop(std::uint64_t generation) {
  asio::steady_timer t(io_);
  while (current(generation)) {
    for (const auto& c : rt_->clusters()) c->state().tick();
    t.expires_after(kTick);
    error_code ec;
    co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
  }
}

net::awaitable<void> HealthService::check_loop(std::shared_ptr<const Runtime> rt,
                                               std::uint64_t generation,
                                               const upstream::Cluster* cluster,
                                               std::size_t endpoint) {
  const auto& hc = cluster->config().health_check;
  auto rng = SeededRng::from_entropy();
  asio::steady_timer t(io_);
  // The first check comes soon (a dead endpoint should be known early), spread over a tenth of
  // an interval so N endpoints are not checked in one burst.
  t.expires_after(
      std::chrono::duration_cast<std::chrono::nanoseconds>(hc.interval * rng.uniform() / 10));
  std::uint64_t seen = cluster->state().traffic.load();
  for (;;) {
    error_code ec;
    co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec || !current(generation)) co_return;
    auto result = co_await upstream::check_endpoint(cluster->endpoints()[endpoint], hc,
                                                    cluster->tls_context());
    if (!current(generation)) co_return;
    cluster->state().record_check(endpoint, std::move(result));
    std::uint64_t now_seen = cluster->state().traffic.load();
    bool had_traffic = now_seen != seen;
    seen = now_seen;
    t.expires_after(upstream::next_check_delay(hc, had_traffic, rng));
  }
}

void render_upstream_metrics(const Runtime& rt, std::string& out) {
  struct Family {
    const char* name;
    const char* type;
    const char* help;
  };
  static constexpr Family kFamilies[] = {
      {"sluice_upstream_endpoint_healthy", "gauge", "1 when the endpoint passes active checks"},
      {"sluice_upstream_endpoint_ejected", "gauge", "1 while outlier detection ejects it"},
      {"sluice_upstream_endpoint_usable", "gauge", "1 when the endpoint may take traffic"},
      {"sluice_upstream_health_transitions_total", "counter",
       "Endpoint health changes (healthy <-> unhealthy)"},
      {"sluice_upstream_ejections_total", "counter", "Outlier ejections, by rule"},
      {"sluice_upstream_ejections_skipped_total", "counter",
       "Ejections held back by max_ejection_percent, by rule"},
      {"sluice_upstream_connections", "gauge",
       "Upstream connections open (connecting, in use or pooled), breaker.max_connections"},
      {"sluice_upstream_pending", "gauge",
       "Requests waiting for an upstream connection (breaker.max_pending)"},
      {"sluice_upstream_pending_overflow_total", "counter",
       "Requests turned away because breaker.max_pending were already waiting"},
      {"sluice_upstream_panic", "gauge", "1 while the cluster is below its panic threshold"},
      {"sluice_breaker_state", "gauge", "Circuit breaker state: 0 closed, 1 open, 2 half-open"},
      {"sluice_breaker_transitions_total", "counter", "Circuit breaker transitions, by state"},
      {"sluice_retries_total", "counter", "Upstream retries, by route and reason"},
      {"sluice_retry_budget_exhausted_total", "counter",
       "Retries not made because the retry budget was spent"},
      {"sluice_hedges_total", "counter", "Hedged tries sent (routes.retry.hedge_delay)"},
      {"sluice_hedge_wins_total", "counter", "Requests answered by their hedge, not the first try"},
      {"sluice_bulkhead_in_flight", "gauge", "Requests holding a bulkhead slot"},
      {"sluice_bulkhead_queued", "gauge", "Requests waiting for a bulkhead slot"},
      {"sluice_bulkhead_rejected_total", "counter",
       "Requests turned away by a full bulkhead queue (timeouts are counted as 503s)"},
      {"sluice_fallbacks_total", "counter",
       "Requests served by a route's fallback, by kind (cluster or static)"},
  };
  std::map<std::string, std::string> families;
  MetricFamilies handler_families;
  for (const auto& c : rt.clusters()) c->state().write_metrics(families);
  for (std::size_t i = 0; i < rt.config().routes.size(); ++i) {
    const auto& r = rt.route(i);
    if (r.handler) {
      r.handler->write_metrics(handler_families);
      continue;
    }
    const auto& k = *r.retry_counters;
    if (r.cfg->fallback) {
      families["sluice_fallbacks_total"] += fmt::format(
          "sluice_fallbacks_total{{route=\"{}\",kind=\"cluster\"}} {}\n"
          "sluice_fallbacks_total{{route=\"{}\",kind=\"static\"}} {}\n",
          r.cfg->name, k.fallback_cluster.load(), r.cfg->name, k.fallback_static.load());
    }
    if (r.cfg->retry.attempts <= 1) continue;
    std::pair<const char*, const std::atomic<std::uint64_t>*> reasons[] = {
        {"connect_failure", &k.connect_failure},
        {"reset", &k.reset},
        {"timeout", &k.timeout},
        {"5xx", &k.status_5xx},
        {"gateway_error", &k.gateway_error},
        {"status_429", &k.status_429},
        {"retriable_status", &k.retriable_status}};
    for (const auto& [reason, n] : reasons)
      families["sluice_retries_total"] +=
          fmt::format("sluice_retries_total{{route=\"{}\",reason=\"{}\"}} {}\n", r.cfg->name,
                      reason, n->load());
    families["sluice_retry_budget_exhausted_total"] +=
        fmt::format("sluice_retry_budget_exhausted_total{{route=\"{}\"}} {}\n", r.cfg->name,
                    k.budget_exhausted.load());
    if (!r.cfg->retry.hedge_delay) continue;
    families["sluice_hedges_total"] +=
        fmt::format("sluice_hedges_total{{route=\"{}\"}} {}\n", r.cfg->name, k.hedges.load());
    families["sluice_hedge_wins_total"] += fmt::format(
        "sluice_hedge_wins_total{{route=\"{}\"}} {}\n", r.cfg->name, k.hedge_wins.load());
  }
  for (const auto& f : kFamilies) {
    auto it = families.find(f.name);
    if (it == families.end()) continue;
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", f.name, f.help, f.name, f.type);
    out += it->second;
  }
  for (const auto& [name, f] : handler_families)
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n{}", name, f.help, name, f.type, f.samples);
}

}  // namespace sluice::gateway
