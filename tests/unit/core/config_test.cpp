// sluice.toml loading: defaults, every kind of error with its exact text, addresses and endpoint
// URLs, quick mode, the example config and the JSON view.
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include "sluice/core/config/load.hpp"

using namespace sluice;
using namespace sluice::config;
using namespace std::chrono_literals;

namespace {

const std::string kFixtures = std::string(SLUICE_SOURCE_DIR) + "/fixtures/config/";

// Appended after a snippet, so the snippet's own line numbers start at 1.
constexpr std::string_view kListener = "\n[[listeners]]\nlisten = \"127.0.0.1:0\"\n";

Config load_ok(std::string_view text) {
  auto r = load_string(text, "sluice.toml");
  INFO((r ? std::string() : r.error().message));
  REQUIRE(r.ok());
  return std::move(r).value();
}

std::string errors_of(std::string_view text) {
  auto r = load_string(text, "sluice.toml");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::config);
  CHECK(r.error().source == ErrorSource::internal);
  return r.error().message;
}

std::string errors_with_listener(std::string_view snippet) {
  return errors_of(std::string(snippet) + std::string(kListener));
}

// A scratch directory for files that TLS keys must point at.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            fmt::format("sluice-config-test-{}-{}", ::getpid(), counter++);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name, const std::string& content) const {
    auto p = path_ / name;
    std::ofstream(p) << content;
    return p.string();
  }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

// JSON (as to_json writes it) back to TOML, to check that to_json mirrors the file format.
toml::table to_toml(const nlohmann::json& j);

toml::array to_toml_array(const nlohmann::json& j) {
  toml::array a;
  for (const auto& v : j) {
    if (v.is_object())
      a.push_back(to_toml(v));
    else if (v.is_string())
      a.push_back(v.get<std::string>());
    else
      FAIL("unexpected array element " << v.dump());
  }
  return a;
}

toml::table to_toml(const nlohmann::json& j) {
  toml::table t;
  for (const auto& [k, v] : j.items()) {
    if (v.is_object())
      t.insert(k, to_toml(v));
    else if (v.is_array())
      t.insert(k, to_toml_array(v));
    else if (v.is_string())
      t.insert(k, v.get<std::string>());
    else if (v.is_boolean())
      t.insert(k, v.get<bool>());
    else
      t.insert(k, v.get<std::int64_t>());
  }
  return t;
}

}  // namespace

// ---- valid configs

TEST_CASE("config: the example loads cleanly", "[config]") {
  Config c = load_ok(example());
  CHECK(c.source == "sluice.toml");
  REQUIRE(c.listeners.size() == 1);
  CHECK(c.listeners[0].name == "main");
  CHECK(c.routes.size() == 4);
  CHECK(c.clusters.size() == 3);
  for (const auto& r : c.routes) CHECK_FALSE(r.cluster.empty());
}

TEST_CASE("config: the example and the man page mention every key", "[config]") {
  std::ifstream in(std::string(SLUICE_SOURCE_DIR) + "/man/sluice.toml.5");
  std::stringstream man;
  man << in.rdbuf();
  const std::string text = example();
  for (std::string_view key : {"workers",
                               "max_connections",
                               "header_timeout",
                               "idle_timeout",
                               "drain_timeout",
                               "max_header_bytes",
                               "max_body_bytes",
                               "listen",
                               "access",
                               "level",
                               "name",
                               "cert_file",
                               "key_file",
                               "listeners",
                               "host",
                               "hosts",
                               "path",
                               "path_prefix",
                               "path_regex",
                               "methods",
                               "headers",
                               "cluster",
                               "rewrite_prefix",
                               "host_rewrite",
                               "auto_host_rewrite",
                               "timeout",
                               "stream_idle_timeout",
                               "endpoints",
                               "connect_timeout",
                               "max_idle",
                               "pool_idle_timeout",
                               "enabled",
                               "sni",
                               "ca_file",
                               "verify",
                               "key_password_env",
                               "key_password_file"}) {
    INFO(key);
    CHECK(text.find(fmt::format("{} = ", key)) != std::string::npos);
    CHECK(man.str().find(fmt::format(" {} \"", key)) != std::string::npos);
  }
}

TEST_CASE("config: a minimal file gets every default", "[config]") {
  std::string path = kFixtures + "minimal.toml";
  auto r = load_file(path);
  INFO((r ? std::string() : r.error().message));
  REQUIRE(r.ok());
  const Config& c = *r;
  CHECK(c.source == path);

  CHECK(c.server.workers == 0);
  CHECK(c.server.max_connections == 10000);
  CHECK(c.server.header_timeout == 10s);
  CHECK(c.server.idle_timeout == 60s);
  CHECK(c.server.drain_timeout == 15s);
  CHECK(c.server.max_header_bytes == 64 * 1024);
  CHECK(c.server.max_body_bytes == 1ull << 30);
  CHECK(c.admin.enabled);
  CHECK(c.admin.address.host == "127.0.0.1");
  CHECK(c.admin.address.port == 9901);
  CHECK(c.log.access == AccessLogTarget::stdout_);
  CHECK(c.log.level == "info");

  REQUIRE(c.listeners.size() == 1);
  CHECK(c.listeners[0].name == "main");
  CHECK(c.listeners[0].address.host == "127.0.0.1");
  CHECK(c.listeners[0].address.port == 0);
  CHECK_FALSE(c.listeners[0].tls);
  CHECK(c.listeners[0].pos.file == path);
  CHECK(c.listeners[0].pos.line == 2);
  CHECK(c.listeners[0].pos.column == 1);

  REQUIRE(c.routes.size() == 1);
  const Route& route = c.routes[0];
  CHECK(route.name == "route-0");
  CHECK(route.listeners.empty());
  CHECK(route.hosts.empty());
  CHECK(route.path_match == PathMatch::any);
  CHECK(route.methods.empty());
  CHECK(route.headers.empty());
  CHECK(route.cluster == "backend");
  CHECK_FALSE(route.rewrite_prefix);
  CHECK_FALSE(route.host_rewrite);
  CHECK_FALSE(route.auto_host_rewrite);
  CHECK(route.timeout == 30s);
  CHECK(route.stream_idle_timeout == 5min);
  CHECK(route.pos.line == 5);

  REQUIRE(c.clusters.size() == 1);
  const Cluster& cl = c.clusters[0];
  CHECK(cl.name == "backend");
  CHECK(cl.pos.line == 8);
  CHECK(cl.connect_timeout == 5s);
  CHECK(cl.max_idle == 64);
  CHECK(cl.pool_idle_timeout == 60s);
  CHECK_FALSE(cl.tls.enabled);
  CHECK(cl.tls.verify);
  REQUIRE(cl.endpoints.size() == 1);
  CHECK(cl.endpoints[0].address.host == "127.0.0.1");
  CHECK(cl.endpoints[0].address.port == 9000);
  CHECK_FALSE(cl.endpoints[0].tls);
  CHECK(cl.endpoints[0].pos.file == path);
  CHECK(cl.endpoints[0].pos.line == 10);
  CHECK(cl.endpoints[0].pos.column == 14);
}

