// HTTP faults of the mock upstream, observed from a raw client directly against a MockServer.
// Probabilities are 0 or 1 and every wait is bounded; timings are lower bounds with wide margins.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common.hpp"
#include "sluice/chaos/fault_plan.hpp"
#include "sluice/chaos/mock_server.hpp"

using namespace sluice::test;
using namespace std::chrono_literals;
using sluice::chaos::FaultPlan;
using sluice::chaos::MockExchange;
using sluice::chaos::MockRoute;
using sluice::chaos::MockServer;

namespace {

using Clock = std::chrono::steady_clock;

// A plan from a JSON array of faults (the form the control API and scenario files will use).
std::shared_ptr<const FaultPlan> plan_of(std::string_view json_text, std::uint64_t seed = 1) {
  auto faults = sluice::chaos::faults_from_json(nlohmann::json::parse(json_text));
  INFO(json_text);
  if (!faults) FAIL(faults.error().message);
  return std::make_shared<const FaultPlan>(std::move(*faults), seed);
}

// The demo routes plus /events (5 SSE events at once) and /chunks (3 writes).
std::vector<MockRoute> test_routes() {
  std::vector<MockRoute> routes;
  routes.push_back({"GET", "/events", [](MockExchange& ex) {
                      if (!ex.begin(200, {{"content-type", "text/event-stream"}})) return;
                      for (int i = 1; i <= 5; ++i) {
                        if (!ex.write(fmt::format("data: event {}\n\n", i))) return;
                      }
                      ex.end();
                    }});
  routes.push_back({"GET", "/chunks", [](MockExchange& ex) {
                      if (!ex.begin(200, {{"content-type", "text/plain"}})) return;
                      for (int i = 0; i < 3; ++i) {
                        if (!ex.write("chunk\n")) return;
                      }
                      ex.end();
                    }});
  for (auto& r : sluice::chaos::demo_routes("faulty")) routes.push_back(std::move(r));
  return routes;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

TEST_CASE("faults: 429, 503 and 529 carry Retry-After", "[faults]") {
  MockServer mock("faulty", test_routes());
  mock.set_faults(plan_of(R"([
    {"name": "busy", "type": "status", "status": 429, "retry_after": 7, "match": {"path": "/a"}},
    {"type": "status", "status": 503, "retry_after": "30s", "retry_after_format": "http-date",
     "match": {"path": "/b"}},
    {"type": "status", "status": 529, "retry_after": 1, "body": "overloaded",
     "match": {"path": "/c"}}
  ])"));
  Connection c(mock.port());
  auto r = c.request(make_request("GET", "/a"));
  INFO(c.error());
  REQUIRE(r);
  CHECK(r->status == 429);
  CHECK(r->header("retry-after") == "7");
  CHECK(r->header("x-mock-fault") == "busy");
  CHECK(r->json()["error"]["type"] == "mock_fault");

  // The connection stays usable after an injected status.
  r = c.request(make_request("GET", "/b"));
  REQUIRE(r);
  CHECK(r->status == 503);
  std::string date = r->header("retry-after");
  INFO(date);
  CHECK(date.size() == 29);  // "Sun, 06 Nov 1994 08:49:37 GMT"
  CHECK(date.substr(date.size() - 4) == " GMT");

  r = c.request(make_request("GET", "/c"));
  REQUIRE(r);
  CHECK(r->status == 529);
  CHECK(r->header("retry-after") == "1");
  CHECK(r->body == "overloaded");

  // Unmatched paths reach the routes.
  r = c.request(make_request("GET", "/health"));
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body == "ok");

  auto counters = mock.counters();
  CHECK(counters.requests == 4);
  CHECK(counters.fired("busy") == 1);
  CHECK(counters.faults[1].fired == 1);
  CHECK(counters.faults[2].fired == 1);
}

TEST_CASE("faults: an error status at probability 1 always fires, at 0 never", "[faults]") {
  MockServer mock("faulty", test_routes());
  mock.set_faults(plan_of(R"([
    {"type": "status", "status": 500, "probability": 0, "match": {"path": "/health"}},
    {"type": "status", "status": 502, "probability": 1, "match": {"path": "/echo*"}}
  ])"));
  Connection c(mock.port());
  for (int i = 0; i < 5; ++i) {
    auto ok = c.request(make_request("GET", "/health"));
    REQUIRE(ok);
    CHECK(ok->status == 200);
    auto bad = c.request(make_request("GET", "/echo/x"));
    REQUIRE(bad);
    CHECK(bad->status == 502);
  }
  CHECK(mock.counters().faults[0].matched == 5);
  CHECK(mock.counters().faults[0].fired == 0);
  CHECK(mock.counters().faults[1].fired == 5);
}

TEST_CASE("faults: a reset before the response sends no byte", "[faults]") {
  MockServer mock("faulty", test_routes());
  mock.set_faults(plan_of(R"([{"type": "reset"}])"));
  Connection c(mock.port(), 5s);
  REQUIRE(c.send(make_request("GET", "/health")));
  std::string data;
  CHECK(c.wait_closed(5s, &data));
  CHECK(data.empty());

  Connection c2(mock.port(), 5s);
  auto r = c2.request(make_request("GET", "/health"));
  CHECK_FALSE(r);
  INFO(c2.error());
  CHECK((c2.error().find("reset") != std::string::npos ||
         c2.error().find("closed") != std::string::npos));
  CHECK(mock.counters().faults[0].fired == 2);
}

TEST_CASE("faults: a reset mid-body delivers fewer bytes than Content-Length", "[faults]") {
  MockServer mock("faulty", test_routes());
  mock.set_faults(plan_of(R"([{"type": "reset", "when": "mid_body", "after_bytes": 1000}])"));
  Connection c(mock.port(), 5s);
  std::uint64_t got = 0;
  auto r = c.request(make_request("GET", "/bytes/100000"), false,
                     [&](std::string_view piece) { got += piece.size(); });
  CHECK_FALSE(r);  // the connection ends before the body does
  INFO(c.error());
  CHECK(got <= 1000);
  CHECK(mock.counters().faults[0].fired == 1);
}

TEST_CASE("faults: a reset mid-body cuts a body shorter than the limit at its end", "[faults]") {
  MockServer mock("faulty", test_routes());
  mock.set_faults(plan_of(R"([{"type": "reset", "when": "mid_body", "after_bytes": 1000000}])"));
  Connection c(mock.port(), 5s);
  std::uint64_t got = 0;
  auto r = c.request(make_request("GET", "/chunks"), false,
                     [&](std::string_view piece) { got += piece.size(); });
  CHECK_FALSE(r);  // no terminating chunk
  CHECK(got <= 18);
}

TEST_CASE("faults: a hang answers nothing until the client gives up", "[faults]") {
  MockServer mock("faulty", test_routes());
  mock.set_faults(plan_of(R"([{"type": "hang", "match": {"path": "/slow"}}])"));
  {
    Connection c(mock.port(), 500ms);
    auto start = Clock::now();
    auto r = c.request(make_request("GET", "/slow"));
    CHECK_FALSE(r);
    CHECK(c.error() == "timed out");
    CHECK(seconds_since(start) >= 0.4);
  }  // the test closes the connection
  // Other requests are unaffected.
  auto ok = http_get(mock.port(), "/health");
  REQUIRE(ok);
  CHECK(ok->status == 200);
  CHECK(mock.counters().faults[0].fired == 1);
}

TEST_CASE("faults: stop() ends a hanging exchange promptly", "[faults]") {
  auto mock = std::make_unique<MockServer>("faulty", test_routes());
  mock->set_faults(plan_of(R"([{"type": "hang"}])"));
  Connection c(mock->port(), 5s);
  REQUIRE(c.send(make_request("GET", "/x")));
  REQUIRE(eventually([&] { return mock->counters().faults[0].fired == 1; }, 5s));
  auto start = Clock::now();
  mock->stop();
  CHECK(seconds_since(start) < 2.0);
  CHECK(c.wait_closed(5s));
}

TEST_CASE("faults: fixed latency per response delays the head", "[faults]") {
  MockServer mock("faulty", test_routes());
  mock.set_faults(
      plan_of(R"([{"type": "latency", "value": "200ms", "match": {"path": "/health"}}])"));
  Connection c(mock.port());
  auto start = Clock::now();
  auto r = c.request(make_request("GET", "/health"));
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body == "ok");
  CHECK(seconds_since(start) >= 0.15);
}

