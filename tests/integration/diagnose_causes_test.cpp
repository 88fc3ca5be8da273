// `sluice diagnose --admin` names the cause injected into a running gateway: a killed endpoint,
// a 503 storm (outlier ejection by consecutive_5xx, then re-admission), every endpoint down, a
// latency outlier, an open breaker (then closed again) and a full bulkhead. Each test injects the
// cause with in-process mocks, waits (by polling, with a deadline) for the gateway to react, and
// checks the verdict, the cause and the exit status diagnose gives.
#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common.hpp"
#include "sluice/chaos/mock_server.hpp"

using namespace sluice::test;
using sluice::chaos::MockExchange;
using sluice::chaos::MockServer;
using Json = nlohmann::json;

namespace {

bool has(const std::string& s, std::string_view what) {
  return s.find(what) != std::string::npos;
}

// j[k1][k2]...; null when any step is missing (a const Json must not be indexed blindly).
const Json& at(const Json& j, std::initializer_list<std::string_view> keys) {
  static const Json none;
  const Json* cur = &j;
  for (auto k : keys) {
    if (!cur->is_object()) return none;
    auto it = cur->find(k);
    if (it == cur->end()) return none;
    cur = &*it;
  }
  return *cur;
}

// The value of the Prometheus sample that starts with `sample` ("name{labels}"); -1 when absent.
double metric(const std::string& text, const std::string& sample) {
  auto pos = text.find(sample + " ");
  if (pos == std::string::npos) return -1;
  return std::stod(text.substr(pos + sample.size() + 1));
}

std::string admin_url(const SluiceProcess& proc) {
  return fmt::format("http://127.0.0.1:{}", proc.admin_port());
}

struct Diag {
  RunResult run;
  Json json;
};

Diag diagnose(const SluiceProcess& proc, std::string_view format = "json") {
  Diag d;
  d.run = run_sluice(
      {"diagnose", "--admin", admin_url(proc), "--format", std::string(format), "--timeout", "2s"});
  if (format == "json") d.json = Json::parse(d.run.out, nullptr, false);
  return d;
}

const Json& cluster_of(const Json& j, std::string_view name) {
  static const Json none;
  for (const auto& c : at(j, {"clusters"}))
    if (c.value("cluster", "") == name) return c;
  return none;
}

const Json& endpoint_of(const Json& j, std::string_view cluster, std::string_view endpoint) {
  static const Json none;
  const Json& c = cluster_of(j, cluster);
  if (!c.is_object()) return none;
  for (const auto& e : at(c, {"endpoints"}))
    if (e.value("endpoint", "") == endpoint) return e;
  return none;
}

std::string str(const Json& j, std::string_view key) {
  if (!j.is_object()) return {};
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Client threads sending GET PATH on fresh connections until stopped, counting the answers.
class Load {
 public:
  Load(std::uint16_t port, std::string path, int threads, Millis pause) {
    for (int i = 0; i < threads; ++i)
      threads_.emplace_back([this, port, path, pause] {
        while (!stop_) {
          auto r = http_get(port, path);
          {
            std::lock_guard lk(mu_);
            ++requests_;
            if (r) ++statuses_[r->status];
            if (!r || r->status != 200) ++errors_;
          }
          if (pause.count() > 0) std::this_thread::sleep_for(pause);
        }
      });
  }
  ~Load() { stop(); }
  void stop() {
    stop_ = true;
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }
  std::uint64_t requests() const {
    std::lock_guard lk(mu_);
    return requests_;
  }
  std::uint64_t errors() const {
    std::lock_guard lk(mu_);
    return errors_;
  }
  std::uint64_t status(int code) const {
    std::lock_guard lk(mu_);
    auto it = statuses_.find(code);
    return it == statuses_.end() ? 0 : it->second;
  }

 private:
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
  mutable std::mutex mu_;
  std::uint64_t requests_ = 0;
  std::uint64_t errors_ = 0;
  std::map<int, std::uint64_t> statuses_;
};

MockServer ok_mock(std::string name) {
  return MockServer(std::move(name), {{"", "*", [](MockExchange& ex) { ex.respond(200, "ok"); }}});
}

}  // namespace

TEST_CASE("diagnose names a killed endpoint: connection refused, ejected, no client errors",
          "[integration][diagnose][causes]") {
  MockServer a = ok_mock("a"), b = ok_mock("b"), c = ok_mock("c");
  SluiceProcess proc(config_with(fmt::format(R"([[routes]]
cluster = "up"
[routes.retry]
attempts = 3
on = ["connect-failure", "reset", "gateway-error"]
backoff_base = "5ms"
backoff_max = "20ms"
[[clusters]]
name = "up"
endpoints = ["{}", "{}", "{}"]
[clusters.outlier_detection]
interval = "100ms"
consecutive_gateway_failure = 3
consecutive_5xx = 3
base_ejection_time = "30s"
)",
                                             a.address(), b.address(), c.address())));
  Load load(proc.port(), "/x", 2, 5ms);
  REQUIRE(eventually([&] { return a.requests() > 0 && b.requests() > 0 && c.requests() > 0; }, 5s));
  const std::string killed = b.address();
  b.stop();
  const auto at_kill = load.requests();

