#include "sluice/gateway/stats.hpp"

#include "sluice/core/metrics.hpp"

namespace sluice::gateway {

void RequestSeries::merge(const RequestSeries& o) {
  for (std::size_t i = 0; i < by_class.size(); ++i) by_class[i] += o.by_class[i];
  latency.merge(o.latency);
  bytes_in += o.bytes_in;
  bytes_out += o.bytes_out;
  upstream_errors += o.upstream_errors;
}

void StatsSnapshot::merge(const StatsSnapshot& o) {
  for (const auto& [k, s] : o.series) {
    auto [it, inserted] = series.try_emplace(k, s);
    if (!inserted) it->second.merge(s);
  }
  for (const auto& [k, l] : o.listeners) {
    auto& mine = listeners[k];
    mine.active += l.active;
    mine.total += l.total;
    mine.rejected += l.rejected;
  }
  pool.reused += o.pool.reused;
  pool.created += o.pool.created;
  pool.stale += o.pool.stale;
  pool.expired += o.pool.expired;
  pool.upstream_active += o.pool.upstream_active;
  for (const auto& [k, n] : o.pool.idle) pool.idle[k] += n;
}

RequestSeries& StatsShard::series(const std::string& key, std::string_view route,
                                  std::string_view cluster, std::string_view endpoint) {
  auto it = series_.find(key);
  if (it != series_.end()) return it->second;
  RequestSeries s;
  s.route = route;
  s.cluster = cluster;
  s.endpoint = endpoint;
  return series_.emplace(key, std::move(s)).first->second;
}

void StatsShard::snapshot_into(StatsSnapshot& out) const {
  for (const auto& [k, s] : series_) out.series.emplace(k, s);
  for (const auto& [k, l] : listeners_) out.listeners.emplace(k, l);
  out.pool.upstream_active = upstream_active;
}

std::string render_prometheus(const StatsSnapshot& s, const ProcessInfo& p) {
  metrics::PromWriter w;
  static constexpr std::string_view classes[] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
  w.family("sluice_requests_total", "counter",
           "Requests answered, by route, cluster, endpoint and status class.");
  for (const auto& [k, r] : s.series)
    for (std::size_t i = 0; i < std::size(classes); ++i)
      if (r.by_class[i])
        w.sample("sluice_requests_total",
                 {{"route", r.route},
                  {"cluster", r.cluster},
                  {"endpoint", r.endpoint},
                  {"status_class", classes[i]}},
                 static_cast<double>(r.by_class[i]));
  w.family("sluice_request_duration_seconds", "histogram",
           "Time from the first request byte to the last response byte.");
  for (const auto& [k, r] : s.series)
    w.histogram("sluice_request_duration_seconds",
                {{"route", r.route}, {"cluster", r.cluster}, {"endpoint", r.endpoint}}, r.latency);
  // One counter per series, labelled by route, cluster and endpoint.
  auto per_series = [&](std::string_view name, std::string_view help,
                        std::uint64_t RequestSeries::*field) {
    w.family(name, "counter", help);
    for (const auto& [k, r] : s.series)
      w.sample(name, {{"route", r.route}, {"cluster", r.cluster}, {"endpoint", r.endpoint}},
               static_cast<double>(r.*field));
  };
  per_series("sluice_request_bytes_total", "Request body bytes received from clients.",
             &RequestSeries::bytes_in);
  per_series("sluice_response_bytes_total", "Response bytes sent to clients, heads included.",
             &RequestSeries::bytes_out);
  per_series("sluice_upstream_errors_total", "Upstream connect failures, resets and timeouts.",
             &RequestSeries::upstream_errors);
  // One value per listener.
  auto per_listener = [&](std::string_view name, std::string_view type, std::string_view help,
                          std::uint64_t ListenerCounters::*field) {
    w.family(name, type, help);
    for (const auto& [listener, l] : s.listeners)
      w.sample(name, {{"listener", listener}}, static_cast<double>(l.*field));
  };
  per_listener("sluice_downstream_connections_active", "gauge", "Client connections open now.",
               &ListenerCounters::active);
  per_listener("sluice_downstream_connections_total", "counter", "Client connections accepted.",
               &ListenerCounters::total);
  per_listener("sluice_downstream_connections_rejected_total", "counter",
               "Client connections refused over server.max_connections.",
               &ListenerCounters::rejected);
  auto single = [&](std::string_view name, std::string_view type, std::string_view help,
                    double value) {
    w.family(name, type, help);
    w.sample(name, {}, value);
  };
  single("sluice_upstream_connections_active", "gauge",
         "Upstream connections carrying a request now.",
         static_cast<double>(s.pool.upstream_active));
  w.family("sluice_upstream_pool_idle_connections", "gauge",
           "Idle keep-alive upstream connections, by pool.");
  for (const auto& [key, n] : s.pool.idle)
    w.sample("sluice_upstream_pool_idle_connections", {{"pool", key}}, static_cast<double>(n));
  single("sluice_upstream_connections_created_total", "counter", "New upstream connections opened.",
         static_cast<double>(s.pool.created));
  single("sluice_upstream_pool_reused_total", "counter",
         "Requests sent on a pooled keep-alive connection.", static_cast<double>(s.pool.reused));
  single("sluice_upstream_pool_stale_total", "counter",
         "Pooled connections found closed or expired when taken.",
         static_cast<double>(s.pool.stale));
  single("sluice_upstream_pool_expired_total", "counter",
         "Idle pooled connections closed after pool_idle_timeout.",
         static_cast<double>(s.pool.expired));
  single("sluice_config_generation", "gauge",
         "Generation of the config in use (1 at start, +1 per reload).",
         static_cast<double>(p.config_generation));
  w.family("sluice_config_reloads_total", "counter", "Config reloads, by result.");
  w.sample("sluice_config_reloads_total", {{"result", "ok"}}, static_cast<double>(p.reloads_ok));
  w.sample("sluice_config_reloads_total", {{"result", "failed"}},
           static_cast<double>(p.reloads_failed));
  single("sluice_draining", "gauge", "1 while the gateway drains for shutdown.",
         p.draining ? 1 : 0);
  w.family("sluice_build_info", "gauge", "Build information.");
  w.sample("sluice_build_info", {{"version", SLUICE_VERSION}}, 1);
  return w.text();
}

}  // namespace sluice::gateway
