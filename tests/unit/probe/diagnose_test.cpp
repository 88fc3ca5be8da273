// sluice diagnose without sockets: verdict, cause and fix from synthetic probe results and
// synthetic admin JSON; the admin JSON parser's errors; a whole run with scripted probes.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "sluice/core/clock.hpp"
#include "sluice/core/config/load.hpp"
#include "sluice/probe/diagnose.hpp"

using namespace sluice;
using namespace sluice::probe;
using namespace sluice::probe::diag;
namespace diag = sluice::probe::diag;
using namespace std::chrono_literals;

namespace {

const std::chrono::system_clock::time_point kNow =
    std::chrono::system_clock::time_point{} + std::chrono::hours(24 * 365 * 56);

bool has(const std::string& s, std::string_view what) {
  return s.find(what) != std::string::npos;
}

Target target(std::string_view url, std::vector<ConditionText> expect = {}) {
  auto t = parse_target(url);
  REQUIRE(t.ok());
  REQUIRE(build_conditions(*t, expect).ok());
  return std::move(*t);
}

TargetReport report(const Target& t, ProbeResult r) {
  TargetReport rep;
  rep.target = t;
  rep.attempt = judge(t, std::move(r), kNow);
  rep.verdict = rep.attempt.verdict;
  rep.attempts = 1;
  return rep;
}

ProbeResult answered(int status, Duration total = 5ms) {
  ProbeResult r;
  r.status = status;
  r.timings.total = total;
  return r;
}

ProbeResult failed(ErrorKind kind, std::string message) {
  ProbeResult r;
  r.error = make_error(kind, ErrorSource::upstream, std::move(message));
  return r;
}

EndpointDiagnosis from_probe(std::string_view url, ProbeResult r, Thresholds th = {}) {
  auto t = target(url);
  return diagnose_endpoint("api", std::string(t.host) + ":" + std::to_string(t.port),
                           report(t, std::move(r)), std::nullopt, std::nullopt, th, kNow);
}

GatewayEndpoint gateway_endpoint(std::string state) {
  GatewayEndpoint g;
  g.name = "127.0.0.1:9001";
  g.state = std::move(state);
  g.usable = g.state == "healthy" || g.state == "slow_start";
  return g;
}

}  // namespace

TEST_CASE("diagnose: connection refused is unreachable, with a fix", "[diagnose]") {
  auto d = from_probe("http://127.0.0.1:9002/health",
                      failed(ErrorKind::connect, "connect to 127.0.0.1:9002: Connection refused"));
  CHECK(d.verdict == diag::Verdict::unreachable);
  CHECK(d.phase == "connect");
  CHECK_FALSE(d.usable);
  CHECK(d.cause == "connection refused on 127.0.0.1:9002");
  CHECK(has(d.fix, "start the service or remove the endpoint"));
}

TEST_CASE("diagnose: DNS, connect timeouts and TLS failures are unreachable", "[diagnose]") {
  auto dns = from_probe("http://nowhere.invalid:80/",
                        failed(ErrorKind::dns, "nowhere.invalid: the name does not resolve"));
  CHECK(dns.verdict == diag::Verdict::unreachable);
  CHECK(dns.phase == "dns");
  CHECK(has(dns.cause, "does not resolve"));
  CHECK(has(dns.fix, "resolv.conf"));

  auto slow_connect =
      from_probe("http://10.0.0.1:80/", failed(ErrorKind::connect, "connect timed out after 3s"));
  CHECK(slow_connect.phase == "connect");
  CHECK(has(slow_connect.fix, "firewall"));

  auto tls = from_probe("https://127.0.0.1:8443/",
                        failed(ErrorKind::tls, "SSL certificate problem: certificate has expired"));
  CHECK(tls.verdict == diag::Verdict::unreachable);
  CHECK(tls.phase == "tls");
  CHECK(has(tls.fix, "renew"));

  auto untrusted = from_probe(
      "https://127.0.0.1:8443/",
      failed(ErrorKind::tls, "SSL certificate problem: unable to get local issuer certificate"));
  CHECK(has(untrusted.fix, "ca_file"));
}

