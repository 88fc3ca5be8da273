// breaker.max_connections and breaker.max_pending in the real binary: requests beyond the open
// connections wait, those beyond the waiting room get 503 upstream_overflow at once, a wait ends
// at connect_timeout, and an idle pooled connection gives its slot up to a request that needs one.
#include <condition_variable>
#include <future>
#include <mutex>

#include <catch2/catch.hpp>

#include "common.hpp"
#include "sluice/chaos/mock_server.hpp"

using namespace sluice::test;
using sluice::chaos::MockExchange;
using sluice::chaos::MockServer;

namespace {

std::string limited_config(const std::vector<std::string>& endpoints) {
  ServerSettings one;
  one.workers = 1;
  return config_with(fmt::format(R"([[routes]]
name = "api"
cluster = "backend"
timeout = "5s"

[[clusters]]
name = "backend"
endpoints = {}
connect_timeout = "400ms"
[clusters.breaker]
max_connections = 1
max_pending = 1
)",
                                 toml_list(endpoints)),
                     one);
}

bool has(const std::string& s, std::string_view what) {
  return s.find(what) != std::string::npos;
}

}  // namespace

TEST_CASE("beyond max_connections requests wait, beyond max_pending they get 503 at once",
          "[integration][breaker][connections]") {
  std::mutex mu;
  std::condition_variable cv;
  bool released = false;
  MockServer up("stuck", {{"", "*", [&](MockExchange& ex) {
                             std::unique_lock lk(mu);
                             cv.wait_for(lk, std::chrono::seconds(10), [&] { return released; });
                             ex.respond(200, "late");
                           }}});
  auto release = [&] {
    {
      std::lock_guard lk(mu);
      released = true;
    }
    cv.notify_all();
  };
  SluiceProcess proc(limited_config({up.address()}));
  // The first request holds the only connection.
  auto first = std::async(std::launch::async, [&] { return http_get(proc.port(), "/first"); });
  REQUIRE(eventually([&] { return up.requests() == 1; }, 5s));
  // The second waits for it...
  auto second_start = std::chrono::steady_clock::now();
  auto second = std::async(std::launch::async, [&] { return http_get(proc.port(), "/second"); });
  REQUIRE(eventually(
      [&] {
        auto m = http_get(proc.admin_port(), "/metrics");
        return m && has(m->body, "sluice_upstream_pending{cluster=\"backend\"} 1");
      },
      5s));
  // ...so the third finds the waiting room full.
  auto third = http_get(proc.port(), "/third");
  REQUIRE(third);
  CHECK(third->status == 503);
  INFO(third->body);
  CHECK(has_error_shape(*third, "upstream_overflow"));
  CHECK(has(third->body, "breaker.max_pending"));
  // The second gives up at connect_timeout.
  auto r2 = second.get();
  auto waited = std::chrono::steady_clock::now() - second_start;
  REQUIRE(r2);
  CHECK(r2->status == 503);
  INFO(r2->body);
  CHECK(has(r2->body, "within connect_timeout 400ms"));
  CHECK(waited >= 350ms);
  CHECK(waited < 3s);
  auto m = http_get(proc.admin_port(), "/metrics");
  REQUIRE(m);
  CHECK(has(m->body, "sluice_upstream_connections{cluster=\"backend\"} 1"));
  CHECK(has(m->body, "sluice_upstream_pending_overflow_total{cluster=\"backend\"} 1"));
  CHECK(up.requests() == 1);  // neither overflow reached the upstream
  release();
  auto r1 = first.get();
  REQUIRE(r1);
  CHECK(r1->status == 200);
}

TEST_CASE("at max_connections an idle pooled connection gives its slot to a new one",
          "[integration][breaker][connections]") {
  MockServer a("a"), b("b");
  SluiceProcess proc(limited_config({a.address(), b.address()}));
  // Round robin: a, then b, then a. Each needs a new connection while the last one sits idle.
  Connection c(proc.port());
  for (int i = 0; i < 4; ++i) {
    auto start = std::chrono::steady_clock::now();
    auto r = c.request(make_request("GET", "/x"));
    INFO("request " << i);
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(std::chrono::steady_clock::now() - start < 300ms);  // no wait for connect_timeout
  }
  CHECK(a.requests() == 2);
  CHECK(b.requests() == 2);
}
