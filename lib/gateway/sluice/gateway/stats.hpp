// A worker's request statistics. Only its worker writes them; the admin thread asks the worker
// for a copy (posted to its io_context) and merges the copies when /metrics is scraped.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>

#include "sluice/core/metrics.hpp"

namespace sluice::gateway {

struct RequestSeries {
  std::string route, cluster, endpoint;
  std::array<std::uint64_t, 5> by_class{};  // 1xx..5xx
  metrics::LatencyHistogram latency;
  std::uint64_t bytes_in = 0, bytes_out = 0;
  std::uint64_t upstream_errors = 0;  // connect failures, resets, timeouts

  void merge(const RequestSeries& o);
};

struct ListenerCounters {
  std::uint64_t active = 0;    // connections open now
  std::uint64_t total = 0;     // accepted since start
  std::uint64_t rejected = 0;  // refused over server.max_connections
};

struct PoolSnapshot {
  std::uint64_t reused = 0, created = 0, stale = 0, expired = 0;
  std::uint64_t upstream_active = 0;          // connections in use by requests now
  std::map<std::string, std::uint64_t> idle;  // pool key -> idle connections
};

struct StatsSnapshot {
  std::map<std::string, RequestSeries> series;
  std::map<std::string, ListenerCounters> listeners;
  PoolSnapshot pool;
  void merge(const StatsSnapshot& o);
};

class StatsShard {
 public:
  // The series for key (see stat_key), created on first use.
  RequestSeries& series(const std::string& key, std::string_view route, std::string_view cluster,
                        std::string_view endpoint);
  ListenerCounters& listener(const std::string& name) { return listeners_[name]; }
  std::uint64_t upstream_active = 0;

  void snapshot_into(StatsSnapshot& out) const;

 private:
  std::unordered_map<std::string, RequestSeries> series_;
  std::unordered_map<std::string, ListenerCounters> listeners_;
};

// Renders the merged statistics plus process-wide values as Prometheus text.
struct ProcessInfo {
  std::uint64_t config_generation = 0;
  std::uint64_t reloads_ok = 0, reloads_failed = 0;
  bool draining = false;
};
std::string render_prometheus(const StatsSnapshot& s, const ProcessInfo& p);

}  // namespace sluice::gateway
