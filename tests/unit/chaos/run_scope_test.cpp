// The assertion names of `sluice chaos run`: client timing, slow clients and recorded requests.
#include "run_scope.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "sluice/core/expr/expr.hpp"

using namespace sluice;
using namespace sluice::chaos;
using namespace std::chrono_literals;

namespace {

struct Fixture {
  ClientStats client;
  detail::RunFacts facts;
  detail::ScopeWindow window;
  std::optional<SlowlorisStats> slow;

  Result<expr::Value> eval(std::string_view source) {
    expr::MapScope scope;
    detail::fill_run_scope(scope, client, 1.0, slow ? &*slow : nullptr, facts, window);
    auto e = expr::parse(source);
    REQUIRE(e);
    return expr::evaluate(*e, scope);
  }
  bool holds(std::string_view source) {
    auto v = eval(source);
    INFO(source << (v ? "" : ": " + v.error().message));
    REQUIRE(v);
    REQUIRE(v->is(expr::Kind::boolean));
    return v->as_bool();
  }
  // The message after the caret line.
  std::string error(std::string_view source) {
    auto v = eval(source);
    REQUIRE_FALSE(v);
    const std::string& m = v.error().message;
    auto caret = m.find("^ ");
    return caret == std::string::npos ? m : m.substr(caret + 2);
  }
};

RecordedRequest record(std::uint64_t seq, std::string label, std::string method, std::string target,
                       int status, std::chrono::steady_clock::time_point at) {
  RecordedRequest r;
  r.seq = seq;
  r.label = std::move(label);
  r.request.method = std::move(method);
  r.request.target = std::move(target);
  r.status = status;
  r.received = at;
  r.complete = true;
  return r;
}

}  // namespace

TEST_CASE("client.first and client.last time the responses of a kind", "[chaos][scope]") {
  Fixture f;
  f.client.samples = {{0, 10, 200}, {100, 20, 504}, {300, 5, 504}, {400, 50, 0}, {500, 1, 200}};
  CHECK(f.holds("client.first(504) == 120ms"));
  CHECK(f.holds("client.last(504) == 305ms"));
  CHECK(f.holds("client.first(\"5xx\") == 120ms"));
  CHECK(f.holds("client.first(\"error\") == 120ms and client.last(\"error\") == 450ms"));
  CHECK(f.holds("client.first(\"ok\") == 10ms and client.last(\"ok\") == 501ms"));
  CHECK(f.holds("client.first(404) == null"));
  CHECK(f.error("client.first(\"5xy\")").find("is not a kind of response") != std::string::npos);
  CHECK(f.error("client.first()").find("client.first takes a status") != std::string::npos);
  CHECK(f.error("client.first(404) < 2s").find("cannot compare null") != std::string::npos);
}

TEST_CASE("a window keeps the requests sent within it", "[chaos][scope]") {
  ClientStats c;
  c.samples = {{0, 10, 200}, {1000, 20, 503}, {1500, 5, 0}, {2500, 1, 200}};
  auto w = c.window(1000, 2000);
  CHECK(w.requests == 2);
  CHECK(w.transport_errors == 1);
  CHECK(w.by_status.at(503) == 1);
  CHECK(w.errors() == 2);
  CHECK(w.latencies_ms == std::vector<double>{20});
}

TEST_CASE("slowloris names appear only when a phase in view had slow clients", "[chaos][scope]") {
  Fixture f;
  CHECK(f.error("slowloris.closed == 0").find("slowloris.closed") != std::string::npos);
  f.slow = SlowlorisStats{};
  f.slow->connections = 4;
  f.slow->closed = 3;
  f.slow->open = 1;
  f.slow->by_status = {{408, 3}};
  f.slow->held_ms = {500, 600, 700, 4000};
  CHECK(f.holds("slowloris.connections == 4 and slowloris.closed == 3 and slowloris.open == 1"));
  CHECK(f.holds("slowloris.status(408) == 3 and slowloris.status(400) == 0"));
  CHECK(f.holds("slowloris.held_max == 4s and slowloris.held_p50 == 600ms"));
}