TEST_CASE("config: every key read from a full file", "[config]") {
  auto r = load_file(kFixtures + "full.toml");
  INFO((r ? std::string() : r.error().message));
  REQUIRE(r.ok());
  const Config& c = *r;

  CHECK(c.server.workers == 3);
  CHECK(c.server.max_connections == 5000);
  CHECK(c.server.header_timeout == 5s);
  CHECK(c.server.idle_timeout == 2min);
  CHECK(c.server.drain_timeout == 0s);
  CHECK(c.server.max_header_bytes == 16384);  // a plain integer is bytes
  CHECK(c.server.max_body_bytes == 10 * 1024 * 1024);
  CHECK_FALSE(c.admin.enabled);
  CHECK(c.log.access == AccessLogTarget::file);
  CHECK(c.log.access_path == "/var/log/sluice/access.log");
  CHECK(c.log.level == "debug");

  REQUIRE(c.listeners.size() == 2);
  CHECK(c.listeners[0].name == "public");
  CHECK(c.listeners[0].address.host == "0.0.0.0");
  CHECK(c.listeners[0].address.port == 8080);
  CHECK(c.listeners[1].name == "internal");
  CHECK(c.listeners[1].address.host == "::1");

  REQUIRE(c.routes.size() == 3);
  const Route& exact = c.routes[0];
  CHECK(exact.listeners == std::vector<std::string>{"internal"});
  CHECK(exact.hosts == std::vector<std::string>{"api.example.com"});
  CHECK(exact.path_match == PathMatch::exact);
  CHECK(exact.path == "/healthz");
  CHECK(exact.methods == std::vector<std::string>{"GET", "HEAD"});

  const Route& prefix = c.routes[1];
  CHECK(prefix.hosts == std::vector<std::string>{"example.com", "*.example.com"});
  CHECK(prefix.path_match == PathMatch::prefix);
  CHECK(prefix.path == "/api/");
  CHECK(prefix.rewrite_prefix == std::optional<std::string>("/"));
  CHECK(prefix.headers ==
        std::map<std::string, std::string>{{"x-env", "prod"}, {"x-tenant", "acme"}});
  CHECK(prefix.host_rewrite == std::optional<std::string>("api.internal"));
  CHECK(prefix.timeout == 2500ms);
  CHECK(prefix.stream_idle_timeout == 90s);

  const Route& regex = c.routes[2];
  CHECK(regex.name == "route-2");
  CHECK(regex.path_match == PathMatch::regex);
  CHECK(regex.path == "^/v[0-9]+/");
  CHECK(regex.auto_host_rewrite);

  REQUIRE(c.clusters.size() == 2);
  const Cluster& api = c.clusters[0];
  REQUIRE(api.endpoints.size() == 3);
  CHECK(api.endpoints[1].address.host == "localhost");
  CHECK(api.endpoints[1].address.port == 80);
  CHECK(api.endpoints[2].address.host == "::1");
  CHECK(api.endpoints[2].address.port == 9002);
  CHECK(api.connect_timeout == 250ms);
  CHECK(api.max_idle == 0);
  CHECK(api.pool_idle_timeout == 1h);

  const Cluster& secure = c.clusters[1];
  REQUIRE(secure.endpoints.size() == 2);
  CHECK(secure.endpoints[0].tls);
  CHECK(secure.endpoints[0].address.port == 443);
  CHECK(secure.endpoints[1].address.port == 8443);
  CHECK(secure.tls.enabled);
  CHECK(secure.tls.sni == "secure.example.com");
  CHECK_FALSE(secure.tls.verify);
}

TEST_CASE("config: TLS files that exist are accepted", "[config]") {
  TempDir dir;
  std::string cert = dir.file("cert.pem", "not really a certificate");
  std::string key = dir.file("key.pem", "not really a key");
  std::string pw = dir.file("key-password", "s3cret-from-file");
  Config c = load_ok(fmt::format(R"([[listeners]]
listen = "127.0.0.1:0"
[listeners.tls]
cert_file = "{0}"
key_file = "{1}"

[[clusters]]
name = "mtls"
endpoints = ["https://upstream.internal"]
[clusters.tls]
ca_file = "{0}"
cert_file = "{0}"
key_file = "{1}"
key_password_file = "{2}"
)",
                                 cert, key, pw));
  REQUIRE(c.listeners[0].tls);
  CHECK(c.listeners[0].tls->cert_file == cert);
  CHECK(c.listeners[0].tls->key_file == key);
  CHECK(c.clusters[0].tls.ca_file == cert);
  CHECK(c.clusters[0].tls.key_password_file == pw);
  CHECK(c.routes.empty());  // zero routes is allowed
}

