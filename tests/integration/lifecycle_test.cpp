// Process lifecycle: hot reload under load, draining on SIGTERM.
#include <signal.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include <catch2/catch.hpp>

#include "common.hpp"
#include "load.hpp"
#include "sluice/chaos/mock_server.hpp"

using namespace sluice::test;
using sluice::chaos::MockServer;

namespace {

// Which upstream a fresh connection's request reaches.
std::string upstream_of_fresh_request(std::uint16_t port) {
  auto r = http_get(port, "/which");
  if (!r || r->status != 200) return "<error>";
  return r->json().value("upstream", "?");
}

}  // namespace

TEST_CASE("hot reload under steady load loses zero requests", "[integration][reload]") {
  MockServer a("A");
  MockServer b("B");
  SluiceProcess proc(proxy_config({a.address()}));
  REQUIRE(upstream_of_fresh_request(proc.port()) == "A");

  Load load(proc.port(), 4);
  REQUIRE(eventually([&] { return load.ok() > 20; }, 5s));

  // Flip the cluster between the two mocks a few times, under load.
  const std::vector<std::pair<MockServer*, std::string>> steps = {
      {&b, "B"}, {&a, "A"}, {&b, "B"}, {&a, "A"}};
  for (const auto& [mock, name] : steps) {
    std::this_thread::sleep_for(300ms);
    std::size_t from = proc.stderr_line_count();
    proc.rewrite_config(proxy_config({mock->address()}));
    proc.send_signal(SIGHUP);
    auto line = proc.wait_for_event("reload", 5s, from);
    INFO("stderr:\n" << proc.stderr_text());
    REQUIRE(line);
    auto j = nlohmann::json::parse(*line, nullptr, false);
    CHECK(j.value("status", "") == "ok");
    CHECK(upstream_of_fresh_request(proc.port()) == name);
  }
  std::this_thread::sleep_for(300ms);

  // An invalid config is refused and the old one keeps serving.
  std::size_t from = proc.stderr_line_count();
  proc.rewrite_config("[server]\nworkers = \"many\"\n[[routes]]\nname = 1\n");
  proc.send_signal(SIGHUP);
  auto failed = proc.wait_for_event("reload_failed", 5s, from);
  INFO("stderr:\n" << proc.stderr_text());
  REQUIRE(failed);
  auto jf = nlohmann::json::parse(*failed, nullptr, false);
  CHECK(jf.contains("error"));
  CHECK(upstream_of_fresh_request(proc.port()) == "A");
  std::this_thread::sleep_for(300ms);

  load.stop();
  auto failures = load.failures();
  std::string failure_text;
  for (const auto& f : failures) failure_text += f + "\n";
  INFO("failures (first 20):\n" << failure_text);
  INFO("ok: " << load.ok());
  CHECK(load.failed() == 0);
  CHECK(load.ok() > 100);
  auto by = load.by_upstream();
  CHECK(by["A"] > 0);
  CHECK(by["B"] > 0);
  CHECK(proc.running());
}

TEST_CASE("SIGTERM drains in-flight requests and loses none", "[integration][drain]") {
  MockServer mock("slow");
  SluiceProcess proc(proxy_config({mock.address()}));

  constexpr int kInflight = 8;
  std::atomic<int> ok{0};
  std::mutex mu;
  std::vector<std::string> failures;
  std::vector<std::thread> clients;
  for (int i = 0; i < kInflight; ++i) {
    clients.emplace_back([&] {
      try {
        Connection c(proc.port(), 15s);
        auto r = c.request(make_request("GET", "/delay/1000"));
        std::lock_guard lk(mu);
        if (r && r->status == 200) {
          ++ok;
        } else {
          failures.push_back(r ? fmt::format("status {}", r->status) : c.error());
        }
      } catch (const std::exception& e) {
        std::lock_guard lk(mu);
        failures.push_back(e.what());
      }
    });
  }
  // Every request has reached the upstream before the signal.
  bool all_in_flight = eventually([&] { return mock.requests() >= kInflight; }, 5s);
  REQUIRE(all_in_flight);
  proc.send_signal(SIGTERM);

  // The listener stops accepting: new connections are refused (bounded wait).
  bool refused = eventually(
      [&] {
        int err = 0;
        auto c = Connection::try_connect(proc.port(), &err, 1s);
        return !c && err == ECONNREFUSED;
      },
      5s);
  CHECK(refused);

  for (auto& t : clients) t.join();
  std::string failure_text;
  for (const auto& f : failures) failure_text += f + "\n";
  INFO("failures:\n" << failure_text);
  CHECK(ok.load() == kInflight);

  auto code = proc.wait_exit(15s);
  INFO("stderr:\n" << proc.stderr_text());
  REQUIRE(code);
  CHECK(*code == 0);
}
