// Scenario files: a full file read into the structs, the exact error of each kind of mistake (one
// line each, FILE:LINE:COL first), and ${...} substitution.
#include "sluice/chaos/scenario.hpp"

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <unistd.h>

using namespace std::chrono_literals;
using namespace sluice::chaos;

namespace {

std::string error_of(std::string_view toml) {
  auto r = load_scenario_string(toml, "s.toml");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == sluice::ErrorKind::config);
  return r.error().message;
}

// A valid scenario that the error tests break in one place each.
constexpr std::string_view kMinimal = R"(name = "minimal"
[[mocks]]
name = "a"
[[phases]]
name = "steady"
duration = "1s"
rate = 10
target = "mock.a"
[[assertions]]
expect = "client.errors == 0"
)";

}  // namespace

TEST_CASE("A full scenario file is read into the structs", "[scenario]") {
  auto r = load_scenario_string(R"(# Drill: an upstream that hangs.
name = "an upstream that hangs gets 504"
seed = 7
timeout = "60s"

[[mocks]]
name = "a"
routes = "demo"
[[mocks.faults]]
type = "status"
status = 503
probability = 0.5
match = { path = "/v1/*" }

[[mocks]]
name = "b"

[[proxies]]
name = "slow"
upstream = "mock.b"
[[proxies.toxics]]
name = "lat"
type = "latency"
attributes = { latency = 200, jitter = 10 }

[[proxies]]
name = "ext"
upstream = "127.0.0.1:9"

[gateway]
config = """
[[listeners]]
name = "public"
listen = "127.0.0.1:0"
[[clusters]]
name = "c"
endpoints = ["${mock.a}", "${proxy.slow}"]
"""
target = "public"

[[phases]]
name = "steady"
duration = "2s"
rate = 50
[[phases.requests]]
method = "POST"
path = "/echo"
headers = { "x-test" = "1", accept = "application/json" }
body = "{}"
[[phases.requests]]
path = "/health"

[[phases]]
name = "hang"
duration = "3s"
concurrency = 4
target = "proxy.slow"
clear_faults = ["a"]
remove_toxics = [{ proxy = "slow", name = "lat" }]
reload = "[[listeners]]\nlisten = \"127.0.0.1:0\"\n# ${mock.b}"
reload_at = "1s"
signal = "SIGTERM"
signal_at = "2500ms"
[[phases.faults]]
mock = "a"
type = "hang"
match = { method = "GET" }
[[phases.toxics]]
proxy = "slow"
type = "bandwidth"
name = "thin"
attributes = { rate = 10 }

[[phases]]
name = "quiet"
duration = "500ms"

[[assertions]]
expect = "client.errors == 0"
name = "no client errors"
phase = "steady"

[[assertions]]
expect = 'mock("b").requests >= 0.45 * client.requests'
)",
                                "scenarios/upstream-hang.toml");
  if (!r) FAIL(r.error().message);
  const Scenario& s = *r;
  CHECK(s.source == "scenarios/upstream-hang.toml");
  CHECK(s.name == "an upstream that hangs gets 504");
  CHECK(s.seed == 7u);
  CHECK(s.timeout == 60s);

  REQUIRE(s.mocks.size() == 2);
  CHECK(s.mocks[0].name == "a");
  CHECK(s.mocks[0].routes.empty());  // the demo routes
  CHECK(s.mocks[0].pos.line == 6);
  REQUIRE(s.mocks[0].faults.size() == 1);
  const Fault& f = s.mocks[0].faults[0];
  CHECK(std::get<StatusFault>(f.action).status == 503);
  CHECK(f.probability == 0.5);
  CHECK(f.match.path == "/v1/*");
  CHECK(s.mocks[1].name == "b");
  CHECK(s.mocks[1].faults.empty());
  CHECK(s.mock("b") == &s.mocks[1]);
  CHECK(s.mock("c") == nullptr);

  REQUIRE(s.proxies.size() == 2);
  CHECK(s.proxies[0].name == "slow");
  CHECK(s.proxies[0].upstream_mock == "b");
  CHECK(s.proxies[0].upstream_address.empty());
  REQUIRE(s.proxies[0].toxics.size() == 1);
  CHECK(s.proxies[0].toxics[0].name == "lat");
  CHECK(std::get<Latency>(s.proxies[0].toxics[0].attributes).latency == 200ms);
  CHECK(std::get<Latency>(s.proxies[0].toxics[0].attributes).jitter == 10ms);
  CHECK(s.proxies[1].upstream_mock.empty());
  CHECK(s.proxies[1].upstream_address == "127.0.0.1:9");
  CHECK(s.proxy("ext") == &s.proxies[1]);

  REQUIRE(s.gateway);
  CHECK(s.gateway->file.empty());
  CHECK(s.gateway->target == "public");
  CHECK(s.gateway->config.starts_with("[[listeners]]\n"));
  CHECK(s.gateway->config.find("[\"${mock.a}\", \"${proxy.slow}\"]") != std::string::npos);

  REQUIRE(s.phases.size() == 3);
  const Phase& steady = s.phases[0];
  CHECK(steady.name == "steady");
  CHECK(steady.duration == 2s);
  CHECK(steady.rate == 50.0);
  CHECK_FALSE(steady.concurrency);
  CHECK(steady.sends_traffic());
  CHECK(steady.target.kind == PhaseTarget::Kind::gateway);
  REQUIRE(steady.requests.size() == 2);
  CHECK(steady.requests[0].method == "POST");
  CHECK(steady.requests[0].path == "/echo");
  CHECK(steady.requests[0].headers == std::vector<std::pair<std::string, std::string>>{
                                          {"accept", "application/json"}, {"x-test", "1"}});
  CHECK(steady.requests[0].body == "{}");
  CHECK(steady.requests[1].method == "GET");
  CHECK(steady.requests[1].path == "/health");
  CHECK(steady.signal == 0);
  CHECK_FALSE(steady.reload);

  const Phase& hang = s.phases[1];
  CHECK(hang.duration == 3s);
  CHECK_FALSE(hang.rate);
  CHECK(hang.concurrency == 4u);
  CHECK(hang.target.kind == PhaseTarget::Kind::proxy);
  CHECK(hang.target.name == "slow");
  REQUIRE(hang.requests.size() == 1);  // the default: GET /
  CHECK(hang.requests[0].method == "GET");
  CHECK(hang.requests[0].path == "/");
  CHECK(hang.clear_faults == std::vector<std::string>{"a"});
  REQUIRE(hang.remove_toxics.size() == 1);
  CHECK(hang.remove_toxics[0].proxy == "slow");
  CHECK(hang.remove_toxics[0].name == "lat");
  REQUIRE(hang.faults.size() == 1);
  CHECK(hang.faults[0].mock == "a");
  CHECK(std::holds_alternative<HangFault>(hang.faults[0].fault.action));
  CHECK(hang.faults[0].fault.match.method == "GET");
  REQUIRE(hang.toxics.size() == 1);
  CHECK(hang.toxics[0].proxy == "slow");
  CHECK(hang.toxics[0].toxic.name == "thin");
  CHECK(std::get<Bandwidth>(hang.toxics[0].toxic.attributes).rate == 10);
  CHECK(hang.reload == "[[listeners]]\nlisten = \"127.0.0.1:0\"\n# ${mock.b}");
  CHECK(hang.reload_at == 1s);
  CHECK(hang.signal == SIGTERM);
  CHECK(hang.signal_at == 2500ms);

  const Phase& quiet = s.phases[2];
  CHECK_FALSE(quiet.sends_traffic());
  CHECK(quiet.target.kind == PhaseTarget::Kind::gateway);
  CHECK(s.phase("quiet") == &quiet);

  REQUIRE(s.assertions.size() == 2);
  CHECK(s.assertions[0].name == "no client errors");
  CHECK(s.assertions[0].expect.source() == "client.errors == 0");
  CHECK(s.assertions[0].phase == "steady");
  CHECK(s.assertions[0].pos.line == 79);
  CHECK(s.assertions[1].name == "mock(\"b\").requests >= 0.45 * client.requests");
  CHECK(s.assertions[1].phase.empty());
}

