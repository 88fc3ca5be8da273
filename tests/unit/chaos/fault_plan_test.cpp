// FaultPlan decisions (matching, probabilities, first-N, every-Nth) and faults parsed from JSON.
#include "sluice/chaos/fault_plan.hpp"

#include <chrono>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "sluice/chaos/mock_server.hpp"

using namespace std::chrono_literals;
using sluice::chaos::Fault;
using sluice::chaos::FaultPlan;
using sluice::chaos::MockRequest;
namespace chaos = sluice::chaos;

namespace {

MockRequest req(std::string method, std::string target,
                std::vector<std::pair<std::string, std::string>> headers = {}) {
  MockRequest r;
  r.method = std::move(method);
  r.target = std::move(target);
  r.headers = std::move(headers);
  return r;
}

Fault status_fault(int status) {
  Fault f;
  f.action = chaos::StatusFault{status, std::nullopt, std::nullopt};
  return f;
}

// How many of n identical requests the plan's only fault fires for.
std::uint64_t fired_over(FaultPlan& plan, int n) {
  MockRequest r = req("GET", "/x");
  std::uint64_t fired = 0;
  for (int i = 0; i < n; ++i) fired += plan.decide(r, {}).fired.size();
  return fired;
}

std::string error_of(const nlohmann::json& j) {
  auto r = chaos::fault_from_json(j);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == sluice::ErrorKind::config);
  return r.error().message;
}

}  // namespace

TEST_CASE("fault matcher checks path, method, header and body", "[chaos][faults]") {
  chaos::FaultMatch m;
  CHECK(m.matches(req("GET", "/anything"), {}));  // empty matches everything

  m.path = "/v1/chat";
  CHECK(m.matches(req("GET", "/v1/chat"), {}));
  CHECK(m.matches(req("GET", "/v1/chat?stream=true"), {}));  // the query is not part of the path
  CHECK_FALSE(m.matches(req("GET", "/v1/chat/x"), {}));
  CHECK_FALSE(m.matches(req("GET", "/v1/cha"), {}));

  m.path = "/v1/*";
  CHECK(m.matches(req("GET", "/v1/"), {}));
  CHECK(m.matches(req("GET", "/v1/models/a"), {}));
  CHECK_FALSE(m.matches(req("GET", "/v2/models"), {}));

  m.method = "POST";
  CHECK(m.matches(req("POST", "/v1/x"), {}));
  CHECK_FALSE(m.matches(req("GET", "/v1/x"), {}));

  m.header_name = "X-Tenant";
  CHECK_FALSE(m.matches(req("POST", "/v1/x"), {}));
  CHECK(m.matches(req("POST", "/v1/x", {{"x-tenant", "anything"}}), {}));  // presence only
  m.header_value = "blue";
  CHECK(m.matches(req("POST", "/v1/x", {{"X-TENANT", "blue"}}), {}));
  CHECK_FALSE(m.matches(req("POST", "/v1/x", {{"X-Tenant", "green"}}), {}));

  m.body_contains = "\"stream\":true";
  CHECK(m.needs_body());
  CHECK(m.matches(req("POST", "/v1/x", {{"X-Tenant", "blue"}}), R"({"model":"m","stream":true})"));
  CHECK_FALSE(m.matches(req("POST", "/v1/x", {{"X-Tenant", "blue"}}), R"({"model":"m"})"));
}

