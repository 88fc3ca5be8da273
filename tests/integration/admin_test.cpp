// The admin listener: metrics, health and config; and quick mode.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <regex>
#include <sstream>

#include <catch2/catch.hpp>

#include "common.hpp"
#include "sluice/chaos/mock_server.hpp"

using namespace sluice::test;
using sluice::chaos::MockServer;

namespace {

bool on_path(const char* program) {
  const char* path = std::getenv("PATH");
  if (!path) return false;
  std::stringstream ss(path);
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    if (!dir.empty() && ::access((dir + "/" + program).c_str(), X_OK) == 0) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("admin /metrics is valid Prometheus text and counts requests per route",
          "[integration][admin][metrics]") {
  MockServer up("up");
  SluiceProcess proc(proxy_config({up.address()}));
  Connection c(proc.port());
  constexpr int kRequests = 7;
  for (int i = 0; i < kRequests; ++i) {
    auto r = c.request(make_request("GET", "/m"));
    REQUIRE(r);
    REQUIRE(r->status == 200);
  }

  // A request is counted once its coroutine resumes after the last write, which may be just
  // after the client has read the response: poll briefly.
  std::optional<Response> m;
  eventually(
      [&] {
        m = http_get(proc.admin_port(), "/metrics");
        return m && m->body.find(fmt::format("status_class=\"2xx\"}} {}", kRequests)) !=
                        std::string::npos;
      },
      5s);
  REQUIRE(m);
  CHECK(m->status == 200);
  CHECK(m->header("content-type").find("text/plain") != std::string::npos);
  const std::string& text = m->body;
  REQUIRE(!text.empty());
  CHECK(text.back() == '\n');

  // Every line is a comment (# HELP / # TYPE) or a sample: name{labels} value.
  static const std::regex sample(
      R"(^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? )"
      R"((-?[0-9.]+([eE][-+]?[0-9]+)?|NaN|[+-]Inf)( -?[0-9]+)?$)");
  static const std::regex comment(R"(^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .*$)");
  std::istringstream in(text);
  std::string line;
  int bad = 0;
  bool counted = false;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    bool ok = line[0] == '#' ? std::regex_match(line, comment) : std::regex_match(line, sample);
    if (!ok) {
      ++bad;
      UNSCOPED_INFO("malformed metrics line: " << line);
    }
    // Some request counter labelled with the route reaches kRequests.
    if (line[0] != '#' && line.find("route=\"api\"") != std::string::npos &&
        line.find("_total") != std::string::npos && line.find("request") != std::string::npos) {
      double v = std::strtod(line.c_str() + line.rfind(' ') + 1, nullptr);
      if (v >= kRequests) counted = true;
    }
  }
  CHECK(bad == 0);
  INFO(text);
  CHECK(counted);

  if (on_path("promtool")) {
    std::string file = temp_path("metrics", ".txt");
    write_file(file, text);
    std::string cmd = fmt::format("promtool check metrics < '{}' 2>&1", file);
    FILE* p = ::popen(cmd.c_str(), "r");
    REQUIRE(p);
    std::string out;
    char buf[4096];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    int status = ::pclose(p);
    INFO("promtool: " << out);
    CHECK(status == 0);
    std::remove(file.c_str());
  } else {
    WARN("promtool not on PATH: skipping promtool check metrics");
  }
}

TEST_CASE("admin /live, /ready and /admin/config answer", "[integration][admin]") {
  MockServer up("up");
  SluiceProcess proc(proxy_config({up.address()}));
  auto live = http_get(proc.admin_port(), "/live");
  REQUIRE(live);
  CHECK(live->status == 200);
  auto ready = http_get(proc.admin_port(), "/ready");
  REQUIRE(ready);
  CHECK(ready->status == 200);
  auto cfg = http_get(proc.admin_port(), "/admin/config");
  REQUIRE(cfg);
  CHECK(cfg->status == 200);
  auto j = cfg->json();
  INFO(cfg->body);
  CHECK(j.is_object());
  CHECK(cfg->body.find("\"backend\"") != std::string::npos);
  CHECK(cfg->body.find(up.address()) != std::string::npos);
}

TEST_CASE("quick mode proxies --listen to --to without a config file", "[integration][quick]") {
  MockServer a("A"), b("B");
  SluiceProcess::Options opts;
  opts.with_config = false;
  opts.admin = false;
  opts.listeners = {"*"};  // whatever quick mode names its listener
  opts.extra_args = {"--listen", "127.0.0.1:0",
                     "--admin",  "off",
                     "--to",     fmt::format("http://{},http://{}", a.address(), b.address())};
  SluiceProcess proc("", opts);
  Connection c(proc.port("*"));
  std::map<std::string, int> seen;
  for (int i = 0; i < 4; ++i) {
    auto r = c.request(make_request("GET", "/quick"));
    REQUIRE(r);
    CHECK(r->status == 200);
    ++seen[r->json().value("upstream", "?")];
  }
  CHECK(seen["A"] > 0);
  CHECK(seen["B"] > 0);
}