  Diag d;
  REQUIRE(eventually(
      [&] {
        d = diagnose(proc);
        return str(at(endpoint_of(d.json, "up", killed), {"gateway"}), "state") == "ejected";
      },
      10s));
  // Some more load after the kill, then not one client-visible error.
  CHECK(eventually([&] { return load.requests() >= at_kill + 20; }, 5s));
  load.stop();
  INFO(d.run.out << d.run.err);
  CHECK(load.errors() == 0);  // the retries went to a and c

  CHECK(d.run.exit_code == 0);  // a and c are still usable
  const Json& dead = endpoint_of(d.json, "up", killed);
  CHECK(at(dead, {"verdict"}) == "unreachable");
  CHECK(at(dead, {"phase"}) == "connect");
  CHECK(at(dead, {"usable"}) == false);
  const std::string cause = str(dead, "cause");
  CHECK(has(cause, "connection refused on " + killed));
  CHECK(has(cause, "the gateway ejected it (consecutive_gateway_failure)"));
  CHECK(has(str(dead, "fix"), "start the service or remove the endpoint"));
  CHECK(at(dead, {"gateway", "outlier", "rule"}) == "consecutive_gateway_failure");
  CHECK(at(endpoint_of(d.json, "up", a.address()), {"verdict"}) == "ok");
  CHECK(at(endpoint_of(d.json, "up", c.address()), {"verdict"}) == "ok");
  CHECK(at(cluster_of(d.json, "up"), {"verdict"}) == "degraded");
  CHECK(at(cluster_of(d.json, "up"), {"usable"}) == 2);

  // The text report says the same to a person.
  auto text = diagnose(proc, "text");
  INFO(text.run.out);
  CHECK(text.run.exit_code == 0);
  CHECK(has(text.run.out, "cluster up: DEGRADED, 2 of 3 endpoints usable"));
  CHECK(has(text.run.out, killed + "  UNREACHABLE (connect)"));
  CHECK(has(text.run.out, "cause:   connection refused on " + killed));
}

