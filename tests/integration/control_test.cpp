// The live control API: two mocks and a TCP proxy in-process, driven over HTTP with the raw client.
// Faults are added and removed at run time and observed from a real client; every wait is bounded,
// probabilities are 0 or 1 (or seeded and compared between twin runs), timings are lower bounds.
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common.hpp"
#include "sluice/chaos/control_server.hpp"
#include "sluice/chaos/fault_plan.hpp"
#include "sluice/chaos/mock_server.hpp"
#include "sluice/chaos/tcp_proxy.hpp"

using namespace sluice::test;
using namespace std::chrono_literals;
using nlohmann::json;
using sluice::chaos::ControlApi;
using sluice::chaos::ControlServer;
using sluice::chaos::ControlServerOptions;
using sluice::chaos::MockServer;
using sluice::chaos::TcpProxy;
using sluice::chaos::TcpProxyOptions;

namespace {

using SteadyClock = std::chrono::steady_clock;

double seconds_since(SteadyClock::time_point t0) {
  return std::chrono::duration<double>(SteadyClock::now() - t0).count();
}

// Two mocks, a proxy in front of the second, and a control server over all three.
struct Rig {
  MockServer alpha{"alpha"};
  MockServer bravo{"bravo"};
  std::unique_ptr<TcpProxy> proxy;
  std::unique_ptr<ControlServer> control;

  Rig() {
    TcpProxyOptions o;
    o.name = "edge";
    o.upstream = bravo.address();
    auto p = TcpProxy::start(std::move(o));
    if (!p) FAIL(p.error().message);
    proxy = std::move(p).value();
    auto c = ControlServer::start(ControlServerOptions{});
    if (!c) FAIL(c.error().message);
    control = std::move(c).value();
    REQUIRE(control->api().add_mock(alpha));
    REQUIRE(control->api().add_mock(bravo));
    REQUIRE(control->api().add_proxy(*proxy));
  }
  ~Rig() {
    // The control server holds plain pointers to the others: stop it first.
    control->stop();
  }

  // One control request on a fresh connection.
  Response call(std::string_view method, std::string_view target, std::string_view body = {},
                Headers headers = {}) {
    Connection c(control->port(), 5s);
    if (!body.empty()) headers.emplace_back("Content-Type", "application/json");
    auto r = c.request(make_request(method, target, headers, body));
    INFO(method << " " << target << ": " << c.error());
    REQUIRE(r);
    return *r;
  }
};

int status_of(std::uint16_t port, std::string_view target = "/health") {
  auto r = http_get(port, target);
  REQUIRE(r);
  return r->status;
}

// The counters entry of one fault in GET /counters.
json fault_counters(Rig& rig, std::string_view mock, std::string_view fault) {
  auto r = rig.call("GET", "/counters");
  REQUIRE(r.status == 200);
  auto doc = r.json();
  for (const auto& f : doc["mocks"][std::string(mock)]["faults"]) {
    if (f["name"] == std::string(fault)) return f;
  }
  FAIL("no counters for fault " << fault << " in " << r.body);
  return {};
}

std::string error_message(const Response& r) {
  return r.json()["error"].value("message", "");
}

}  // namespace

TEST_CASE("control: listing mocks and proxies", "[control]") {
  Rig rig;
  auto r = rig.call("GET", "/mocks");
  REQUIRE(r.status == 200);
  CHECK(r.header("content-type") == "application/json");
  auto mocks = r.json()["mocks"];
  REQUIRE(mocks.size() == 2);
  CHECK(mocks[0]["name"] == "alpha");
  CHECK(mocks[0]["address"] == rig.alpha.address());
  CHECK(mocks[0]["faults"] == json::array());
  CHECK(mocks[1]["name"] == "bravo");

  auto p = rig.call("GET", "/proxies");
  REQUIRE(p.status == 200);
  REQUIRE(p.json()["proxies"].size() == 1);
  CHECK(p.json()["proxies"][0]["name"] == "edge");
  CHECK(p.json()["proxies"][0]["address"] == rig.proxy->address());

  auto one = rig.call("GET", "/proxies/edge");
  REQUIRE(one.status == 200);
  CHECK(one.json()["toxics"] == json::array());
  CHECK(one.json()["counters"]["connections"] == 0);
}

