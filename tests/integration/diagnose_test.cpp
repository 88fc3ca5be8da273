// `sluice diagnose` end to end: a cold diagnosis of a config (a live mock and a dead port), a
// live one through the admin API of a running gateway whose health checks fail with 503, an
// admin URL nobody answers (exit 3), and a JUnit report checked by python3's XML parser.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

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

MockServer healthy_mock() {
  return MockServer("up", {{"", "*", [](MockExchange& ex) { ex.respond(200, "ok"); }}});
}

std::string cold_config(const std::vector<std::string>& api, const std::vector<std::string>& solo) {
  std::string rest = fmt::format(R"([[routes]]
cluster = "api"
[[clusters]]
name = "api"
endpoints = {}
)",
                                 toml_list(api));
  if (!solo.empty())
    rest += fmt::format(R"([[clusters]]
name = "solo"
endpoints = {}
)",
                        toml_list(solo));
  return config_with(rest);
}

std::string write_config(std::string_view toml) {
  std::string path = temp_path("diagnose", ".toml");
  write_file(path, toml);
  return path;
}

bool has(const std::string& s, std::string_view what) {
  return s.find(what) != std::string::npos;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("diagnose: cold, a dead endpoint beside a live one is named with a fix",
          "[integration][diagnose]") {
  MockServer up = healthy_mock();
  const std::string dead = fmt::format("127.0.0.1:{}", unused_port());
  const std::string config = write_config(cold_config({up.address(), dead}, {}));

  auto r = run_sluice({"diagnose", "--config", config, "--timeout", "2s"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);  // the cluster still has a usable endpoint
  CHECK(has(r.out, "connection refused on " + dead));
  CHECK(has(r.out, "start the service or remove the endpoint"));
  CHECK(has(r.out, "cluster api: DEGRADED, 1 of 2 endpoints usable"));
  CHECK_FALSE(has(r.out, "\x1b["));  // not a terminal: no colour

  auto js = run_sluice({"diagnose", "-c", config, "--format", "json"});
  INFO(js.out << js.err);
  CHECK(js.exit_code == 0);
  auto j = Json::parse(js.out, nullptr, false);
  REQUIRE(j.is_object());
  const auto& eps = j["clusters"][0]["endpoints"];
  REQUIRE(eps.size() == 2);
  CHECK(eps[0]["verdict"] == "ok");
  CHECK(eps[0]["checks"]["health"]["result"] == "ok");
  CHECK(eps[1]["verdict"] == "unreachable");
  CHECK(eps[1]["phase"] == "connect");
  CHECK(has(eps[1]["cause"].get<std::string>(), "connection refused"));
  CHECK(has(eps[1]["fix"].get<std::string>(), "remove the endpoint"));
  CHECK(j["clusters"][0]["usable"] == 1);
}

TEST_CASE("diagnose: cold, a cluster whose only endpoint is dead exits 1",
          "[integration][diagnose]") {
  MockServer up = healthy_mock();
  const std::string dead = fmt::format("127.0.0.1:{}", unused_port());
  auto r = run_sluice({"diagnose", "--config", write_config(cold_config({up.address()}, {dead}))});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(has(r.out, "cluster solo: DOWN, 0 of 1 endpoint usable"));
  CHECK(has(r.out, "no healthy upstream"));

  // Usage and config errors are status 2.
  CHECK(run_sluice({"diagnose"}).exit_code == 2);
  auto bad = write_config("[[clusters]]\nname = \"x\"\nendpoints = 3\n");
  auto bad_run = run_sluice({"diagnose", "--config", bad});
  INFO(bad_run.err);
  CHECK(bad_run.exit_code == 2);
  CHECK(has(bad_run.err, bad));
  CHECK(run_sluice({"diagnose", "--config", bad, "--timeout", "0s"}).exit_code == 2);
  CHECK(run_sluice({"diagnose", "--admin", "ftp://x"}).exit_code == 2);
}

TEST_CASE("diagnose: live, a failing health check is named with its status",
          "[integration][diagnose]") {
  MockServer sick("sick", {{"GET", "/health", [](MockExchange& ex) { ex.respond(503, "down"); }},
                           {"", "*", [](MockExchange& ex) { ex.respond(200, "ok"); }}});
  MockServer up = healthy_mock();
  SluiceProcess proc(config_with(fmt::format(R"([[routes]]
cluster = "api"
[[clusters]]
name = "api"
endpoints = ["{}"]
panic_threshold = 0
[clusters.health_check]
path = "/health"
interval = "50ms"
no_traffic_interval = "50ms"
timeout = "500ms"
unhealthy_threshold = 1
[[clusters]]
name = "other"
endpoints = ["{}"]
)",
                                             sick.address(), up.address())));
  const std::string admin = fmt::format("http://127.0.0.1:{}", proc.admin_port());
  RunResult r;
  REQUIRE(eventually(
      [&] {
        r = run_sluice({"diagnose", "--admin", admin, "--format", "json"});
        return r.exit_code == 1 && has(r.out, "status 503");
      },
      10s));
  INFO(r.out << r.err);
  auto j = Json::parse(r.out, nullptr, false);
  REQUIRE(j.is_object());
  CHECK(j["mode"] == "admin");
  const auto& api = j["clusters"][0];
  CHECK(api["cluster"] == "api");
  CHECK(api["verdict"] == "down");
  const auto& ep = api["endpoints"][0];
  CHECK(ep["verdict"] == "unhealthy");
  CHECK(ep["phase"] == "health_check");
  CHECK(has(ep["cause"].get<std::string>(), "health check got status 503"));
  CHECK(has(ep["fix"].get<std::string>(), "reports itself unhealthy"));
  CHECK(ep["gateway"]["state"] == "unhealthy");
  CHECK(ep["checks"]["connect"]["result"] == "ok");  // probed from outside by TCP
  CHECK(j["clusters"][1]["verdict"] == "ok");

  // With the config too, the outside probe is the cluster's health check itself.
  auto both = run_sluice({"diagnose", "--admin", admin, "--config", proc.config_path()});
  INFO(both.out << both.err);
  CHECK(both.exit_code == 1);
  CHECK(has(both.out, "status 503"));
  CHECK(has(both.out, "(GET /health -> 503)"));
}

TEST_CASE("diagnose: an admin URL nobody answers exits 3", "[integration][diagnose]") {
  const std::string admin = fmt::format("http://127.0.0.1:{}", unused_port());
  auto r = run_sluice({"diagnose", "--admin", admin, "--timeout", "2s"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 3);
  CHECK(has(r.err, "cannot reach the admin API"));

  // 3 wins over 1: the config's only endpoint is dead too.
  const std::string dead = fmt::format("127.0.0.1:{}", unused_port());
  auto both =
      run_sluice({"diagnose", "--admin", admin, "--config", write_config(cold_config({dead}, {}))});
  INFO(both.out << both.err);
  CHECK(both.exit_code == 3);
  CHECK(has(both.out, "connection refused"));
}

TEST_CASE("diagnose: the JUnit report parses, one testsuite per cluster",
          "[integration][diagnose]") {
  MockServer up = healthy_mock();
  const std::string dead = fmt::format("127.0.0.1:{}", unused_port());
  const std::string config = write_config(cold_config({up.address(), dead}, {dead}));
  const std::string junit = temp_path("diagnose", ".xml");
  const std::string json = temp_path("diagnose", ".json");
  auto r = run_sluice({"diagnose", "--config", config, "--format", "junit", "--report",
                       "junit:" + junit, "--report", "json:" + json});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.out == slurp(junit));
  CHECK(Json::parse(slurp(json), nullptr, false).is_object());
  std::string script = temp_path("junit", ".py");
  write_file(script,
             "import sys, xml.etree.ElementTree as ET\n"
             "root = ET.parse(sys.argv[1]).getroot()\n"
             "suites = root.findall('testsuite')\n"
             "assert [s.get('name') for s in suites] == ['api', 'solo'], suites\n"
             "assert [len(s.findall('testcase')) for s in suites] == [2, 1]\n"
             "failures = root.findall('.//failure')\n"
             "assert len(failures) == 2, len(failures)\n"
             "assert 'connection refused' in failures[0].get('message')\n"
             "assert 'remove the endpoint' in failures[0].get('message')\n"
             "print('ok')\n");
  int rc = std::system(fmt::format("python3 {} {} > /dev/null", script, junit).c_str());
  CHECK(WIFEXITED(rc));
  CHECK(WEXITSTATUS(rc) == 0);
  ::unlink(script.c_str());
}