TEST_CASE("config: names, methods and headers are normalised", "[config]") {
  Config c = load_ok(R"([[listeners]]
listen = ":0"
[[routes]]
methods = ["get", "Post", "GET"]
headers = { "X-Request-Kind" = "Batch" }
host = "*.Example.COM"
cluster = "c"
[[clusters]]
name = "c"
endpoints = ["HTTPS://h.example.com:444/"]
)");
  CHECK(c.routes[0].methods == std::vector<std::string>{"GET", "POST"});
  CHECK(c.routes[0].headers.at("x-request-kind") == "Batch");  // values stay exact
  CHECK(c.routes[0].hosts == std::vector<std::string>{"*.example.com"});
  CHECK(c.clusters[0].endpoints[0].tls);
  CHECK(c.clusters[0].endpoints[0].address.port == 444);
}

// ---- errors, with their exact text

TEST_CASE("config error: unknown key with a did-you-mean", "[config][errors]") {
  CHECK(errors_with_listener("[server]\nworkers = 2\nheader_timout = \"10s\"\n") ==
        "sluice.toml:3:1: server.header_timout: unknown key "
        "(hint: did you mean \"header_timeout\"?)");
  // Tables too, and a shortened word still finds its key.
  CHECK(errors_with_listener("[servr]\n[log]\nlevle = \"info\"\n[admin]\nlisten_on = \"off\"\n") ==
        "sluice.toml:1:2: servr: unknown key (hint: did you mean \"server\"?)\n"
        "sluice.toml:3:1: log.levle: unknown key (hint: did you mean \"level\"?)\n"
        "sluice.toml:5:1: admin.listen_on: unknown key (hint: did you mean \"listen\"?)");
}

TEST_CASE("config error: unknown key without a close match lists the valid keys",
          "[config][errors]") {
  CHECK(errors_with_listener("[server]\nfrobnicate = true\n") ==
        "sluice.toml:2:1: server.frobnicate: unknown key (hint: valid keys in [server] are: "
        "\"workers\", \"max_connections\", \"header_timeout\", \"idle_timeout\", "
        "\"drain_timeout\", \"max_header_bytes\", \"max_body_bytes\", \"hosts_file\")");
  CHECK(errors_with_listener("verbose = true\n") ==
        "sluice.toml:1:1: verbose: unknown key (hint: valid keys at the top level are: "
        "\"server\", \"admin\", \"log\", \"listeners\", \"routes\", \"clusters\", "
        "\"providers\", \"models\", \"prices\", \"keys\", \"store\")");
}

TEST_CASE("config error: durations", "[config][errors]") {
  CHECK(errors_with_listener("[server]\nidle_timeout = \"10x\"\n") ==
        "sluice.toml:2:16: server.idle_timeout: invalid duration \"10x\" "
        "(hint: use a number and a unit: us, ms, s, m, h or d, e.g. 250ms)");
  CHECK(errors_with_listener("[server]\nheader_timeout = 10\n") ==
        "sluice.toml:2:18: server.header_timeout: expected a duration string such as \"10s\", "
        "got an integer (hint: write it in quotes with a unit, e.g. header_timeout = \"10s\")");
  CHECK(errors_with_listener("[server]\nheader_timeout = \"10\"\n") ==
        "sluice.toml:2:18: server.header_timeout: invalid duration \"10\" "
        "(hint: a unit is required: us, ms, s, m, h or d, e.g. 250ms)");
  CHECK(errors_with_listener("[server]\nidle_timeout = \"0s\"\n") ==
        "sluice.toml:2:16: server.idle_timeout: must be greater than zero "
        "(hint: use a positive duration, e.g. idle_timeout = \"1m\")");
}

TEST_CASE("config error: sizes", "[config][errors]") {
  CHECK(errors_with_listener("[server]\nmax_body_bytes = \"lots\"\n") ==
        "sluice.toml:2:18: server.max_body_bytes: invalid size \"lots\" "
        "(hint: use a number and a unit: B, KiB, MiB or GiB, e.g. 64KiB)");
  CHECK(errors_with_listener("[server]\nmax_header_bytes = -1\n") ==
        "sluice.toml:2:20: server.max_header_bytes: -1 is negative "
        "(hint: a size is a number of bytes, 0 or more)");
  CHECK(errors_with_listener("[server]\nmax_header_bytes = 1.5\n") ==
        "sluice.toml:2:20: server.max_header_bytes: expected a size such as \"64KiB\" or a number "
        "of bytes, got a float (hint: e.g. max_header_bytes = \"64KiB\")");
}

TEST_CASE("config error: other wrong types and values", "[config][errors]") {
  CHECK(errors_with_listener("[server]\nworkers = \"4\"\nmax_connections = 0\n") ==
        "sluice.toml:2:11: server.workers: expected an integer, got a string "
        "(hint: write a whole number without quotes, e.g. workers = 0)\n"
        "sluice.toml:3:19: server.max_connections: 0 is out of range "
        "(hint: use a number from 1 to 4294967295)");
  CHECK(errors_with_listener("[log]\nlevel = \"warning\"\naccess = 1\n") ==
        "sluice.toml:2:9: log.level: unknown level \"warning\" (hint: did you mean \"warn\"?)\n"
        "sluice.toml:3:10: log.access: expected a string, got an integer "
        "(hint: write it in quotes, e.g. access = \"stdout\")");
  CHECK(errors_of("[[listeners]]\nlisten = \":0\"\n[[listeners]]\nname = 5\nlisten = \":0\"\n") ==
        "sluice.toml:4:8: listeners[1].name: expected a string, got an integer "
        "(hint: write it in quotes, e.g. name = \"public\")");
  CHECK(errors_of("listeners = 3\n") ==
        "sluice.toml:1:13: listeners: expected an array of tables, got an integer "
        "(hint: write each entry as a [[listeners]] section, with two brackets)");
  CHECK(errors_of("[listeners]\nlisten = \":0\"\n") ==
        "sluice.toml:1:1: listeners: expected an array of tables, got a table "
        "(hint: write each entry as a [[listeners]] section, with two brackets)");
}