TEST_CASE("Scenario defaults and a gateway config file beside the scenario", "[scenario]") {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / fmt::format("sluice-scenario-{}", ::getpid());
  fs::create_directories(dir);
  std::ofstream(dir / "gw.toml") << "[[listeners]]\nlisten = \"127.0.0.1:0\"\n# ${mock.a}\n";
  std::ofstream(dir / "s.toml") << kMinimal << "[gateway]\nfile = \"gw.toml\"\n";
  auto r = load_scenario_file((dir / "s.toml").string());
  fs::remove_all(dir);
  if (!r) FAIL(r.error().message);
  CHECK_FALSE(r->seed);
  CHECK(r->timeout == 5min);
  REQUIRE(r->gateway);
  CHECK(r->gateway->file == (dir / "gw.toml").string());
  CHECK(r->gateway->config == "[[listeners]]\nlisten = \"127.0.0.1:0\"\n# ${mock.a}\n");
  CHECK(r->gateway->target == "main");
  CHECK(r->phases[0].target.kind == PhaseTarget::Kind::mock);
  CHECK(r->assertions[0].name == "client.errors == 0");
}

TEST_CASE("A file for chaos mock needs no phases or assertions; a drill does", "[scenario]") {
  constexpr std::string_view mocks = R"(name = "mocks for a script"
[[mocks]]
name = "llm"
[mocks.llm]
provider = "openai"
)";
  auto r = load_scenario_string(mocks, "m.toml", ScenarioUse::mocks_only);
  if (!r) FAIL(r.error().message);
  REQUIRE(r->mocks.size() == 1);
  CHECK(r->phases.empty());
  CHECK(r->assertions.empty());
  auto drill = error_of(mocks);
  CHECK_THAT(drill, Catch::Contains("phases: at least one phase is required") &&
                        Catch::Contains("assertions: at least one assertion is required"));
}

