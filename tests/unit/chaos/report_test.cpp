// Scenario reports from hand-built results: the text summary's content, the JSON fields, and JUnit
// XML that is well-formed (checked with xmllint when it is installed) with one testcase per
// assertion, a failure per failed one and an error for a scenario that could not run.
#include "sluice/chaos/report.hpp"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <unistd.h>

using namespace std::chrono_literals;
using namespace sluice::chaos;

namespace {

std::size_t count(std::string_view hay, std::string_view needle) {
  std::size_t n = 0;
  for (auto p = hay.find(needle); p != std::string_view::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

PhaseResult phase(std::string name, std::uint64_t requests, std::uint64_t failures_5xx,
                  std::uint64_t transport, double latency_ms) {
  PhaseResult p;
  p.name = std::move(name);
  p.elapsed = 2s;
  p.client.requests = requests;
  p.client.transport_errors = transport;
  std::uint64_t answered = requests - transport;
  p.client.by_status[200] = answered - failures_5xx;
  if (failures_5xx > 0) p.client.by_status[502] = failures_5xx;
  // All latencies equal, so p50 and p99 do not depend on the percentile method.
  p.client.latencies_ms.assign(answered, latency_ms);
  return p;
}

AssertionResult assertion(std::string name, std::string expression, bool passed,
                          std::string message = {}, std::string phase = {}) {
  AssertionResult a;
  a.name = std::move(name);
  a.expression = std::move(expression);
  a.passed = passed;
  a.message = std::move(message);
  a.phase = std::move(phase);
  a.pos = {"drills/x.toml", 12, 10};
  return a;
}

ScenarioResult passing() {
  ScenarioResult r;
  r.source = "drills/ok.toml";
  r.name = "upstream-ok";
  r.seed = 42;
  r.elapsed = 4500ms;
  r.phases.push_back(phase("warmup", 100, 0, 0, 5.0));
  r.phases.push_back(phase("steady", 200, 0, 0, 5.0));
  r.assertions.push_back(assertion("client.errors == 0", "client.errors == 0", true));
  r.assertions.push_back(assertion("fast", "client.p99 < 50ms", true, {}, "steady"));
  return r;
}

ScenarioResult failing() {
  ScenarioResult r;
  r.source = "drills/bad.toml";
  r.name = "resets <&\"'> too";
  r.seed = 7;
  r.elapsed = 3s;
  r.phases.push_back(phase("faulty", 50, 10, 2, 12.0));
  r.assertions.push_back(assertion("no-errors", "client.errors == 0", false,
                                   "client.errors == 0\n  client.errors = 12 <not 0> & \"more\""));
  r.assertions.push_back(assertion("some traffic", "client.requests > 0", true));
  // Control characters XML 1.0 forbids, in a message that came from a response body.
  r.assertions.push_back(assertion("ctl", "mock(\"a\").requests == 1", false,
                                   std::string("got \x01\x02 bytes\x1b[0m and \x7f")));
  return r;
}

ScenarioResult setup_error() {
  ScenarioResult r;
  r.source = "drills/broken.toml";
  r.name = "broken";
  r.seed = 1;
  r.setup_error = "gateway: sluice serve exited with status 2\nconfig.toml:3:1: bad key";
  r.elapsed = 200ms;
  return r;
}

std::string temp_path(std::string_view name) {
  return (std::filesystem::temp_directory_path() /
          (std::string(name) + "." + std::to_string(::getpid())))
      .string();
}

}  // namespace

TEST_CASE("report_text: a passing scenario", "[report]") {
  auto text = report_text({passing()}, false);
  CHECK(text.find("upstream-ok") != std::string::npos);
  CHECK(text.find("PASS") != std::string::npos);
  CHECK(text.find("FAIL") == std::string::npos);
  CHECK(text.find("seed 42") != std::string::npos);
  CHECK(text.find("4.50s") != std::string::npos);
  CHECK(text.find("drills/ok.toml") != std::string::npos);
  // The phase table: a header and one row per phase.
  CHECK(text.find("phase") != std::string::npos);
  CHECK(text.find("requests") != std::string::npos);
  CHECK(text.find("p99") != std::string::npos);
  CHECK(text.find("warmup") != std::string::npos);
  CHECK(text.find("steady") != std::string::npos);
  CHECK(text.find("5.00ms") != std::string::npos);
  CHECK(text.find("200") != std::string::npos);
  CHECK(count(text, "\u2713") == 2);
  CHECK(count(text, "\u2717") == 0);
  CHECK(text.find("fast [phase steady]") != std::string::npos);
  CHECK(text.find("1 scenario: 1 passed, 0 failed; 2 assertions: 0 failed") != std::string::npos);
  CHECK(text.find('\x1b') == std::string::npos);
}

TEST_CASE("report_text: failures show the message indented, and color only when asked",
          "[report]") {
  auto text = report_text({passing(), failing(), setup_error()}, false);
  CHECK(text.find("FAIL") != std::string::npos);
  CHECK(text.find("ERROR") != std::string::npos);
  CHECK(count(text, "\u2717") == 2);
  CHECK(count(text, "\u2713") == 3);
  CHECK(text.find("  \u2717 no-errors\n") != std::string::npos);
  CHECK(text.find("\n        client.errors = 12 <not 0> & \"more\"\n") != std::string::npos);
  CHECK(text.find("at drills/x.toml:12:10") != std::string::npos);
  CHECK(text.find("setup failed") != std::string::npos);
  CHECK(text.find("      config.toml:3:1: bad key\n") != std::string::npos);
  CHECK(text.find("3 scenarios: 1 passed, 1 failed, 1 could not run; 5 assertions: 2 failed") !=
        std::string::npos);
  // Control characters from a message are shown escaped, never sent to the terminal.
  CHECK(text.find("\x1b[") == std::string::npos);
  CHECK(text.find("got \\x01\\x02 bytes\\x1b[0m and \\x7f") != std::string::npos);

  auto colored = report_text({passing(), failing()}, true);
  CHECK(colored.find("\x1b[32mPASS\x1b[0m") != std::string::npos);
  CHECK(colored.find("\x1b[31mFAIL\x1b[0m") != std::string::npos);
}

TEST_CASE("report_text: no scenarios", "[report]") {
  CHECK(report_text({}, false).find("0 scenarios") != std::string::npos);
}

TEST_CASE("report_json: parses, with the documented fields", "[report]") {
  auto doc = nlohmann::json::parse(report_json({passing(), failing(), setup_error()}));
  CHECK(doc["version"] == 1);
  CHECK(doc["passed"] == false);
  CHECK(doc["summary"]["scenarios"] == 3);
  CHECK(doc["summary"]["passed"] == 1);
  CHECK(doc["summary"]["failed"] == 1);
  CHECK(doc["summary"]["setup_errors"] == 1);
  CHECK(doc["summary"]["assertions"] == 5);
  CHECK(doc["summary"]["assertions_failed"] == 2);
  REQUIRE(doc["scenarios"].size() == 3);

  const auto& ok = doc["scenarios"][0];
  CHECK(ok["name"] == "upstream-ok");
  CHECK(ok["source"] == "drills/ok.toml");
  CHECK(ok["seed"] == 42);
  CHECK(ok["passed"] == true);
  CHECK(ok["setup_error"].is_null());
  CHECK(ok["elapsed_ms"] == Approx(4500));
  REQUIRE(ok["phases"].size() == 2);
  CHECK(ok["phases"][1]["name"] == "steady");
  CHECK(ok["phases"][1]["requests"] == 200);
  CHECK(ok["phases"][1]["errors"] == 0);
  CHECK(ok["phases"][1]["status"]["200"] == 200);
  CHECK(ok["phases"][1]["p50_ms"] == Approx(5.0));
  CHECK(ok["phases"][1]["p99_ms"] == Approx(5.0));
  CHECK(ok["phases"][1]["elapsed_ms"] == Approx(2000));
  REQUIRE(ok["assertions"].size() == 2);
  CHECK(ok["assertions"][0]["phase"].is_null());
  CHECK(ok["assertions"][1]["phase"] == "steady");
  CHECK(ok["assertions"][1]["expression"] == "client.p99 < 50ms");
  CHECK(ok["assertions"][1]["line"] == 12);

  const auto& bad = doc["scenarios"][1];
  CHECK(bad["name"] == "resets <&\"'> too");
  CHECK(bad["passed"] == false);
  CHECK(bad["phases"][0]["errors"] == 12);
  CHECK(bad["phases"][0]["transport_errors"] == 2);
  CHECK(bad["phases"][0]["status"]["502"] == 10);
  CHECK(bad["assertions"][0]["passed"] == false);
  CHECK(bad["assertions"][0]["message"].get<std::string>().find("client.errors = 12") !=
        std::string::npos);

  const auto& broken = doc["scenarios"][2];
  CHECK(broken["passed"] == false);
  CHECK(broken["setup_error"].get<std::string>().find("exited with status 2") != std::string::npos);
  CHECK(broken["assertions"].empty());
}

TEST_CASE("report_json: bytes that are not UTF-8 do not throw", "[report]") {
  auto r = passing();
  r.name = "bad \xff\xfe name";
  auto doc = nlohmann::json::parse(report_json({r}));
  CHECK(doc["scenarios"][0]["name"].get<std::string>().find("bad ") == 0);
}

TEST_CASE("report_junit: well-formed XML with a testcase per assertion", "[report]") {
  auto xml = report_junit({passing(), failing(), setup_error()});
  CHECK(xml.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", 0) == 0);
  CHECK(count(xml, "<testsuites ") == 1);
  CHECK(count(xml, "<testsuite ") == 3);
  CHECK(count(xml, "<testcase ") == 6);  // 2 + 3 assertions, and one "setup"
  CHECK(count(xml, "<failure ") == 2);
  CHECK(count(xml, "<error ") == 1);
  CHECK(xml.find("<testsuites name=\"sluice chaos\" tests=\"6\" failures=\"2\" errors=\"1\"") !=
        std::string::npos);
  CHECK(xml.find("<testsuite name=\"upstream-ok\" tests=\"2\" failures=\"0\" errors=\"0\" "
                 "skipped=\"0\" time=\"4.500\"") != std::string::npos);
  CHECK(xml.find("<testsuite name=\"resets &lt;&amp;&quot;&apos;&gt; too\" tests=\"3\" "
                 "failures=\"2\" errors=\"0\"") != std::string::npos);
  CHECK(xml.find("<testcase classname=\"resets &lt;&amp;&quot;&apos;&gt; too\" "
                 "name=\"no-errors\"") != std::string::npos);
  CHECK(xml.find("<testcase classname=\"upstream-ok\" name=\"fast\" time=\"0.000\"/>") !=
        std::string::npos);
  CHECK(xml.find("<testcase classname=\"broken\" name=\"setup\"") != std::string::npos);
  CHECK(xml.find("failure message=\"client.errors == 0&#10;  client.errors = 12 &lt;not 0&gt; "
                 "&amp; &quot;more&quot;\"") != std::string::npos);
  CHECK(xml.find("<property name=\"seed\" value=\"7\"/>") != std::string::npos);
  // The forbidden control characters are gone; the rest of the message stays.
  CHECK(xml.find('\x01') == std::string::npos);
  CHECK(xml.find('\x02') == std::string::npos);
  CHECK(xml.find('\x1b') == std::string::npos);
  CHECK(xml.find("got  bytes[0m and \x7f") != std::string::npos);

  auto path = temp_path("sluice-report.xml");
  {
    std::ofstream f(path, std::ios::binary);
    f << xml;
  }
  if (std::system("command -v xmllint >/dev/null 2>&1") != 0) {
    WARN("xmllint is not installed (apt-get install libxml2-utils): well-formedness not checked");
  } else {
    CHECK(std::system(("xmllint --noout '" + path + "'").c_str()) == 0);
    // An empty run is a valid document too.
    {
      std::ofstream f(path, std::ios::binary | std::ios::trunc);
      f << report_junit({});
    }
    CHECK(std::system(("xmllint --noout '" + path + "'").c_str()) == 0);
    // As is one with bytes that are not UTF-8.
    auto r = failing();
    r.name = "bad \xff\xc3 name \xed\xa0\x80";
    r.assertions[0].message = std::string("nul \0 here", 10);
    {
      std::ofstream f(path, std::ios::binary | std::ios::trunc);
      f << report_junit({r});
    }
    CHECK(std::system(("xmllint --noout '" + path + "'").c_str()) == 0);
  }
  std::remove(path.c_str());
}