TEST_CASE("config error: a reference to a missing cluster", "[config][errors]") {
  constexpr std::string_view clusters =
      "[[clusters]]\nname = \"backend\"\nendpoints = [\"127.0.0.1:9000\"]\n"
      "[[clusters]]\nname = \"search\"\nendpoints = [\"127.0.0.1:9001\"]\n";
  CHECK(errors_with_listener(std::string("[[routes]]\ncluster = \"backnd\"\n") +
                             std::string(clusters)) ==
        "sluice.toml:2:11: routes[0].cluster: no cluster named \"backnd\" "
        "(hint: did you mean \"backend\"?)");
  CHECK(errors_with_listener(std::string("[[routes]]\ncluster = \"images\"\n") +
                             std::string(clusters)) ==
        "sluice.toml:2:11: routes[0].cluster: no cluster named \"images\" "
        "(hint: use one of \"backend\", \"search\", or add a [[clusters]] section with "
        "name = \"images\")");
  CHECK(errors_with_listener("[[routes]]\ncluster = \"images\"\n") ==
        "sluice.toml:2:11: routes[0].cluster: no cluster named \"images\" "
        "(hint: add a [[clusters]] section with name = \"images\")");
  CHECK(errors_with_listener("[[routes]]\npath = \"/\"\n") ==
        "sluice.toml:1:1: routes[0].cluster: required key is missing "
        "(hint: add cluster = \"<name>\", naming one of the [[clusters]])");
}

TEST_CASE("config error: route listeners must exist", "[config][errors]") {
  CHECK(errors_with_listener("[[routes]]\nlisteners = [\"mian\", \"admin\"]\ncluster = \"c\"\n"
                             "[[clusters]]\nname = \"c\"\nendpoints = [\"h:1\"]\n") ==
        "sluice.toml:2:14: routes[0].listeners[0]: no listener named \"mian\" "
        "(hint: did you mean \"main\"?)\n"
        "sluice.toml:2:22: routes[0].listeners[1]: no listener named \"admin\" "
        "(hint: use one of \"main\", or add a [[listeners]] section with name = \"admin\")");
}

TEST_CASE("config error: a regex that does not compile", "[config][errors]") {
  CHECK(errors_with_listener("[[routes]]\npath_regex = \"^/v[0-9+/\"\ncluster = \"c\"\n"
                             "[[clusters]]\nname = \"c\"\nendpoints = [\"h:1\"]\n") ==
        "sluice.toml:2:14: routes[0].path_regex: invalid regular expression \"^/v[0-9+/\": "
        "Unexpected character within '[...]' in regular expression "
        "(hint: use ECMAScript regex syntax, e.g. path_regex = \"^/v[0-9]+/\")");
}

TEST_CASE("config error: route matching conflicts", "[config][errors]") {
  CHECK(errors_with_listener(R"([[routes]]
path = "health"
path_prefix = "/api"
cluster = "c"
rewrite_prefix = "v2"
[[routes]]
path_regex = "^/x"
rewrite_prefix = "/"
host_rewrite = "h"
auto_host_rewrite = true
host = "a"
hosts = ["b"]
methods = ["GET", "FETCH", "GTE"]
cluster = "c"
[[clusters]]
name = "c"
endpoints = ["h:1"]
)") == "sluice.toml:2:8: routes[0].path: \"health\" does not start with \"/\" "
       "(hint: write path = \"/health\")\n"
       "sluice.toml:3:15: routes[0].path_prefix: path and path_prefix are both set (hint: a route "
       "matches on at most one of path, path_prefix and path_regex; use two routes)\n"
       "sluice.toml:5:18: routes[0].rewrite_prefix: \"v2\" does not start with \"/\" "
       "(hint: write rewrite_prefix = \"/v2\")\n"
       "sluice.toml:8:18: routes[1].rewrite_prefix: rewrite_prefix needs path_prefix "
       "(hint: add path_prefix = \"/api\"; rewrite_prefix replaces the matched prefix)\n"
       "sluice.toml:10:21: routes[1].auto_host_rewrite: host_rewrite and auto_host_rewrite are "
       "both set (hint: keep one: host_rewrite sends a fixed Host, auto_host_rewrite the "
       "endpoint's)\n"
       "sluice.toml:12:9: routes[1].hosts: host and hosts are both set "
       "(hint: keep one: hosts = [\"a.example.com\", ...])\n"
       "sluice.toml:13:19: routes[1].methods[1]: unknown HTTP method \"FETCH\" "
       "(hint: did you mean \"PATCH\"?)\n"
       "sluice.toml:13:28: routes[1].methods[2]: unknown HTTP method \"GTE\" "
       "(hint: did you mean \"GET\"?)");
}

