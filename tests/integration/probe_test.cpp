// `sluice probe` end to end against loopback mocks: HTTP (MockServer), TLS (a throwaway PKI and
// TlsHttpServer), TCP, gRPC health (GrpcHealthMock) and DNS (localhost and .invalid only).
// Verdicts, exit codes, reports (JUnit checked by python3's XML parser, Prometheus by promtool
// when present) and the 200-target acceptance run.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <future>
#include <sstream>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common.hpp"
#include "pki.hpp"
#include "probe_servers.hpp"
#include "sluice/chaos/grpc_health_mock.hpp"
#include "sluice/chaos/mock_server.hpp"
#include "tls_http_server.hpp"

using namespace sluice::test;
using sluice::chaos::GrpcHealthMock;
using sluice::chaos::MockExchange;
using sluice::chaos::MockRoute;
using sluice::chaos::MockServer;
using SteadyClock = std::chrono::steady_clock;
using Json = nlohmann::json;

namespace {

// An upstream with the routes the probe tests need.
std::vector<MockRoute> probe_routes() {
  return {
      {"GET", "/health",
       [](MockExchange& ex) {
         ex.respond(
             200, R"({"status":"UP","db":{"ok":true}})",
             {{"Content-Type", "application/json"}, {"Set-Cookie", "session=do-not-print-me"}});
       }},
      {"GET", "/down",
       [](MockExchange& ex) {
         ex.respond(503, R"({"status":"DOWN"})", {{"Content-Type", "application/json"}});
       }},
      {"GET", "/moved",
       [](MockExchange& ex) {
         ex.respond(302, "", {{"Location", "/health"}});
       }},
      {"POST", "/echo",
       [](MockExchange& ex) {
         std::string auth = ex.request().header("authorization");
         std::string body = ex.body();
         ex.respond(200,
                    fmt::format("method=POST auth={} body={}", auth.empty() ? "-" : "yes", body),
                    {{"Content-Type", "text/plain"}});
       }},
      {"", "/*",
       [](MockExchange& ex) {
         ex.respond(200, "ok", {{"Content-Type", "text/plain"}});
       }},
  };
}

std::string url(const MockServer& m, std::string_view path) {
  return fmt::format("http://{}{}", m.address(), path);
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Json json_of(const RunResult& r) {
  auto j = Json::parse(r.out, nullptr, false);
  INFO(r.out << r.err);
  REQUIRE(j.is_object());
  return j;
}

// Runs a shell command, returning its exit status and what it printed.
int shell(const std::string& command, std::string* output = nullptr) {
  std::string out_file = temp_path("shell", ".out");
  int rc = std::system(fmt::format("{} > {} 2>&1", command, out_file).c_str());
  if (output) *output = slurp(out_file);
  ::unlink(out_file.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

double seconds_since(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

const TestPki& pki() {
  static const TestPki p = make_test_pki(365, 5);
  return p;
}

}  // namespace

TEST_CASE("probe: a healthy HTTP target passes with exit 0", "[integration][probe]") {
  MockServer m("probe", probe_routes());
  auto r = run_sluice({"probe", url(m, "/health")});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("PASS") != std::string::npos);
  CHECK(r.out.find("1 target: 1 passed, 0 failed, 0 unreachable") != std::string::npos);
  // Repeatable options take one value each, so targets may follow them.
  std::string junit = temp_path("first", ".xml");
  auto flags_first = run_sluice({"probe", "-e", "status == 200", "-H", "Accept: */*", "--report",
                                 "junit:" + junit, url(m, "/health"), url(m, "/x")});
  INFO(flags_first.out << flags_first.err);
  CHECK(flags_first.exit_code == 0);
  CHECK(flags_first.out.find("2 targets: 2 passed") != std::string::npos);
}

TEST_CASE("probe: every HTTP condition of the issue holds on a good response",
          "[integration][probe]") {
  MockServer m("probe", probe_routes());
  auto r = run_sluice({"probe",    url(m, "/health"),
                       "--format", "json",
                       "-e",       "status == 200",
                       "-e",       "status in 200..299",
                       "-e",       "latency < 3s",
                       "-e",       "ttfb < 3s and connect < 3s and dns < 3s and tls == 0s",
                       "-e",       "body ~ \"UP\"",
                       "-e",       "json.status == \"UP\"",
                       "-e",       "json.db.ok == true",
                       "-e",       "header.content-type ~ \"json\"",
                       "-e",       "header(\"Content-Type\") == \"application/json\"",
                       "-e",       "http.version == 1.1"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  auto j = json_of(r);
  const auto& t = j["targets"][0];
  CHECK(t["result"] == "pass");
  CHECK(t["status"] == 200);
  CHECK(t["conditions"].size() == 10);
  CHECK(t["timings_ms"]["total"].get<double>() > 0);
  CHECK(t["timings_ms"]["ttfb"].get<double>() > 0);
}

TEST_CASE("probe: failing HTTP conditions exit 1 and say why", "[integration][probe]") {
  MockServer m("probe", probe_routes());
  auto r = run_sluice({"probe",    url(m, "/health"),
                       "--format", "json",
                       "-e",       "status == 204",
                       "-e",       "status in 300..399",
                       "-e",       "latency < 1us",
                       "-e",       "ttfb < 1us",
                       "-e",       "body ~ \"DOWN\"",
                       "-e",       "json.status == \"DOWN\"",
                       "-e",       "header.content-type ~ \"xml\"",
                       "-e",       "header.set-cookie == \"x\""});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  auto j = json_of(r);
  const auto& conds = j["targets"][0]["conditions"];
  REQUIRE(conds.size() == 8);
  for (const auto& c : conds) CHECK(c["passed"] == false);
  CHECK(conds[0]["message"] == "status (200) == 204");
  CHECK(conds[5]["message"] == "json.status (\"UP\") == \"DOWN\"");
  CHECK(conds[6]["message"] == "header.content-type (\"application/json\") ~ \"xml\"");
  // A sensitive response header is redacted in the explanation.
  CHECK(conds[7]["message"] == "header.set-cookie (\"[redacted]\") == \"x\"");
  CHECK(r.out.find("do-not-print-me") == std::string::npos);
}

TEST_CASE("probe: the default condition is status 2xx", "[integration][probe]") {
  MockServer m("probe", probe_routes());
  auto r = run_sluice({"probe", url(m, "/down")});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.out.find("status (503) in 200..299") != std::string::npos);
}

TEST_CASE("probe: method, headers, body and redirects", "[integration][probe]") {
  MockServer m("probe", probe_routes());
  auto post = run_sluice({"probe", url(m, "/echo"), "-X", "POST", "-H",
                          "Authorization: Bearer sup3rs3cret", "-d", "hello", "--format", "json",
                          "-e", "body == \"method=POST auth=yes body=hello\""});
  INFO(post.out << post.err);
  CHECK(post.exit_code == 0);
  // The request's secret header is never printed.
  CHECK(post.out.find("sup3rs3cret") == std::string::npos);
  CHECK(json_of(post)["targets"][0]["request"]["headers"]["Authorization"] == "[redacted]");

  auto no_follow = run_sluice({"probe", url(m, "/moved"), "-e", "status == 302"});
  CHECK(no_follow.exit_code == 0);
  auto follow = run_sluice({"probe", url(m, "/moved"), "-L", "-e", "status == 200", "-e",
                            "redirects == 1", "-e", "url ~ \"/health$\""});
  INFO(follow.out << follow.err);
  CHECK(follow.exit_code == 0);
}

TEST_CASE("probe: --http-version 1.1 and 2", "[integration][probe]") {
  MockServer m("probe", probe_routes());
  auto r = run_sluice(
      {"probe", url(m, "/health"), "--http-version", "1.1", "-e", "http.version == 1.1"});
  CHECK(r.exit_code == 0);
  // HTTP/2 over plain TCP is prior knowledge (h2c), which the gRPC mock speaks.
  GrpcHealthMock g;
  auto h2 = run_sluice({"probe", fmt::format("http://{}/", g.address()), "--http-version", "2",
                        "-e", "http.version == 2"});
  INFO(h2.out << h2.err);
  CHECK(h2.exit_code == 0);
  // An HTTP/1.1 server does not understand the HTTP/2 preface.
  CHECK(run_sluice({"probe", url(m, "/health"), "--http-version", "2", "--probe-timeout", "2s"})
            .exit_code != 0);
}

TEST_CASE("probe: TLS with a test CA, certificate expiry and the TLS version",
          "[integration][probe]") {
  const auto& p = pki();
  TlsHttpServer good(p.server_cert, p.server_key);
  TlsHttpServer soon(p.soon_cert, p.soon_key);
  std::string good_url = fmt::format("https://localhost:{}/health", good.port());
  std::string soon_url = fmt::format("https://127.0.0.1:{}/health", soon.port());

  auto ok = run_sluice({"probe", good_url, "--cacert", p.ca_cert, "--format", "json", "-e",
                        "status == 200", "-e", "cert.expires_in > 14d", "-e", "tls.version >= 1.2",
                        "-e", "tls < 3s", "-e", "json.status == \"UP\"", "-e",
                        "header.content-type ~ \"json\""});
  INFO(ok.out << ok.err);
  CHECK(ok.exit_code == 0);
  auto j = json_of(ok);
  CHECK(j["targets"][0]["tls"]["version"].get<std::string>().starts_with("1."));
  CHECK(j["targets"][0]["tls"]["cert"]["expires_in_s"].get<long>() > 300 * 86400);

  auto expiring =
      run_sluice({"probe", soon_url, "--cacert", p.ca_cert, "-e", "cert.expires_in > 14d"});
  INFO(expiring.out << expiring.err);
  CHECK(expiring.exit_code == 1);
  CHECK(expiring.out.find("cert.expires_in (") != std::string::npos);
  CHECK(run_sluice({"probe", soon_url, "--cacert", p.ca_cert, "-e", "cert.expires_in > 3d", "-e",
                    "cert.expires_in < 6d"})
            .exit_code == 0);

  // An unknown CA is a TLS failure: unreachable, 3. --insecure skips verification.
  auto untrusted = run_sluice({"probe", good_url});
  INFO(untrusted.out << untrusted.err);
  CHECK(untrusted.exit_code == 3);
  CHECK(untrusted.out.find("tls:") != std::string::npos);
  CHECK(run_sluice({"probe", good_url, "-k"}).exit_code == 0);

  // --sni: the name checked against the certificate, while connecting to the URL's address.
  std::string by_ip = fmt::format("https://127.0.0.1:{}/health", good.port());
  CHECK(run_sluice({"probe", by_ip, "--cacert", p.ca_cert, "--sni", "localhost"}).exit_code == 0);
  auto wrong_name = run_sluice({"probe", by_ip, "--cacert", p.ca_cert, "--sni", "wrong.example"});
  INFO(wrong_name.out);
  CHECK(wrong_name.exit_code == 3);

  // grpcs:// goes through the same TLS; this server speaks HTTP/1.1, not gRPC, which is a
  // failure with a reason rather than an unreachable target.
  std::string grpcs = fmt::format("grpcs://localhost:{}", good.port());
  auto not_grpc = run_sluice({"probe", grpcs, "--cacert", p.ca_cert, "--format", "json"});
  INFO(not_grpc.out << not_grpc.err);
  CHECK(not_grpc.exit_code == 1);
  auto nj = json_of(not_grpc);
  CHECK(nj["targets"][0]["tls"]["version"].is_string());
  CHECK(nj["targets"][0]["note"].get<std::string>().find("gRPC") != std::string::npos);
  CHECK(run_sluice({"probe", grpcs}).exit_code == 3);
}

TEST_CASE("probe: a client certificate for mutual TLS", "[integration][probe]") {
  const auto& p = pki();
  TlsHttpServer mtls(p.server_cert, p.server_key, 200, "{\"status\":\"UP\"}", p.ca_cert);
  std::string u = fmt::format("https://localhost:{}/", mtls.port());
  auto with = run_sluice(
      {"probe", u, "--cacert", p.ca_cert, "--cert", p.client_cert, "--key", p.client_key});
  INFO(with.out << with.err);
  CHECK(with.exit_code == 0);
  auto without = run_sluice({"probe", u, "--cacert", p.ca_cert});
  INFO(without.out << without.err);
  CHECK(without.exit_code != 0);
}

TEST_CASE("probe: TCP connect, send and receive", "[integration][probe]") {
  MockServer m("tcp", probe_routes());
  auto r = run_sluice({"probe", fmt::format("tcp://{}", m.address())});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("connected") != std::string::npos);

  ReplyServer pong("+PONG\r\n");
  std::string target = fmt::format("tcp://127.0.0.1:{}", pong.port());
  auto talk = run_sluice({"probe", target, "--send", "PING\\r\\n", "--receive", "^\\+PONG",
                          "--format", "json", "-e", "received ~ \"PONG\"", "-e", "connect < 3s"});
  INFO(talk.out << talk.err);
  CHECK(talk.exit_code == 0);
  CHECK(pong.received() == "PING\r\n");
  CHECK(json_of(talk)["targets"][0]["tcp"]["received"] == "+PONG\r\n");

  auto wrong = run_sluice(
      {"probe", target, "--send", "PING\\r\\n", "--receive", "^-ERR", "--probe-timeout", "1s"});
  INFO(wrong.out << wrong.err);
  CHECK(wrong.exit_code == 1);
  CHECK(wrong.out.find("received (\"+PONG") != std::string::npos);

  auto closed = run_sluice({"probe", fmt::format("tcp://127.0.0.1:{}", unused_port())});
  INFO(closed.out << closed.err);
  CHECK(closed.exit_code == 3);
  CHECK(closed.out.find("UNREACHABLE") != std::string::npos);
}

TEST_CASE("probe: gRPC health over h2c", "[integration][probe]") {
  GrpcHealthMock g;
  g.set_status("", 1);
  g.set_status("sick.Service", 2);
  std::string base = fmt::format("grpc://{}", g.address());

  auto serving = run_sluice({"probe", base, "--format", "json"});
  INFO(serving.out << serving.err);
  CHECK(serving.exit_code == 0);
  auto j = json_of(serving);
  CHECK(j["targets"][0]["grpc"]["status"] == "SERVING");
  CHECK(j["targets"][0]["grpc"]["code"] == 0);
  CHECK(j["targets"][0]["http_version"] == "2");

  auto explicit_ok = run_sluice({"probe", base, "-e", "grpc.status == SERVING", "-e",
                                 "grpc.code == 0", "-e", "latency < 3s"});
  CHECK(explicit_ok.exit_code == 0);

  auto sick = run_sluice({"probe", base + "/sick.Service"});
  INFO(sick.out << sick.err);
  CHECK(sick.exit_code == 1);
  CHECK(sick.out.find("NOT_SERVING") != std::string::npos);
  CHECK(run_sluice({"probe", base, "--service", "sick.Service", "-e", "grpc.status == NOT_SERVING"})
            .exit_code == 0);

  auto unknown = run_sluice({"probe", base + "/nobody.Service"});
  INFO(unknown.out << unknown.err);
  CHECK(unknown.exit_code == 1);
  CHECK(unknown.out.find("NOT_FOUND") != std::string::npos);
  CHECK(g.requests() >= 5);

  auto down = run_sluice({"probe", fmt::format("grpc://127.0.0.1:{}", unused_port())});
  CHECK(down.exit_code == 3);
}

TEST_CASE("probe: DNS resolves localhost and fails .invalid at once", "[integration][probe]") {
  auto local = run_sluice(
      {"probe", "dns://localhost", "--format", "json", "-e", "\"127.0.0.1\" in dns.addresses"});
  INFO(local.out << local.err);
  CHECK(local.exit_code == 0);

  auto start = SteadyClock::now();
  auto missing = run_sluice({"probe", "dns://nonexistent.invalid"});
  double took = seconds_since(start);
  INFO(missing.out << missing.err);
  CHECK(missing.exit_code == 3);
  CHECK(missing.out.find("does not resolve") != std::string::npos);
  CHECK(took < 5.0);
  // The same for the other kinds: never a lookup on the network.
  CHECK(run_sluice({"probe", "http://nonexistent.invalid/"}).exit_code == 3);
  CHECK(run_sluice({"probe", "tcp://nonexistent.invalid:80"}).exit_code == 3);
}

TEST_CASE("probe: --wait succeeds when the target comes up late", "[integration][probe]") {
  std::uint16_t port = unused_port();
  auto start = SteadyClock::now();
  auto waiting = std::async(std::launch::async, [&] {
    return run_sluice(
        {"probe", fmt::format("http://127.0.0.1:{}/health", port), "--wait", "--timeout", "20s",
         "--interval", "100ms", "--success-threshold", "2", "--format", "json"},
        40s);
  });
  std::this_thread::sleep_for(1500ms);
  MockServer late("late", probe_routes(), port);
  auto r = waiting.get();
  double took = seconds_since(start);
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(took >= 1.4);
  CHECK(took < 15);
  auto j = json_of(r);
  CHECK(j["mode"] == "wait");
  CHECK(j["targets"][0]["attempts"].get<int>() >= 3);
  CHECK(j["targets"][0]["passed_attempts"] == 2);
}

TEST_CASE("probe: --wait fails at the deadline with the last reason", "[integration][probe]") {
  MockServer m("probe", probe_routes());
  auto start = SteadyClock::now();
  auto r =
      run_sluice({"probe", url(m, "/down"), "--wait", "--timeout", "1s", "--interval", "200ms"});
  double took = seconds_since(start);
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.out.find("not healthy after 1s") != std::string::npos);
  CHECK(r.out.find("status (503) in 200..299") != std::string::npos);
  CHECK(took >= 0.9);
  CHECK(took < 10);

  auto unreachable = run_sluice({"probe", fmt::format("tcp://127.0.0.1:{}", unused_port()),
                                 "--wait", "--timeout", "600ms", "--interval", "100ms"});
  CHECK(unreachable.exit_code == 3);
}

TEST_CASE("probe: --repeat reports min, median, p95 and max", "[integration][probe]") {
  MockServer m("probe", probe_routes());
  auto r = run_sluice(
      {"probe", url(m, "/health"), "--repeat", "5", "--interval", "10ms", "--format", "json"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  auto s = json_of(r)["targets"][0]["stats_ms"];
  CHECK(s["count"] == 5);
  CHECK(s["min"].get<double>() <= s["median"].get<double>());
  CHECK(s["median"].get<double>() <= s["p95"].get<double>());
  CHECK(s["p95"].get<double>() <= s["max"].get<double>());
  CHECK(m.requests() == 5);
  auto text = run_sluice({"probe", url(m, "/health"), "--repeat", "3", "--interval", "10ms"});
  CHECK(text.out.find("MEDIAN") != std::string::npos);
  CHECK(text.out.find("3/3") != std::string::npos);
}

TEST_CASE("probe: 3 wins over 1 across targets", "[integration][probe]") {
  MockServer m("probe", probe_routes());
  auto r = run_sluice({"probe", url(m, "/health"), url(m, "/down"),
                       fmt::format("http://127.0.0.1:{}/", unused_port())});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 3);
  CHECK(r.out.find("3 targets: 1 passed, 1 failed, 1 unreachable") != std::string::npos);
}

TEST_CASE("probe: usage errors exit 2 before probing", "[integration][probe]") {
  auto none = run_sluice({"probe"});
  CHECK(none.exit_code == 2);
  CHECK(none.err.find("no targets (hint:") != std::string::npos);

  auto scheme = run_sluice({"probe", "127.0.0.1:8080"});
  CHECK(scheme.exit_code == 2);
  CHECK(scheme.err.find("no scheme (hint: write http://127.0.0.1:8080/") != std::string::npos);

  auto bad = run_sluice({"probe", "http://127.0.0.1:1/", "-e", "status == 200 and latncy < 1s"});
  INFO(bad.err);
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("    status == 200 and latncy < 1s\n"
                     "                      ^ unknown name \"latncy\" (did you mean "
                     "\"latency\"?)") != std::string::npos);

  auto syntax = run_sluice({"probe", "http://127.0.0.1:1/", "-e", "status = 200"});
  CHECK(syntax.exit_code == 2);
  CHECK(syntax.err.find("^ ") != std::string::npos);

  CHECK(run_sluice({"probe", "http://a/", "--wait", "--repeat", "3"}).exit_code == 2);
  CHECK(run_sluice({"probe", "http://a/", "--timeout", "3s"}).exit_code == 2);
  CHECK(run_sluice({"probe", "http://a/", "--probe-timeout", "soon"}).exit_code == 2);
  CHECK(run_sluice({"probe", "http://a/", "--report", "xml:out.xml"}).exit_code == 2);
  CHECK(run_sluice({"probe", "http://a/", "--format", "yaml"}).exit_code == 2);
  CHECK(run_sluice({"probe", "http://a/", "--send", "x"}).exit_code == 2);
  CHECK(run_sluice({"probe", "http://a/", "--cacert", "/nonexistent.pem"}).exit_code == 2);
}

TEST_CASE("probe: a targets file, and its errors as FILE:LINE:COL", "[integration][probe]") {
  MockServer m("probe", probe_routes());
  std::string file = temp_path("targets", ".toml");
  write_file(file, fmt::format(R"([defaults]
timeout = "2s"

[[targets]]
name = "health"
url = "{}"
expect = ["status == 200", "json.status == \"UP\""]

[[targets]]
name = "port"
url = "tcp://{}"

[[targets]]
name = "localhost"
url = "dns://localhost"
)",
                               url(m, "/health"), m.address()));
  auto r = run_sluice({"probe", "--file", file, "--format", "json"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  auto j = json_of(r);
  REQUIRE(j["targets"].size() == 3);
  CHECK(j["targets"][0]["name"] == "health");
  CHECK(j["targets"][0]["origin"] == file + ":4:1");

  std::string bad = temp_path("targets", ".toml");
  write_file(bad,
             "[[targets]]\nurl = \"http://127.0.0.1:1/\"\nexpect = \"staus == 200\"\n"
             "tiemout = \"1s\"\n");
  auto e = run_sluice({"probe", "--file", bad});
  INFO(e.err);
  CHECK(e.exit_code == 2);
  CHECK(e.err.find(bad + ":3:10: targets[0].expect: invalid condition") != std::string::npos);
  CHECK(e.err.find(bad + ":4:1: targets[0].tiemout: unknown key (hint: did you mean "
                         "\"timeout\"?)") != std::string::npos);
}

TEST_CASE("probe: every endpoint of a gateway config", "[integration][probe]") {
  MockServer a("a"), b("b");
  std::string config = temp_path("gateway", ".toml");
  write_file(config, proxy_config({a.address(), fmt::format("http://{}", b.address())}));
  auto r = run_sluice({"probe", "--config", config, "--format", "json"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  auto j = json_of(r);
  REQUIRE(j["targets"].size() == 2);
  CHECK(j["targets"][0]["name"] == "backend/" + a.address());
  CHECK(a.requests() == 1);
  CHECK(b.requests() == 1);

  std::string broken = temp_path("gateway", ".toml");
  write_file(broken, "[[clusters]]\nname = \"x\"\nendpoints = [\"ftp://a\"]\n");
  auto e = run_sluice({"probe", "--config", broken});
  CHECK(e.exit_code == 2);
  CHECK(e.err.find(broken + ":3:") != std::string::npos);
}

TEST_CASE("probe: JUnit and JSON reports, JUnit parsed by a real XML parser",
          "[integration][probe]") {
  MockServer m("probe", probe_routes());
  std::string junit = temp_path("probe", ".xml");
  std::string json = temp_path("probe", ".json");
  std::string targets = temp_path("targets", ".toml");
  // A name with every character XML escapes.
  write_file(targets, fmt::format("[[targets]]\nname = \"down <&>\\\"' \"\nurl = \"{}\"\n",
                                  url(m, "/down")));
  std::string tcp = fmt::format("tcp://127.0.0.1:{}", unused_port());
  auto r = run_sluice({"probe", url(m, "/health"), "--file", targets, "--report", "junit:" + junit,
                       "--report", "json:" + json, "--format", "junit"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.out == slurp(junit));
  std::string py = fmt::format(
      "python3 -c \"import sys, xml.etree.ElementTree as ET; r = ET.parse(sys.argv[1]).getroot(); "
      "cases = r.findall('.//testcase'); fails = r.findall('.//failure'); "
      "print(r.get('tests'), r.get('failures'), len(cases), len(fails), "
      "cases[1].get('classname'))\" {}",
      junit);
  std::string out;
  CHECK(shell(py, &out) == 0);
  INFO(out);
  CHECK(out.find("2 1 2 1 down <&>\"' ") != std::string::npos);
  auto j = Json::parse(slurp(json), nullptr, false);
  REQUIRE(j.is_object());
  CHECK(j["summary"]["failed"] == 1);

  auto unreachable = run_sluice({"probe", tcp, "--format", "junit"});
  CHECK(unreachable.exit_code == 3);
  std::string file = temp_path("probe", ".xml");
  write_file(file, unreachable.out);
  CHECK(shell(fmt::format("python3 -c \"import sys, xml.etree.ElementTree as ET; "
                          "r = ET.parse(sys.argv[1]).getroot(); "
                          "assert len(r.findall('.//error')) == 1\" {}",
                          file)) == 0);
}

TEST_CASE("probe: a Prometheus textfile that promtool accepts", "[integration][probe]") {
  MockServer m("probe", probe_routes());
  GrpcHealthMock g;
  std::string file = temp_path("probe", ".prom");
  auto r = run_sluice({"probe", url(m, "/health"), fmt::format("grpc://{}", g.address()),
                       "dns://localhost", "--report", "prom:" + file, "--format", "prom"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find(fmt::format("sluice_probe_success{{target=\"{}\",kind=\"http\"}} 1",
                               url(m, "/health"))) != std::string::npos);
  CHECK(r.out.find("sluice_probe_status_code{target=") != std::string::npos);
  CHECK(r.out.find("sluice_probe_grpc_serving_status{target=") != std::string::npos);
  CHECK(r.out.find("phase=\"connect\"") != std::string::npos);
  if (shell("command -v promtool") == 0) {
    std::string out;
    int rc = shell(fmt::format("promtool check metrics < {}", file), &out);
    INFO(out);
    CHECK(rc == 0);
  }
}

TEST_CASE("probe: 200 targets, half of them hanging, finish within about five probe timeouts",
          "[integration][probe][acceptance]") {
  MockServer live("live", probe_routes());
  Blackhole hole;
  std::string file = temp_path("many", ".toml");
  std::string toml;
  for (int i = 0; i < 200; ++i) {
    if (i % 2 == 0)
      toml += fmt::format("[[targets]]\nurl = \"http://{}/ok/{}\"\n", live.address(), i);
    else
      toml += fmt::format("[[targets]]\nurl = \"http://127.0.0.1:{}/hang/{}\"\n", hole.port(), i);
  }
  write_file(file, toml);
  auto start = SteadyClock::now();
  auto r = run_sluice({"probe", "--file", file, "--concurrency", "50", "--probe-timeout", "300ms",
                       "--format", "json"},
                      60s);
  double took = seconds_since(start);
  INFO(r.err);
  CHECK(r.exit_code == 1);  // the hanging ones time out after connecting: a failure
  auto j = json_of(r);
  CHECK(j["summary"]["targets"] == 200);
  CHECK(j["summary"]["passed"] == 100);
  CHECK(j["summary"]["failed"] == 100);
  double run_s = j["elapsed_ms"].get<double>() / 1000;
  WARN(
      fmt::format("200 targets, concurrency 50, probe timeout 300ms: probing took {:.2f}s, the "
                  "whole process {:.2f}s",
                  run_s, took));
  // 100 hanging targets over 50 workers is two rounds of 300ms; five timeouts is 1.5s.
  CHECK(run_s < 1.5);
  CHECK(took < 3.0);
}
