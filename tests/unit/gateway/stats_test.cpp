// Worker statistics: shards, snapshot merging and the Prometheus page (checked with promtool
// when it is installed).
#include "sluice/gateway/stats.hpp"

#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#include <catch2/catch.hpp>
#include <fmt/format.h>

using sluice::gateway::ProcessInfo;
using sluice::gateway::render_prometheus;
using sluice::gateway::RequestSeries;
using sluice::gateway::StatsShard;
using sluice::gateway::StatsSnapshot;

namespace {

RequestSeries series(std::string route, std::string cluster, std::string endpoint) {
  RequestSeries s;
  s.route = std::move(route);
  s.cluster = std::move(cluster);
  s.endpoint = std::move(endpoint);
  return s;
}

StatsSnapshot sample_snapshot() {
  StatsSnapshot s;
  auto a = series("api", "backend", "10.0.0.1:8080");
  a.by_class = {0, 3, 0, 1, 2};
  a.latency.observe(0.002);
  a.latency.observe(0.3);
  a.bytes_in = 100;
  a.bytes_out = 2048;
  a.upstream_errors = 2;
  s.series.emplace("api|backend|10.0.0.1:8080", a);
  // Label values that need escaping.
  auto b = series("we\"ird\\route", "c\nl", "[::1]:80");
  b.by_class = {1, 0, 0, 0, 0};
  b.latency.observe(12);
  s.series.emplace("weird", b);
  s.listeners["main"] = {2, 10, 1};
  s.listeners["admin"] = {0, 4, 0};
  s.pool.reused = 7;
  s.pool.created = 3;
  s.pool.stale = 1;
  s.pool.expired = 2;
  s.pool.upstream_active = 1;
  s.pool.idle["10.0.0.1:8080"] = 2;
  return s;
}

bool contains(const std::string& text, const std::string& line) {
  return text.find(line) != std::string::npos;
}

bool promtool_on_path() {
  return std::system("command -v promtool >/dev/null 2>&1") == 0;
}

}  // namespace

TEST_CASE("RequestSeries::merge adds every counter", "[gateway][stats]") {
  auto a = series("r", "c", "e");
  a.by_class = {1, 2, 3, 4, 5};
  a.bytes_in = 10;
  a.bytes_out = 20;
  a.upstream_errors = 1;
  a.latency.observe(0.1);
  auto b = series("r", "c", "e");
  b.by_class = {10, 20, 30, 40, 50};
  b.bytes_in = 1;
  b.bytes_out = 2;
  b.upstream_errors = 3;
  b.latency.observe(0.2);
  a.merge(b);
  CHECK(a.by_class == std::array<std::uint64_t, 5>{11, 22, 33, 44, 55});
  CHECK(a.bytes_in == 11);
  CHECK(a.bytes_out == 22);
  CHECK(a.upstream_errors == 4);
  CHECK(a.latency.count() == 2);
  CHECK(a.latency.sum() == Approx(0.3));
  CHECK(a.route == "r");
}