TEST_CASE("faults: latency delays an injected status too", "[faults]") {
  MockServer mock("faulty", test_routes());
  mock.set_faults(plan_of(R"([
    {"type": "latency", "distribution": "uniform", "min": "200ms", "max": "250ms"},
    {"type": "status", "status": 503}
  ])"));
  auto start = Clock::now();
  auto r = http_get(mock.port(), "/x");
  REQUIRE(r);
  CHECK(r->status == 503);
  CHECK(seconds_since(start) >= 0.15);
}

TEST_CASE("faults: latency per chunk delays every body write", "[faults]") {
  MockServer mock("faulty", test_routes());
  mock.set_faults(plan_of(R"([{"type": "latency", "value": "100ms", "per": "chunk"}])"));
  Connection c(mock.port());
  auto start = Clock::now();
  auto r = c.request(make_request("GET", "/chunks"));
  INFO(c.error());
  REQUIRE(r);
  CHECK(r->body == "chunk\nchunk\nchunk\n");
  CHECK(seconds_since(start) >= 0.25);  // three writes of 100ms each
}

TEST_CASE("faults: a bandwidth limit paces the body", "[faults]") {
  MockServer mock("faulty", test_routes());
  mock.set_faults(plan_of(R"([{"type": "bandwidth", "bytes_per_second": "256KiB"}])"));
  std::string error;
  auto start = Clock::now();
  auto r = download(mock.port(), "/bytes/65536", &error, 10s);
  INFO(error);
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body_bytes == 65536);
  CHECK(seconds_since(start) >= 0.2);  // 64 KiB at 256 KiB/s is 0.25s
}

