// Hedging ([routes.retry] hedge_delay) in the real binary: a first try that hangs is overtaken
// by its hedge on another endpoint, whose whole answer is relayed; a quick first try sends no
// hedge; a POST is never hedged.
#include <condition_variable>
#include <mutex>

#include <catch2/catch.hpp>

#include "common.hpp"
#include "sluice/chaos/mock_server.hpp"

using namespace sluice::test;
using sluice::chaos::MockExchange;
using sluice::chaos::MockServer;

namespace {

// A mock whose answers wait until release() (or 10 s), as a stuck endpoint.
struct Stuck {
  std::mutex mu;
  std::condition_variable cv;
  bool released = false;
  MockServer server{"stuck", {{"", "*", [this](MockExchange& ex) {
                                 std::unique_lock lk(mu);
                                 cv.wait_for(lk, std::chrono::seconds(10),
                                             [&] { return released; });
                                 ex.respond(200, "stuck");
                               }}}};
  void release() {
    {
      std::lock_guard lk(mu);
      released = true;
    }
    cv.notify_all();
  }
  ~Stuck() { release(); }
};

std::string hedged_config(const std::vector<std::string>& endpoints, std::string_view timeout) {
  ServerSettings one;
  one.workers = 1;  // one round robin, so the first tries alternate
  return config_with(fmt::format(R"([[routes]]
name = "api"
cluster = "backend"
timeout = "{}"
[routes.retry]
attempts = 2
hedge_delay = "50ms"

[[clusters]]
name = "backend"
endpoints = {}
)",
                                 timeout, toml_list(endpoints)),
                     one);
}

// The value of a metric line that starts with `series`, or -1.
long metric(std::uint16_t admin, std::string_view series) {
  auto m = http_get(admin, "/metrics");
  if (!m) return -1;
  auto at = m->body.find(std::string(series) + " ");
  if (at == std::string::npos) return -1;
  return std::stol(m->body.substr(at + series.size() + 1));
}

}  // namespace

TEST_CASE("a hedge overtakes a stuck first try and its whole answer is relayed",
          "[integration][hedge]") {
  Stuck stuck;
  const std::string big(200 * 1024, 'f');  // larger than one read buffer
  MockServer fast("fast", {{"", "*", [&](MockExchange& ex) { ex.respond(200, big); }}});
  SluiceProcess proc(hedged_config({stuck.server.address(), fast.address()}, "5s"));
  int hedged = 0, direct = 0;
  for (int i = 0; i < 6; ++i) {
    auto start = std::chrono::steady_clock::now();
    auto r = http_get(proc.port(), "/x");
    auto elapsed = std::chrono::steady_clock::now() - start;
    INFO("request " << i);
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body == big);
    CHECK(elapsed < 2s);  // the stuck endpoint holds its answer for 10 s
    auto attempts = r->header("x-sluice-attempts");
    if (attempts == "2") ++hedged;
    if (attempts == "1") ++direct;
  }
  // Round robin gives the stuck endpoint the first try at least every other time (the hedge's
  // own pick moves the rotation on too).
  CHECK(hedged >= 3);
  CHECK(hedged + direct == 6);
  CHECK(metric(proc.admin_port(), "sluice_hedges_total{route=\"api\"}") == hedged);
  CHECK(metric(proc.admin_port(), "sluice_hedge_wins_total{route=\"api\"}") == hedged);
  CHECK(fast.requests() == 6);
}

TEST_CASE("a first try answering within hedge_delay sends no hedge", "[integration][hedge]") {
  MockServer a("a"), b("b");
  SluiceProcess proc(hedged_config({a.address(), b.address()}, "5s"));
  for (int i = 0; i < 5; ++i) {
    auto r = http_get(proc.port(), "/x");
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->header("x-sluice-attempts") == "1");
  }
  CHECK(metric(proc.admin_port(), "sluice_hedges_total{route=\"api\"}") == 0);
  CHECK(a.requests() + b.requests() == 5);
}

TEST_CASE("a POST is not hedged, a GET to the same stuck endpoint is", "[integration][hedge]") {
  Stuck stuck;
  SluiceProcess proc(hedged_config({stuck.server.address()}, "300ms"));
  Connection c(proc.port());
  auto r = c.request(make_request("POST", "/x", {}, "payload"));
  REQUIRE(r);
  CHECK(r->status == 504);
  CHECK(metric(proc.admin_port(), "sluice_hedges_total{route=\"api\"}") == 0);
  // The only other endpoint is the same one: the hedge goes there too, and is stuck as well.
  auto g = http_get(proc.port(), "/x");
  REQUIRE(g);
  CHECK(g->status == 504);
  CHECK(metric(proc.admin_port(), "sluice_hedges_total{route=\"api\"}") == 1);
  CHECK(metric(proc.admin_port(), "sluice_hedge_wins_total{route=\"api\"}") == 0);
}