TEST_CASE("control: a 503 fault added live fires, is counted, and stops when removed",
          "[control]") {
  Rig rig;
  CHECK(status_of(rig.alpha.port()) == 200);

  auto add = rig.call("POST", "/mocks/alpha/faults",
                      R"({"name": "outage", "type": "status", "status": 503, "probability": 1})");
  INFO(add.body);
  REQUIRE(add.status == 200);
  CHECK(add.json()["added"] == json::array({"outage"}));

  CHECK(status_of(rig.alpha.port()) == 503);
  CHECK(status_of(rig.alpha.port()) == 503);
  CHECK(status_of(rig.bravo.port()) == 200);  // the other mock is untouched

  auto c = fault_counters(rig, "alpha", "outage");
  CHECK(c["action"] == "status");
  CHECK(c["matched"] == 2);
  CHECK(c["fired"] == 2);
  CHECK(c["active"] == true);
  auto all = rig.call("GET", "/counters").json();
  CHECK(all["mocks"]["alpha"]["requests"] == 3);
  CHECK(all["mocks"]["bravo"]["requests"] == 1);
  CHECK(all["proxies"]["edge"]["connections"] == 0);

  // The plan renders back as the JSON it was made from.
  auto mock = rig.call("GET", "/mocks/alpha").json();
  REQUIRE(mock["faults"].size() == 1);
  CHECK(mock["faults"][0]["name"] == "outage");
  CHECK(mock["faults"][0]["type"] == "status");
  CHECK(mock["faults"][0]["status"] == 503);
  CHECK(mock["faults"][0]["probability"] == 1.0);
  auto fault = rig.call("GET", "/mocks/alpha/faults/outage");
  REQUIRE(fault.status == 200);
  CHECK(fault.json()["counters"]["fired"] == 2);

  auto del = rig.call("DELETE", "/mocks/alpha/faults/outage");
  CHECK(del.status == 204);
  CHECK(status_of(rig.alpha.port()) == 200);
  CHECK(rig.call("GET", "/mocks/alpha/faults").json()["faults"] == json::array());

  // Counters are cumulative over the run: the removed fault is still reported, inactive.
  c = fault_counters(rig, "alpha", "outage");
  CHECK(c["fired"] == 2);
  CHECK(c["active"] == false);
  CHECK(rig.alpha.requests() == 4);
}

TEST_CASE("control: adding a fault keeps the others' progress; names default and clear",
          "[control]") {
  Rig rig;
  auto once = rig.call("POST", "/mocks/alpha/faults",
                       R"({"name": "once", "type": "status", "status": 500, "first_n": 1})");
  REQUIRE(once.status == 200);
  CHECK(status_of(rig.alpha.port()) == 500);
  CHECK(status_of(rig.alpha.port()) == 200);

  // An array, one of them unnamed: it gets "<action>#<position>". Rebuilding the plan must not
  // restart "once"'s first_n window.
  auto more = rig.call("POST", "/mocks/alpha/faults",
                       R"([{"type": "status", "status": 418, "match": {"path": "/teapot"}},
                           {"name": "gone", "type": "status", "status": 410,
                            "match": {"path": "/gone"}}])");
  INFO(more.body);
  REQUIRE(more.status == 200);
  CHECK(more.json()["added"] == json::array({"status#2", "gone"}));
  CHECK(more.json()["faults"].size() == 3);
  CHECK(status_of(rig.alpha.port()) == 200);
  CHECK(status_of(rig.alpha.port(), "/teapot") == 418);
  CHECK(status_of(rig.alpha.port(), "/gone") == 410);
  CHECK(fault_counters(rig, "alpha", "once")["fired"] == 1);

  // '#' must be escaped in a path.
  CHECK(rig.call("DELETE", "/mocks/alpha/faults/status%232").status == 204);
  CHECK(status_of(rig.alpha.port(), "/teapot") == 200);

  // A duplicate name is a conflict and changes nothing.
  auto dup = rig.call("POST", "/mocks/alpha/faults", R"({"name": "gone", "type": "hang"})");
  CHECK(dup.status == 409);
  CHECK(has_error_shape(dup, "fault_exists"));
  CHECK(rig.call("GET", "/mocks/alpha/faults").json()["faults"].size() == 2);

  CHECK(rig.call("DELETE", "/mocks/alpha/faults").status == 204);
  CHECK(rig.alpha.faults() == nullptr);
  CHECK(status_of(rig.alpha.port(), "/gone") == 200);
}