TEST_CASE("faults: a bandwidth limit applies to a whole response too", "[faults]") {
  MockServer mock("faulty", {{"GET", "/big",
                              [](MockExchange& ex) { ex.respond(200, std::string(20000, 'x')); }}});
  mock.set_faults(plan_of(R"([{"type": "bandwidth", "bytes_per_second": 100000}])"));
  auto start = Clock::now();
  auto r = http_get(mock.port(), "/big");
  REQUIRE(r);
  CHECK(r->header("content-length") == "20000");
  CHECK(r->body == std::string(20000, 'x'));
  CHECK(seconds_since(start) >= 0.15);  // 0.2s
}

TEST_CASE("faults: a dribbled body arrives whole, piece by piece", "[faults]") {
  MockServer mock("faulty", test_routes());
  mock.set_faults(plan_of(R"([{"type": "dribble", "piece_bytes": 6, "interval": "50ms"}])"));
  Connection c(mock.port());
  auto start = Clock::now();
  auto r = c.request(make_request("GET", "/chunks"));
  INFO(c.error());
  REQUIRE(r);
  CHECK(r->body == "chunk\nchunk\nchunk\n");
  CHECK(seconds_since(start) >= 0.08);  // two intervals after the first piece: 0.1s
}

TEST_CASE("faults: a truncated SSE stream stops after N events without a last chunk", "[faults]") {
  MockServer mock("faulty", test_routes());
  mock.set_faults(plan_of(R"([{"type": "truncated_sse", "events": 2}])"));
  Connection c(mock.port(), 5s);
  REQUIRE(c.send(make_request("GET", "/events")));
  auto head = c.read_head();
  INFO(c.error());
  REQUIRE(head);
  CHECK(head->status == 200);
  CHECK(head->chunked);
  std::string data;
  REQUIRE(c.wait_closed(5s, &data));  // a close, not a hang
  INFO(data);
  CHECK(data.find("data: event 1\n\n") != std::string::npos);
  CHECK(data.find("data: event 2\n\n") != std::string::npos);
  CHECK(data.find("event 3") == std::string::npos);
  CHECK(data.find("0\r\n\r\n") == std::string::npos);
}

TEST_CASE("faults: malformed SSE loses its data fields or its framing", "[faults]") {
  MockServer mock("faulty", test_routes());
  SECTION("missing data") {
    mock.set_faults(plan_of(R"([{"type": "malformed_sse", "mode": "missing_data"}])"));
    auto r = http_get(mock.port(), "/events");
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body.find("event 5") != std::string::npos);  // the stream completes
    CHECK(r->body.find("data:") == std::string::npos);
  }
  SECTION("broken framing") {
    mock.set_faults(plan_of(R"([{"type": "malformed_sse", "mode": "broken_framing"}])"));
    auto r = http_get(mock.port(), "/events");
    REQUIRE(r);
    CHECK(r->body.find("data: event 5") != std::string::npos);
    CHECK(r->body.find("\n\n") == std::string::npos);  // no event ever ends
  }
}