TEST_CASE("diagnose: a failing health status is unhealthy and names the status", "[diagnose]") {
  auto d = from_probe("http://127.0.0.1:9001/health", answered(503));
  CHECK(d.verdict == diag::Verdict::unhealthy);
  CHECK(d.phase == "status");
  CHECK(has(d.cause, "status 503 from /health"));
  CHECK(has(d.cause, "reports itself unhealthy"));
  CHECK(has(d.fix, "logs"));

  auto missing = from_probe("http://127.0.0.1:9001/healthz", answered(404));
  CHECK(missing.verdict == diag::Verdict::unhealthy);
  CHECK(has(missing.fix, "clusters.health_check.path"));

  auto hang = from_probe("http://127.0.0.1:9001/health",
                         failed(ErrorKind::timeout, "no response within 3s"));
  CHECK(hang.verdict == diag::Verdict::unhealthy);
  CHECK(hang.phase == "timeout");
}

TEST_CASE("diagnose: a body mismatch is unhealthy", "[diagnose]") {
  auto t = target("http://127.0.0.1:9001/health", {{"body contains \"UP\"", "test"}});
  ProbeResult r = answered(200);
  r.body = "DOWN";
  auto d = diagnose_endpoint("api", "127.0.0.1:9001", report(t, r), std::nullopt, std::nullopt, {},
                             kNow);
  CHECK(d.verdict == diag::Verdict::unhealthy);
  CHECK(d.phase == "body");
}

TEST_CASE("diagnose: slow answers and expiring certificates are usable warnings", "[diagnose]") {
  Thresholds th;
  th.slow = 100ms;
  auto slow = from_probe("http://127.0.0.1:9001/health", answered(200, 250ms), th);
  CHECK(slow.verdict == diag::Verdict::slow);
  CHECK(slow.usable);
  CHECK(has(slow.cause, "250ms"));

  ProbeResult r = answered(200);
  r.cert = CertInfo{"CN=api", "CN=ca", kNow + std::chrono::hours(24 * 3 + 1)};
  auto cert = from_probe("https://127.0.0.1:8443/health", r);
  CHECK(cert.verdict == diag::Verdict::cert_expiring);
  CHECK(cert.usable);
  CHECK(has(cert.cause, "expires in 3 days"));
  CHECK(cert.fix == "renew it");

  r.cert->not_after = kNow + std::chrono::hours(24 * 90);
  CHECK(from_probe("https://127.0.0.1:8443/health", r).verdict == diag::Verdict::ok);
}

TEST_CASE("diagnose: the gateway's view gives ejected, draining and breaker_open", "[diagnose]") {
  auto t = target("tcp://127.0.0.1:9001");
  ProbeResult connected;
  connected.connected = true;
  auto probe = report(t, connected);
  REQUIRE(probe.verdict == probe::Verdict::pass);

  auto g = gateway_endpoint("ejected");
  g.outlier = OutlierView{true, "consecutive_5xx", "5 consecutive 5xx", 30000, 1};
  auto ejected = diagnose_endpoint("api", g.name, probe, g, std::nullopt, {}, kNow);
  CHECK(ejected.verdict == diag::Verdict::ejected);
  CHECK_FALSE(ejected.usable);
  CHECK(has(ejected.cause, "ejected by outlier detection (consecutive_5xx: 5 consecutive 5xx)"));
  CHECK(has(ejected.cause, "until "));
  CHECK(has(ejected.fix, "fix the 5xx"));

  auto draining =
      diagnose_endpoint("api", g.name, probe, gateway_endpoint("draining"), std::nullopt, {}, kNow);
  CHECK(draining.verdict == diag::Verdict::draining);
  CHECK(has(draining.fix, "/admin/upstreams/api/127.0.0.1:9001/undrain"));

  BreakerView open;
  open.state = "open";
  open.reason = "failure rate 80% over 20 requests";
  open.openings = 1;
  auto breaker =
      diagnose_endpoint("api", g.name, probe, gateway_endpoint("healthy"), open, {}, kNow);
  CHECK(breaker.verdict == diag::Verdict::breaker_open);
  CHECK(has(breaker.cause, "circuit breaker is open"));

  auto fine =
      diagnose_endpoint("api", g.name, probe, gateway_endpoint("healthy"), std::nullopt, {}, kNow);
  CHECK(fine.verdict == diag::Verdict::ok);
  CHECK(fine.usable);
}

