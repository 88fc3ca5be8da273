// ClusterState::inherit on a manual clock: what a reload or a DNS refresh carries over for the
// endpoints that persist (same name and address), and how new endpoints start.
#include <catch2/catch.hpp>

#include "sluice/upstream/cluster_state.hpp"

using namespace std::chrono_literals;
using sluice::ManualClock;
namespace up = sluice::upstream;

namespace {

sluice::config::Cluster config(std::size_t endpoints) {
  sluice::config::Cluster c;
  c.name = "svc";
  c.endpoints.resize(endpoints);
  c.panic_threshold = 0;
  return c;
}

std::vector<up::TrackedEndpoint> eps(std::vector<std::pair<std::string, std::string>> list) {
  std::vector<up::TrackedEndpoint> out;
  for (auto& [name, addr] : list) out.push_back({name, addr, 1.0});
  return out;
}

const up::EndpointExplanation& of(const std::vector<up::EndpointExplanation>& v,
                                  const std::string& name) {
  for (const auto& e : v)
    if (e.name == name) return e;
  FAIL("no endpoint " << name);
  return v.front();
}

}  // namespace

TEST_CASE("inherit: health, drains and counters carry over for persisting endpoints", "[state]") {
  ManualClock clock;
  auto cfg = config(3);
  cfg.health_check.enabled = true;
  cfg.health_check.unhealthy_threshold = 2;
  up::ClusterState old(cfg, eps({{"a:80", "10.0.0.1:80"}, {"b:80", "10.0.0.2:80"}}), clock, 1);
  old.record_check(0, {false, "connect: connection refused", 0, 1ms});
  old.record_check(0, {false, "connect: connection refused", 0, 1ms});
  REQUIRE(old.set_draining("b:80", true));
  REQUIRE_FALSE(old.snapshot()->endpoints[0].healthy);

  // b moved to another address: it is a new endpoint. c joins.
  up::ClusterState next(
      cfg, eps({{"a:80", "10.0.0.1:80"}, {"b:80", "10.0.0.9:80"}, {"c:80", "10.0.0.3:80"}}), clock,
      2);
  next.inherit(old);
  auto snap = next.snapshot();
  CHECK_FALSE(snap->endpoints[0].healthy);
  CHECK_FALSE(snap->endpoints[0].usable);
  CHECK_FALSE(snap->endpoints[1].draining);
  CHECK(snap->endpoints[1].usable);
  CHECK(snap->endpoints[2].usable);
  auto why = next.explain();
  CHECK(of(why, "a:80").state == "unhealthy");
  CHECK(of(why, "a:80").reason.find("connection refused") != std::string::npos);
  auto j = next.to_json();
  CHECK(j["endpoints"][0]["health_check"]["consecutive_failures"] == 2);

  // The unhealthy endpoint needs the usual passes to come back, no fewer.
  next.record_check(0, {true, "", 200, 1ms});
  CHECK_FALSE(next.snapshot()->endpoints[0].healthy);
  next.record_check(0, {true, "", 200, 1ms});
  CHECK(next.snapshot()->endpoints[0].healthy);

  // A drain carries over when name and address persist.
  up::ClusterState same(cfg, eps({{"a:80", "10.0.0.1:80"}, {"b:80", "10.0.0.2:80"}}), clock, 3);
  same.inherit(old);
  CHECK(same.snapshot()->endpoints[1].draining);
  CHECK(of(same.explain(), "b:80").state == "draining");
}