TEST_CASE(
    "diagnose names a 503 storm: ejected by consecutive_5xx until a deadline, then re-admitted",
    "[integration][diagnose][causes]") {
  std::atomic<bool> storm{false};
  MockServer a = ok_mock("a"), c = ok_mock("c");
  MockServer b("b", {{"", "*", [&](MockExchange& ex) {
                        if (storm)
                          ex.respond(503, "storm");
                        else
                          ex.respond(200, "ok");
                      }}});
  SluiceProcess proc(config_with(fmt::format(R"([[routes]]
cluster = "up"
[[clusters]]
name = "up"
endpoints = ["{}", "{}", "{}"]
[clusters.outlier_detection]
interval = "100ms"
consecutive_5xx = 3
consecutive_gateway_failure = 0
success_rate = false
base_ejection_time = "1s"
ejection_jitter = 0
)",
                                             a.address(), b.address(), c.address())));
  REQUIRE(http_get(proc.port(), "/x")->status == 200);
  storm = true;

  // Round robin: 9 requests give b its 3 consecutive 503s. Should an ejection end before
  // diagnose looks, the next round ejects b again.
  Diag d;
  REQUIRE(eventually(
      [&] {
        for (int i = 0; i < 9; ++i) (void)http_get(proc.port(), "/x");
        d = diagnose(proc);
        return at(endpoint_of(d.json, "up", b.address()), {"verdict"}) == "ejected";
      },
      10s));
  INFO(d.run.out << d.run.err);
  CHECK(d.run.exit_code == 0);
  const Json& ep = endpoint_of(d.json, "up", b.address());
  CHECK(at(ep, {"phase"}) == "outlier");
  CHECK(at(ep, {"usable"}) == false);
  const std::string cause = str(ep, "cause");
  CHECK(has(cause, "answered 5xx too many times in a row"));
  CHECK(has(cause, "ejected by outlier detection (consecutive_5xx: 3 consecutive 5xx) until "));
  CHECK(has(cause, "ejection #"));
  CHECK(has(str(ep, "fix"), "fix the 5xx answers"));
  const Json& outlier = at(ep, {"gateway", "outlier"});
  CHECK(at(outlier, {"rule"}) == "consecutive_5xx");
  CHECK(at(outlier, {"ejected_for_ms"}).get<double>() > 0);
  CHECK(at(outlier, {"ejected_for_ms"}).get<double>() <=
        1000 * at(outlier, {"times_ejected"}).get<double>());
  CHECK(at(cluster_of(d.json, "up"), {"verdict"}) == "degraded");
  CHECK(at(endpoint_of(d.json, "up", a.address()), {"verdict"}) == "ok");

  // The storm ends; once the ejection time is over the gateway re-admits b and diagnose agrees.
  storm = false;
  REQUIRE(eventually(
      [&] {
        d = diagnose(proc);
        return at(endpoint_of(d.json, "up", b.address()), {"verdict"}) == "ok";
      },
      10s));
  CHECK(d.run.exit_code == 0);
  CHECK(at(cluster_of(d.json, "up"), {"verdict"}) == "ok");
  CHECK(at(endpoint_of(d.json, "up", b.address()), {"gateway", "outlier", "times_ejected"}) >= 1);
  const auto before = b.requests();
  for (int i = 0; i < 6; ++i) CHECK(http_get(proc.port(), "/x")->status == 200);
  CHECK(b.requests() > before);
}

TEST_CASE("diagnose names every endpoint when all are down and exits 1",
          "[integration][diagnose][causes]") {
  MockServer a = ok_mock("a"), b = ok_mock("b");
  SluiceProcess proc(config_with(fmt::format(R"([[routes]]
cluster = "up"
[routes.retry]
attempts = 2
per_try_timeout = "1s"
[[clusters]]
name = "up"
endpoints = ["{}", "{}"]
panic_threshold = 0
[clusters.health_check]
path = "/health"
interval = "50ms"
no_traffic_interval = "50ms"
timeout = "200ms"
unhealthy_threshold = 1
)",
                                             a.address(), b.address())));
  REQUIRE(http_get(proc.port(), "/x")->status == 200);
  const std::vector<std::string> names = {a.address(), b.address()};
  a.stop();
  b.stop();

  // Once the checks have failed, the diagnostic 503 comes at once, well within the per-try timeout.
  std::optional<Response> r;
  auto took = std::chrono::steady_clock::duration::zero();
  REQUIRE(eventually(
      [&] {
        auto start = std::chrono::steady_clock::now();
        r = http_get(proc.port(), "/x");
        took = std::chrono::steady_clock::now() - start;
        return r && r->status == 503 && has(r->body, "no_healthy_upstream");
      },
      5s));
  CHECK(took < 1s);

  auto d = diagnose(proc);
  INFO(d.run.out << d.run.err);
  CHECK(d.run.exit_code == 1);
  const Json& up = cluster_of(d.json, "up");
  CHECK(at(up, {"verdict"}) == "down");
  CHECK(at(up, {"usable"}) == 0);
  CHECK(has(str(up, "cause"), "no usable endpoint (2 unreachable)"));
  CHECK(has(str(up, "cause"), "no healthy upstream"));
  for (const auto& name : names) {
    INFO(name);
    const Json& ep = endpoint_of(d.json, "up", name);
    CHECK(at(ep, {"verdict"}) == "unreachable");
    CHECK(at(ep, {"phase"}) == "connect");
    CHECK(has(str(ep, "cause"), "connection refused on " + name));
    CHECK(has(str(ep, "cause"), "the gateway counts it unhealthy"));
    CHECK(at(ep, {"gateway", "state"}) == "unhealthy");
  }

  auto text = diagnose(proc, "text");
  INFO(text.run.out);
  CHECK(text.run.exit_code == 1);
  CHECK(has(text.run.out, "cluster up: DOWN, 0 of 2 endpoints usable"));
  for (const auto& name : names) CHECK(has(text.run.out, "connection refused on " + name));
}