TEST_CASE("diagnose: the gateway's failed health check names its status", "[diagnose]") {
  auto g = gateway_endpoint("unhealthy");
  g.health_check = HealthView{false, 0, 4, true, "2026-05-01T12:00:00Z", 1.5, 503, ""};
  auto d = diagnose_endpoint("api", g.name, std::nullopt, g, std::nullopt, {}, kNow);
  CHECK(d.verdict == diag::Verdict::unhealthy);
  CHECK(has(d.cause, "status 503"));
  CHECK(has(d.cause, "4 consecutive failures"));
  CHECK(has(d.fix, "reports itself unhealthy"));

  // An outside probe that cannot connect is the more precise story.
  auto t = target("tcp://127.0.0.1:9001");
  auto refused =
      report(t, failed(ErrorKind::connect, "connect to 127.0.0.1:9001: Connection refused"));
  auto both = diagnose_endpoint("api", g.name, refused, g, std::nullopt, {}, kNow);
  CHECK(both.verdict == diag::Verdict::unreachable);
  CHECK(has(both.cause, "connection refused"));
}

TEST_CASE("diagnose: the admin JSON parses into clusters and endpoints", "[diagnose]") {
  auto body = R"({"clusters":[{"cluster":"api","mode":"normal","usable":1,"total":2,
    "breaker":{"state":"closed","openings":0},
    "endpoints":[
      {"endpoint":"127.0.0.1:9001","state":"healthy","usable":true,"weight":1,
       "health_check":{"healthy":true,"consecutive_passes":3,"consecutive_failures":0,
                       "transitions":1,"last_check":"2026-05-01T12:00:00Z","last_latency_ms":1.2,
                       "last_status":200}},
      {"endpoint":"127.0.0.1:9002","state":"ejected","reason":"ejected by outlier detection",
       "usable":false,"weight":1,
       "outlier":{"ejected":true,"rule":"consecutive_5xx","detail":"5 consecutive 5xx",
                  "ejected_for_ms":29000.5,"times_ejected":2,"consecutive_5xx":0,
                  "consecutive_gateway_failure":0}}]}]})";
  auto parsed = parse_admin_upstreams(body);
  REQUIRE(parsed.ok());
  REQUIRE(parsed->size() == 1);
  const auto& c = (*parsed)[0];
  CHECK(c.name == "api");
  CHECK(c.usable == 1);
  CHECK(c.total == 2);
  REQUIRE(c.breaker);
  CHECK(c.breaker->state == "closed");
  REQUIRE(c.endpoints.size() == 2);
  REQUIRE(c.endpoints[0].health_check);
  CHECK(c.endpoints[0].health_check->last_status == 200);
  CHECK(c.endpoints[0].health_check->checked);
  REQUIRE(c.endpoints[1].outlier);
  CHECK(c.endpoints[1].outlier->ejected);
  CHECK(c.endpoints[1].outlier->times_ejected == 2);

  // One cluster, as /admin/upstreams/CLUSTER answers.
  auto one = parse_admin_upstreams(R"({"cluster":"x","usable":0,"total":0,"endpoints":[]})");
  REQUIRE(one.ok());
  CHECK(one->at(0).name == "x");
}

