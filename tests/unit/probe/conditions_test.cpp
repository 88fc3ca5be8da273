// Conditions: the names each kind provides, the checks made before probing, and evaluation
// against results built by hand (so nothing here touches the network or the clock).
#include <catch2/catch.hpp>

#include "sluice/probe/conditions.hpp"

using namespace sluice;
using namespace sluice::probe;
using namespace std::chrono_literals;

namespace {

const auto kNow = std::chrono::system_clock::time_point(std::chrono::hours(24 * 365 * 50));

Target target(std::string_view url, std::vector<std::string> expect = {}) {
  auto t = parse_target(url);
  REQUIRE(t.ok());
  std::vector<ConditionText> texts;
  for (auto& e : expect) texts.push_back({e, "--expect"});
  auto built = build_conditions(*t, texts);
  INFO((built.ok() ? "" : built.error().message));
  REQUIRE(built.ok());
  return std::move(*t);
}

ProbeResult http_result() {
  ProbeResult r;
  r.status = 200;
  r.http_version = "2";
  r.headers = {{"content-type", "application/json; charset=utf-8"},
               {"x-request-id", "abc"},
               {"set-cookie", "session=secret-value"},
               {"vary", "a"},
               {"vary", "b"}};
  r.body = R"({"status":"UP","checks":[{"name":"db","ok":true}],"count":3})";
  r.timings = {1ms, 2ms, 3ms, 20ms, 25ms};
  r.tls_version = "1.3";
  r.tls_cipher = "TLS_AES_128_GCM_SHA256";
  r.cert = CertInfo{"CN=localhost", "CN=Test CA", kNow + 24h * 30};
  r.final_url = "https://localhost/health";
  return r;
}

bool holds(const Target& t, const ProbeResult& r, std::string_view text) {
  auto c = compile_condition(text, t.kind, "test");
  INFO(text << (c.ok() ? "" : "\n" + c.error().message));
  REQUIRE(c.ok());
  ProbeScope scope(t.kind, r, kNow);
  auto h = expr::holds(c->expr, scope);
  INFO((h.ok() ? "" : h.error().message));
  REQUIRE(h.ok());
  return *h;
}

std::string compile_error(std::string_view text, Kind kind) {
  auto c = compile_condition(text, kind, "test");
  REQUIRE_FALSE(c.ok());
  CHECK(c.error().kind == ErrorKind::usage);
  return c.error().message;
}

}  // namespace

TEST_CASE("probe conditions: each kind has a default", "[probe][conditions]") {
  CHECK(target("http://h/").conditions.at(0).source == "status in 200..299");
  CHECK(target("tcp://h:1").conditions.at(0).source == "connected");
  CHECK(target("grpc://h:1").conditions.at(0).source == "grpc.status == SERVING");
  CHECK(target("dns://h").conditions.at(0).source == "resolved");
  CHECK(target("http://h/").conditions.at(0).origin == "default");
  // Given conditions replace the default.
  auto t = target("http://h/", {"status == 204"});
  REQUIRE(t.conditions.size() == 1);
  CHECK(t.conditions[0].source == "status == 204");
  CHECK(t.conditions[0].origin == "--expect");
}

TEST_CASE("probe conditions: tcp receive adds a pattern condition", "[probe][conditions]") {
  auto t = *parse_target("tcp://h:1");
  t.options.receive = "^\\+PONG";
  REQUIRE(build_conditions(t, {}).ok());
  REQUIRE(t.conditions.size() == 2);
  CHECK(t.conditions[1].source == "received ~ \"^\\\\+PONG\"");
  ProbeResult r;
  r.connected = true;
  r.received = "+PONG\r\n";
  auto results = evaluate_conditions(t, r, kNow);
  CHECK(results[0].passed);
  CHECK(results[1].passed);
  r.received = "-ERR";
  CHECK_FALSE(evaluate_conditions(t, r, kNow)[1].passed);

  t.options.receive = "(unclosed";
  auto bad = build_conditions(t, {});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.find("receive: invalid condition") != std::string::npos);
}

TEST_CASE("probe conditions: the examples of the issue hold on a good response",
          "[probe][conditions]") {
  auto t = target("https://localhost/health");
  auto r = http_result();
  CHECK(holds(t, r, "status == 200"));
  CHECK(holds(t, r, "status in 200..299"));
  CHECK(holds(t, r, "latency < 300ms"));
  CHECK(holds(t, r, "ttfb < 100ms and connect < 10ms and tls < 10ms and dns < 5ms"));
  CHECK(holds(t, r, "body ~ \"\\\"status\\\":\\\"UP\\\"\""));
  CHECK(holds(t, r, "json.status == \"UP\""));
  CHECK(holds(t, r, "header.content-type ~ \"json\""));
  CHECK(holds(t, r, "header(\"Content-Type\") ~ \"^application/json\""));
  CHECK(holds(t, r, "cert.expires_in > 14d"));
  CHECK(holds(t, r, "tls.version >= 1.2"));
  CHECK(holds(t, r, "http.version == 2"));
}

