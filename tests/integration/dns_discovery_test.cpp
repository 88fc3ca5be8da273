// DNS discovery in the real binary: a cluster with dns_refresh follows a hosts file
// ([server] hosts_file) under steady load, and endpoint state survives reloads.
#include <signal.h>

#include <cstdio>
#include <memory>
#include <system_error>

#include <catch2/catch.hpp>

#include "common.hpp"
#include "load.hpp"
#include "sluice/chaos/mock_server.hpp"

using namespace sluice::test;
using sluice::chaos::MockServer;

namespace {

// Two mocks on 127.0.0.2 and 127.0.0.3 with the same port: a name in a hosts file stands for
// addresses only, so the endpoints it expands to share the configured port.
struct TwinMocks {
  std::unique_ptr<MockServer> first, second;
};

TwinMocks twin_mocks(const std::string& a, const std::string& b) {
  for (int attempt = 0; attempt < 20; ++attempt) {
    auto first =
        std::make_unique<MockServer>(a, std::vector<sluice::chaos::MockRoute>{}, 0, "127.0.0.2");
    try {
      auto second = std::make_unique<MockServer>(b, std::vector<sluice::chaos::MockRoute>{},
                                                 first->port(), "127.0.0.3");
      return {std::move(first), std::move(second)};
    } catch (const std::system_error&) {
      // The port is taken on 127.0.0.3: try another.
    }
  }
  FAIL("no port free on both 127.0.0.2 and 127.0.0.3");
  return {};
}

// Replaces the file atomically, as a watcher-friendly editor would.
void replace_file(const std::string& path, std::string_view text) {
  write_file(path + ".new", text);
  REQUIRE(std::rename((path + ".new").c_str(), path.c_str()) == 0);
}

std::string dns_config(const std::string& hosts_file, std::uint16_t port) {
  return fmt::format(R"([server]
workers = 2
hosts_file = "{}"
[admin]
listen = "127.0.0.1:0"
[log]
access = "off"
[[listeners]]
name = "main"
listen = "127.0.0.1:0"
[[routes]]
cluster = "svc"
[[clusters]]
name = "svc"
endpoints = ["svc.test:{}"]
dns_refresh = "100ms"
)",
                     hosts_file, port);
}

std::string failure_text(const Load& load) {
  std::string out;
  for (const auto& f : load.failures()) out += f + "\n";
  return out;
}

// POST with an empty body on a fresh connection.
std::optional<Response> post(std::uint16_t port, std::string_view target) {
  Connection c(port);
  return c.request(make_request("POST", target));
}

}  // namespace