TEST_CASE("a plan evaluates rules in order and the first ending rule stops it", "[chaos][faults]") {
  std::vector<Fault> faults;
  Fault slow;
  slow.name = "slow";
  slow.action = chaos::LatencyFault{chaos::LatencyDistribution::fixed(30ms), {}};
  faults.push_back(slow);
  Fault only_post = status_fault(500);
  only_post.name = "post-500";
  only_post.match.method = "POST";
  faults.push_back(only_post);
  Fault unavailable = status_fault(503);
  unavailable.name = "all-503";
  faults.push_back(unavailable);
  Fault never = status_fault(502);
  never.name = "shadowed";
  faults.push_back(never);
  FaultPlan plan(std::move(faults), 1);

  auto d = plan.decide(req("GET", "/"), {});
  REQUIRE(d.fired.size() == 2);
  CHECK(d.fired[0]->name == "slow");
  CHECK(d.fired[1]->name == "all-503");
  CHECK(d.response_latency == 30ms);

  d = plan.decide(req("POST", "/"), {});
  REQUIRE(d.fired.size() == 2);
  CHECK(d.fired[1]->name == "post-500");

  auto c = plan.counters();
  REQUIRE(c.faults.size() == 4);
  CHECK(c.faults[0].matched == 2);
  CHECK(c.faults[0].fired == 2);
  CHECK(c.faults[1].matched == 1);
  CHECK(c.faults[2].fired == 1);
  CHECK(c.faults[3].matched == 0);  // never evaluated: an earlier rule ended every exchange
  CHECK(c.fired("all-503") == 1);
  CHECK(c.faults[2].action == "status");
  auto j = c.to_json();
  CHECK(j["faults"][1]["name"] == "post-500");
  CHECK(j["faults"][1]["fired"] == 1);
}

TEST_CASE("unnamed faults are named after their action and position", "[chaos][faults]") {
  std::vector<Fault> faults{status_fault(500), Fault{}};
  faults[1].action = chaos::HangFault{};
  FaultPlan plan(std::move(faults));
  CHECK(plan.faults()[0].name == "status#1");
  CHECK(plan.faults()[1].name == "hang#2");
}

TEST_CASE("fault probability 0.3 fires about 30 percent of the time", "[chaos][faults]") {
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    Fault f = status_fault(503);
    f.probability = 0.3;
    FaultPlan plan({f}, seed);
    std::uint64_t fired = fired_over(plan, 10000);
    // sd = sqrt(10000 * 0.3 * 0.7) ~ 46; 200 is over 4 sd (the seeds are fixed, so this is
    // deterministic; seed 1 draws 3163).
    CHECK(fired > 2800);
    CHECK(fired < 3200);
    CHECK(plan.counters().faults[0].fired == fired);
    CHECK(plan.counters().faults[0].matched == 10000);
  }
}

TEST_CASE("fault probabilities 0 and 1 are exact", "[chaos][faults]") {
  Fault never = status_fault(503);
  never.probability = 0;
  FaultPlan p0({never}, 5);
  CHECK(fired_over(p0, 1000) == 0);
  Fault always = status_fault(503);
  FaultPlan p1({always}, 5);
  CHECK(fired_over(p1, 1000) == 1000);
}

TEST_CASE("the same seed reproduces the same fault decisions", "[chaos][faults]") {
  auto run = [](std::uint64_t seed) {
    Fault f = status_fault(500);
    f.probability = 0.5;
    Fault l;
    l.action = chaos::LatencyFault{chaos::LatencyDistribution::normal(100ms, 20ms), {}};
    l.probability = 0.5;
    FaultPlan plan({l, f}, seed);
    std::vector<std::pair<std::size_t, std::int64_t>> seq;
    for (int i = 0; i < 200; ++i) {
      auto d = plan.decide(req("GET", "/"), {});
      seq.emplace_back(d.fired.size(), d.response_latency.count());
    }
    return seq;
  };
  CHECK(run(77) == run(77));
  CHECK(run(77) != run(78));
}

TEST_CASE("fail the first N requests", "[chaos][faults]") {
  Fault f = status_fault(503);
  f.first_n = 3;
  f.match.path = "/api*";
  FaultPlan plan({f});
  std::vector<bool> got;
  for (int i = 0; i < 6; ++i) {
    // Requests the matcher skips do not count towards N.
    CHECK(plan.decide(req("GET", "/health"), {}).empty());
    got.push_back(!plan.decide(req("GET", "/api/x"), {}).empty());
  }
  CHECK(got == std::vector<bool>{true, true, true, false, false, false});
  CHECK(plan.counters().faults[0].fired == 3);
  CHECK(plan.counters().faults[0].matched == 6);
}

