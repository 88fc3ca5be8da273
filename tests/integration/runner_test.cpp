// The chaos scenario runner end to end: mocks, faults, a real gateway, and assertions that pass
// and fail.
#include <chrono>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "common.hpp"
#include "run_scope.hpp"
#include "sluice/core/expr/expr.hpp"
#include "sluice/chaos/runner.hpp"
#include "sluice/chaos/scenario.hpp"

using namespace sluice::test;
using sluice::chaos::load_scenario_string;
using sluice::chaos::run_scenario;
using sluice::chaos::RunOptions;
using sluice::chaos::Scenario;
using sluice::chaos::ScenarioResult;

namespace {

Scenario load(std::string_view toml) {
  auto s = load_scenario_string(toml, "runner_test.toml");
  INFO((s ? std::string() : s.error().message));
  REQUIRE(s);
  return std::move(*s);
}

std::string describe(const ScenarioResult& r) {
  std::string out = fmt::format("setup_error: {}\n", r.setup_error);
  for (const auto& p : r.phases)
    out += fmt::format("phase {}: {} requests, {} transport errors, {} errors\n", p.name,
                       p.client.requests, p.client.transport_errors, p.client.errors());
  for (const auto& a : r.assertions)
    out += fmt::format("{} [{}]: {} {}\n", a.expression, a.phase, a.passed ? "PASS" : "FAIL",
                       a.message);
  return out;
}

const sluice::chaos::AssertionResult* find(const ScenarioResult& r, std::string_view expr) {
  for (const auto& a : r.assertions)
    if (a.expression == expr) return &a;
  return nullptr;
}

}  // namespace

TEST_CASE("a scenario with only mocks drives traffic and passes", "[integration][runner]") {
  auto s = load(R"(
name = "mocks only"
seed = 3

[[mocks]]
name = "a"

[[phases]]
name = "steady"
duration = "1s"
rate = 50
target = "mock.a"

[[assertions]]
expect = "client.requests >= 30"

[[assertions]]
expect = "client.errors == 0"

[[assertions]]
expect = 'mock("a").requests == client.requests'

[[assertions]]
expect = "client.status(200) == client.requests and client.status_class(\"2xx\") == client.requests"

[[assertions]]
expect = "client.p99 < 2s and client.rps > 20"
phase = "steady"
)");
  std::vector<std::string> lines;
  RunOptions opts;
  opts.progress = [&](std::string_view l) { lines.emplace_back(l); };
  auto r = run_scenario(s, opts);
  INFO(describe(r));
  CHECK(r.setup_error.empty());
  CHECK(r.seed == 3);
  REQUIRE(r.phases.size() == 1);
  CHECK(r.phases[0].client.requests >= 30);
  CHECK(r.phases[0].client.requests <= 60);
  REQUIRE(r.assertions.size() == 5);
  for (const auto& a : r.assertions) CHECK(a.passed);
  CHECK(r.passed());
  REQUIRE(!lines.empty());
  CHECK(lines.front() == "starting mocks");
  CHECK(std::find(lines.begin(), lines.end(), "phase steady: 1s at 50 req/s") != lines.end());
  CHECK(lines.back() == "assertions");
}

TEST_CASE("an assertion that cannot hold fails with the actual value", "[integration][runner]") {
  auto s = load(R"(
name = "the harness can fail"

[[mocks]]
name = "a"
[[mocks.faults]]
name = "boom"
type = "status"
status = 503
probability = 1

[[phases]]
name = "broken"
duration = "500ms"
concurrency = 2
target = "mock.a"

[[assertions]]
expect = "client.errors == 0"

[[assertions]]
expect = 'mock("a").fired("boom") == client.requests'

[[assertions]]
expect = 'client.status(503) == client.requests and client.error_rate == 1'

[[assertions]]
expect = 'mock("a").fired("bomb") == 0'
)");
  auto r = run_scenario(s, RunOptions{});
  INFO(describe(r));
  CHECK(r.setup_error.empty());
  CHECK(r.seed == 1);
  REQUIRE(r.phases.size() == 1);
  auto errors = r.phases[0].client.errors();
  CHECK(errors > 0);
  CHECK(errors == r.phases[0].client.requests);
  CHECK_FALSE(r.passed());

  const auto* zero = find(r, "client.errors == 0");
  REQUIRE(zero);
  CHECK_FALSE(zero->passed);
  CHECK(zero->message == fmt::format("client.errors ({}) == 0", errors));

  const auto* fired = find(r, "mock(\"a\").fired(\"boom\") == client.requests");
  REQUIRE(fired);
  CHECK(fired->passed);
  const auto* all = find(r, "client.status(503) == client.requests and client.error_rate == 1");
  REQUIRE(all);
  CHECK(all->passed);

  // An evaluation error is a failure with the error and a did-you-mean.
  const auto* typo = find(r, "mock(\"a\").fired(\"bomb\") == 0");
  REQUIRE(typo);
  CHECK_FALSE(typo->passed);
  CHECK_THAT(typo->message, Catch::Contains("did you mean \"boom\""));
}

