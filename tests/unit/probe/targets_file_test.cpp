// Targets files: the keys, how [defaults] and flags combine, and errors as FILE:LINE:COL.
#include <catch2/catch.hpp>

#include <cstdlib>

#include "sluice/probe/targets_file.hpp"

using namespace sluice;
using namespace sluice::probe;
using namespace std::chrono_literals;

namespace {

std::vector<Target> load(std::string_view toml, const RequestOptions& base = {},
                         const std::vector<ConditionText>& expect = {}) {
  auto r = load_targets_string(toml, "targets.toml", base, expect);
  INFO((r.ok() ? "" : r.error().message));
  REQUIRE(r.ok());
  return std::move(*r);
}

std::string errors(std::string_view toml, const std::vector<ConditionText>& expect = {}) {
  auto r = load_targets_string(toml, "targets.toml", {}, expect);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::config);
  return r.error().message;
}

}  // namespace

TEST_CASE("probe targets file: every kind, names and settings", "[probe][targets_file]") {
  auto targets = load(R"(
[defaults]
timeout = "2s"
headers = { Accept = "application/json" }

[[targets]]
name = "api"
url = "https://127.0.0.1:8443/health"
method = "head"
headers = { "X-Probe" = "1", Accept = "text/plain" }
follow_redirects = true
max_redirects = 3
http_version = "2"
insecure = true
sni = "api.internal"
expect = ["status == 200", "latency < 300ms"]

[[targets]]
url = "tcp://127.0.0.1:6379"
send = "PING\r\n"
receive = "^\\+PONG"
timeout = "500ms"

[[targets]]
url = "grpc://127.0.0.1:50051"
service = "my.Service"
expect = "grpc.status == SERVING"

[[targets]]
url = "dns://localhost"
)");
  REQUIRE(targets.size() == 4);
  const auto& api = targets[0];
  CHECK(api.name == "api");
  CHECK(api.origin == "targets.toml:6:1");
  CHECK(api.options.method == "HEAD");
  CHECK(api.options.timeout == 2s);
  CHECK(api.options.headers ==
        Headers{{"Accept", "text/plain"}, {"X-Probe", "1"}});  // the target's Accept wins
  CHECK(api.options.follow_redirects);
  CHECK(api.options.max_redirects == 3);
  CHECK(api.options.http_version == HttpVersion::http2);
  CHECK(api.options.tls.insecure);
  CHECK(api.options.tls.sni == "api.internal");
  REQUIRE(api.conditions.size() == 2);
  CHECK(api.conditions[1].source == "latency < 300ms");
  CHECK(api.conditions[1].origin == "targets.toml:16:28: targets[0].expect[1]");

  const auto& tcp = targets[1];
  CHECK(tcp.name == "tcp://127.0.0.1:6379");
  CHECK(tcp.options.send == "PING\r\n");
  CHECK(tcp.options.receive == "^\\+PONG");
  CHECK(tcp.options.timeout == 500ms);
  REQUIRE(tcp.conditions.size() == 2);  // connected, and the receive pattern

  CHECK(grpc_service(targets[2]) == "my.Service");
  CHECK(targets[2].conditions.at(0).source == "grpc.status == SERVING");
  CHECK(targets[3].kind == Kind::dns);
  CHECK(targets[3].conditions.at(0).source == "resolved");
}

TEST_CASE("probe targets file: flags are the base, the file overrides them",
          "[probe][targets_file]") {
  RequestOptions base;
  base.method = "POST";
  base.headers = {{"X-From", "flag"}};
  base.timeout = 9s;
  auto targets = load(R"(
[defaults]
method = "GET"

[[targets]]
url = "http://a/"

[[targets]]
url = "http://b/"
expect = "status == 204"
)",
                      base, {{"status == 200", "--expect"}});
  CHECK(targets[0].options.method == "GET");
  CHECK(targets[0].options.headers == Headers{{"X-From", "flag"}});
  CHECK(targets[0].options.timeout == 9s);
  CHECK(targets[0].conditions.at(0).source == "status == 200");
  CHECK(targets[0].conditions.at(0).origin == "--expect");
  REQUIRE(targets[1].conditions.size() == 1);
  CHECK(targets[1].conditions[0].source == "status == 204");
}