TEST_CASE("config error: headers and hosts", "[config][errors]") {
  CHECK(errors_with_listener(
            "[[routes]]\nheaders = { \"Bad Name\" = \"x\", \"X-A\" = \"1\", \"x-a\" = \"2\", "
            "\"n\" = 1 }\nhosts = [\"ok.example.com\", \"a b\", \"*\"]\ncluster = \"c\"\n"
            "[[clusters]]\nname = \"c\"\nendpoints = [\"h:1\"]\n") ==
        "sluice.toml:2:13: routes[0].headers.\"Bad Name\": \"Bad Name\" is not a valid header "
        "name (hint: use letters, digits and '-', e.g. headers = { \"X-Env\" = \"prod\" })\n"
        "sluice.toml:2:44: routes[0].headers.x-a: the header is listed twice "
        "(hint: header names are case-insensitive; keep one)\n"
        "sluice.toml:2:63: routes[0].headers.n: expected a string, got an integer "
        "(hint: match an exact value, e.g. headers = { \"X-Env\" = \"prod\" })\n"
        "sluice.toml:3:28: routes[0].hosts[1]: \"a b\" is not a valid host (hint: use a name "
        "such as \"api.example.com\", or \"*.example.com\" for all of its subdomains)\n"
        "sluice.toml:3:35: routes[0].hosts[2]: \"*\" is not a valid host (hint: use a name such "
        "as \"api.example.com\", or \"*.example.com\" for all of its subdomains)");
}

TEST_CASE("config error: inline secrets", "[config][errors]") {
  CHECK(errors_with_listener(R"([[clusters]]
name = "llm"
endpoints = ["https://api.example.com"]
api_key = "sk-do-not-leak"
[clusters.tls]
key_password = "hunter2"
)") == "sluice.toml:4:1: clusters[0].api_key: secrets are never written inline (hint: use "
       "\"api_key_env\" or \"api_key_file\" instead: the name of an environment variable or the "
       "path of a file that holds the secret)\n"
       "sluice.toml:6:1: clusters[0].tls.key_password: secrets are never written inline (hint: "
       "use \"key_password_env\" or \"key_password_file\" instead: the name of an environment "
       "variable or the path of a file that holds the secret)");
  // The value never appears in an error.
  std::string text = errors_with_listener("[server]\nclient_secret = \"hunter2\"\n");
  CHECK(text.find("hunter2") == std::string::npos);
  CHECK(text.find("client_secret_env") != std::string::npos);
}

TEST_CASE("config error: secret references", "[config][errors]") {
  TempDir dir;
  std::string key = dir.file("key.pem", "k");
  CHECK(errors_with_listener(fmt::format(R"([[clusters]]
name = "a"
endpoints = ["h:1"]
[clusters.tls]
key_password_env = "not a name"
[[clusters]]
name = "b"
endpoints = ["h:1"]
[clusters.tls]
cert_file = "{0}"
key_file = "{0}"
key_password_env = "PW"
key_password_file = "{0}"
)",
                                         key)) ==
        "sluice.toml:5:20: clusters[0].tls.key_password_env: \"not a name\" is not an environment "
        "variable name (hint: give the name of the variable, made of letters, digits and '_', not "
        "its value)\n"
        "sluice.toml:5:20: clusters[0].tls.key_password_env: a key password needs key_file "
        "(hint: add key_file and cert_file, or remove the password)\n" +
            fmt::format("sluice.toml:13:21: clusters[1].tls.key_password_file: key_password_env "
                        "and key_password_file are both set (hint: keep one)"));
}

TEST_CASE("config error: TOML syntax", "[config][errors]") {
  CHECK(errors_of("[server]\nworkers = \n") ==
        "sluice.toml:2:11: Error while parsing key-value pair: expected value, saw '\\n' "
        "(hint: fix the TOML syntax here: strings need double quotes, tables are written [name] "
        "and repeated ones [[name]])");
  CHECK(errors_of("[server]\nworkers = 1\nworkers = 2\n") ==
        "sluice.toml:3:11: Error while parsing key-value pair: cannot redefine existing integer "
        "'workers' (hint: each key and [table] may appear once; repeat [[tables]] with "
        "two brackets)");
  std::string path = kFixtures + "syntax_error.toml";
  auto r = load_file(path);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::config);
  CHECK(r.error().message == path +

                                 ":3:8: Error while parsing value: could not determine value type "
                                 "(hint: fix the TOML syntax here: strings need double "
                                 "quotes, tables are written [name] and repeated ones [[name]])");
}