TEST_CASE("a scenario with a gateway reads its metrics and sees 504s from a hanging upstream",
          "[integration][runner]") {
  auto s = load(R"(
name = "an upstream that hangs gets 504 at the route timeout"
seed = 7

[[mocks]]
name = "a"

[gateway]
config = """
[[listeners]]
name = "main"
listen = "127.0.0.1:0"

[[routes]]
name = "api"
path_prefix = "/"
cluster = "up"
timeout = "300ms"

[[clusters]]
name = "up"
endpoints = ["${mock.a}"]
"""

[[phases]]
name = "steady"
duration = "1s"
rate = 20

[[phases]]
name = "hang"
duration = "1500ms"
rate = 20
[[phases.faults]]
mock = "a"
type = "hang"

[[assertions]]
expect = "client.errors == 0"
phase = "steady"

[[assertions]]
expect = 'gateway.metric("sluice_requests_total", status_class="2xx") >= 1'

[[assertions]]
expect = 'gateway.metric("sluice_requests_total", status_class="2xx") == client.status(200)'

[[assertions]]
expect = "client.requests > 0 and client.status(504) == client.requests"
phase = "hang"

[[assertions]]
expect = "gateway.exit_code == 0"
)");
  RunOptions opts;
  opts.sluice_binary = SLUICE_BIN;
  std::vector<std::string> lines;
  opts.progress = [&](std::string_view l) { lines.emplace_back(l); };
  auto start = std::chrono::steady_clock::now();
  auto r = run_scenario(s, opts);
  auto elapsed = std::chrono::steady_clock::now() - start;
  INFO(describe(r));
  CHECK(r.setup_error.empty());
  REQUIRE(r.phases.size() == 2);
  CHECK(r.phases[1].client.by_status.count(504) == 1);
  for (const auto& a : r.assertions) CHECK(a.passed);
  CHECK(r.passed());
  CHECK(elapsed < 10s);
  bool announced = std::any_of(lines.begin(), lines.end(), [](const std::string& l) {
    return l.rfind("gateway on 127.0.0.1:", 0) == 0;
  });
  CHECK(announced);
}

TEST_CASE("a gateway that cannot start is a setup error with its stderr", "[integration][runner]") {
  auto s = load(R"(
name = "bad gateway config"

[[mocks]]
name = "a"

[gateway]
config = """
[[listeners]]
name = "main"
listen = "127.0.0.1:0"

[[routes]]
path_prefix = "/"
cluster = "nowhere"
"""

[[phases]]
name = "steady"
duration = "200ms"
rate = 10

[[assertions]]
expect = "client.errors == 0"
)");
  RunOptions opts;
  opts.sluice_binary = SLUICE_BIN;
  auto r = run_scenario(s, opts);
  INFO(describe(r));
  CHECK_FALSE(r.setup_error.empty());
  CHECK_THAT(r.setup_error, Catch::Contains("exited with code 2"));
  CHECK_THAT(r.setup_error, Catch::Contains("nowhere"));
  CHECK(r.assertions.empty());
  CHECK(r.phases.empty());
  CHECK_FALSE(r.passed());
}