TEST_CASE("diagnose names a latency outlier", "[integration][diagnose][causes]") {
  MockServer a = ok_mock("a"), b = ok_mock("b"), c = ok_mock("c");
  MockServer slow("slow", {{"", "*", [](MockExchange& ex) {
                              std::this_thread::sleep_for(150ms);
                              ex.respond(200, "slow");
                            }}});
  SluiceProcess proc(
      config_with(fmt::format(R"([[routes]]
cluster = "up"
[[clusters]]
name = "up"
endpoints = ["{}", "{}", "{}", "{}"]
[clusters.outlier_detection]
interval = "200ms"
success_rate = false
latency_factor = 3
latency_floor = "50ms"
latency_request_volume = 2
base_ejection_time = "30s"
)",
                              a.address(), b.address(), c.address(), slow.address())));
  Diag d;
  {
    Load load(proc.port(), "/x", 6, 2ms);
    REQUIRE(eventually(
        [&] {
          d = diagnose(proc);
          return at(endpoint_of(d.json, "up", slow.address()), {"verdict"}) == "ejected";
        },
        10s));
  }
  INFO(d.run.out << d.run.err);
  CHECK(d.run.exit_code == 0);
  const Json& ep = endpoint_of(d.json, "up", slow.address());
  CHECK(at(ep, {"phase"}) == "outlier");
  CHECK(at(ep, {"gateway", "outlier", "rule"}) == "latency");
  const std::string cause = str(ep, "cause");
  CHECK(has(cause, "a latency outlier, much slower than the other endpoints"));
  CHECK(has(cause, "(latency: p90 "));
  CHECK(has(cause, "x cluster median"));
  CHECK(has(cause, " until "));
  CHECK(has(str(ep, "fix"), "slower than its peers"));
  for (const auto* m : {&a, &b, &c})
    CHECK(at(endpoint_of(d.json, "up", m->address()), {"verdict"}) == "ok");
}

TEST_CASE("diagnose names an open breaker, since when, and sees it close again",
          "[integration][diagnose][causes]") {
  std::atomic<bool> failing{true};
  MockServer a("a", {{"", "*", [&](MockExchange& ex) {
                        if (failing)
                          ex.respond(503, "storm");
                        else
                          ex.respond(200, "ok");
                      }}});
  SluiceProcess proc(config_with(fmt::format(R"([[routes]]
cluster = "up"
[[clusters]]
name = "up"
endpoints = ["{}"]
[clusters.breaker]
window = "2s"
minimum_requests = 5
failure_rate_threshold = 50
open_time = "1s"
max_open_time = "2s"
half_open_probes = 1
)",
                                             a.address())));
  // A few requests trip it; should it have half-opened before diagnose looks, the next failing
  // probe opens it again.
  Diag d;
  REQUIRE(eventually(
      [&] {
        for (int i = 0; i < 6; ++i) (void)http_get(proc.port(), "/x");
        d = diagnose(proc);
        return at(endpoint_of(d.json, "up", a.address()), {"verdict"}) == "breaker_open";
      },
      10s));
  INFO(d.run.out << d.run.err);
  CHECK(d.run.exit_code == 1);  // no request gets through while it is open
  const Json& ep = endpoint_of(d.json, "up", a.address());
  CHECK(at(ep, {"phase"}) == "breaker");
  const std::string cause = str(ep, "cause");
  CHECK(has(cause, "the cluster's circuit breaker is open since 20"));
  CHECK(has(cause, "failure rate"));
  CHECK(has(cause, "it may half-open at 20"));
  CHECK(has(str(ep, "fix"), "503 breaker_open"));
  const Json& up = cluster_of(d.json, "up");
  CHECK(at(up, {"verdict"}) == "down");
  CHECK(has(str(up, "cause"), "requests get 503 breaker_open"));
  CHECK(has(str(up, "cause"), "circuit breaker is open since"));
  const Json& breaker = at(up, {"gateway", "breaker"});
  CHECK(at(breaker, {"state"}) == "open");
  CHECK(at(breaker, {"openings"}) >= 1);
  CHECK(at(breaker, {"open_for_ms"}).get<double>() > 0);
  CHECK(at(breaker, {"open_for_ms"}).get<double>() <= 2000);

  // The upstream recovers: after the open time a probe goes through, and the breaker closes.
  failing = false;
  REQUIRE(eventually(
      [&] {
        (void)http_get(proc.port(), "/x");
        d = diagnose(proc);
        return at(cluster_of(d.json, "up"), {"gateway", "breaker", "state"}) == "closed";
      },
      10s));
  CHECK(d.run.exit_code == 0);
  CHECK(at(endpoint_of(d.json, "up", a.address()), {"verdict"}) == "ok");
  CHECK(at(cluster_of(d.json, "up"), {"verdict"}) == "ok");
  auto m = http_get(proc.admin_port(), "/metrics");
  REQUIRE(m);
  CHECK(metric(m->body, "sluice_breaker_transitions_total{cluster=\"up\",to=\"half_open\"}") >= 1);
  CHECK(metric(m->body, "sluice_breaker_transitions_total{cluster=\"up\",to=\"closed\"}") >= 1);
}