TEST_CASE("config error: listeners", "[config][errors]") {
  CHECK(errors_of("") ==
        "sluice.toml:1:1: listeners: at least one listener is required "
        "(hint: add a [[listeners]] section with listen = \"0.0.0.0:8080\")");
  CHECK(errors_of(R"([[listeners]]
listen = "0.0.0.0:8080"
[[listeners]]
listen = "0.0.0.0:8080"
[[listeners]]
name = "main"
listen = "localhost"
[[listeners]]
name = "admin-clash"
listen = "127.0.0.1:9901"
[[listeners]]
name = "x y"
)") == "sluice.toml:3:1: listeners[1].name: required key is missing (hint: every listener after "
       "the first needs a unique name, e.g. name = \"public\")\n"
       "sluice.toml:4:10: listeners[1].listen: 0.0.0.0:8080 is already used by listener \"main\" "
       "(hint: give each listener its own port; port 0 picks a free one)\n"
       "sluice.toml:6:8: listeners[2].name: duplicate listener name \"main\" (hint: listener names "
       "must be unique; \"main\" is already used at line 1)\n"
       "sluice.toml:7:10: listeners[2].listen: \"localhost\": the port is missing "
       "(hint: add one, e.g. localhost:8080)\n"
       "sluice.toml:10:10: listeners[3].listen: 127.0.0.1:9901 is already used by the admin "
       "listener (hint: give each listener its own port; port 0 picks a free one)\n"
       "sluice.toml:11:1: listeners[4].listen: required key is missing "
       "(hint: add listen = \"0.0.0.0:8080\"; port 0 picks a free port)\n"
       "sluice.toml:12:8: listeners[4].name: \"x y\" is not a valid name "
       "(hint: use letters, digits, '-', '_' and '.', e.g. name = \"public\")");
}

TEST_CASE("config error: listener TLS files", "[config][errors]") {
  CHECK(errors_of(R"([[listeners]]
listen = ":8443"
[listeners.tls]
cert_file = "/nonexistent/cert.pem"
)") == "sluice.toml:3:1: listeners[0].tls.key_file: required key is missing "
       "(hint: add key_file = \"/path/to/key.pem\", a PEM private key)\n"
       "sluice.toml:4:13: listeners[0].tls.cert_file: cannot read \"/nonexistent/cert.pem\": No "
       "such file or directory (hint: check the path and the file's permissions; a relative path "
       "starts from the working directory)");
  TempDir dir;
  CHECK(errors_of(fmt::format("[[listeners]]\nlisten = \":8443\"\ntls = {{ cert_file = \"{0}\", "
                              "key_file = \"{0}\" }}\n",
                              dir.path())) ==
        fmt::format("sluice.toml:3:21: listeners[0].tls.cert_file: cannot read \"{0}\": it is a "
                    "directory (hint: check the path and the file's permissions; a relative path "
                    "starts from the working directory)\n"
                    "sluice.toml:3:{1}: listeners[0].tls.key_file: cannot read \"{0}\": it is a "
                    "directory (hint: check the path and the file's permissions; a relative path "
                    "starts from the working directory)",
                    dir.path(), 21 + dir.path().size() + 15));
}

TEST_CASE("config error: clusters", "[config][errors]") {
  CHECK(errors_with_listener(R"([[clusters]]
endpoints = []
connect_timeout = "0"
max_idle = -3
[[clusters]]
name = "b"
endpoints = ["http://h/x", "ftp://x", "h", "https://user:pw@h", ":80"]
[[clusters]]
name = "b"
)") == "sluice.toml:1:1: clusters[0].name: required key is missing "
       "(hint: add name = \"backend\"; routes refer to clusters by name)\n"
       "sluice.toml:2:13: clusters[0].endpoints: is empty "
       "(hint: e.g. endpoints = [\"127.0.0.1:9000\", \"https://api.example.com\"])\n"
       "sluice.toml:3:19: clusters[0].connect_timeout: must be greater than zero "
       "(hint: use a positive duration, e.g. connect_timeout = \"5s\")\n"
       "sluice.toml:4:12: clusters[0].max_idle: -3 is out of range "
       "(hint: use a number from 0 to 4294967295)\n"
       "sluice.toml:7:14: clusters[1].endpoints[0]: \"http://h/x\": an endpoint has no path, "
       "query or fragment, got \"/x\" (hint: give only scheme, host and port; rewrite paths with "
       "a route's rewrite_prefix)\n"
       "sluice.toml:7:28: clusters[1].endpoints[1]: \"ftp://x\": unsupported scheme \"ftp\" (hint: "
       "write host:port, http://host[:port] or https://host[:port], e.g. http://127.0.0.1:9000)\n"
       "sluice.toml:7:39: clusters[1].endpoints[2]: \"h\": the port is missing "
       "(hint: add one, e.g. h:8080)\n"
       "sluice.toml:7:44: clusters[1].endpoints[3]: \"https://***@h\": credentials in an endpoint "
       "URL are not allowed (hint: remove the user:password@ part; secrets never go in the "
       "config)\n"
       "sluice.toml:7:65: clusters[1].endpoints[4]: \":80\": the host is missing (hint: write "
       "host:port, http://host[:port] or https://host[:port], e.g. http://127.0.0.1:9000)\n"
       "sluice.toml:8:1: clusters[2].endpoints: required key is missing "
       "(hint: add endpoints = [\"127.0.0.1:9000\", \"https://api.example.com\"])\n"
       "sluice.toml:9:8: clusters[2].name: duplicate cluster name \"b\" "
       "(hint: cluster names must be unique; \"b\" is already used at line 6)");
}

TEST_CASE("config error: a file with several mistakes reports all, in file order",
          "[config][errors]") {
  std::string path = kFixtures + "errors.toml";
  auto r = load_file(path);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message ==
        fmt::format(
            "{0}:3:1: server.header_timout: unknown key (hint: did you mean \"header_timeout\"?)\n"
            "{0}:4:16: server.idle_timeout: invalid duration \"10x\" (hint: use a number and a "
            "unit: us, ms, s, m, h or d, e.g. 250ms)\n"
            "{0}:5:18: server.max_body_bytes: invalid size \"lots\" (hint: use a number and a "
            "unit: B, KiB, MiB or GiB, e.g. 64KiB)\n"
            "{0}:11:11: routes[0].cluster: no cluster named \"backnd\" (hint: did you mean "
            "\"backend\"?)\n"
            "{0}:12:14: routes[0].path_regex: invalid regular expression \"^/v[0-9+/\": "
            "Unexpected character within '[...]' in regular expression (hint: use ECMAScript "
            "regex syntax, e.g. path_regex = \"^/v[0-9]+/\")\n"
            "{0}:16:14: clusters[0].endpoints[0]: \"http://127.0.0.1:9000/api\": an endpoint has "
            "no path, query or fragment, got \"/api\" (hint: give only scheme, host and port; "
            "rewrite paths with a route's rewrite_prefix)\n"
            "{0}:19:1: clusters[0].tls.key_password: secrets are never written inline (hint: use "
            "\"key_password_env\" or \"key_password_file\" instead: the name of an environment "
            "variable or the path of a file that holds the secret)",
            path));
}

TEST_CASE("config error: a file that cannot be read", "[config][errors]") {
  auto r = load_file("/nonexistent/sluice.toml");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::config);
  CHECK(r.error().message ==
        "/nonexistent/sluice.toml: cannot read the config file: No such file or directory "
        "(hint: check the path, or start from \"sluice config example > sluice.toml\")");
}

// ---- addresses and endpoints

