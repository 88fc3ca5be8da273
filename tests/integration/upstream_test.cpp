// Upstream failures: down, reset, hanging, and stale pooled connections.
#include <condition_variable>
#include <mutex>

#include <catch2/catch.hpp>

#include "common.hpp"
#include "sluice/chaos/mock_server.hpp"

using namespace sluice::test;
using sluice::chaos::MockExchange;
using sluice::chaos::MockServer;

TEST_CASE("an upstream that is down gets a 502 JSON error", "[integration][upstream][502]") {
  std::uint16_t dead = unused_port();
  SluiceProcess proc(proxy_config({fmt::format("127.0.0.1:{}", dead)}));
  Connection c(proc.port());
  auto r = c.request(make_request("GET", "/x"));
  INFO(c.error());
  REQUIRE(r);
  CHECK(r->status == 502);
  INFO(r->body);
  CHECK(has_error_shape(*r, "upstream_connect_error"));
  CHECK(!r->header("x-request-id").empty());
  // The client connection stays usable.
  auto r2 = c.request(make_request("GET", "/x"));
  REQUIRE(r2);
  CHECK(r2->status == 502);
}

TEST_CASE("an upstream that resets the connection gets a 502", "[integration][upstream][502]") {
  MockServer up("reset", {{"", "*", [](MockExchange& ex) { ex.reset(); }}});
  SluiceProcess proc(proxy_config({up.address()}));
  Connection c(proc.port());
  // POST: not retried on another try, so the reset is what the client learns about.
  auto r = c.request(make_request("POST", "/x", {}, "payload"));
  INFO(c.error());
  REQUIRE(r);
  CHECK(r->status == 502);
  INFO(r->body);
  CHECK(has_error_shape(*r, "upstream_reset"));
}

TEST_CASE("a hanging upstream gets a 504 at the route timeout", "[integration][upstream][504]") {
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  MockServer up("hang", {{"", "*", [&](MockExchange& ex) {
                            std::unique_lock lk(mu);
                            cv.wait_for(lk, std::chrono::seconds(10), [&] { return release; });
                            ex.respond(200, "late");
                          }}});
  SluiceProcess proc(proxy_config({up.address()}, {}, /*timeout=*/"300ms"));
  Connection c(proc.port());
  auto start = std::chrono::steady_clock::now();
  auto r = c.request(make_request("GET", "/hang"));
  auto elapsed = std::chrono::steady_clock::now() - start;
  {
    std::lock_guard lk(mu);
    release = true;
  }
  cv.notify_all();
  INFO(c.error());
  REQUIRE(r);
  CHECK(r->status == 504);
  INFO(r->body);
  CHECK(has_error_shape(*r, "upstream_timeout"));
  CHECK(elapsed >= 250ms);
  CHECK(elapsed < 3s);  // 10x the route timeout
}

TEST_CASE("a stale pooled upstream connection is retried transparently for a GET",
          "[integration][upstream][pool]") {
  auto first = std::make_unique<MockServer>("first");
  const std::uint16_t port = first->port();
  SluiceProcess proc(proxy_config({first->address()}));
  Connection c(proc.port());

  auto r1 = c.request(make_request("GET", "/one"));
  REQUIRE(r1);
  CHECK(r1->json().value("upstream", "") == "first");
  // The upstream restarts: the proxy's pooled connection to it is now closed by the peer.
  first.reset();
  MockServer second("second", {}, port);

  auto r2 = c.request(make_request("GET", "/two"));
  INFO(c.error());
  REQUIRE(r2);
  INFO(r2->body);
  CHECK(r2->status == 200);
  CHECK(r2->json().value("upstream", "") == "second");
}

TEST_CASE("upstream statuses and bodies pass through unchanged", "[integration][upstream]") {
  MockServer up("up");
  SluiceProcess proc(proxy_config({up.address()}));
  Connection c(proc.port());
  for (int code : {201, 204, 404, 429, 500, 503}) {
    auto r = c.request(make_request("GET", fmt::format("/status/{}", code)));
    REQUIRE(r);
    CHECK(r->status == code);
    if (code != 204) CHECK(r->json().value("upstream", "") == "up");
  }
}