TEST_CASE("control: a latency toxic added live slows the proxy until removed", "[control]") {
  Rig rig;
  auto t0 = SteadyClock::now();
  CHECK(status_of(rig.proxy->port()) == 200);
  CHECK(seconds_since(t0) < 1.0);
  // The first connection is gone before the toxic arrives, so only the next one counts it.
  REQUIRE(eventually([&] { return rig.proxy->counters().active == 0; }, 3s));

  auto add = rig.call(
      "POST", "/proxies/edge/toxics",
      R"({"name": "lag", "type": "latency", "stream": "downstream", "attributes": {"latency": 500}})");
  INFO(add.body);
  REQUIRE(add.status == 200);
  CHECK(add.json()["name"] == "lag");
  CHECK(add.json()["attributes"]["latency"] == 500);
  auto list = rig.call("GET", "/proxies/edge/toxics").json();
  REQUIRE(list.size() == 1);
  CHECK(list[0]["type"] == "latency");

  t0 = SteadyClock::now();
  CHECK(status_of(rig.proxy->port()) == 200);
  auto slow = seconds_since(t0);
  CHECK(slow >= 0.45);
  CHECK(slow < 5.0);
  auto counters = rig.call("GET", "/counters").json()["proxies"]["edge"];
  CHECK(counters["applied_by_toxic"]["lag"] == 1);
  CHECK(counters["connections"] == 2);

  // Updating changes one attribute and keeps the rest.
  auto upd = rig.call("POST", "/proxies/edge/toxics/lag", R"({"attributes": {"jitter": 10}})");
  REQUIRE(upd.status == 200);
  CHECK(upd.json()["attributes"]["latency"] == 500);
  CHECK(upd.json()["attributes"]["jitter"] == 10);

  CHECK(rig.call("DELETE", "/proxies/edge/toxics/lag").status == 204);
  CHECK(rig.call("GET", "/proxies/edge/toxics").json() == json::array());
  t0 = SteadyClock::now();
  CHECK(status_of(rig.proxy->port()) == 200);
  CHECK(seconds_since(t0) < 0.25);
}