TEST_CASE("fail every Nth request", "[chaos][faults]") {
  Fault f = status_fault(500);
  f.every_nth = 3;
  FaultPlan plan({f});
  std::vector<bool> got;
  for (int i = 0; i < 9; ++i) got.push_back(!plan.decide(req("GET", "/"), {}).empty());
  CHECK(got == std::vector<bool>{false, false, true, false, false, true, false, false, true});
}

TEST_CASE("first N combines with a probability", "[chaos][faults]") {
  Fault f = status_fault(500);
  f.first_n = 1000;
  f.probability = 0.5;
  FaultPlan plan({f}, 9);
  std::uint64_t fired = fired_over(plan, 2000);
  CHECK(fired > 430);  // about 500 of the first 1000, none after
  CHECK(fired < 570);
}

TEST_CASE("Retry-After is written as seconds or as an HTTP-date", "[chaos][faults]") {
  using std::chrono::system_clock;
  // 1994-11-06 08:49:37 UTC
  system_clock::time_point t{std::chrono::seconds(784111777)};
  CHECK(chaos::format_http_date(t) == "Sun, 06 Nov 1994 08:49:37 GMT");
  chaos::RetryAfter secs{chaos::RetryAfter::Form::seconds, 7s};
  CHECK(chaos::retry_after_value(secs, t) == "7");
  chaos::RetryAfter date{chaos::RetryAfter::Form::http_date, 60s};
  CHECK(chaos::retry_after_value(date, t) == "Sun, 06 Nov 1994 08:50:37 GMT");
}