TEST_CASE("a resolver change takes effect without errors", "[integration][dns]") {
  auto [old_mock, new_mock] = twin_mocks("old", "new");
  const std::uint16_t port = old_mock->port();
  const std::string hosts = temp_path("hosts", "");
  write_file(hosts, "127.0.0.2 svc.test\n");
  SluiceProcess proc(dns_config(hosts, port));
  INFO("stderr:\n" << proc.stderr_text());

  Load load(proc.port(), 4);
  REQUIRE(eventually([&] { return load.ok() > 50; }, 5s));
  CHECK(new_mock->requests() == 0);

  // The new address joins: both get traffic.
  std::size_t from = proc.stderr_line_count();
  replace_file(hosts, "# both\n127.0.0.2 svc.test\n127.0.0.3 svc.test\n");
  auto joined = proc.wait_for_event("endpoints_changed", 5s, from);
  REQUIRE(joined);
  auto jj = nlohmann::json::parse(*joined, nullptr, false);
  CHECK(jj["added"] == nlohmann::json::array({fmt::format("127.0.0.3:{}", port)}));
  REQUIRE(eventually([&] { return new_mock->requests() > 20; }, 5s));
  const auto old_before = old_mock->requests();
  REQUIRE(eventually([&] { return old_mock->requests() > old_before + 20; }, 5s));

  // The old address leaves: after a short settle it gets nothing more.
  from = proc.stderr_line_count();
  replace_file(hosts, "127.0.0.3 svc.test\n");
  auto left = proc.wait_for_event("endpoints_changed", 5s, from);
  REQUIRE(left);
  auto jl = nlohmann::json::parse(*left, nullptr, false);
  CHECK(jl["removed"] == nlohmann::json::array({fmt::format("127.0.0.2:{}", port)}));
  std::this_thread::sleep_for(300ms);
  const auto old_after = old_mock->requests();
  const auto new_after = new_mock->requests();
  REQUIRE(eventually([&] { return new_mock->requests() > new_after + 100; }, 5s));
  CHECK(old_mock->requests() == old_after);
  // diagnose sees the cluster as DNS left it: the new address only, and usable.
  auto d = run_sluice({"diagnose", "--admin", fmt::format("http://127.0.0.1:{}", proc.admin_port()),
                       "--format", "json", "--timeout", "2s"});
  INFO(d.out << d.err);
  CHECK(d.exit_code == 0);
  auto dj = nlohmann::json::parse(d.out, nullptr, false);
  REQUIRE(dj.contains("clusters"));
  REQUIRE(dj["clusters"].size() == 1);
  const auto& eps = dj["clusters"][0]["endpoints"];
  REQUIRE(eps.size() == 1);
  CHECK(eps[0]["endpoint"] == fmt::format("127.0.0.3:{}", port));
  CHECK(eps[0]["verdict"] == "ok");

  // A hosts file that disappears keeps the last answers: nothing changes, nothing fails.
  from = proc.stderr_line_count();
  std::remove(hosts.c_str());
  CHECK(proc.wait_for_event("hosts_file_unreadable", 5s, from));
  const auto new_later = new_mock->requests();
  REQUIRE(eventually([&] { return new_mock->requests() > new_later + 50; }, 5s));

  load.stop();
  CHECK(load.failed() == 0);
  INFO(failure_text(load));
  CHECK(load.ok() > 200);

  auto m = http_get(proc.admin_port(), "/metrics");
  REQUIRE(m);
  CHECK(m->body.find("sluice_dns_refreshes_total{cluster=\"svc\",result=\"changed\"} 2") !=
        std::string::npos);
  CHECK(m->body.find("sluice_dns_endpoint_changes_total{cluster=\"svc\",change=\"removed\"} 1") !=
        std::string::npos);
  // DNS rebuilds are not config reloads.
  CHECK(m->body.find("sluice_config_reloads_total{result=\"ok\"} 0") != std::string::npos);
  CHECK(m->body.find("sluice_config_generation 1") != std::string::npos);
}

TEST_CASE("an unreadable hosts_file is a config error naming the key", "[integration][dns]") {
  const std::string cfg = temp_path("hosts-cfg", ".toml");
  write_file(cfg, dns_config("/nonexistent/sluice-hosts", 8080));
  auto check = run_sluice({"serve", "--config", cfg});
  CHECK(check.exit_code == 2);
  CHECK(check.err.find("server.hosts_file: cannot read \"/nonexistent/sluice-hosts\"") !=
        std::string::npos);
  CHECK(check.err.find("hint:") != std::string::npos);
}

