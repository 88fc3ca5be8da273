// HTTP/1.1 protocol details through the proxy: pipelining, HEAD, Expect: 100-continue, 1.0.
#include <catch2/catch.hpp>

#include "common.hpp"
#include "sluice/chaos/mock_server.hpp"

using namespace sluice::test;
using sluice::chaos::MockServer;

TEST_CASE("pipelined requests are answered in order", "[integration][protocol][pipelining]") {
  MockServer up("up");
  SluiceProcess proc(proxy_config({up.address()}));
  Connection c(proc.port());
  // The first is slow: a proxy that answered out of order would answer /echo/2 first.
  std::string batch = make_request("GET", "/delay/200") + make_request("GET", "/echo/2") +
                      make_request("POST", "/echo/3", {}, "body3") + make_request("GET", "/echo/4");
  REQUIRE(c.send(batch));
  auto r1 = c.read_response();
  REQUIRE(r1);
  CHECK(r1->status == 200);
  CHECK(r1->json().value("delayed_ms", 0) == 200);
  for (int i = 2; i <= 4; ++i) {
    auto r = c.read_response();
    INFO("response " << i << ": " << c.error());
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->json().value("target", "") == fmt::format("/echo/{}", i));
  }
}

TEST_CASE("HEAD responses carry no body", "[integration][protocol][head]") {
  MockServer up("up");
  SluiceProcess proc(proxy_config({up.address()}));
  Connection c(proc.port());
  auto r = c.request(make_request("HEAD", "/bytes/1000"), /*head_request=*/true);
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->header("content-length") == "1000");
  // The connection is still in sync: the next response follows at once.
  auto r2 = c.request(make_request("GET", "/health"));
  INFO(c.error());
  REQUIRE(r2);
  CHECK(r2->status == 200);
  CHECK(r2->body == "ok");
}

TEST_CASE("Expect: 100-continue gets 100 Continue before the body is sent",
          "[integration][protocol][expect]") {
  MockServer up("up");
  SluiceProcess proc(proxy_config({up.address()}));
  Connection c(proc.port(), 5s);
  REQUIRE(
      c.send("POST /echo/upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n"
             "Expect: 100-continue\r\n\r\n"));
  auto interim = c.read_response(false, nullptr, /*keep_interim=*/true);
  INFO(c.error());
  REQUIRE(interim);
  CHECK(interim->status == 100);
  REQUIRE(c.send("0123456789"));
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->json().value("body_bytes", -1) == 10);
}

TEST_CASE("HTTP/1.0 clients are served", "[integration][protocol][http10]") {
  MockServer up("up");
  SluiceProcess proc(proxy_config({up.address()}));
  Connection c(proc.port());
  REQUIRE(c.send("GET /health HTTP/1.0\r\nHost: localhost\r\n\r\n"));
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body == "ok");
  CHECK(c.wait_closed(5s));
}
