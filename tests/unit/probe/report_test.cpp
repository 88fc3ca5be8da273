// The reporters on hand-made reports: table, JSON shape, JUnit escaping and counts, Prometheus
// families and label escaping.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "sluice/probe/report.hpp"

using namespace sluice;
using namespace sluice::probe;
using namespace std::chrono_literals;

namespace {

const auto kNow = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));

TargetReport report_for(std::string_view url, ProbeResult r, std::vector<std::string> expect = {},
                        std::string name = "") {
  auto t = parse_target(url);
  REQUIRE(t.ok());
  if (!name.empty()) t->name = name;
  std::vector<ConditionText> texts;
  for (auto& e : expect) texts.push_back({e, "--expect"});
  REQUIRE(build_conditions(*t, texts).ok());
  TargetReport rep;
  rep.target = *t;
  rep.attempt = judge(*t, std::move(r), kNow);
  rep.verdict = rep.attempt.verdict;
  rep.attempts = 1;
  rep.passed = rep.verdict == Verdict::pass ? 1 : 0;
  rep.elapsed = rep.attempt.result.timings.total;
  return rep;
}

ProbeResult http(int status, Duration total = 12ms) {
  ProbeResult r;
  r.status = status;
  r.http_version = "1.1";
  r.timings = {1ms, 2ms, 0ms, 10ms, total};
  return r;
}

std::vector<TargetReport> sample() {
  ProbeResult tls = http(200);
  tls.tls_version = "1.3";
  tls.timings.tls = 3ms;
  tls.cert = CertInfo{"CN=localhost", "CN=CA", kNow + 24h * 5};
  ProbeResult refused;
  refused.error = make_error(ErrorKind::connect, ErrorSource::upstream, "connection refused");
  ProbeResult dns;
  dns.addresses = {"127.0.0.1"};
  dns.timings.dns = 1ms;
  dns.timings.total = 1ms;
  std::vector<TargetReport> out;
  out.push_back(report_for("https://localhost:8443/health", tls, {"cert.expires_in > 14d"}));
  out.push_back(report_for("http://127.0.0.1:1/", http(503), {"status == 200", "latency < 1s"},
                           "api <\"&'> \x01"));
  out.push_back(report_for("tcp://127.0.0.1:2", refused));
  out.push_back(report_for("dns://localhost", dns));
  out.back().target.options.headers = {{"Authorization", "Bearer t0ken"}};
  out[1].target.options.headers = {{"Authorization", "Bearer t0ken"}, {"Accept", "*/*"}};
  return out;
}

ReportContext ctx(Mode mode = Mode::once) {
  return {mode, 1500ms, kNow};
}

}  // namespace

TEST_CASE("probe report: text table, failures and summary", "[probe][report]") {
  auto text = report_text(sample(), ctx(), false);
  CHECK(text.find("TARGET") == 0);
  CHECK(text.find("RESULT") != std::string::npos);
  CHECK(text.find("https://localhost:8443/health  FAIL") != std::string::npos);
  CHECK(text.find("UNREACHABLE") != std::string::npos);
  CHECK(text.find("1 address") != std::string::npos);
  CHECK(text.find("    \u2717 cert.expires_in > 14d\n        cert.expires_in (5d) > 14d\n") !=
        std::string::npos);
  CHECK(text.find("    \u2717 status == 200\n        status (503) == 200\n") != std::string::npos);
  CHECK(text.find("    connect: connection refused\n") != std::string::npos);
  CHECK(text.find("\\x01") != std::string::npos);  // control characters cannot reach a terminal
  CHECK(text.find('\x01') == std::string::npos);
  CHECK(text.find("4 targets: 1 passed, 2 failed, 1 unreachable in 1.50s") != std::string::npos);
  CHECK(text.find("\x1b[") == std::string::npos);
  auto colored = report_text(sample(), ctx(), true);
  CHECK(colored.find("\x1b[32mPASS\x1b[0m") != std::string::npos);
  CHECK(colored.find("\x1b[33mUNREACHABLE\x1b[0m") != std::string::npos);
}

TEST_CASE("probe report: repeat mode shows latency statistics", "[probe][report]") {
  auto reps = sample();
  reps[0].stats = LatencyStats{3, 1ms, 2ms, 3ms, 3ms};
  reps[0].attempts = 3;
  reps[0].passed = 3;
  auto text = report_text(reps, ctx(Mode::repeat), false);
  CHECK(text.find("PASSED  MIN") != std::string::npos);
  CHECK(text.find("3/3") != std::string::npos);
  CHECK(text.find("1.00ms  2.00ms  3.00ms  3.00ms") != std::string::npos);
}