TEST_CASE("fault_from_json reads every fault type", "[chaos][faults]") {
  using nlohmann::json;
  auto ok = [](const json& j) {
    auto r = chaos::fault_from_json(j);
    INFO(j.dump() << " -> " << (r.ok() ? std::string("ok") : r.error().message));
    REQUIRE(r.ok());
    return std::move(r).value();
  };

  Fault f = ok({{"type", "status"},
                {"name", "busy"},
                {"status", 429},
                {"retry_after", 5},
                {"probability", 0.25},
                {"match", {{"path", "/v1/*"}, {"method", "POST"}, {"header", "X-Tenant: blue"}}}});
  CHECK(f.name == "busy");
  CHECK(f.probability == 0.25);
  CHECK(f.match.path == "/v1/*");
  CHECK(f.match.method == "POST");
  CHECK(f.match.header_name == "X-Tenant");
  CHECK(f.match.header_value == "blue");
  const auto& s = std::get<chaos::StatusFault>(f.action);
  CHECK(s.status == 429);
  REQUIRE(s.retry_after);
  CHECK(s.retry_after->delay == 5s);
  CHECK(s.retry_after->form == chaos::RetryAfter::Form::seconds);

  f = ok({{"type", "status"},
          {"status", 529},
          {"retry_after", "2m"},
          {"retry_after_format", "http-date"}});
  CHECK(std::get<chaos::StatusFault>(f.action).retry_after->delay == 120s);
  CHECK(std::get<chaos::StatusFault>(f.action).retry_after->form ==
        chaos::RetryAfter::Form::http_date);

  f = ok({{"type", "latency"},
          {"distribution", "lognormal"},
          {"median", "100ms"},
          {"sigma", 0.4},
          {"per", "chunk"}});
  const auto& l = std::get<chaos::LatencyFault>(f.action);
  CHECK(l.scope == chaos::LatencyScope::chunk);
  CHECK(l.distribution.kind == chaos::LatencyDistribution::Kind::lognormal);
  CHECK(l.distribution.a == 100ms);
  CHECK(l.distribution.sigma == 0.4);

  f = ok({{"type", "latency"}, {"value", "200ms"}});
  CHECK(std::get<chaos::LatencyFault>(f.action).distribution.a == 200ms);
  f = ok({{"type", "latency"}, {"distribution", "uniform"}, {"min", "10ms"}, {"max", "20ms"}});
  CHECK(std::get<chaos::LatencyFault>(f.action).distribution.b == 20ms);
  f = ok({{"type", "latency"}, {"distribution", "normal"}, {"mean", "1s"}, {"stddev", "50ms"}});
  CHECK(std::get<chaos::LatencyFault>(f.action).distribution.b == 50ms);

  f = ok({{"type", "reset"}, {"when", "mid_body"}, {"after_bytes", "1KiB"}});
  CHECK(std::get<chaos::ResetFault>(f.action).after_bytes == 1024);
  CHECK(std::get<chaos::ResetFault>(f.action).when == chaos::ResetFault::When::mid_body);
  f = ok({{"type", "reset"}});
  CHECK(std::get<chaos::ResetFault>(f.action).when == chaos::ResetFault::When::before_response);
  f = ok({{"type", "hang"}, {"first_n", 2}});
  CHECK(f.first_n == 2);
  f = ok({{"type", "bandwidth"}, {"bytes_per_second", "256KiB"}});
  CHECK(std::get<chaos::BandwidthFault>(f.action).bytes_per_second == 256 * 1024);
  f = ok({{"type", "dribble"}, {"piece_bytes", 10}, {"interval", "50ms"}});
  CHECK(std::get<chaos::DribbleFault>(f.action).interval == 50ms);
  f = ok({{"type", "truncated_sse"}, {"events", 3}, {"every_nth", 2}});
  CHECK(std::get<chaos::TruncatedSseFault>(f.action).events == 3);
  CHECK(f.every_nth == 2);
  f = ok({{"type", "malformed_sse"}, {"mode", "broken_framing"}});
  CHECK(std::get<chaos::MalformedSseFault>(f.action).mode ==
        chaos::MalformedSseFault::Mode::broken_framing);
  f = ok({{"type", "malformed_json"}});
  CHECK(std::get<chaos::MalformedJsonFault>(f.action).status == 200);
  f = ok({{"type", "empty_response"},
          {"match", {{"body_contains", "boom"}, {"header", {{"name", "X-A"}}}}}});
  CHECK(f.match.body_contains == "boom");
  CHECK(f.match.header_name == "X-A");
  CHECK(f.match.header_value.empty());
}