TEST_CASE("diagnose: bad admin JSON is a clear error, never a crash", "[diagnose]") {
  auto check_error = [](std::string_view body, std::string_view expected) {
    auto r = parse_admin_upstreams(body);
    INFO(body);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::protocol);
    INFO(r.error().message);
    CHECK(has(r.error().message, expected));
  };
  check_error("", "malformed JSON");
  check_error("{\"clusters\": [", "malformed JSON");
  check_error("<html>not json</html>", "malformed JSON");
  check_error("[]", "no \"clusters\" list");
  check_error("{\"clusters\": 3}", "clusters: expected an array");
  check_error("{\"clusters\": [7]}", "clusters[0]: expected an object");
  check_error("{\"clusters\": [{\"cluster\": 1, \"endpoints\": []}]}",
              "clusters[0].cluster: expected a string");
  check_error("{\"clusters\": [{\"cluster\": \"a\"}]}", "clusters[0].endpoints: expected an array");
  check_error("{\"clusters\": [{\"cluster\": \"a\", \"endpoints\": [{\"state\": \"x\"}]}]}",
              "no \"endpoint\" name");
  check_error(
      "{\"clusters\": [{\"cluster\": \"a\", \"endpoints\": [{\"endpoint\": \"h:1\", "
      "\"usable\": \"yes\"}]}]}",
      "clusters[0].endpoints[0].usable: expected a boolean");
  check_error(
      "{\"clusters\": [{\"cluster\": \"a\", \"endpoints\": [{\"endpoint\": \"h:1\", "
      "\"health_check\": {\"last_status\": \"503\"}}]}]}",
      "health_check.last_status: expected a number");
}

TEST_CASE("diagnose: cluster verdicts and the exit status", "[diagnose]") {
  ClusterDiagnosis c;
  c.name = "api";
  auto ok = from_probe("http://127.0.0.1:9001/", answered(200));
  auto dead =
      from_probe("http://127.0.0.1:9002/",
                 failed(ErrorKind::connect, "connect to 127.0.0.1:9002: Connection refused"));
  c.endpoints = {ok, dead};
  summarize(c);
  CHECK(c.verdict == "degraded");
  CHECK(c.usable == 1);
  CHECK(c.total == 2);

  ClusterDiagnosis down;
  down.name = "solo";
  down.endpoints = {dead};
  summarize(down);
  CHECK(down.verdict == "down");
  CHECK(has(down.cause, "1 unreachable"));

  Diagnosis d;
  d.clusters = {c};
  CHECK(diag::exit_status(d) == 0);
  d.clusters.push_back(down);
  CHECK(diag::exit_status(d) == 1);
  d.admin_error = "cannot reach the admin API";
  CHECK(diag::exit_status(d) == 3);
}