TEST_CASE("probe conditions: probe accessors", "[probe][conditions]") {
  auto t = target("https://localhost/health");
  auto r = http_result();
  CHECK(holds(t, r, "json.count == 3"));
  CHECK(holds(t, r, "json(\"checks[0].name\") == \"db\""));
  CHECK(holds(t, r, "json(\"checks.0.ok\") == true"));
  CHECK(holds(t, r, "json.missing == null"));
  CHECK(holds(t, r, "json(\"checks.9.name\") == null"));
  CHECK(holds(t, r, "header.x-request-id == \"abc\""));
  CHECK(holds(t, r, "header.vary == \"a, b\""));
  CHECK(holds(t, r, "header.x-absent == null"));
  CHECK(holds(t, r, "body.size > 10"));
  CHECK(holds(t, r, "redirects == 0"));
  CHECK(holds(t, r, "url == \"https://localhost/health\""));
  CHECK(holds(t, r, "tls.cipher contains \"AES\""));
  CHECK(holds(t, r, "cert.subject == \"CN=localhost\" and cert.issuer == \"CN=Test CA\""));
  CHECK(holds(t, r, "cert.expires_in == 30d"));
  CHECK_FALSE(holds(t, r, "cert.expires_in > 31d"));
  // Phases that did not happen are zero, so one condition fits http and https alike.
  ProbeResult plain;
  plain.status = 200;
  CHECK(holds(t, plain, "tls < 1ms"));
  CHECK(holds(t, plain, "tls.version == null and cert.expires_in == null"));
}

TEST_CASE("probe conditions: grpc, tcp and dns accessors", "[probe][conditions]") {
  auto g = target("grpc://h:1");
  ProbeResult r;
  r.status = 200;
  r.serving_status = 1;
  r.grpc_code = 0;
  CHECK(holds(g, r, "grpc.status == SERVING"));
  CHECK(holds(g, r, "grpc.status == \"SERVING\""));
  CHECK(holds(g, r, "grpc.code == 0"));
  CHECK(holds(g, r, "grpc.status != NOT_SERVING and UNKNOWN == \"UNKNOWN\""));
  r.serving_status.reset();
  r.grpc_code = 5;
  r.grpc_message = "unknown service";
  CHECK(holds(g, r, "grpc.status == null and grpc.code == 5"));
  CHECK(holds(g, r, "grpc.message contains \"unknown\""));

  auto t = target("tcp://h:1");
  ProbeResult tr;
  tr.connected = true;
  tr.received = "SSH-2.0-OpenSSH\r\n";
  CHECK(holds(t, tr, "connected and received ~ \"^SSH-2\""));
  CHECK(holds(t, tr, "received.size == 17"));

  auto d = target("dns://localhost");
  ProbeResult dr;
  dr.addresses = {"127.0.0.1", "::1"};
  CHECK(holds(d, dr, "resolved and dns.count == 2"));
  CHECK(holds(d, dr, "\"127.0.0.1\" in dns.addresses"));
  CHECK(holds(d, dr, "dns.addresses contains \"::1\""));
  ProbeResult none;
  CHECK_FALSE(holds(d, none, "resolved"));
}

TEST_CASE("probe conditions: typos and wrong kinds are usage errors before probing",
          "[probe][conditions]") {
  auto typo = compile_error("staus == 200", Kind::http);
  CHECK(typo.find("staus == 200\n^ unknown name \"staus\" (did you mean \"status\"?)") !=
        std::string::npos);
  auto kind = compile_error("status == 200 and grpc.status == SERVING", Kind::http);
  CHECK(kind.find("                  ^ \"grpc.status\" is for grpc targets, and this is a "
                  "http target") != std::string::npos);
  CHECK(compile_error("status == 200", Kind::tcp).find("is for http and grpc targets") !=
        std::string::npos);
  CHECK(compile_error("header.x == 1", Kind::dns).find("is for http and grpc targets") !=
        std::string::npos);
  CHECK(compile_error("header == 1", Kind::http).find("\"header\" is a function") !=
        std::string::npos);
  CHECK(compile_error("heder(\"x\") == 1", Kind::http).find("unknown function \"heder\"") !=
        std::string::npos);
  CHECK(compile_error("header(\"a\", \"b\") == 1", Kind::http).find("takes one argument") !=
        std::string::npos);
  CHECK(compile_error("json(\"a\").b(1) == 1", Kind::http).find("no methods") != std::string::npos);
  // Syntax errors keep the parser's caret, as a usage error.
  auto syntax = compile_error("latency < 300 ms", Kind::http);
  CHECK(syntax.find("^ expected an operator") != std::string::npos);
  CHECK(syntax.find("write durations without a space: 300ms") != std::string::npos);
}

TEST_CASE("probe conditions: a bad condition names where it came from", "[probe][conditions]") {
  auto t = *parse_target("http://h/");
  auto r = build_conditions(t, {{"status === 200", "--expect"}});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.starts_with("--expect: invalid condition for http://h/:\n    status"));
}

TEST_CASE("probe conditions: failures explain themselves, with secrets redacted",
          "[probe][conditions]") {
  auto t =
      target("https://localhost/", {"status == 200", "status == 503", "header.set-cookie == \"x\"",
                                    "json.status == 5", "header(\"set-cookie\") ~ \"^session=\""});
  auto results = evaluate_conditions(t, http_result(), kNow);
  REQUIRE(results.size() == 5);
  CHECK(results[0].passed);
  CHECK(results[0].message.empty());
  CHECK_FALSE(results[1].passed);
  CHECK(results[1].message == "status (200) == 503");
  CHECK_FALSE(results[2].passed);
  CHECK(results[2].message == "header.set-cookie (\"[redacted]\") == \"x\"");
  CHECK(results[2].message.find("secret-value") == std::string::npos);
  // An evaluation error fails the condition with the error.
  CHECK_FALSE(results[3].passed);
  CHECK(results[3].message.find("cannot compare string") != std::string::npos);
  // Evaluation sees the real value.
  CHECK(results[4].passed);
}

TEST_CASE("probe conditions: a body that is not JSON fails json.* with a reason",
          "[probe][conditions]") {
  auto t = target("http://h/", {"json.status == \"UP\""});
  ProbeResult r;
  r.status = 200;
  r.body = "<html>";
  auto results = evaluate_conditions(t, r, kNow);
  CHECK_FALSE(results[0].passed);
  CHECK(results[0].message.find("the body is not JSON (6 bytes)") != std::string::npos);
}