TEST_CASE("Scenario errors name the file position, the key path and a fix", "[scenario]") {
  SECTION("an unknown key, with a did you mean") {
    CHECK(error_of(std::string(kMinimal) + "[[phases]]\nname = \"x\"\nduraton = \"1s\"\n") ==
          "s.toml:11:1: phases[1].duration: required key is missing (hint: add duration = "
          "\"10s\", how long the phase lasts)\n"
          "s.toml:13:1: phases[1].duraton: unknown key (hint: did you mean \"duration\"?)");
  }
  SECTION("a missing required key") {
    CHECK(error_of(R"([[mocks]]
name = "a"
[[phases]]
name = "p"
duration = "1s"
[[assertions]]
expect = "client.errors == 0"
)") == "s.toml:1:1: name: required key is missing (hint: add name = \"...\", a sentence "
       "saying what the drill checks, at the top)");
  }
  SECTION("a bad duration") {
    CHECK(error_of(R"(name = "x"
[[phases]]
name = "p"
duration = "2 seconds"
[[assertions]]
expect = "true"
)") == "s.toml:4:12: phases[0].duration: invalid duration \"2 seconds\" (hint: use a number "
       "and a unit: us, ms, s, m, h or d, e.g. 250ms)");
  }
  SECTION("rate and concurrency both set") {
    CHECK(error_of(R"(name = "x"
[[mocks]]
name = "a"
[[phases]]
name = "p"
duration = "1s"
rate = 10
concurrency = 2
target = "mock.a"
[[assertions]]
expect = "true"
)") == "s.toml:8:15: phases[0].concurrency: rate and concurrency are both set (hint: keep one: "
       "rate = N for N requests per second (open model), or concurrency = N for N clients "
       "sending one request after another (closed loop))");
  }
  SECTION("an unknown mock, with a did you mean, wherever it is referenced") {
    CHECK(error_of(R"(name = "x"
[[mocks]]
name = "alpha"
[[proxies]]
name = "p"
upstream = "mock.alpah"
[gateway]
config = """
[[clusters]]
endpoints = ["${mock.alpha}", "${mock.alhpa}"]
"""
[[phases]]
name = "p"
duration = "1s"
rate = 1
clear_faults = ["beta"]
[[assertions]]
expect = 'mock("alpa").requests > 0'
)") == "s.toml:6:18: proxies[0].upstream: no mock named \"alpah\" (hint: did you mean "
       "\"alpha\"?)\n"
       "s.toml:10:39: gateway.config: no mock named \"alhpa\" (hint: did you mean "
       "\"alpha\"?)\n"
       "s.toml:16:17: phases[0].clear_faults[0]: no mock named \"beta\" (hint: use one of "
       "\"alpha\", or add a [[mocks]] section with name = \"beta\")\n"
       "s.toml:18:17: assertions[0].expect: no mock named \"alpa\" (hint: did you mean "
       "\"alpha\"?)");
  }
  SECTION("a bad assertion expression, at its position in the file") {
    CHECK(error_of(std::string(kMinimal) + "[[assertions]]\nexpect = \"client.p99 < 50 ms\"\n") ==
          "s.toml:12:27: assertions[1].expect: expected an operator or end of expression after "
          "50 (hint: write durations without a space: 50ms)");
    // In a multi-line string, and after escapes.
    CHECK(error_of(std::string(kMinimal) + "[[assertions]]\nexpect = \"\"\"\nclient.errors == 0 "
                                           "and\nclient.p99 < 50 ms\"\"\"\n") ==
          "s.toml:14:17: assertions[1].expect: expected an operator or end of expression after 50 "
          "(hint: write durations without a space: 50ms)");
    CHECK(error_of(
              std::string(kMinimal) +
              "[[assertions]]\nexpect = \"mock(\\\"a\\\").path contains \\\"\\u00e9\\\" x\"\n") ==
          "s.toml:12:48: assertions[1].expect: expected an operator or end of expression after "
          "\"é\" (hint: assertions are written in the language of sluice-expressions(7), e.g. "
          "expect = \"client.errors == 0\")");
  }
  SECTION("a bad fault field") {
    CHECK(error_of(std::string(kMinimal) +
                   "[[mocks.faults]]\ntype = \"status\"\nstatus = 503\nprobability = 1.5\n") ==
          "s.toml:14:15: mocks[0].faults[0].probability: expected a number from 0 to 1, got 1.5 "
          "(hint: see FAULTS in sluice-scenario(5) for the fields of each fault type)");
  }
  SECTION("a bad toxic field, an unknown fault key") {
    CHECK(error_of(R"(name = "x"
[[mocks]]
name = "a"
[[mocks.faults]]
type = "latency"
valeu = "10ms"
[[proxies]]
name = "slow"
upstream = "mock.a"
[[proxies.toxics]]
type = "bandwidth"
attributes = { rate = 0 }
[[phases]]
name = "p"
duration = "1s"
[[assertions]]
expect = "true"
)") == "s.toml:6:1: mocks[0].faults[0].valeu: unknown key for a latency fault (hint: did you mean "
       "\"value\"?)\n"
       "s.toml:12:23: proxies[0].toxics[0].attributes.rate: must be greater than 0, got 0 (hint: "
       "see TOXICS in sluice-scenario(5) for the attributes of each toxic type)");
  }
  SECTION("every problem is reported, in file order") {
    CHECK(error_of(R"(name = "x"
timeout = "2s"
[[mocks]]
name = "a"
routes = "dmeo"
[[mocks]]
name = "a"
[gateway]
config = 'x = ["${mock.a}", "${gateway.x}", "${proxy.p"]'
[[phases]]
name = "p"
duration = "3s"
rate = 0
target = "nowhere"
reload_at = "1s"
signal = "SIGTREM"
signal_at = "5s"
remove_toxics = [{ proxy = "slow" }]
[[phases.requests]]
method = "GET /"
headers = { "x-n" = 1 }
[[phases.faults]]
type = "hang"
[[phases.toxics]]
proxy = "slow"
type = "latency"
[[phases]]
name = "p"
duration = "0s"
concurrency = 0
[[assertions]]
expect = "client.errors =="
phase = "q"
)") == "s.toml:5:10: mocks[0].routes: unknown route set \"dmeo\" (hint: did you mean \"demo\"?)\n"
       "s.toml:7:8: mocks[1].name: duplicate mock name \"a\" (hint: names must be unique; \"a\" is "
       "already used at line 4)\n"
       "s.toml:9:32: gateway.config: unknown placeholder ${gateway.x} (hint: placeholders are "
       "${mock.NAME}, ${mock.NAME.host}, ${mock.NAME.port}, ${proxy.NAME} and ${hosts_file}; "
       "write $${ for a literal ${)\n"
       "s.toml:9:46: gateway.config: unterminated placeholder (hint: close it with '}', e.g. "
       "${mock.a}; write $${ for a literal ${)\n"
       "s.toml:13:8: phases[0].rate: must be greater than zero, got 0 (hint: give the requests per "
       "second, e.g. rate = 50; leave rate out for a phase without traffic)\n"
       "s.toml:14:10: phases[0].target: unknown target \"nowhere\" (hint: use \"gateway\", "
       "\"mock.NAME\" or \"proxy.NAME\")\n"
       "s.toml:15:13: phases[0].reload_at: reload_at is set without reload (hint: add reload or "
       "remove reload_at)\n"
       "s.toml:16:10: phases[0].signal: unknown signal \"SIGTREM\" (hint: did you mean "
       "\"SIGTERM\"?)\n"
       "s.toml:17:13: phases[0].signal_at: 5s is not within the phase, which lasts 3s (hint: use "
       "an offset shorter than the phase's duration, e.g. signal_at = \"1500ms\")\n"
       "s.toml:18:18: phases[0].remove_toxics[0].name: required key is missing (hint: name the "
       "toxic, e.g. { proxy = \"slow\", name = \"lat\" })\n"
       "s.toml:18:28: phases[0].remove_toxics[0].proxy: no proxy named \"slow\" (hint: add a "
       "[[proxies]] section with name = \"slow\")\n"
       "s.toml:20:10: phases[0].requests[0].method: \"GET /\" is not a valid method (hint: e.g. "
       "method = \"POST\")\n"
       "s.toml:21:21: phases[0].requests[0].headers.x-n: expected a string, got an integer (hint: "
       "write the value in quotes, e.g. \"x-n\" = \"1\")\n"
       "s.toml:22:1: phases[0].faults[0].mock: required key is missing (hint: say which mock it "
       "applies to, e.g. mock = \"a\")\n"
       "s.toml:25:9: phases[0].toxics[0].proxy: no proxy named \"slow\" (hint: add a [[proxies]] "
       "section with name = \"slow\")\n"
       "s.toml:28:8: phases[1].name: duplicate phase name \"p\" (hint: names must be unique; \"p\" "
       "is already used at line 11)\n"
       "s.toml:29:12: phases[1].duration: must be greater than zero (hint: use a positive "
       "duration, e.g. duration = \"10s\")\n"
       "s.toml:30:15: phases[1].concurrency: 0 is out of range (hint: use a number from 1 to "
       "100000)\n"
       "s.toml:32:27: assertions[0].expect: expected a value after == (hint: assertions are "
       "written in the language of sluice-expressions(7), e.g. expect = \"client.errors == 0\")\n"
       "s.toml:33:9: assertions[0].phase: no phase named \"q\" (hint: did you mean \"p\"?)");
  }
  SECTION("the gateway config's TOML syntax, at its position in the file") {
    CHECK(error_of(R"(name = "x"
[[mocks]]
name = "a"
[gateway]
config = """
[[listeners]]
listen = "127.0.0.1:0"
[[clusters]
endpoints = ["${mock.a}"]
"""
[[phases]]
name = "p"
duration = "1s"
reload = "x = ${mock.a}"
[[assertions]]
expect = "true"
)") == "s.toml:8:12: gateway.config: invalid TOML: Error while parsing table header: expected ']', "
       "saw '\\n' (hint: the gateway config is a sluice.toml(5); fix its TOML syntax here)\n"
       "s.toml:14:15: phases[0].reload: invalid TOML: Error while parsing value: could not "
       "determine value type (hint: the gateway config is a sluice.toml(5); fix its TOML syntax "
       "here)");
  }
  SECTION("a gateway target that is not a listener of the gateway config") {
    CHECK(error_of(R"(name = "x"
[gateway]
target = "pubilc"
config = """
[[listeners]]
name = "public"
listen = "127.0.0.1:0"
"""
[[phases]]
name = "p"
duration = "1s"
[[assertions]]
expect = "true"
)") == "s.toml:3:10: gateway.target: the gateway config has no listener named \"pubilc\" (hint: "
       "did you mean \"public\"?)");
  }
  SECTION("phases longer than the timeout") {
    CHECK(error_of("timeout = \"500ms\"\n" + std::string(kMinimal)) ==
          "s.toml:1:11: timeout: the phases last 1s in all, longer than the timeout of 500ms "
          "(hint: raise it, e.g. timeout = \"31s\", or shorten the phases)");
  }
  SECTION("a TOML syntax error") {
    CHECK(error_of("name = \"x\"\n[[phases]\nname = \"p\"\n") ==
          "s.toml:2:10: Error while parsing table header: expected ']', saw '\\n' (hint: fix the "
          "TOML syntax here: strings need double quotes, tables are written [name] and repeated "
          "ones [[name]])");
  }
}

TEST_CASE("Mocks on other loopback addresses, a shared port and a hosts file", "[scenario]") {
  auto r = load_scenario_string(R"(name = "dns"
[[mocks]]
name = "old"
address = "127.0.0.2"
[[mocks]]
name = "new"
address = "127.0.0.3"
port = "mock.old"
[gateway]
hosts = "${mock.old.host} svc.test"
config = """
[server]
hosts_file = "${hosts_file}"
[[listeners]]
listen = "127.0.0.1:0"
[[clusters]]
name = "svc"
endpoints = ["svc.test:${mock.old.port}"]
"""
[[phases]]
name = "join"
duration = "1s"
hosts = "${mock.new.host} svc.test"
[[assertions]]
expect = "true"
)",
                                "s.toml");
  if (!r) FAIL(r.error().message);
  REQUIRE(r->mocks.size() == 2);
  CHECK(r->mocks[0].address == "127.0.0.2");
  CHECK(r->mocks[0].port_of.empty());
  CHECK(r->mocks[1].port_of == "old");
  CHECK(r->gateway->hosts == "${mock.old.host} svc.test");
  CHECK(r->phases[0].hosts == "${mock.new.host} svc.test");

  CHECK(error_of(R"(name = "x"
[[mocks]]
name = "a"
address = "10.0.0.1"
[[mocks]]
name = "b"
port = "mock.a"
[[mocks]]
name = "c"
address = "127.0.0.4"
port = "mock.zz"
[gateway]
config = "x = '${hosts_file}'"
[[phases]]
name = "p"
duration = "1s"
hosts = "1.2.3.4 a"
[[assertions]]
expect = "true"
)") == "s.toml:4:11: mocks[0].address: \"10.0.0.1\" is not an IPv4 loopback address (hint: use "
       "an address in 127.0.0.0/8, e.g. address = \"127.0.0.2\")\n"
       "s.toml:7:8: mocks[1].port: mock \"a\" is bound on 127.0.0.1 already (hint: give this mock "
       "another loopback address, e.g. address = \"127.0.0.3\")\n"
       "s.toml:11:8: mocks[2].port: no earlier mock named \"zz\" (hint: name a mock declared above "
       "this one)\n"
       "s.toml:13:18: gateway.config: ${hosts_file} is used but there is no hosts file (hint: add "
       "hosts = \"\"\"...\"\"\" to [gateway] (the runner writes it and substitutes its path))\n"
       "s.toml:17:9: phases[0].hosts: there is no hosts file to rewrite (hint: add hosts = "
       "\"\"\"...\"\"\" to [gateway] first (the hosts file it starts with))");
}

TEST_CASE("substitute replaces mock and proxy placeholders with addresses", "[scenario]") {
  std::map<std::string, std::string> addresses = {{"mock.a", "127.0.0.1:4000"},
                                                  {"proxy.slow", "127.0.0.1:4001"}};
  auto r = substitute("to = [\"${mock.a}\", \"${proxy.slow}\"] # $${not.this} $5", addresses);
  REQUIRE(r.ok());
  CHECK(*r == "to = [\"127.0.0.1:4000\", \"127.0.0.1:4001\"] # ${not.this} $5");
  CHECK(substitute("", addresses).value().empty());

  auto unknown = substitute("x ${mock.b}", addresses);
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().message == "unknown placeholder ${mock.b} (hint: did you mean ${mock.a}?)");
  auto unterminated = substitute("x ${mock.a", addresses);
  REQUIRE_FALSE(unterminated.ok());
  CHECK(unterminated.error().message ==
        "unterminated placeholder \"${mock.a\" (hint: close it with '}', e.g. ${mock.a}; write "
        "$${ for a literal ${)");
}

TEST_CASE("The example in sluice-scenario(5) loads", "[scenario]") {
  std::ifstream in(std::string(SLUICE_SOURCE_DIR) + "/man/sluice-scenario.5");
  std::stringstream page;
  page << in.rdbuf();
  std::string text = page.str();
  auto begin = text.find(".SH EXAMPLE\n.EX\n");
  REQUIRE(begin != std::string::npos);
  begin += std::string_view(".SH EXAMPLE\n.EX\n").size();
  auto end = text.find(".EE\n", begin);
  REQUIRE(end != std::string::npos);
  auto r = load_scenario_string(text.substr(begin, end - begin), "sluice-scenario.5");
  if (!r) FAIL(r.error().message);
  CHECK(r->phases.size() == 2);
  CHECK(r->assertions.size() == 2);
}