TEST_CASE("a drained endpoint stays drained across a reload", "[integration][dns][reload]") {
  MockServer a("a"), b("b");
  const std::string config = proxy_config({a.address(), b.address()});
  SluiceProcess proc(config);
  auto drained = post(proc.admin_port(), "/admin/upstreams/backend/" + b.address() + "/drain");
  REQUIRE(drained);
  REQUIRE(drained->status == 200);

  // Reload with a config that changes something else (the route timeout).
  std::size_t from = proc.stderr_line_count();
  proc.rewrite_config(proxy_config({a.address(), b.address()}, {}, "7s"));
  proc.send_signal(SIGHUP);
  auto line = proc.wait_for_event("reload", 5s, from);
  INFO("stderr:\n" << proc.stderr_text());
  REQUIRE(line);
  CHECK(nlohmann::json::parse(*line, nullptr, false).value("status", "") == "ok");

  auto up = http_get(proc.admin_port(), "/admin/upstreams/backend");
  REQUIRE(up);
  auto j = up->json();
  CHECK(j["endpoints"][1]["endpoint"] == b.address());
  CHECK(j["endpoints"][1]["state"] == "draining");
  const auto before = b.requests();
  for (int i = 0; i < 20; ++i) REQUIRE(http_get(proc.port(), "/echo")->status == 200);
  CHECK(b.requests() == before);

  // An endpoint the new config no longer lists takes nothing with it; one it lists anew starts
  // fresh.
  from = proc.stderr_line_count();
  proc.rewrite_config(proxy_config({a.address()}));
  proc.send_signal(SIGHUP);
  REQUIRE(proc.wait_for_event("reload", 5s, from));
  from = proc.stderr_line_count();
  proc.rewrite_config(proxy_config({a.address(), b.address()}));
  proc.send_signal(SIGHUP);
  REQUIRE(proc.wait_for_event("reload", 5s, from));
  auto again = http_get(proc.admin_port(), "/admin/upstreams/backend");
  REQUIRE(again);
  CHECK(again->json()["endpoints"][1]["state"] == "healthy");
}

TEST_CASE("a drain survives a DNS change, and a reload may point at another hosts file",
          "[integration][dns][reload]") {
  auto [a, b] = twin_mocks("a", "b");
  const std::uint16_t port = a->port();
  const std::string hosts = temp_path("hosts", "");
  const std::string other_hosts = temp_path("hosts-other", "");
  write_file(hosts, "127.0.0.2 svc.test\n127.0.0.3 svc.test\n");
  write_file(other_hosts, "127.0.0.3 svc.test\n");
  SluiceProcess proc(dns_config(hosts, port));
  INFO("stderr:\n" << proc.stderr_text());
  const std::string a_name = fmt::format("127.0.0.2:{}", port);
  auto drained = post(proc.admin_port(), "/admin/upstreams/svc/" + a_name + "/drain");
  REQUIRE(drained);
  REQUIRE(drained->status == 200);

  // b leaves and comes back: two rebuilds of the cluster; a stays drained through both.
  std::size_t from = proc.stderr_line_count();
  replace_file(hosts, "127.0.0.2 svc.test\n");
  REQUIRE(proc.wait_for_event("endpoints_changed", 5s, from));
  from = proc.stderr_line_count();
  replace_file(hosts, "127.0.0.2 svc.test\n127.0.0.3 svc.test\n");
  REQUIRE(proc.wait_for_event("endpoints_changed", 5s, from));
  auto up = http_get(proc.admin_port(), "/admin/upstreams/svc");
  REQUIRE(up);
  auto j = up->json();
  REQUIRE(j["endpoints"].size() == 2);
  CHECK(j["endpoints"][0]["endpoint"] == a_name);
  CHECK(j["endpoints"][0]["state"] == "draining");
  const auto before = a->requests();
  for (int i = 0; i < 20; ++i) REQUIRE(http_get(proc.port(), "/x")->status == 200);
  CHECK(a->requests() == before);

  // server.hosts_file reloads: the other file lists b only.
  from = proc.stderr_line_count();
  proc.rewrite_config(dns_config(other_hosts, port));
  proc.send_signal(SIGHUP);
  auto line = proc.wait_for_event("reload", 5s, from);
  REQUIRE(line);
  CHECK(nlohmann::json::parse(*line, nullptr, false).value("status", "") == "ok");
  auto after = http_get(proc.admin_port(), "/admin/upstreams/svc");
  REQUIRE(after);
  REQUIRE(after->json()["endpoints"].size() == 1);
  CHECK(after->json()["endpoints"][0]["endpoint"] == fmt::format("127.0.0.3:{}", port));

  // A reload naming an unreadable hosts file fails, and the old config keeps serving.
  from = proc.stderr_line_count();
  proc.rewrite_config(dns_config("/nonexistent/sluice-hosts", port));
  proc.send_signal(SIGHUP);
  REQUIRE(proc.wait_for_event("reload_failed", 5s, from));
  CHECK(http_get(proc.port(), "/x")->status == 200);
}