TEST_CASE("parse_host_port", "[config][address]") {
  struct Case {
    std::string_view text, host;
    std::uint16_t port;
  };
  for (const auto& c : {Case{"127.0.0.1:8080", "127.0.0.1", 8080}, Case{"[::1]:80", "::1", 80},
                        Case{"localhost:9000", "localhost", 9000}, Case{":8080", "0.0.0.0", 8080},
                        Case{"0.0.0.0:0", "0.0.0.0", 0}, Case{"[::]:65535", "::", 65535},
                        Case{"my-host.example.com:443", "my-host.example.com", 443}}) {
    INFO(c.text);
    auto r = parse_host_port(c.text);
    REQUIRE(r.ok());
    CHECK(r->host == c.host);
    CHECK(r->port == c.port);
  }
  struct Bad {
    std::string_view text, message;
  };
  for (const auto& c : {
           Bad{"",
               "\"\": the address is empty (hint: write host:port, e.g. 127.0.0.1:8080, "
               "[::1]:8080 or :8080)"},
           Bad{"localhost",
               "\"localhost\": the port is missing (hint: add one, e.g. "
               "localhost:8080)"},
           Bad{"[::1]", "\"[::1]\": the port is missing (hint: add one, e.g. [::1]:8080)"},
           Bad{"host:", "\"host:\": invalid port \"\" (hint: use a number from 0 to 65535)"},
           Bad{"host:65536",
               "\"host:65536\": invalid port \"65536\" (hint: use a number from 0 to 65535)"},
           Bad{"host:-1", "\"host:-1\": invalid port \"-1\" (hint: use a number from 0 to 65535)"},
           Bad{"host:80x",
               "\"host:80x\": invalid port \"80x\" (hint: use a number from 0 to "
               "65535)"},
           Bad{"::1:80",
               "\"::1:80\": an IPv6 address needs brackets (hint: write it as "
               "[::1]:8080)"},
           Bad{"[::1:80",
               "\"[::1:80\": \"[\" without \"]\" (hint: write IPv6 addresses in "
               "brackets, e.g. [::1]:8080)"},
           Bad{"[::1]80",
               "\"[::1]80\": expected \":\" and a port after \"]\" (hint: e.g. "
               "[::1]:8080)"},
           Bad{"[nope]:80", "\"[nope]:80\": invalid IPv6 address (hint: e.g. [::1]:8080)"},
           Bad{"[:]:80", "\"[:]:80\": invalid IPv6 address (hint: e.g. [::1]:8080)"},
           Bad{"a b:80",
               "\"a b:80\": \"a b\" is not a valid host (hint: use a name or an IP "
               "address, e.g. 127.0.0.1:8080)"},
           Bad{"http://h:80",
               "\"http://h:80\": expected host:port, not a URL (hint: drop the "
               "scheme, e.g. 127.0.0.1:8080)"},
       }) {
    auto r = parse_host_port(c.text);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == c.message);
  }
}

TEST_CASE("parse_endpoint", "[config][address]") {
  struct Case {
    std::string_view text, host;
    std::uint16_t port;
    bool tls;
  };
  for (const auto& c :
       {Case{"127.0.0.1:9000", "127.0.0.1", 9000, false}, Case{"http://h:80", "h", 80, false},
        Case{"http://h", "h", 80, false}, Case{"http://h/", "h", 80, false},
        Case{"https://h", "h", 443, true}, Case{"https://h:8443/", "h", 8443, true},
        Case{"HTTPS://H.example.com", "H.example.com", 443, true},
        Case{"http://[::1]:9000", "::1", 9000, false},
        Case{"https://[2001:db8::1]", "2001:db8::1", 443, true}}) {
    INFO(c.text);
    auto r = parse_endpoint(c.text);
    REQUIRE(r.ok());
    CHECK(r->address.host == c.host);
    CHECK(r->address.port == c.port);
    CHECK(r->tls == c.tls);
  }
  constexpr std::string_view forms =
      "write host:port, http://host[:port] or https://host[:port], e.g. http://127.0.0.1:9000";
  struct Bad {
    std::string text, message;
  };
  for (const auto& c : {
           Bad{"http://h/x",
               "\"http://h/x\": an endpoint has no path, query or fragment, got "
               "\"/x\" (hint: give only scheme, host and port; rewrite paths with a "
               "route's rewrite_prefix)"},
           Bad{"http://h?a=1",
               "\"http://h?a=1\": an endpoint has no path, query or fragment, "
               "got \"?a=1\" (hint: give only scheme, host and port; rewrite "
               "paths with a route's rewrite_prefix)"},
           Bad{"ws://h", fmt::format("\"ws://h\": unsupported scheme \"ws\" (hint: {})", forms)},
           Bad{"http://", fmt::format("\"http://\": the host is missing (hint: {})", forms)},
           Bad{"https://:443",
               fmt::format("\"https://:443\": the host is missing (hint: {})", forms)},
           Bad{":9000", fmt::format("\":9000\": the host is missing (hint: {})", forms)},
           Bad{"h", "\"h\": the port is missing (hint: add one, e.g. h:8080)"},
           Bad{"http://h:99999",
               "\"http://h:99999\": invalid port \"99999\" (hint: use a number from 0 to 65535)"},
           Bad{"http://alice:hunter2@h",
               "\"http://***@h\": credentials in an endpoint URL are "
               "not allowed (hint: remove the user:password@ part; "
               "secrets never go in the config)"},
       }) {
    auto r = parse_endpoint(c.text);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == c.message);
  }
}

// ---- quick mode