TEST_CASE("diagnose: a run over a config with scripted probes, and its reports", "[diagnose]") {
  auto c = config::load_string(R"(
[[listeners]]
name = "main"
listen = "127.0.0.1:0"
[[routes]]
cluster = "api"
[[clusters]]
name = "api"
endpoints = ["127.0.0.1:9001", "127.0.0.1:9002"]
[clusters.health_check]
path = "/health"
[[clusters]]
name = "solo"
endpoints = ["127.0.0.1:9003"]
)",
                               "test.toml");
  INFO((c.ok() ? std::string() : c.error().message));
  REQUIRE(c.ok());
  auto plan = plan_from_config(*c);
  REQUIRE(plan.ok());
  REQUIRE(plan->size() == 3);
  CHECK((*plan)[0].cluster == "api");
  CHECK((*plan)[0].endpoint == "127.0.0.1:9001");
  REQUIRE((*plan)[0].target);
  CHECK((*plan)[0].target->path == "/health");
  CHECK((*plan)[2].target->path == "/");

  ManualClock clock;
  Environment env;
  env.clock = &clock;
  env.sleep = [](Duration) {};
  env.probe = [](const Target& t, Duration) {
    if (t.port == 9001) return answered(200);
    if (t.port == 9002)
      return failed(ErrorKind::connect, t.kind == Kind::tcp
                                            ? "connect to 127.0.0.1:9002: Connection refused"
                                            : "Couldn't connect to server");
    return answered(503);
  };
  auto d = diag::run(*plan, nullptr, Options{}, env);
  REQUIRE(d.clusters.size() == 2);
  CHECK(d.clusters[0].verdict == "degraded");
  CHECK(d.clusters[0].endpoints[1].cause == "connection refused on 127.0.0.1:9002");
  CHECK(d.clusters[1].verdict == "down");
  CHECK(diag::exit_status(d) == 1);

  auto text = report_text(d, false);
  CHECK(has(text, "cluster api: DEGRADED, 1 of 2 endpoints usable"));
  CHECK(has(text, "connection refused on 127.0.0.1:9002"));
  CHECK(has(text, "status 503 from /"));
  CHECK_FALSE(has(text, "\x1b["));
  CHECK(has(report_text(d, true), "\x1b[31m"));

  auto j = nlohmann::json::parse(report_json(d), nullptr, false);
  REQUIRE(j.is_object());
  CHECK(j["clusters"][0]["endpoints"][1]["verdict"] == "unreachable");
  CHECK(j["clusters"][0]["endpoints"][1]["checks"]["connect"]["result"] == "failed");
  CHECK(j["summary"]["down"] == 1);
  CHECK(j["exit_status"] == 1);

  auto xml = report_junit(d);
  CHECK(has(xml, "<testsuite name=\"api\" tests=\"2\" failures=\"1\""));
  CHECK(has(xml, "<testsuite name=\"solo\" tests=\"1\" failures=\"1\""));
  CHECK(has(xml, "start the service or remove the endpoint"));

  // With the gateway's view: its endpoints are probed by TCP unless the config knows them.
  auto gw = parse_admin_upstreams(
      R"({"clusters":[{"cluster":"api","mode":"normal","usable":1,"total":2,"endpoints":[
      {"endpoint":"127.0.0.1:9001","state":"healthy","usable":true,"weight":1},
      {"endpoint":"127.0.0.1:9004","state":"unhealthy","usable":false,"weight":1,
       "health_check":{"healthy":false,"consecutive_passes":0,"consecutive_failures":3,
       "last_check":"2026-05-01T12:00:00Z","last_status":503}}]}]})");
  REQUIRE(gw.ok());
  auto live_plan = plan_from_admin(*gw, *plan);
  REQUIRE(live_plan.ok());
  REQUIRE(live_plan->size() == 2);
  CHECK((*live_plan)[0].target->kind == Kind::http);
  CHECK((*live_plan)[1].target->kind == Kind::tcp);
  env.probe = [](const Target&, Duration) {
    ProbeResult r = answered(200);
    r.connected = true;
    return r;
  };
  auto live = diag::run(*live_plan, &*gw, Options{}, env);
  REQUIRE(live.clusters.size() == 1);
  CHECK(live.clusters[0].usable == 1);
  CHECK(live.clusters[0].endpoints[1].verdict == diag::Verdict::unhealthy);
  CHECK(has(live.clusters[0].endpoints[1].cause, "status 503"));
  CHECK(diag::exit_status(live) == 0);
}