TEST_CASE("diagnose names a slow cluster's full bulkhead and leaves the other cluster ok",
          "[integration][diagnose][causes]") {
  MockServer slow("slow", {{"", "*", [](MockExchange& ex) {
                              std::this_thread::sleep_for(600ms);
                              ex.respond(200, "slow");
                            }}});
  MockServer fast = ok_mock("fast");
  SluiceProcess proc(config_with(fmt::format(R"([[routes]]
path_prefix = "/slow"
cluster = "slow"
[[routes]]
cluster = "fast"
[[clusters]]
name = "slow"
endpoints = ["{}"]
[clusters.bulkhead]
max_concurrent = 2
max_queue = 2
queue_timeout = "200ms"
[[clusters]]
name = "fast"
endpoints = ["{}"]
)",
                                             slow.address(), fast.address())));
  Load load(proc.port(), "/slow", 8, 20ms);
  Diag d;
  REQUIRE(eventually(
      [&] {
        d = diagnose(proc);
        return at(endpoint_of(d.json, "slow", slow.address()), {"phase"}) == "bulkhead";
      },
      10s));
  // The fast cluster answers quickly meanwhile: the bulkhead holds the slow one's requests.
  for (int i = 0; i < 5; ++i) {
    auto start = std::chrono::steady_clock::now();
    auto r = http_get(proc.port(), "/fast");
    CHECK((r && r->status == 200));
    CHECK(std::chrono::steady_clock::now() - start < 300ms);
  }
  load.stop();
  INFO(d.run.out << d.run.err);
  CHECK(d.run.exit_code == 0);  // slow is still usable
  CHECK(load.status(503) > 0);  // the excess was turned away
  const Json& ep = endpoint_of(d.json, "slow", slow.address());
  CHECK(at(ep, {"verdict"}) == "slow");
  CHECK(at(ep, {"usable"}) == true);
  const std::string cause = str(ep, "cause");
  CHECK(has(cause, "the cluster's bulkhead is full: 2 of 2 requests in flight"));
  CHECK(has(cause, "503 bulkhead_full"));
  CHECK(has(str(ep, "fix"), "clusters.bulkhead.max_concurrent"));
  const Json& sc = cluster_of(d.json, "slow");
  CHECK(at(sc, {"verdict"}) == "degraded");
  CHECK(has(str(sc, "cause"), "bulkhead is full"));
  CHECK(at(sc, {"gateway", "bulkhead", "full"}) == true);
  CHECK(at(sc, {"gateway", "bulkhead", "max_concurrent"}) == 2);
  CHECK(at(cluster_of(d.json, "fast"), {"verdict"}) == "ok");
  CHECK(at(endpoint_of(d.json, "fast", fast.address()), {"verdict"}) == "ok");
  CHECK_FALSE(at(cluster_of(d.json, "fast"), {"gateway"}).contains("bulkhead"));
}