TEST_CASE("quick: one listener, one catch-all route, one cluster", "[config][quick]") {
  auto r = quick("127.0.0.1:0", {"http://127.0.0.1:9000", "https://api.example.com, h:81"});
  INFO((r ? std::string() : r.error().message));
  REQUIRE(r.ok());
  const Config& c = *r;
  CHECK(c.source == "<quick>");
  REQUIRE(c.listeners.size() == 1);
  CHECK(c.listeners[0].name == "main");
  CHECK(c.listeners[0].address.port == 0);
  REQUIRE(c.routes.size() == 1);
  CHECK(c.routes[0].name == "default");
  CHECK(c.routes[0].path_match == PathMatch::any);
  CHECK(c.routes[0].cluster == "default");
  REQUIRE(c.clusters.size() == 1);
  CHECK(c.clusters[0].name == "default");
  REQUIRE(c.clusters[0].endpoints.size() == 3);
  CHECK(c.clusters[0].endpoints[1].tls);
  CHECK(c.clusters[0].endpoints[1].address.port == 443);
  CHECK(c.clusters[0].endpoints[2].address.host == "h");
  CHECK(c.clusters[0].endpoints[0].pos.file == "<quick>");
  // Defaults as in a file.
  CHECK(c.server.header_timeout == 10s);
  CHECK(c.admin.enabled);
  // Resilience on: outlier detection, one retry after a connect failure or a reset.
  CHECK(c.clusters[0].outlier.enabled);
  CHECK(c.routes[0].retry.attempts == 2);
  CHECK(c.routes[0].retry.retries_on(RetryOn::connect_failure));
  CHECK(c.routes[0].retry.retries_on(RetryOn::reset));
  CHECK_FALSE(c.routes[0].retry.non_idempotent);
}

TEST_CASE("quick: errors name the flags", "[config][quick]") {
  auto r = quick("nope", {"x", "ftp://y"});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::usage);
  CHECK(r.error().message ==
        "--listen: \"nope\": the port is missing (hint: add one, e.g. nope:8080)\n"
        "--to: \"x\": the port is missing (hint: add one, e.g. x:8080)\n"
        "--to: \"ftp://y\": unsupported scheme \"ftp\" (hint: write host:port, "
        "http://host[:port] or https://host[:port], e.g. http://127.0.0.1:9000)");
  auto none = quick(":0", {});
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().message ==
        "--to: no upstream given (hint: name at least one, e.g. --to http://127.0.0.1:9000)");
}

// ---- JSON

TEST_CASE("to_json: the effective config, in the file's own keys", "[config][json]") {
  Config c = load_ok(R"([server]
idle_timeout = "90s"
max_body_bytes = 1536
[admin]
listen = "[::1]:9000"
[log]
access = "off"
[[listeners]]
listen = ":8080"
[[routes]]
path_prefix = "/api"
rewrite_prefix = "/"
cluster = "c"
[[clusters]]
name = "c"
endpoints = ["10.0.0.1:80", "https://h"]
)");
  nlohmann::json j = to_json(c);
  CHECK(j["source"] == "sluice.toml");
  CHECK(j["server"]["idle_timeout"] == "90s");
  CHECK(j["server"]["header_timeout"] == "10s");
  CHECK(j["server"]["max_body_bytes"] == "1536B");
  CHECK(j["server"]["max_header_bytes"] == "64KiB");
  CHECK(j["admin"]["listen"] == "[::1]:9000");
  CHECK(j["log"]["access"] == "off");
  CHECK(j["listeners"][0] == nlohmann::json{{"name", "main"}, {"listen", "0.0.0.0:8080"}});
  CHECK(j["routes"][0]["name"] == "route-0");
  CHECK(j["routes"][0]["path_prefix"] == "/api");
  CHECK(j["routes"][0]["rewrite_prefix"] == "/");
  CHECK(j["routes"][0]["timeout"] == "30s");
  CHECK_FALSE(j["routes"][0].contains("host_rewrite"));
  CHECK(j["clusters"][0]["endpoints"] == nlohmann::json{"http://10.0.0.1:80", "https://h:443"});
  CHECK(j["clusters"][0]["pool_idle_timeout"] == "1m");
  CHECK(j["clusters"][0]["tls"] == nlohmann::json{{"enabled", false}, {"verify", true}});
}

TEST_CASE("to_json: never includes a secret", "[config][json]") {
  TempDir dir;
  std::string key = dir.file("client.key", "k");
  std::string pw = dir.file("pw", "hunter2-from-file");
  ::setenv("SLUICE_TEST_KEY_PW", "hunter2-from-env", 1);
  Config c = load_ok(fmt::format(R"([[listeners]]
listen = ":0"
[[clusters]]
name = "a"
endpoints = ["https://h"]
tls = {{ cert_file = "{0}", key_file = "{0}", key_password_env = "SLUICE_TEST_KEY_PW" }}
[[clusters]]
name = "b"
endpoints = ["https://h"]
tls = {{ cert_file = "{0}", key_file = "{0}", key_password_file = "{1}" }}
)",
                                 key, pw));
  ::unsetenv("SLUICE_TEST_KEY_PW");
  std::string text = to_json(c).dump();
  CHECK(text.find("hunter2") == std::string::npos);
  CHECK(text.find("\"key_password_env\":\"SLUICE_TEST_KEY_PW\"") != std::string::npos);
  CHECK(text.find(fmt::format("\"key_password_file\":\"{}\"", pw)) != std::string::npos);
}

TEST_CASE("to_json: converted back to TOML, it loads to the same config", "[config][json]") {
  for (const auto& text : {example(), std::string(R"([admin]
listen = "off"
[log]
access = "/tmp/access.log"
level = "debug"
[[listeners]]
name = "a"
listen = "[::1]:0"
[[routes]]
listeners = ["a"]
path = "/x"
host_rewrite = "internal"
methods = ["PUT"]
cluster = "c"
timeout = "1.5s"
[[clusters]]
name = "c"
endpoints = ["h:1"]
max_idle = 3
)")}) {
    nlohmann::json first = to_json(load_ok(text));
    nlohmann::json file = first;
    file.erase("source");
    std::ostringstream toml_text;
    toml_text << to_toml(file);
    INFO(toml_text.str());
    nlohmann::json second = to_json(load_ok(toml_text.str()));
    CHECK(second == first);
  }
}
