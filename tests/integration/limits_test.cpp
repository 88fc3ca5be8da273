// Request limits: header read time (slowloris), header size, body size, and request smuggling.
#include <atomic>
#include <thread>

#include <catch2/catch.hpp>

#include "common.hpp"
#include "sluice/chaos/mock_server.hpp"

using namespace sluice::test;
using sluice::chaos::MockServer;

TEST_CASE("a slowloris client is cut off after header_timeout",
          "[integration][limits][slowloris]") {
  MockServer mock("up");
  SluiceProcess proc(proxy_config({mock.address()}));  // header_timeout = 500ms

  // One client sends part of a head and stops; another trickles a byte every 100ms.
  Connection stalled(proc.port(), 10s);
  REQUIRE(stalled.send("GET /slow HTTP/1.1\r\nHost: localhost\r\nX-Slow: "));
  Connection trickler(proc.port(), 10s);
  REQUIRE(trickler.send("GET /slow HTTP/1.1\r\n"));
  auto start = std::chrono::steady_clock::now();

  std::atomic<bool> trickle_stopped{false};
  std::atomic<bool> trickle_send_failed{false};
  std::thread trickle([&] {
    std::string header = "X-Trickle: " + std::string(200, 'a') + "\r\n";
    for (char ch : header) {
      if (trickle_stopped) return;
      if (!trickler.send(std::string_view(&ch, 1))) {
        trickle_send_failed = true;
        return;
      }
      std::this_thread::sleep_for(100ms);
    }
  });

  // Meanwhile, others are served.
  auto r = http_get(proc.port(), "/health");
  REQUIRE(r);
  CHECK(r->status == 200);

  std::string stalled_data;
  bool stalled_closed = stalled.wait_closed(5s, &stalled_data);
  auto stalled_elapsed = std::chrono::steady_clock::now() - start;
  std::string trickle_data;
  bool trickle_closed = trickler.wait_closed(5s, &trickle_data);
  auto trickle_elapsed = std::chrono::steady_clock::now() - start;
  trickle_stopped = true;
  trickle.join();

  INFO("stalled connection got: " << stalled_data);
  CHECK(stalled_closed);
  CHECK(stalled_elapsed < 5s);
  INFO("trickling connection got: " << trickle_data);
  CHECK(trickle_closed);
  CHECK(trickle_elapsed < 6s);
  // The proxy says why before closing: 408 in the JSON error shape.
  CHECK(stalled_data.rfind("HTTP/1.1 408", 0) == 0);
  CHECK(stalled_data.find("\"type\":\"request_timeout\"") != std::string::npos);
  // The trickled head never reached the upstream.
  CHECK(mock.requests() == 1);

  auto after = http_get(proc.port(), "/health");
  REQUIRE(after);
  CHECK(after->status == 200);
}

TEST_CASE("oversized request headers get 431 with the JSON error shape",
          "[integration][limits][headers]") {
  MockServer mock("up");
  SluiceProcess proc(proxy_config({mock.address()}));  // max_header_bytes = 8KiB
  Connection c(proc.port());
  auto r = c.request(make_request("GET", "/x", {{"X-Big", std::string(16 * 1024, 'h')}}));
  INFO(c.error());
  REQUIRE(r);
  CHECK(r->status == 431);
  CHECK(r->header("content-type").find("application/json") != std::string::npos);
  CHECK(has_error_shape(*r, "request_header_too_large"));
  CHECK(!r->header("x-request-id").empty());
  CHECK(mock.requests() == 0);

  // Many small headers adding up past the limit count too.
  Headers many;
  for (int i = 0; i < 200; ++i) many.emplace_back(fmt::format("X-H{}", i), std::string(60, 'v'));
  Connection c2(proc.port());
  auto r2 = c2.request(make_request("GET", "/x", many));
  REQUIRE(r2);
  INFO("many headers: " << r2->status << " " << r2->body);
  CHECK(r2->status == 431);

  // A head under the limit passes.
  auto ok = http_get(proc.port(), "/x", {{"X-Fine", std::string(2000, 'h')}});
  REQUIRE(ok);
  CHECK(ok->status == 200);
}

TEST_CASE("a body over max_body_bytes gets 413", "[integration][limits][body]") {
  MockServer mock("up");
  ServerSettings s;
  s.max_body_bytes = "1KiB";
  SluiceProcess proc(proxy_config({mock.address()}, s));

  SECTION("declared by Content-Length") {
    Connection c(proc.port());
    auto r = c.request(make_request("POST", "/echo", {}, std::string(4096, 'b')));
    INFO(c.error());
    REQUIRE(r);
    CHECK(r->status == 413);
    INFO(r->body);
    CHECK(has_error_shape(*r, "request_body_too_large"));
    CHECK(mock.requests() == 0);
  }
  SECTION("a small body passes") {
    Connection c(proc.port());
    auto r = c.request(make_request("POST", "/echo", {}, std::string(512, 'b')));
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->json().value("body_bytes", -1) == 512);
  }
}

TEST_CASE("conflicting Content-Length and Transfer-Encoding get 400",
          "[integration][limits][smuggling]") {
  MockServer mock("up");
  SluiceProcess proc(proxy_config({mock.address()}));
  Connection c(proc.port());
  auto r = c.request(
      "POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n"
      "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  INFO(c.error());
  REQUIRE(r);
  CHECK(r->status == 400);
  INFO(r->body);
  CHECK(has_error_shape(*r, "bad_request"));
  CHECK(mock.requests() == 0);
}