TEST_CASE("inherit: an outlier ejection keeps its end time and count", "[state]") {
  ManualClock clock;
  auto cfg = config(3);
  cfg.outlier.enabled = true;
  cfg.outlier.consecutive_5xx = 2;
  cfg.outlier.base_ejection_time = 30s;
  cfg.outlier.ejection_jitter = 0;
  cfg.outlier.max_ejection_percent = 100;
  auto list = eps({{"a:80", "10.0.0.1:80"}, {"b:80", "10.0.0.2:80"}, {"c:80", "10.0.0.3:80"}});
  up::ClusterState old(cfg, list, clock, 1);
  auto admit = old.breaker_gate().admit();
  old.report(1, up::Outcome::from_status(503, 1ms), admit);
  old.report(1, up::Outcome::from_status(503, 1ms), admit);
  old.tick();
  REQUIRE(old.snapshot()->endpoints[1].ejected);

  clock.advance(10s);
  up::ClusterState next(cfg, list, clock, 2);
  next.inherit(old);
  CHECK(next.snapshot()->endpoints[1].ejected);
  CHECK(next.to_json()["endpoints"][1]["outlier"]["times_ejected"] == 1);
  std::map<std::string, std::string> families;
  next.write_metrics(families);
  CHECK(families["sluice_upstream_ejections_total"].find(
            "cluster=\"svc\",rule=\"consecutive_5xx\"} 1") != std::string::npos);

  // It ends when it would have ended in the old state: 30s after it began, not 30s after now.
  clock.advance(19s);
  next.tick();
  CHECK(next.snapshot()->endpoints[1].ejected);
  clock.advance(2s);
  next.tick();
  CHECK_FALSE(next.snapshot()->endpoints[1].ejected);
}

TEST_CASE("inherit: an open breaker stays open until its time", "[state]") {
  ManualClock clock;
  auto cfg = config(1);
  cfg.breaker.enabled = true;
  cfg.breaker.window = 10s;
  cfg.breaker.minimum_requests = 2;
  cfg.breaker.failure_rate_threshold = 50;
  cfg.breaker.open_time = 5s;
  cfg.breaker.max_open_time = 60s;
  cfg.breaker.half_open_probes = 1;
  auto list = eps({{"a:80", "10.0.0.1:80"}});
  up::ClusterState old(cfg, list, clock, 1);
  for (int i = 0; i < 2; ++i) {
    auto a = old.breaker_gate().admit();
    old.report(0, up::Outcome::gateway(1ms), a);
  }
  old.tick();
  REQUIRE(old.breaker_gate().state() == up::BreakerState::open);

  clock.advance(2s);
  up::ClusterState next(cfg, list, clock, 2);
  next.inherit(old);
  CHECK(next.breaker_gate().state() == up::BreakerState::open);
  CHECK_FALSE(next.breaker_gate().admit());
  CHECK(next.to_json()["breaker"]["openings"] == 1);
  clock.advance(4s);
  next.tick();
  CHECK(next.breaker_gate().state() == up::BreakerState::half_open);
}

TEST_CASE("inherit: endpoints that join a running cluster ramp up, persisting ones do not",
          "[state]") {
  ManualClock clock;
  auto cfg = config(2);
  cfg.slow_start = 10s;
  up::ClusterState old(cfg, eps({{"a:80", "10.0.0.1:80"}}), clock, 1);
  up::ClusterState next(cfg, eps({{"a:80", "10.0.0.1:80"}, {"b:80", "10.0.0.2:80"}}), clock, 2);
  next.inherit(old);
  auto snap = next.snapshot();
  CHECK(snap->endpoints[0].weight == 1.0);
  CHECK_FALSE(snap->endpoints[0].slow_start);
  CHECK(snap->endpoints[1].slow_start);
  CHECK(snap->endpoints[1].weight == Approx(0.1));
  clock.advance(5s);
  next.tick();
  CHECK(next.snapshot()->endpoints[1].weight == Approx(0.55));
  // Once the window is over, the next tick publishes full weight.
  clock.advance(6s);
  next.tick();
  CHECK(next.snapshot()->endpoints[1].weight == 1.0);
  CHECK_FALSE(next.snapshot()->endpoints[1].slow_start);
}

TEST_CASE("inherit: another cluster's state is ignored", "[state]") {
  ManualClock clock;
  auto cfg = config(1);
  auto list = eps({{"a:80", "10.0.0.1:80"}});
  up::ClusterState old(cfg, list, clock, 1);
  REQUIRE(old.set_draining("a:80", true));
  auto other = cfg;
  other.name = "other";
  up::ClusterState next(other, list, clock, 2);
  next.inherit(old);
  CHECK_FALSE(next.snapshot()->endpoints[0].draining);
}