TEST_CASE("a scenario drives traffic through a TCP proxy and removes its toxic",
          "[integration][runner]") {
  auto s = load(R"(
name = "a slow network"
seed = 11

[[mocks]]
name = "a"

[[proxies]]
name = "p"
upstream = "mock.a"
[[proxies.toxics]]
type = "latency"
attributes = { latency = 100 }

[[phases]]
name = "slow"
duration = "1s"
concurrency = 2
target = "proxy.p"

[[phases]]
name = "fast"
duration = "500ms"
concurrency = 2
target = "proxy.p"
remove_toxics = [{ proxy = "p", name = "latency_downstream" }]

[[assertions]]
expect = "client.p50 >= 90ms"
phase = "slow"

[[assertions]]
expect = "client.p50 < 50ms"
phase = "fast"

[[assertions]]
expect = 'proxy("p").connections >= 2 and proxy("p").bytes_up > 0 and proxy("p").bytes_down > 0'

[[assertions]]
expect = 'client.errors == 0 and mock("a").requests == client.requests'

[[assertions]]
expect = 'proxy("p").conections == 0'
)");
  auto r = run_scenario(s, RunOptions{});
  INFO(describe(r));
  CHECK(r.setup_error.empty());
  REQUIRE(r.assertions.size() == 5);
  for (std::size_t i = 0; i < 4; ++i) CHECK(r.assertions[i].passed);
  CHECK_FALSE(r.assertions[4].passed);
  CHECK_THAT(r.assertions[4].message, Catch::Contains("did you mean \"connections\""));
}

TEST_CASE("a scenario reloads the gateway and sends it SIGTERM", "[integration][runner]") {
  auto s = load(R"(
name = "reload, then drain"

[[mocks]]
name = "a"

[gateway]
config = """
[[listeners]]
name = "main"
listen = "127.0.0.1:0"
[[routes]]
path_prefix = "/"
cluster = "up"
[[clusters]]
name = "up"
endpoints = ["${mock.a}"]
"""

[[phases]]
name = "reload"
duration = "1s"
rate = 20
reload_at = "300ms"
reload = """
[[listeners]]
name = "main"
listen = "127.0.0.1:0"
[[routes]]
path_prefix = "/"
cluster = "up"
timeout = "2s"
[[clusters]]
name = "up"
endpoints = ["${mock.a}"]
"""

[[phases]]
name = "drain"
duration = "1s"
rate = 20
signal = "SIGTERM"
signal_at = "100ms"

[[assertions]]
expect = "client.errors == 0 and client.requests >= 10"
phase = "reload"

[[assertions]]
expect = "gateway.exit_code == 0"

[[assertions]]
expect = 'gateway.metric("sluice_requests_total") >= 0'
)");
  RunOptions opts;
  opts.sluice_binary = SLUICE_BIN;
  std::vector<std::string> lines;
  opts.progress = [&](std::string_view l) { lines.emplace_back(l); };
  auto r = run_scenario(s, opts);
  INFO(describe(r));
  CHECK(r.setup_error.empty());
  REQUIRE(r.assertions.size() == 3);
  CHECK(r.assertions[0].passed);
  CHECK(r.assertions[1].passed);
  // The gateway is gone before the final scrape, so its metrics cannot be read.
  CHECK_FALSE(r.assertions[2].passed);
  CHECK_THAT(r.assertions[2].message, Catch::Contains("exited before the final scrape"));
  // Once the gateway has closed its listener, new connections are refused; the clients reconnect
  // and count each refusal.
  REQUIRE(r.phases.size() == 2);
  CHECK(r.phases[1].client.transport_error_causes.count("connect: connection refused") == 1);
  CHECK(r.phases[1].client.requests >= 15);
  CHECK(std::find(lines.begin(), lines.end(), "phase reload: reloading the gateway") !=
        lines.end());
  CHECK(std::find(lines.begin(), lines.end(), "phase drain: sending SIGTERM") != lines.end());
}