TEST_CASE("diagnose: an ejection names what its rule means, and the deadline", "[diagnose]") {
  auto t = target("tcp://127.0.0.1:9001");
  ProbeResult connected;
  connected.connected = true;
  auto probe = report(t, connected);

  auto g = gateway_endpoint("ejected");
  g.outlier =
      OutlierView{true, "latency", "p90 150ms > 3 x cluster median 1ms (floor 50ms)", 29500, 1};
  auto slow = diagnose_endpoint("api", g.name, probe, g, std::nullopt, {}, kNow);
  CHECK(slow.verdict == diag::Verdict::ejected);
  CHECK(slow.phase == "outlier");
  CHECK(has(slow.cause,
            "a latency outlier, much slower than the other endpoints: ejected by "
            "outlier detection (latency: p90 150ms"));
  CHECK(has(slow.cause, "(in 29.50s), ejection #1"));
  CHECK(has(slow.fix, "slower than its peers"));

  g.outlier = OutlierView{true, "consecutive_5xx", "3 consecutive 5xx", 1500, 2};
  auto storm = diagnose_endpoint("api", g.name, probe, g, std::nullopt, {}, kNow);
  CHECK(has(storm.cause,
            "answered 5xx too many times in a row: ejected by outlier detection "
            "(consecutive_5xx: 3 consecutive 5xx) until "));
  CHECK(has(storm.cause, "ejection #2"));

  g.outlier =
      OutlierView{true, "consecutive_gateway_failure", "3 consecutive gateway failures", 30000, 1};
  auto gone = diagnose_endpoint("api", g.name, probe, g, std::nullopt, {}, kNow);
  CHECK(has(gone.cause, "failed to connect, was reset or timed out too many times in a row"));
  CHECK(has(gone.fix, "connection failures"));

  // Unreachable from here too: the probe's story first, then what the gateway did about it.
  auto refused =
      report(t, failed(ErrorKind::connect, "connect to 127.0.0.1:9001: Connection refused"));
  auto dead = diagnose_endpoint("api", g.name, refused, g, std::nullopt, {}, kNow);
  CHECK(dead.verdict == diag::Verdict::unreachable);
  CHECK(dead.cause ==
        "connection refused on 127.0.0.1:9001; the gateway ejected it "
        "(consecutive_gateway_failure) for another 30.00s");
  auto unnoticed = diagnose_endpoint("api", g.name, refused, gateway_endpoint("healthy"),
                                     std::nullopt, {}, kNow);
  CHECK(has(unnoticed.cause, "; the gateway still counts it healthy"));
}

TEST_CASE("diagnose: an open breaker says since when and when it may half-open", "[diagnose]") {
  auto t = target("tcp://127.0.0.1:9001");
  ProbeResult connected;
  connected.connected = true;
  auto probe = report(t, connected);
  BreakerView open{"open",
                   "failure rate 100% >= 50% over 5 requests in 2s",
                   1,
                   "2026-05-01T12:00:00.000Z",
                   "2026-05-01T12:00:02.000Z",
                   1500};
  auto d = diagnose_endpoint("api", "127.0.0.1:9001", probe, gateway_endpoint("healthy"), open, {},
                             kNow);
  CHECK(d.verdict == diag::Verdict::breaker_open);
  CHECK_FALSE(d.usable);
  CHECK(d.cause ==
        "the cluster's circuit breaker is open since 2026-05-01T12:00:00.000Z (failure rate 100% "
        ">= 50% over 5 requests in 2s); it may half-open at 2026-05-01T12:00:02.000Z (in "
        "1500ms), opening #1");
  CHECK(has(d.fix, "503 breaker_open"));

  ClusterDiagnosis c;
  c.name = "api";
  c.gateway = GatewayCluster{};
  c.gateway->breaker = open;
  c.endpoints = {d};
  summarize(c);
  CHECK(c.verdict == "down");
  CHECK(has(c.cause, "no usable endpoint (1 breaker_open): requests get 503 breaker_open"));
  CHECK(has(c.cause, "; the cluster's circuit breaker is open since 2026-05-01T12:00:00.000Z"));

  // Half-open or closed, the endpoints are judged on their own.
  open.state = "half_open";
  CHECK(
      diagnose_endpoint("api", "127.0.0.1:9001", probe, gateway_endpoint("healthy"), open, {}, kNow)
          .verdict == diag::Verdict::ok);
}