TEST_CASE("control: errors name what is wrong, in the gateway's error shape", "[control]") {
  Rig rig;
  SECTION("an unknown mock is a 404 with a suggestion") {
    auto r = rig.call("GET", "/mocks/alpah", {}, {{"X-Request-Id", "drill-7"}});
    CHECK(r.status == 404);
    CHECK(has_error_shape(r, "unknown_mock"));
    CHECK_THAT(error_message(r),
               Catch::Contains("\"alpah\"") && Catch::Contains("did you mean \"alpha\""));
    CHECK(r.json()["error"]["request_id"] == "drill-7");
    CHECK(r.json()["error"]["code"] == "404");

    auto far = rig.call("POST", "/mocks/zzzzzzzz/faults", R"({"type": "hang"})");
    CHECK(far.status == 404);
    CHECK_THAT(error_message(far), Catch::Contains("alpha, bravo"));
  }
  SECTION("unknown faults, proxies, toxics and endpoints are 404s naming them") {
    auto f = rig.call("DELETE", "/mocks/alpha/faults/nothing");
    CHECK(f.status == 404);
    CHECK(has_error_shape(f, "unknown_fault"));
    CHECK_THAT(error_message(f), Catch::Contains("\"nothing\""));
    auto p = rig.call("GET", "/proxies/egde");
    CHECK(p.status == 404);
    CHECK_THAT(error_message(p), Catch::Contains("did you mean \"edge\""));
    auto t = rig.call("DELETE", "/proxies/edge/toxics/lag");
    CHECK(t.status == 404);
    CHECK(has_error_shape(t, "unknown_toxic"));
    auto e = rig.call("GET", "/nowhere");
    CHECK(e.status == 404);
    CHECK(has_error_shape(e, "unknown_endpoint"));
  }
  SECTION("bad JSON is a 400") {
    auto r = rig.call("POST", "/mocks/alpha/faults", "{\"type\": \"status\",");
    CHECK(r.status == 400);
    CHECK(has_error_shape(r, "invalid_json"));
    auto empty = rig.call("POST", "/mocks/alpha/faults");
    CHECK(empty.status == 400);
    CHECK(has_error_shape(empty, "invalid_json"));
  }
  SECTION("a bad fault field is a 400 naming the field, and changes nothing") {
    auto r = rig.call("POST", "/mocks/alpha/faults",
                      R"({"type": "status", "status": 503, "probability": 2})");
    CHECK(r.status == 400);
    CHECK(has_error_shape(r, "invalid_fault"));
    CHECK_THAT(error_message(r), Catch::StartsWith("fault.probability:"));
    auto typo = rig.call("POST", "/mocks/alpha/faults",
                         R"([{"type": "hang"}, {"type": "status", "staus": 503}])");
    CHECK(typo.status == 400);
    CHECK_THAT(error_message(typo),
               Catch::StartsWith("faults[1].staus:") && Catch::Contains("did you mean \"status\""));
    CHECK(rig.alpha.faults() == nullptr);
  }
  SECTION("a bad toxic field is a 400 naming the field") {
    auto r = rig.call("POST", "/proxies/edge/toxics",
                      R"({"type": "latency", "attributes": {"latencyy": 10}})");
    CHECK(r.status == 400);
    CHECK(has_error_shape(r, "invalid_toxic"));
    CHECK_THAT(error_message(r), Catch::StartsWith("toxic.attributes.latencyy:"));
  }
  SECTION("a wrong method is a 405 with Allow") {
    auto r = rig.call("PUT", "/mocks/alpha/faults", R"({"type": "hang"})");
    CHECK(r.status == 405);
    CHECK(has_error_shape(r, "method_not_allowed"));
    CHECK(r.header("allow") == "GET, POST, DELETE");
    CHECK(rig.call("DELETE", "/counters").status == 405);
    CHECK(rig.call("POST", "/mocks/alpha").status == 405);
  }
}

TEST_CASE("control: the registry's seed makes probabilistic faults reproduce", "[control]") {
  // Twin registries with the same seed, each over its own mock, get the same plan seeds, so the
  // same requests see the same faults.
  MockServer one("one");
  MockServer two("two");
  ControlApi a(7);
  ControlApi b(7);
  REQUIRE(a.add_mock(one));
  REQUIRE(b.add_mock(two));
  const char* fault = R"({"name": "flaky", "type": "status", "status": 503, "probability": 0.5})";
  REQUIRE(a.handle("POST", "/mocks/one/faults", fault).status == 200);
  REQUIRE(b.handle("POST", "/mocks/two/faults", fault).status == 200);
  std::string seen_one;
  std::string seen_two;
  for (int i = 0; i < 24; ++i) {
    seen_one += status_of(one.port()) == 503 ? 'x' : '.';
    seen_two += status_of(two.port()) == 503 ? 'x' : '.';
  }
  CHECK(seen_one == seen_two);
  CHECK(seen_one.find('x') != std::string::npos);
  CHECK(seen_one.find('.') != std::string::npos);
}