TEST_CASE("the runner's metrics parser and client figures", "[integration][runner]") {
  auto m = sluice::chaos::detail::parse_prometheus(
      "# HELP x help\n# TYPE x counter\n"
      "x{route=\"a\",status_class=\"2xx\"} 3\n"
      "x{route=\"b \\\"q\\\"\",status_class=\"5xx\"} 2 1700000000\n"
      "y 1.5e3\n");
  INFO((m ? std::string() : m.error().message));
  REQUIRE(m);
  REQUIRE(m->size() == 3);
  CHECK((*m)[1].labels[0].second == "b \"q\"");
  CHECK((*m)[2].value == 1500);
  CHECK_FALSE(sluice::chaos::detail::parse_prometheus("x{a=\"1} 2\n"));

  sluice::chaos::ClientStats c;
  c.requests = 5;
  c.transport_errors = 1;
  c.by_status = {{200, 3}, {502, 1}};
  c.latencies_ms = {40, 10, 30, 20};
  CHECK(c.errors() == 2);
  CHECK(c.percentile_ms(50) == 20);
  CHECK(c.percentile_ms(99) == 40);
  CHECK(c.percentile_ms(0) == 10);

  sluice::chaos::detail::RunFacts facts;
  facts.has_gateway = true;
  facts.metrics = std::move(*m);
  sluice::expr::MapScope scope;
  sluice::chaos::detail::ScopeWindow whole_run;
  sluice::chaos::detail::fill_run_scope(scope, c, 2.0, nullptr, facts, whole_run);
  auto check = [&](std::string_view src) {
    auto e = sluice::expr::parse(src);
    REQUIRE(e);
    auto h = sluice::expr::holds(*e, scope);
    INFO(src << ": " << (h ? sluice::expr::explain(*e, scope) : h.error().message));
    REQUIRE(h);
    CHECK(*h);
  };
  check("client.error_rate == 0.4");
  check("client.rps == 2.5");
  check("client.p50 == 20ms and client.max == 40ms");
  check("client.status_class(\"5xx\") == 1 and client.status(200) == 3");
  check("gateway.metric(\"x\") == 5 and gateway.metric(\"x\", status_class=\"2xx\") == 3");
  check("gateway.metric(\"x\", route=\"c\") == 0 and gateway.metric(\"y\") == 1500");
  check("gateway.exit_code == null");
}

TEST_CASE("an open-model phase counts requests it could not send as overload",
          "[integration][runner]") {
  auto s = load(R"(
name = "overload"

[[mocks]]
name = "a"
[[mocks.faults]]
type = "latency"
value = "2s"

[[phases]]
name = "slow"
duration = "1600ms"
rate = 10
target = "mock.a"

[[assertions]]
expect = "client.transport_errors == 0"
)");
  auto r = run_scenario(s, RunOptions{});
  INFO(describe(r));
  CHECK(r.setup_error.empty());
  REQUIRE(r.phases.size() == 1);
  const auto& c = r.phases[0].client;
  CHECK(c.requests >= 15);
  CHECK(c.requests <= 16);
  CHECK(c.transport_errors >= 1);
  CHECK(c.transport_error_causes.size() == 1);
  CHECK(c.transport_error_causes.count("overload") == 1);
  CHECK(c.by_status.at(200) + c.transport_errors == c.requests);
  REQUIRE(r.assertions.size() == 1);
  CHECK_FALSE(r.assertions[0].passed);
}

TEST_CASE("mocks answer their configured routes and assertions read what they received",
          "[integration][runner]") {
  auto s = load(R"(
name = "routes and recording"
[[mocks]]
name = "a"
[[mocks.routes]]
method = "POST"
path = "/v1/*"
status = 201
body = "made"
[[mocks.routes]]
path = "*"
echo = true

[[phases]]
name = "create"
duration = "600ms"
rate = 20
target = "mock.a"
[[phases.requests]]
method = "POST"
path = "/v1/things?tag=x"
body = "thing-1"
headers = { "x-trace" = "t-1" }

[[phases]]
name = "read"
duration = "600ms"
rate = 20
target = "mock.a"

[[assertions]]
expect = 'client.status(201) == client.requests and mock("a").received(method="POST", path="/v1/*", body_contains="thing-1", header="x-trace") == client.requests'
phase = "create"

[[assertions]]
expect = 'mock("a").requests == client.requests and mock("a").first.path == "/" and mock("a").last.phase == "read"'
phase = "read"

[[assertions]]
expect = 'mock("a").request(0).query == "tag=x" and mock("a").request(0).header("x-trace") == "t-1" and mock("a").request(0).status == 201'

[[assertions]]
expect = 'mock("a").received(status=201) == 0'
)");
  auto r = run_scenario(s, {});
  INFO(describe(r));
  CHECK(r.setup_error.empty());
  REQUIRE(r.assertions.size() == 4);
  CHECK(r.assertions[0].passed);
  CHECK(r.assertions[1].passed);
  CHECK(r.assertions[2].passed);
  // The harness can fail: 201s were recorded.
  CHECK_FALSE(r.assertions[3].passed);
  CHECK(r.assertions[3].message.find("mock(\"a\").received(status=201) (") != std::string::npos);
}