TEST_CASE("probe targets file: errors point at file, line, column and key",
          "[probe][targets_file]") {
  auto e = errors(R"([[targets]]
url = "ftp://x"

[[targets]]
ulr = "http://a/"

[[targets]]
url = "http://b/"
timeout = "fast"
expect = ["status == 200", "staus == 200"]
)");
  CHECK(e.find("targets.toml:2:7: targets[0].url: unsupported scheme \"ftp\" (hint: ") !=
        std::string::npos);
  CHECK(e.find("targets.toml:5:1: targets[1].ulr: unknown key (hint: did you mean \"url\"?)") !=
        std::string::npos);
  CHECK(e.find("targets.toml:4:1: targets[1].url: required key is missing") != std::string::npos);
  CHECK(e.find("targets.toml:9:11: targets[2].timeout: ") != std::string::npos);
  CHECK(e.find("targets.toml:10:28: targets[2].expect[1]: invalid condition for http://b/") !=
        std::string::npos);
  CHECK(e.find("staus == 200\n^ unknown name \"staus\" (did you mean \"status\"?)") !=
        std::string::npos);
  // In file order.
  CHECK(e.find(":2:7:") < e.find(":4:1:"));
  CHECK(e.find(":4:1:") < e.find(":5:1:"));
}

TEST_CASE("probe targets file: secrets are never written inline", "[probe][targets_file]") {
  auto e = errors(R"([[targets]]
url = "http://a/"
headers = { Authorization = "Bearer abc" }
key_password = "hunter2"
)");
  CHECK(e.find("targets.toml:3:13: targets[0].headers.Authorization: secrets are never written "
               "inline (hint: use header_env = { Authorization = \"VARIABLE\" }") !=
        std::string::npos);
  CHECK(e.find("targets.toml:4:1: targets[0].key_password: secrets are never written inline") !=
        std::string::npos);
  CHECK(e.find("Bearer abc") == std::string::npos);
}

TEST_CASE("probe targets file: header_env reads the variable", "[probe][targets_file]") {
  ::setenv("SLUICE_PROBE_TEST_TOKEN", "Bearer from-env", 1);
  auto targets = load(R"([[targets]]
url = "http://a/"
header_env = { Authorization = "SLUICE_PROBE_TEST_TOKEN" }
)");
  CHECK(targets[0].options.headers == Headers{{"Authorization", "Bearer from-env"}});
  ::unsetenv("SLUICE_PROBE_TEST_TOKEN_MISSING");
  auto e = errors(R"([[targets]]
url = "http://a/"
header_env = { Authorization = "SLUICE_PROBE_TEST_TOKEN_MISSING" }
)");
  CHECK(e.find("targets.toml:3:32: targets[0].header_env.Authorization: the environment variable "
               "SLUICE_PROBE_TEST_TOKEN_MISSING is not set") != std::string::npos);
}

TEST_CASE("probe targets file: keys of another kind and conditions of another kind",
          "[probe][targets_file]") {
  auto e = errors(R"([[targets]]
url = "dns://localhost"
send = "x"
expect = "status == 200"
)");
  CHECK(e.find("targets.toml:3:8: targets[0].send: send does not apply to dns targets") !=
        std::string::npos);
  CHECK(e.find("targets.toml:4:10: targets[0].expect: invalid condition") != std::string::npos);

  // A flag's condition that does not fit a file target is reported at the target.
  auto flag = errors("[[targets]]\nurl = \"tcp://a:1\"\n", {{"status == 200", "--expect"}});
  CHECK(flag.find("targets.toml:1:1: targets[0]: --expect \"status == 200\" does not apply to "
                  "this tcp target") != std::string::npos);
}

TEST_CASE("probe targets file: empty, missing, unreadable, or not TOML", "[probe][targets_file]") {
  CHECK(errors("").find("targets: no targets (hint: add a [[targets]] table") != std::string::npos);
  CHECK(errors("targets = []\n").find("targets.toml:1:11: targets: is empty") != std::string::npos);
  CHECK(errors("[[targets]\nurl = 1\n").find("targets.toml:1:") != std::string::npos);
  CHECK(errors("[[targets]]\nurl = 1\n")
            .find("targets.toml:2:7: targets[0].url: expected a "
                  "string, got an integer") != std::string::npos);
  CHECK(errors("[[targets]]\nurl = \"http://a/\"\nca_file = \"/nonexistent/ca.pem\"\n")
            .find("targets.toml:3:11: targets[0].ca_file: cannot read \"/nonexistent/ca.pem\"") !=
        std::string::npos);
  auto missing = load_targets_file("/nonexistent/targets.toml", {}, {});
  REQUIRE_FALSE(missing.ok());
  CHECK(
      missing.error().message.starts_with("/nonexistent/targets.toml: cannot read the targets "
                                          "file"));
}