TEST_CASE("mock(...) counts and shows the recorded requests in view", "[chaos][scope]") {
  Fixture f;
  auto t0 = std::chrono::steady_clock::now();
  f.facts.phase_starts["one"] = t0;
  f.facts.phase_starts["two"] = t0 + 1s;
  auto& m = f.facts.mocks["a"];
  m.requests = 4;
  m.by_phase = {{"one", 2}, {"two", 2}};
  m.fired = {{"boom", 1}};
  m.recorded.push_back(record(0, "one", "GET", "/health", 200, t0 + 10ms));
  m.recorded.push_back(record(1, "one", "POST", "/v1/x?y=1", 201, t0 + 500ms));
  m.recorded.back().request.headers = {{"X-Tag", "t"}};
  m.recorded.back().body = "hello world";
  m.recorded.back().body_bytes = 11;
  m.recorded.push_back(record(2, "two", "POST", "/v1/z", 0, t0 + 1s + 100ms));
  m.recorded.back().faults = {"boom"};
  m.recorded.push_back(record(3, "two", "GET", "/health", 200, t0 + 1s + 900ms));

  SECTION("over the whole run") {
    CHECK(f.holds("mock(\"a\").requests == 4"));
    CHECK(f.holds("mock(\"a\").received(method=\"POST\") == 2"));
    CHECK(f.holds("mock(\"a\").received(path=\"/v1/*\", status=201) == 1"));
    CHECK(f.holds("mock(\"a\").received(header=\"x-tag\", body_contains=\"world\") == 1"));
    CHECK(f.holds("mock(\"a\").first.path == \"/health\" and mock(\"a\").last.phase == \"two\""));
    CHECK(
        f.holds("mock(\"a\").request(1).query == \"y=1\" and mock(\"a\").request(1).body == "
                "\"hello world\""));
    CHECK(f.holds("mock(\"a\").request(1).header(\"X-TAG\") == \"t\""));
    CHECK(f.holds("mock(\"a\").request(0).header(\"x-tag\") == null"));
    CHECK(f.holds(
        "mock(\"a\").request(-2).status == 0 and \"boom\" in mock(\"a\").request(-2).faults"));
    CHECK(f.holds("mock(\"a\").request(2).at == 100ms and mock(\"a\").request(1).at == 500ms"));
    CHECK(f.holds("mock(\"a\").fired(\"boom\") == 1"));
  }
  SECTION("in a phase") {
    f.window.phase = "two";
    CHECK(f.holds("mock(\"a\").requests == 2"));
    CHECK(f.holds("mock(\"a\").first.target == \"/v1/z\""));
    CHECK(f.holds("mock(\"a\").received(method=\"GET\") == 1"));
  }
  SECTION("in a window of a phase") {
    f.window.phase = "two";
    f.window.from_ms = 500;
    CHECK(f.holds("mock(\"a\").requests == 1 and mock(\"a\").first.path == \"/health\""));
    CHECK(f.error("mock(\"a\").request(1)") ==
          "mock(\"a\").request(1): 1 request was recorded in phase \"two\" between 500ms and its "
          "end");
  }
  SECTION("first and last are null without requests") {
    f.window.phase = "three";
    CHECK(f.holds("mock(\"a\").first == null and mock(\"a\").last == null"));
  }
  SECTION("mistakes get clear errors") {
    CHECK(f.error("mock(\"a\").received(pth=\"/\")").find("did you mean \"path\"?") !=
          std::string::npos);
    CHECK(f.error("mock(\"a\").received(status=\"200\")") == "received: status must be a number");
    CHECK(f.error("mock(\"a\").request").find("is a method") != std::string::npos);
    CHECK(f.error("mock(\"a\").first.heder").find("heder") != std::string::npos);
    CHECK(f.error("mock(\"b\").requests").find("no mock named \"b\"") != std::string::npos);
    CHECK(f.error("mock(\"a\").request(0.5)").find("request(0.5)") != std::string::npos);
  }
}

TEST_CASE("gateway.cluster and gateway.endpoint read the gateway's upstream view",
          "[chaos][scope]") {
  Fixture f;
  f.facts.has_gateway = true;
  f.facts.mocks["b"].address = "127.0.0.1:9002";
  f.facts.upstreams = nlohmann::json::parse(R"({"clusters": [
    {"cluster": "up", "mode": "normal", "usable": 1, "total": 2,
     "breaker": {"state": "open"},
     "endpoints": [
       {"endpoint": "127.0.0.1:9001", "state": "healthy", "health_check": {"healthy": true}},
       {"endpoint": "127.0.0.1:9002", "state": "ejected",
        "outlier": {"ejected": true, "rule": "consecutive_5xx", "times_ejected": 2}}]}]})");
  CHECK(f.holds("gateway.cluster(\"up\").usable == 1 and gateway.cluster(\"up\").total == 2"));
  CHECK(
      f.holds("gateway.cluster(\"up\").mode == \"normal\" and gateway.cluster(\"up\").breaker == "
              "\"open\""));
  CHECK(f.holds("gateway.endpoint(\"up\", mock=\"b\").state == \"ejected\""));
  CHECK(
      f.holds("gateway.endpoint(\"up\", mock=\"b\").rule == \"consecutive_5xx\" and "
              "gateway.endpoint(\"up\", mock=\"b\").times_ejected == 2"));
  CHECK(
      f.holds("gateway.endpoint(\"up\", \"127.0.0.1:9001\").healthy and "
              "gateway.endpoint(\"up\", \"127.0.0.1:9001\").rule == null"));
  CHECK(f.error("gateway.cluster(\"uq\").usable").find("did you mean \"up\"?") !=
        std::string::npos);
  CHECK(f.error("gateway.endpoint(\"up\", mock=\"c\").state").find("no mock named \"c\"") !=
        std::string::npos);
  CHECK(f.error("gateway.endpoint(\"up\")").find("takes a cluster and an endpoint") !=
        std::string::npos);
  CHECK(f.error("gateway.endpoint(\"up\", \"1.2.3.4:1\").state").find("has no endpoint") !=
        std::string::npos);

  SECTION("a malformed view is an error, not a crash") {
    f.facts.upstreams = nlohmann::json::parse(R"({"clusters": 3})");
    CHECK(f.error("gateway.cluster(\"up\").usable").find("unavailable") != std::string::npos);
    f.facts.upstreams.reset();
    f.facts.upstreams_error = "GET /admin/upstreams: status 500";
    CHECK(f.error("gateway.cluster(\"up\").usable").find("status 500") != std::string::npos);
  }
}