TEST_CASE("diagnose: a full bulkhead makes a working endpoint slow, and names the counts",
          "[diagnose]") {
  auto t = target("tcp://127.0.0.1:9001");
  ProbeResult connected;
  connected.connected = true;
  auto probe = report(t, connected);
  BulkheadView full{2, 2, 200, 2, 1, 17};
  REQUIRE(full.full());
  auto d = diagnose_endpoint("slow", "127.0.0.1:9001", probe, gateway_endpoint("healthy"),
                             std::nullopt, {}, kNow, full);
  CHECK(d.verdict == diag::Verdict::slow);
  CHECK(d.usable);
  CHECK(d.phase == "bulkhead");
  CHECK(has(d.cause,
            "the cluster's bulkhead is full: 2 of 2 requests in flight, 1 queued (at "
            "most 2), 17 turned away so far"));
  CHECK(has(d.cause, "503 bulkhead_full"));
  CHECK(has(d.fix, "clusters.bulkhead.max_concurrent"));

  // Slow from here too: both are said.
  auto http = target("http://127.0.0.1:9001/");
  Thresholds th;
  th.slow = 100ms;
  auto both = diagnose_endpoint("slow", "127.0.0.1:9001", report(http, answered(200, 600ms)),
                                gateway_endpoint("healthy"), std::nullopt, th, kNow, full);
  CHECK(both.verdict == diag::Verdict::slow);
  CHECK(both.phase == "latency");
  CHECK(has(both.cause, "GET / took 600ms (over 100ms); the cluster's bulkhead is full"));

  // Room left: nothing to say. Unusable for another reason: that reason wins.
  BulkheadView room{2, 2, 200, 1, 0, 17};
  CHECK(diagnose_endpoint("slow", "127.0.0.1:9001", probe, gateway_endpoint("healthy"),
                          std::nullopt, {}, kNow, room)
            .verdict == diag::Verdict::ok);
  auto refused =
      report(t, failed(ErrorKind::connect, "connect to 127.0.0.1:9001: Connection refused"));
  CHECK(diagnose_endpoint("slow", "127.0.0.1:9001", refused, gateway_endpoint("healthy"),
                          std::nullopt, {}, kNow, full)
            .verdict == diag::Verdict::unreachable);

  ClusterDiagnosis c;
  c.name = "slow";
  c.gateway = GatewayCluster{};
  c.gateway->bulkhead = full;
  c.endpoints = {d};
  summarize(c);
  CHECK(c.verdict == "degraded");
  CHECK(has(c.cause, "1 of 1 endpoints usable (1 slow)"));
  CHECK(has(c.cause, "the cluster's bulkhead is full"));
}

TEST_CASE("diagnose: the admin JSON's breaker times and bulkhead counts parse", "[diagnose]") {
  auto parsed = parse_admin_upstreams(R"({"clusters":[{"cluster":"api","usable":1,"total":1,
    "breaker":{"state":"open","reason":"r","openings":2,"since":"2026-05-01T12:00:00.000Z",
               "until":"2026-05-01T12:00:02.000Z","open_for_ms":1500.5},
    "bulkhead":{"max_concurrent":4,"max_queue":4,"queue_timeout_ms":200,"in_flight":4,
                "queued":3,"rejected_total":57},
    "endpoints":[{"endpoint":"127.0.0.1:9001","state":"healthy","usable":true}]}]})");
  REQUIRE(parsed.ok());
  const auto& c = parsed->at(0);
  REQUIRE(c.breaker);
  CHECK(c.breaker->since == "2026-05-01T12:00:00.000Z");
  CHECK(c.breaker->until == "2026-05-01T12:00:02.000Z");
  CHECK(c.breaker->open_for_ms == Approx(1500.5));
  REQUIRE(c.bulkhead);
  CHECK(c.bulkhead->in_flight == 4);
  CHECK(c.bulkhead->queued == 3);
  CHECK(c.bulkhead->rejected_total == 57);
  CHECK(c.bulkhead->full());

  auto bad = parse_admin_upstreams(
      R"({"clusters":[{"cluster":"a","bulkhead":{"in_flight":"4"},"endpoints":[]}]})");
  REQUIRE_FALSE(bad.ok());
  CHECK(has(bad.error().message, "clusters[0].bulkhead.in_flight: expected a number"));
}