TEST_CASE("probe report: JSON has a stable shape and redacts secrets", "[probe][report]") {
  auto doc = nlohmann::json::parse(report_json(sample(), ctx()));
  CHECK(doc["version"] == 1);
  CHECK(doc["passed"] == false);
  CHECK(doc["mode"] == "once");
  CHECK(doc["summary"] ==
        nlohmann::json({{"targets", 4}, {"passed", 1}, {"failed", 2}, {"unreachable", 1}}));
  const auto& tls = doc["targets"][0];
  CHECK(tls["result"] == "fail");
  CHECK(tls["kind"] == "http");
  CHECK(tls["status"] == 200);
  CHECK(tls["tls"]["version"] == "1.3");
  CHECK(tls["tls"]["cert"]["expires_in_s"] == 5 * 86400);
  CHECK(tls["tls"]["cert"]["not_after"] == "2027-01-20T08:00:00Z");
  CHECK(tls["timings_ms"]["tls"] == 3.0);
  CHECK(tls["conditions"][0]["message"] == "cert.expires_in (5d) > 14d");
  const auto& api = doc["targets"][1];
  CHECK(api["request"]["headers"]["Authorization"] == "[redacted]");
  CHECK(api["request"]["headers"]["Accept"] == "*/*");
  const auto& tcp = doc["targets"][2];
  CHECK(tcp["result"] == "unreachable");
  CHECK(tcp["error"]["kind"] == "connect");
  CHECK(tcp["tcp"]["connected"] == false);
  CHECK(doc["targets"][3]["dns"]["addresses"] == nlohmann::json::array({"127.0.0.1"}));
  CHECK(report_json(sample(), ctx()).find("t0ken") == std::string::npos);
}

TEST_CASE("probe report: JUnit has a testcase per condition, escaped", "[probe][report]") {
  auto xml = report_junit(sample(), ctx());
  CHECK(
      xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"sluice "
                      "probe\" tests=\"5\" failures=\"2\" errors=\"1\""));
  // Names are escaped, and characters XML forbids are dropped.
  CHECK(xml.find("<testsuite name=\"api &lt;&quot;&amp;&apos;&gt; \" tests=\"2\" failures=\"1\"") !=
        std::string::npos);
  CHECK(xml.find('\x01') == std::string::npos);
  CHECK(xml.find("<testcase classname=\"api &lt;&quot;&amp;&apos;&gt; \" name=\"latency &lt; "
                 "1s\" time=\"0.012\"/>") != std::string::npos);
  CHECK(xml.find("<failure message=\"status (503) == 200\" type=\"condition\">status == "
                 "200\nstatus (503) == 200\nat --expect</failure>") != std::string::npos);
  CHECK(xml.find("<error message=\"connect: connection refused\" type=\"unreachable\">") !=
        std::string::npos);
  CHECK(xml.find("t0ken") == std::string::npos);
  // Every opened element is closed.
  auto count = [&](std::string_view s) {
    std::size_t n = 0;
    for (auto at = xml.find(s); at != std::string::npos; at = xml.find(s, at + 1)) ++n;
    return n;
  };
  CHECK(count("<testsuite ") == count("</testsuite>"));
  CHECK(count("<failure ") == count("</failure>"));
}

TEST_CASE("probe report: Prometheus textfile", "[probe][report]") {
  auto text = report_prom(sample(), ctx());
  CHECK(text.find("# HELP sluice_probe_success ") == 0);
  CHECK(text.find("# TYPE sluice_probe_success gauge\n") != std::string::npos);
  CHECK(text.find("sluice_probe_success{target=\"https://localhost:8443/health\",kind=\"http\"} "
                  "0\n") != std::string::npos);
  CHECK(text.find("sluice_probe_success{target=\"dns://localhost\",kind=\"dns\"} 1\n") !=
        std::string::npos);
  // Label values escape backslashes, quotes and newlines.
  CHECK(text.find("{target=\"api <\\\"&'> \x01\",kind=\"http\"}") != std::string::npos);
  CHECK(text.find("sluice_probe_duration_seconds{target=\"https://localhost:8443/health\","
                  "phase=\"tls\"} 0.003\n") != std::string::npos);
  CHECK(text.find("sluice_probe_status_code{target=\"https://localhost:8443/health\"} 200\n") !=
        std::string::npos);
  CHECK(text.find("sluice_probe_cert_expiry_seconds{target=\"https://localhost:8443/health\"} "
                  "1800432000\n") != std::string::npos);
  CHECK(text.find("sluice_probe_cert_expires_in_seconds{target=\"https://localhost:8443/health\"} "
                  "432000\n") != std::string::npos);
  CHECK(text.find("sluice_probe_unreachable{target=\"tcp://127.0.0.1:2\"} 1\n") !=
        std::string::npos);
  CHECK(text.find("sluice_probe_condition_success{target=\"https://localhost:8443/health\","
                  "condition=\"cert.expires_in > 14d\"} 0\n") != std::string::npos);
  CHECK(text.find("sluice_probe_tls_version_info{target=\"https://localhost:8443/health\","
                  "version=\"1.3\"} 1\n") != std::string::npos);
  // Each family appears once, and every sample line follows its family's TYPE line.
  CHECK(text.find("# TYPE sluice_probe_success") == text.rfind("# TYPE sluice_probe_success"));
  CHECK(text.find("sluice_probe_grpc_serving_status") == std::string::npos);  // no grpc targets
}

TEST_CASE("probe report: formats by name", "[probe][report]") {
  for (auto f : {"text", "json", "junit", "prom"}) CHECK(is_report_format(f));
  CHECK_FALSE(is_report_format("xml"));
  CHECK(render_report("json", sample(), ctx(), false).starts_with("{"));
  CHECK(render_report("junit", sample(), ctx(), false).starts_with("<?xml"));
}
