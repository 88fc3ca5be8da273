// Configured mock routes and request recording, over loopback sockets.
#include "sluice/chaos/mock_routes.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "loopback.hpp"
#include "sluice/chaos/fault_plan.hpp"

using sluice::chaos::FaultPlan;
using sluice::chaos::MockRouteSpec;
using sluice::chaos::MockServer;
using sluice::chaos::routes_from_specs;
using sluice::test::body_of;
using sluice::test::Conn;

namespace {

std::string get(const MockServer& m, std::string_view request) {
  Conn c(m.port());
  c.send(request);
  return c.read_all();
}

std::vector<MockRouteSpec> specs() {
  MockRouteSpec health;
  health.method = "GET";
  health.path = "/health";
  health.status = 204;
  MockRouteSpec create;
  create.method = "POST";
  create.path = "/v1/*";
  create.status = 201;
  create.headers = {{"content-type", "application/json"}, {"x-mock", "yes"}};
  create.body = R"({"created":true})";
  MockRouteSpec echo;
  echo.path = "/echo*";
  echo.status = 202;
  echo.echo = true;
  return {health, create, echo};
}

}  // namespace

TEST_CASE("configured routes answer with their status, headers and body", "[chaos][mock]") {
  const std::string name = "api";
  MockServer m(name, routes_from_specs(name, specs()));

  std::string r = get(m, "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK(r.rfind("HTTP/1.1 204 ", 0) == 0);

  r = get(m,
          "POST /v1/items HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n"
          "{}");
  CHECK(r.rfind("HTTP/1.1 201 ", 0) == 0);
  CHECK(r.find("x-mock: yes\r\n") != std::string::npos);
  CHECK(body_of(r) == R"({"created":true})");

  SECTION("a method the route does not take falls through to 404") {
    r = get(m, "GET /v1/items HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    CHECK(r.rfind("HTTP/1.1 404 ", 0) == 0);
    CHECK(body_of(r).find("no mock route") != std::string::npos);
  }
  SECTION("echo describes the request as received") {
    r = get(m,
            "PUT /echo/x?a=1&b=2 HTTP/1.1\r\nHost: h\r\nX-One: 1\r\nx-one: 2\r\n"
            "Content-Length: 5\r\nConnection: close\r\n\r\nhello");
    CHECK(r.rfind("HTTP/1.1 202 ", 0) == 0);
    CHECK(r.find("Content-Type: application/json") == std::string::npos);  // as configured: none
    CHECK(r.find("content-type: application/json\r\n") != std::string::npos);
    auto j = nlohmann::json::parse(body_of(r));
    CHECK(j["mock"] == "api");
    CHECK(j["method"] == "PUT");
    CHECK(j["path"] == "/echo/x");
    CHECK(j["query"] == "a=1&b=2");
    CHECK(j["headers"]["x-one"] == "1, 2");
    CHECK(j["body"] == "hello");
    CHECK(j["body_bytes"] == 5);
  }
  SECTION("an echo of invalid UTF-8 is still JSON") {
    r = get(m,
            "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nConnection: close\r\n\r\n"
            "\xff\xfe");
    auto j = nlohmann::json::parse(body_of(r));
    CHECK(j["body_bytes"] == 2);
  }
}

TEST_CASE("no route specs means the demo routes", "[chaos][mock]") {
  MockServer m("demo", routes_from_specs("demo", {}));
  CHECK(body_of(get(m, "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")) == "ok");
}

TEST_CASE("the mock records each request: head, body, status, faults and label", "[chaos][mock]") {
  const std::string name = "rec";
  MockServer m(name, routes_from_specs(name, specs()));
  m.set_label("first");
  get(m,
      "POST /v1/a?x=1 HTTP/1.1\r\nHost: h\r\nX-Tag: t1\r\nContent-Length: 7\r\n"
      "Connection: close\r\n\r\npayload");
  m.set_label("second");
  auto plan = sluice::chaos::faults_from_json(nlohmann::json::parse(
      R"([{"name": "boom", "type": "status", "status": 503, "match": {"path": "/health"}}])"));
  REQUIRE(plan);
  m.set_faults(std::make_shared<FaultPlan>(std::move(*plan)));
  get(m, "GET /health HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
  m.set_faults(nullptr);
  get(m, "GET /nowhere HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");

  auto recs = m.recorded();
  REQUIRE(recs.size() == 3);
  CHECK(recs[0].seq == 0);
  CHECK(recs[0].label == "first");
  CHECK(recs[0].request.method == "POST");
  CHECK(recs[0].request.target == "/v1/a?x=1");
  CHECK(recs[0].request.header("x-tag") == "t1");
  CHECK(recs[0].body == "payload");
  CHECK(recs[0].body_bytes == 7);
  CHECK(recs[0].status == 201);
  CHECK(recs[0].complete);
  CHECK(recs[0].faults.empty());
  CHECK(recs[1].label == "second");
  CHECK(recs[1].status == 503);
  CHECK(recs[1].faults == std::vector<std::string>{"boom"});
  CHECK(recs[2].status == 404);
  CHECK(recs[0].received <= recs[1].received);

  auto counts = m.label_counts();
  CHECK(counts["first"] == 1);
  CHECK(counts["second"] == 2);

  m.clear_recorded();
  CHECK(m.recorded().empty());
  CHECK(m.recorded_dropped() == 3);
  CHECK(m.requests() == 3);  // counts survive
}

TEST_CASE("a reset records no status, and the recorded body is capped", "[chaos][mock]") {
  const std::string name = "cap";
  MockServer m(name, routes_from_specs(name, specs()));
  auto plan = sluice::chaos::faults_from_json(
      nlohmann::json::parse(R"([{"type": "reset", "match": {"path": "/health"}}])"));
  REQUIRE(plan);
  m.set_faults(std::make_shared<FaultPlan>(std::move(*plan)));
  get(m, "GET /health HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
  m.set_faults(nullptr);

  std::string big(sluice::chaos::kMaxRecordedBody + 1000, 'x');
  get(m, fmt::format("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: {}\r\nConnection: "
                     "close\r\n\r\n{}",
                     big.size(), big));
  // The reset reaches the client before the mock files its record: wait for it (bounded).
  auto recs = m.recorded();
  for (int i = 0; i < 500 && !(recs.size() == 2 && recs[0].complete); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    recs = m.recorded();
  }
  REQUIRE(recs.size() == 2);
  CHECK(recs[0].complete);
  CHECK(recs[0].status == 0);
  CHECK(recs[0].faults.size() == 1);
  CHECK(recs[1].body.size() == sluice::chaos::kMaxRecordedBody);
  CHECK(recs[1].body_bytes == big.size());
}