TEST_CASE("StatsSnapshot::merge sums shared keys and keeps distinct ones", "[gateway][stats]") {
  StatsSnapshot total;
  StatsSnapshot w1, w2;
  auto s1 = series("r", "c", "e1");
  s1.by_class[1] = 5;
  s1.latency.observe(0.01);
  w1.series.emplace("k1", s1);
  auto s1b = series("r", "c", "e1");
  s1b.by_class[1] = 2;
  s1b.by_class[4] = 1;
  s1b.latency.observe(0.02);
  w2.series.emplace("k1", s1b);
  auto s2 = series("r", "c", "e2");
  s2.by_class[3] = 9;
  w2.series.emplace("k2", s2);
  w1.listeners["main"] = {1, 5, 0};
  w2.listeners["main"] = {2, 6, 1};
  w2.listeners["tls"] = {0, 1, 0};
  w1.pool = {1, 2, 3, 4, 5, {{"a", 1}}};
  w2.pool = {10, 20, 30, 40, 50, {{"a", 2}, {"b", 3}}};

  total.merge(w1);
  total.merge(w2);
  REQUIRE(total.series.size() == 2);
  const auto& k1 = total.series.at("k1");
  CHECK(k1.by_class[1] == 7);
  CHECK(k1.by_class[4] == 1);
  CHECK(k1.latency.count() == 2);
  CHECK(k1.endpoint == "e1");
  CHECK(total.series.at("k2").by_class[3] == 9);
  CHECK(total.listeners.at("main").active == 3);
  CHECK(total.listeners.at("main").total == 11);
  CHECK(total.listeners.at("main").rejected == 1);
  CHECK(total.listeners.at("tls").total == 1);
  CHECK(total.pool.reused == 11);
  CHECK(total.pool.created == 22);
  CHECK(total.pool.stale == 33);
  CHECK(total.pool.expired == 44);
  CHECK(total.pool.upstream_active == 55);
  CHECK(total.pool.idle.at("a") == 3);
  CHECK(total.pool.idle.at("b") == 3);
  // Merging copies: the worker snapshots are unchanged.
  CHECK(w1.series.at("k1").by_class[1] == 5);
}

TEST_CASE("StatsShard: series are created once per key and copied by snapshot_into",
          "[gateway][stats]") {
  StatsShard shard;
  auto& s = shard.series("k", "route", "cluster", "endpoint");
  s.by_class[1] = 4;
  auto& again = shard.series("k", "other", "names", "ignored");
  CHECK(&again == &s);
  CHECK(again.route == "route");
  CHECK(again.by_class[1] == 4);
  shard.listener("main").total = 9;
  shard.upstream_active = 3;

  StatsSnapshot snap;
  shard.snapshot_into(snap);
  REQUIRE(snap.series.count("k") == 1);
  CHECK(snap.series.at("k").by_class[1] == 4);
  CHECK(snap.series.at("k").cluster == "cluster");
  CHECK(snap.listeners.at("main").total == 9);
  CHECK(snap.pool.upstream_active == 3);
  s.by_class[1] = 100;  // a snapshot is a copy
  CHECK(snap.series.at("k").by_class[1] == 4);
}