TEST_CASE("slow clients against a bare mock stay open; timing names see the fault start",
          "[integration][runner]") {
  auto s = load(R"(
name = "slowloris and timing"
[[mocks]]
name = "a"

[[phases]]
name = "calm"
duration = "500ms"
rate = 20
target = "mock.a"

[[phases]]
name = "broken"
duration = "1500ms"
rate = 20
target = "mock.a"
slowloris = { connections = 5, interval = "100ms" }
[[phases.faults]]
mock = "a"
type = "status"
status = 503
match = { path = "/" }

[[assertions]]
expect = "slowloris.connections == 5 and slowloris.open == 5 and slowloris.closed == 0 and slowloris.held_max > 1s"
phase = "broken"

[[assertions]]
expect = "client.first(503) < 500ms and client.first(\"ok\") == null"
phase = "broken"

[[assertions]]
expect = "client.status(503) == client.requests and client.requests > 0"
phase = "broken"
after = "1s"

[[assertions]]
expect = "client.first(503) > 400ms and client.first(200) < 200ms"

[[assertions]]
expect = "client.errors == 0"
phase = "broken"
after = "500ms"
before = "1s"
)");
  auto r = run_scenario(s, {});
  INFO(describe(r));
  CHECK(r.setup_error.empty());
  REQUIRE(r.assertions.size() == 5);
  CHECK(r.assertions[0].passed);
  CHECK(r.assertions[1].passed);
  CHECK(r.assertions[2].passed);
  CHECK(r.assertions[3].passed);
  CHECK_FALSE(r.assertions[4].passed);  // the window holds only 503s
  REQUIRE(r.phases.size() == 2);
  REQUIRE(r.phases[1].slowloris);
  CHECK(r.phases[1].client.samples.size() == r.phases[1].client.requests);
}

TEST_CASE("a scenario drives an LLM mock and asserts on the messages it received",
          "[integration][runner][llm-mock]") {
  auto s = load(R"(
name = "llm mock"

[[mocks]]
name = "openai"
[mocks.llm]
provider = "openai"
context_window = 200
replies = ["Sure."]

[[phases]]
name = "chat"
duration = "500ms"
rate = 20
target = "mock.openai"
[[phases.requests]]
method = "POST"
path = "/v1/chat/completions"
headers = { "content-type" = "application/json" }
body = '{"model":"gpt-4o","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}]}'

[[phases]]
name = "limited"
duration = "300ms"
rate = 20
target = "mock.openai"
[[phases.faults]]
mock = "openai"
name = "limit"
type = "status"
status = 429
[[phases.requests]]
method = "POST"
path = "/v1/chat/completions"
body = '{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}]}'

[[assertions]]
expect = 'client.errors == 0'
phase = "chat"

[[assertions]]
expect = 'mock("openai").last.roles == ["system", "user"] and mock("openai").last.message(1).content == "Hi"'
phase = "chat"

[[assertions]]
expect = 'mock("openai").received(system_contains="brief") == mock("openai").requests'
phase = "chat"

[[assertions]]
expect = 'mock("openai").max_prompt_tokens < 200 and mock("openai").last.model == "gpt-4o"'
phase = "chat"

[[assertions]]
expect = 'mock("openai").max_prompt_tokens == mock("openai").first.prompt_tokens'

[[assertions]]
expect = 'client.status(429) == client.requests and mock("openai").fired("limit") > 0'
phase = "limited"
)");
  auto r = run_scenario(s, RunOptions{});
  INFO(describe(r));
  CHECK(r.setup_error.empty());
  for (const auto& a : r.assertions) CHECK(a.passed);
  CHECK(r.passed());
}