TEST_CASE("fault_from_json names the bad field", "[chaos][faults]") {
  using Catch::Matchers::Contains;
  using Catch::Matchers::StartsWith;
  using nlohmann::json;
  CHECK_THAT(error_of(json::array()), StartsWith("fault: expected an object"));
  CHECK_THAT(error_of(json::object()), StartsWith("fault.type: missing"));
  CHECK_THAT(error_of({{"type", "explode"}}),
             StartsWith("fault.type: unknown fault type \"explode\""));
  CHECK_THAT(error_of({{"type", "status"}}), StartsWith("fault.status: missing"));
  CHECK_THAT(error_of({{"type", "status"}, {"status", 700}}),
             StartsWith("fault.status: expected an HTTP status"));
  CHECK_THAT(error_of({{"type", "status"}, {"status", "503"}}), StartsWith("fault.status:"));
  CHECK_THAT(error_of({{"type", "status"}, {"status", 503}, {"probability", 1.5}}),
             StartsWith("fault.probability: expected a number from 0 to 1"));
  CHECK_THAT(error_of({{"type", "status"}, {"status", 503}, {"retry_after", "soon"}}),
             StartsWith("fault.retry_after:"));
  CHECK_THAT(
      error_of(
          {{"type", "status"}, {"status", 503}, {"retry_after", 1}, {"retry_after_format", "rfc"}}),
      StartsWith("fault.retry_after_format:"));
  CHECK_THAT(error_of({{"type", "status"}, {"status", 503}, {"probabilty", 0.5}}),
             StartsWith("fault.probabilty: unknown key for a status fault") &&
                 Contains("did you mean \"probability\""));
  CHECK_THAT(error_of({{"type", "latency"}, {"distribution", "normal"}, {"mean", "1s"}}),
             StartsWith("fault.stddev: missing"));
  CHECK_THAT(error_of({{"type", "latency"}, {"value", 200}}),
             StartsWith("fault.value: expected a duration such as \"250ms\""));
  CHECK_THAT(error_of({{"type", "latency"}, {"value", "200 parsecs"}}), StartsWith("fault.value:"));
  CHECK_THAT(error_of({{"type", "latency"}, {"distribution", "pareto"}, {"value", "1s"}}),
             StartsWith("fault.distribution: expected fixed, uniform, normal or lognormal"));
  CHECK_THAT(
      error_of({{"type", "latency"}, {"distribution", "uniform"}, {"min", "2s"}, {"max", "1s"}}),
      StartsWith("fault.max: is smaller than min"));
  CHECK_THAT(error_of({{"type", "latency"}, {"value", "1s"}, {"per", "byte"}}),
             StartsWith("fault.per:"));
  CHECK_THAT(error_of({{"type", "reset"}, {"when", "later"}}), StartsWith("fault.when:"));
  CHECK_THAT(error_of({{"type", "reset"}, {"after_bytes", 10}}), StartsWith("fault.after_bytes:"));
  CHECK_THAT(error_of({{"type", "bandwidth"}, {"bytes_per_second", 0}}),
             StartsWith("fault.bytes_per_second: must be greater than 0"));
  CHECK_THAT(error_of({{"type", "dribble"}, {"piece_bytes", 4}}),
             StartsWith("fault.interval: missing"));
  CHECK_THAT(error_of({{"type", "truncated_sse"}, {"events", -1}}),
             StartsWith("fault.events: expected a non-negative integer"));
  CHECK_THAT(error_of({{"type", "malformed_sse"}, {"mode", "chaotic"}}), StartsWith("fault.mode:"));
  CHECK_THAT(error_of({{"type", "hang"}, {"first_n", "two"}}), StartsWith("fault.first_n:"));
  CHECK_THAT(error_of({{"type", "hang"}, {"match", "/x"}}),
             StartsWith("fault.match: expected an object"));
  CHECK_THAT(error_of({{"type", "hang"}, {"match", {{"path", "x"}}}}),
             StartsWith("fault.match.path: expected a path starting with '/'"));
  CHECK_THAT(error_of({{"type", "hang"}, {"match", {{"method", "get"}}}}),
             StartsWith("fault.match.method:"));
  CHECK_THAT(error_of({{"type", "hang"}, {"match", {{"paht", "/x"}}}}),
             StartsWith("fault.match.paht: unknown key") && Contains("did you mean \"path\""));
  CHECK_THAT(error_of({{"type", "hang"}, {"match", {{"header", 5}}}}),
             StartsWith("fault.match.header:"));
}

TEST_CASE("faults_from_json prefixes errors with the element's index", "[chaos][faults]") {
  using nlohmann::json;
  auto ok = chaos::faults_from_json(json::parse(R"([{"type":"hang"},{"type":"empty_response"}])"));
  REQUIRE(ok.ok());
  CHECK(ok->size() == 2);
  auto bad = chaos::faults_from_json(json::parse(R"([{"type":"hang"},{"type":"status"}])"));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.rfind("faults[1].status: missing", 0) == 0);
  auto bad2 = chaos::faults_from_json(json::parse(R"([3])"));
  REQUIRE_FALSE(bad2.ok());
  CHECK(bad2.error().message.rfind("faults[0]: expected an object", 0) == 0);
  CHECK_FALSE(chaos::faults_from_json(json::object()).ok());
}