TEST_CASE("render_prometheus: families and samples", "[gateway][stats]") {
  ProcessInfo p;
  p.config_generation = 3;
  p.reloads_ok = 2;
  p.reloads_failed = 1;
  p.draining = true;
  const std::string t = render_prometheus(sample_snapshot(), p);
  INFO(t);
  const std::string labels = "route=\"api\",cluster=\"backend\",endpoint=\"10.0.0.1:8080\"";
  CHECK(contains(t, "# TYPE sluice_requests_total counter\n"));
  CHECK(contains(t, "sluice_requests_total{" + labels + ",status_class=\"2xx\"} 3\n"));
  CHECK(contains(t, "sluice_requests_total{" + labels + ",status_class=\"4xx\"} 1\n"));
  CHECK(contains(t, "sluice_requests_total{" + labels + ",status_class=\"5xx\"} 2\n"));
  CHECK_FALSE(contains(t, "sluice_requests_total{" + labels + ",status_class=\"1xx\"}"));
  CHECK(contains(t,
                 "sluice_requests_total{route=\"we\\\"ird\\\\route\",cluster=\"c\\nl\","
                 "endpoint=\"[::1]:80\",status_class=\"1xx\"} 1\n"));
  CHECK(contains(t, "# TYPE sluice_request_duration_seconds histogram\n"));
  CHECK(contains(t, "sluice_request_duration_seconds_bucket{" + labels + ",le=\"0.0025\"} 1\n"));
  CHECK(contains(t, "sluice_request_duration_seconds_bucket{" + labels + ",le=\"+Inf\"} 2\n"));
  CHECK(contains(t, "sluice_request_duration_seconds_count{" + labels + "} 2\n"));
  CHECK(contains(t, "sluice_request_bytes_total{" + labels + "} 100\n"));
  CHECK(contains(t, "sluice_response_bytes_total{" + labels + "} 2048\n"));
  CHECK(contains(t, "sluice_upstream_errors_total{" + labels + "} 2\n"));
  CHECK(contains(t, "sluice_downstream_connections_active{listener=\"main\"} 2\n"));
  CHECK(contains(t, "sluice_downstream_connections_total{listener=\"main\"} 10\n"));
  CHECK(contains(t, "sluice_downstream_connections_rejected_total{listener=\"main\"} 1\n"));
  CHECK(contains(t, "sluice_downstream_connections_total{listener=\"admin\"} 4\n"));
  CHECK(contains(t, "sluice_upstream_connections_active 1\n"));
  CHECK(contains(t, "sluice_upstream_pool_idle_connections{pool=\"10.0.0.1:8080\"} 2\n"));
  CHECK(contains(t, "sluice_upstream_connections_created_total 3\n"));
  CHECK(contains(t, "sluice_upstream_pool_reused_total 7\n"));
  CHECK(contains(t, "sluice_upstream_pool_stale_total 1\n"));
  CHECK(contains(t, "sluice_upstream_pool_expired_total 2\n"));
  CHECK(contains(t, "sluice_config_generation 3\n"));
  CHECK(contains(t, "sluice_config_reloads_total{result=\"ok\"} 2\n"));
  CHECK(contains(t, "sluice_config_reloads_total{result=\"failed\"} 1\n"));
  CHECK(contains(t, "sluice_draining 1\n"));
  CHECK(contains(t, fmt::format("sluice_build_info{{version=\"{}\"}} 1\n", SLUICE_VERSION)));
  CHECK(t.back() == '\n');

  // Every family is declared exactly once.
  for (std::string family : {"sluice_requests_total", "sluice_request_duration_seconds",
                             "sluice_upstream_pool_idle_connections", "sluice_build_info"}) {
    INFO(family);
    auto first = t.find("# TYPE " + family + " ");
    REQUIRE(first != std::string::npos);
    CHECK(t.find("# TYPE " + family + " ", first + 1) == std::string::npos);
  }
}

TEST_CASE("render_prometheus: an empty snapshot still renders the process metrics",
          "[gateway][stats]") {
  const std::string t = render_prometheus(StatsSnapshot{}, ProcessInfo{});
  CHECK(contains(t, "sluice_draining 0\n"));
  CHECK(contains(t, "sluice_config_generation 0\n"));
  CHECK(contains(t, "sluice_upstream_connections_active 0\n"));
  CHECK_FALSE(contains(t, "sluice_requests_total{"));
}

TEST_CASE("render_prometheus: promtool accepts the page", "[gateway][stats][promtool]") {
  if (!promtool_on_path()) {
    WARN("promtool is not on PATH (Debian package prometheus); skipping the check");
    return;
  }
  ProcessInfo p;
  p.config_generation = 1;
  for (const auto& snap : {sample_snapshot(), StatsSnapshot{}}) {
    const std::string text = render_prometheus(snap, p);
    char path[] = "/tmp/sluice-metrics-XXXXXX";
    int fd = ::mkstemp(path);
    REQUIRE(fd >= 0);
    ::close(fd);
    {
      std::ofstream f(path, std::ios::binary);
      f << text;
    }
    const std::string out_path = std::string(path) + ".out";
    int rc = std::system(
        fmt::format("promtool check metrics < '{}' > '{}' 2>&1", path, out_path).c_str());
    std::ifstream report(out_path);
    std::string diagnostics((std::istreambuf_iterator<char>(report)), {});
    INFO(text);
    INFO("promtool says: " << diagnostics);
    CHECK(rc == 0);
    std::remove(path);
    std::remove(out_path.c_str());
  }
}