TEST_CASE("faults: a malformed JSON body does not parse", "[faults]") {
  MockServer mock("faulty", test_routes());
  mock.set_faults(plan_of(R"([{"type": "malformed_json", "match": {"method": "POST"}}])"));
  Connection c(mock.port());
  auto r = c.request(make_request("POST", "/echo", {}, R"({"model":"m"})"));
  INFO(c.error());
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->header("content-type") == "application/json");
  CHECK_FALSE(nlohmann::json::accept(r->body));
  CHECK(r->body.front() == '{');
  // GET still reaches the echo route, whose JSON is valid.
  r = c.request(make_request("GET", "/echo"));
  REQUIRE(r);
  CHECK(nlohmann::json::accept(r->body));
}

TEST_CASE("faults: an empty response closes without a byte", "[faults]") {
  MockServer mock("faulty", test_routes());
  mock.set_faults(plan_of(R"([{"type": "empty_response"}])"));
  Connection c(mock.port(), 5s);
  REQUIRE(c.send(make_request("POST", "/echo", {}, "some body")));
  std::string data;
  CHECK(c.wait_closed(5s, &data));
  CHECK(data.empty());
  Connection c2(mock.port(), 5s);
  CHECK_FALSE(c2.request(make_request("GET", "/health")));
  CHECK(c2.error() == "connection closed by peer");
}

TEST_CASE("faults: fail the first N requests, then recover", "[faults]") {
  MockServer mock("faulty", test_routes());
  mock.set_faults(plan_of(R"([{"type": "status", "status": 503, "first_n": 3}])"));
  Connection c(mock.port());
  std::vector<int> statuses;
  for (int i = 0; i < 6; ++i) {
    auto r = c.request(make_request("GET", "/health"));
    REQUIRE(r);
    statuses.push_back(r->status);
  }
  CHECK(statuses == std::vector<int>{503, 503, 503, 200, 200, 200});
}

TEST_CASE("faults: fail every Nth request", "[faults]") {
  MockServer mock("faulty", test_routes());
  mock.set_faults(plan_of(R"([{"type": "status", "status": 500, "every_nth": 2}])"));
  Connection c(mock.port());
  std::vector<int> statuses;
  for (int i = 0; i < 6; ++i) {
    auto r = c.request(make_request("GET", "/health"));
    REQUIRE(r);
    statuses.push_back(r->status);
  }
  CHECK(statuses == std::vector<int>{200, 500, 200, 500, 200, 500});
}

TEST_CASE("faults: header and body matchers pick requests, and the route still gets the body",
          "[faults]") {
  MockServer mock("faulty", test_routes());
  mock.set_faults(plan_of(R"([
    {"type": "status", "status": 418, "match": {"header": "X-Chaos: on"}},
    {"type": "status", "status": 500, "match": {"body_contains": "boom"}}
  ])"));
  Connection c(mock.port());
  auto r = c.request(make_request("POST", "/echo", {{"X-Chaos", "on"}}, "hello"));
  REQUIRE(r);
  CHECK(r->status == 418);
  r = c.request(make_request("POST", "/echo", {}, "a boom here"));
  REQUIRE(r);
  CHECK(r->status == 500);
  r = c.request(make_request("POST", "/echo", {{"X-Chaos", "off"}}, "quiet"));
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->json()["body_bytes"] == 5);  // the body read for matching is replayed to the route
}

TEST_CASE("faults: a plan swapped at run time applies to the next request", "[faults]") {
  MockServer mock("faulty", test_routes());
  CHECK(mock.counters().faults.empty());
  Connection c(mock.port());
  auto r = c.request(make_request("GET", "/health"));
  REQUIRE(r);
  CHECK(r->status == 200);
  mock.set_faults(plan_of(R"([{"type": "status", "status": 503}])"));
  r = c.request(make_request("GET", "/health"));
  REQUIRE(r);
  CHECK(r->status == 503);
  CHECK(mock.counters().requests == 2);
  mock.set_faults(nullptr);
  r = c.request(make_request("GET", "/health"));
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(mock.faults() == nullptr);
}