TEST_CASE("control: faults render as JSON the parser takes back", "[control]") {
  auto faults = sluice::chaos::faults_from_json(json::parse(R"([
    {"name": "l1", "type": "latency", "value": "250ms", "match": {"path": "/v1/*", "method": "POST"}},
    {"type": "latency", "distribution": "uniform", "min": "1ms", "max": "1.5s", "per": "chunk"},
    {"type": "latency", "distribution": "normal", "mean": "100ms", "stddev": "20ms"},
    {"type": "latency", "distribution": "lognormal", "median": "50ms", "sigma": 0.5},
    {"type": "status", "status": 429, "retry_after": 30, "retry_after_format": "http-date",
     "body": "slow down", "probability": 0.25, "every_nth": 3},
    {"type": "reset", "when": "mid_body", "after_bytes": 100},
    {"type": "reset", "match": {"header": "X-Drill: on", "body_contains": "boom"}},
    {"type": "hang", "first_n": 2},
    {"type": "bandwidth", "bytes_per_second": 1024},
    {"type": "dribble", "piece_bytes": 3, "interval": "10ms"},
    {"type": "truncated_sse", "events": 2},
    {"type": "malformed_sse", "mode": "broken_framing"},
    {"type": "malformed_json", "status": 502, "body": "{\"a\":"},
    {"type": "empty_response", "match": {"header": {"name": "X-Only"}}}
  ])"));
  REQUIRE(faults);
  for (const auto& f : *faults) {
    auto rendered = sluice::chaos::fault_to_json(f);
    INFO(rendered.dump());
    auto back = sluice::chaos::fault_from_json(rendered);
    if (!back) FAIL(back.error().message);
    CHECK(sluice::chaos::fault_to_json(*back) == rendered);
  }
  CHECK(sluice::chaos::fault_to_json((*faults)[0])["value"] == "250ms");
}

TEST_CASE("control: the server binds loopback only unless told otherwise", "[control]") {
  ControlServerOptions o;
  o.listen = "0.0.0.0:0";
  auto r = ControlServer::start(o);
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().message, Catch::Contains("not loopback"));
  o.listen = "127.0.0.1";
  CHECK_FALSE(ControlServer::start(o));
  o.listen = "127.0.0.1:0";
  auto ok = ControlServer::start(o);
  REQUIRE(ok);
  CHECK((*ok)->address() == fmt::format("127.0.0.1:{}", (*ok)->port()));
  auto index = http_get((*ok)->port(), "/");
  REQUIRE(index);
  CHECK(index->status == 200);
}

TEST_CASE("control: a mock's recorded requests are listed, limited and cleared", "[control]") {
  Rig rig;
  rig.alpha.set_label("drill");
  CHECK(status_of(rig.alpha.port(), "/health") == 200);
  CHECK(status_of(rig.alpha.port(), "/status/503?x=1") == 503);
  CHECK(status_of(rig.alpha.port(), "/echo") == 200);

  auto r = rig.call("GET", "/mocks/alpha/requests");
  REQUIRE(r.status == 200);
  auto doc = r.json();
  REQUIRE(doc["requests"].size() == 3);
  CHECK(doc["dropped"] == 0);
  const auto& second = doc["requests"][1];
  CHECK(second["seq"] == 1);
  CHECK(second["method"] == "GET");
  CHECK(second["target"] == "/status/503?x=1");
  CHECK(second["status"] == 503);
  CHECK(second["label"] == "drill");
  CHECK(second["complete"] == true);
  CHECK(second["age_ms"].get<double>() >= 0);
  CHECK(second["headers"].is_array());

  auto last = rig.call("GET", "/mocks/alpha/requests?limit=1");
  REQUIRE(last.status == 200);
  REQUIRE(last.json()["requests"].size() == 1);
  CHECK(last.json()["requests"][0]["target"] == "/echo");
  CHECK(last.json()["dropped"] == 2);

  CHECK(rig.call("DELETE", "/mocks/alpha/requests").status == 204);
  CHECK(rig.call("GET", "/mocks/alpha/requests").json()["requests"].empty());
  CHECK(rig.call("POST", "/mocks/alpha/requests", "{}").status == 405);
  CHECK(rig.call("GET", "/mocks/nope/requests").status == 404);
}
