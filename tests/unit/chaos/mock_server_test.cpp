// Self-test of the mock upstream over loopback sockets.
#include "sluice/chaos/mock_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "loopback.hpp"

using sluice::chaos::MockExchange;
using sluice::chaos::MockRoute;
using sluice::chaos::MockServer;
using sluice::test::body_of;
using sluice::test::Conn;

namespace {

std::size_t count(const std::string& hay, std::string_view needle) {
  std::size_t n = 0;
  for (auto pos = hay.find(needle); pos != std::string::npos; pos = hay.find(needle, pos + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("mock server answers the demo routes", "[chaos][mock]") {
  MockServer mock("alpha");
  REQUIRE(mock.port() != 0);
  CHECK(mock.address() == fmt::format("127.0.0.1:{}", mock.port()));
  CHECK(mock.name() == "alpha");

  Conn c(mock.port());
  c.send("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  std::string r = c.read_all();
  CHECK(r.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(r.find("Content-Length: 2\r\n") != std::string::npos);
  CHECK(body_of(r) == "ok");
  CHECK(mock.requests() == 1);

  Conn c2(mock.port());
  c2.send("GET /anything/else?q=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  auto j = nlohmann::json::parse(body_of(c2.read_all()));
  CHECK(j["upstream"] == "alpha");
  CHECK(j["path"] == "/anything/else");

  Conn c3(mock.port());
  c3.send("GET /status/503 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK(c3.read_all().rfind("HTTP/1.1 503 Service Unavailable\r\n", 0) == 0);
}

TEST_CASE("mock server keeps connections alive and answers pipelined requests in order",
          "[chaos][mock]") {
  MockServer mock("alpha");
  Conn c(mock.port());
  c.send(
      "GET /echo/1 HTTP/1.1\r\nHost: x\r\n\r\n"
      "POST /echo/2 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
      "GET /echo/3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  std::string r = c.read_all();
  CHECK(count(r, "HTTP/1.1 200 OK") == 3);
  auto p1 = r.find("\"/echo/1\"");
  auto p2 = r.find("\"/echo/2\"");
  auto p3 = r.find("\"/echo/3\"");
  REQUIRE(p1 != std::string::npos);
  REQUIRE(p2 != std::string::npos);
  REQUIRE(p3 != std::string::npos);
  CHECK(p1 < p2);
  CHECK(p2 < p3);
  CHECK(r.find("\"body_bytes\":5") != std::string::npos);
  CHECK(mock.requests() == 3);
}

TEST_CASE("mock server reads chunked and content-length bodies as a stream", "[chaos][mock]") {
  std::atomic<std::int64_t> seen{0};
  std::atomic<int> pieces{0};
  MockServer mock("up", {{"POST", "/upload", [&](MockExchange& ex) {
                            std::int64_t n = ex.read_body([&](std::string_view piece) {
                              seen += static_cast<std::int64_t>(piece.size());
                              ++pieces;
                            });
                            ex.respond(200, std::to_string(n));
                          }}});
  const std::size_t total = 8 * 1024 * 1024;
  const std::string piece(100000, 'a');

  SECTION("chunked") {
    Conn c(mock.port());
    c.send("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    std::size_t sent = 0;
    while (sent < total) {
      std::size_t len = std::min(piece.size(), total - sent);
      c.send(fmt::format("{:x}\r\n", len));
      c.send(std::string_view(piece.data(), len));
      c.send("\r\n");
      sent += len;
    }
    c.send("0\r\n\r\n");
    std::string r = c.read_until(std::to_string(total));
    CHECK(body_of(r) == std::to_string(total));
  }
  SECTION("content-length") {
    Conn c(mock.port());
    c.send(fmt::format("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n", total));
    std::size_t sent = 0;
    while (sent < total) {
      std::size_t len = std::min(piece.size(), total - sent);
      c.send(std::string_view(piece.data(), len));
      sent += len;
    }
    std::string r = c.read_until(std::to_string(total));
    CHECK(body_of(r) == std::to_string(total));
  }
  CHECK(seen.load() == static_cast<std::int64_t>(total));
  CHECK(pieces.load() > 1);
}

TEST_CASE("mock server streams chunked and sized responses", "[chaos][mock]") {
  MockServer mock("alpha");
  SECTION("sse is chunked, five events") {
    Conn c(mock.port());
    c.send("GET /sse HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    std::string r = c.read_all();
    CHECK(r.find("Transfer-Encoding: chunked\r\n") != std::string::npos);
    CHECK(r.find("content-type: text/event-stream\r\n") != std::string::npos);
    for (int i = 1; i <= 5; ++i)
      CHECK(r.find(fmt::format("data: tick {}\n\n", i)) != std::string::npos);
    CHECK(r.size() >= 5);
    CHECK(r.substr(r.size() - 5) == "0\r\n\r\n");
  }
  SECTION("write() flushes at once") {
    // The handler sends one event, then waits until the client has read it.
    std::mutex mu;
    std::condition_variable cv;
    bool received = false;
    bool handler_saw_client = false;
    MockServer stream("stream", {{"GET", "/one", [&](MockExchange& ex) {
                                    ex.begin(200, {{"content-type", "text/event-stream"}});
                                    ex.write("data: first\n\n");
                                    std::unique_lock lk(mu);
                                    handler_saw_client = cv.wait_for(lk, std::chrono::seconds(10),
                                                                     [&] { return received; });
                                    lk.unlock();
                                    ex.write("data: second\n\n");
                                    ex.end();
                                  }}});
    Conn c(stream.port());
    c.send("GET /one HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    std::string r = c.read_until("data: first\n\n");
    CHECK(r.find("data: second") == std::string::npos);
    {
      std::lock_guard lk(mu);
      received = true;
    }
    cv.notify_all();
    r += c.read_all();
    CHECK(r.find("data: second\n\n") != std::string::npos);
    CHECK(handler_saw_client);
  }
  SECTION("bytes") {
    Conn c(mock.port());
    c.send("GET /bytes/1000000 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    std::string r = c.read_all();
    CHECK(r.find("Content-Length: 1000000\r\n") != std::string::npos);
    CHECK(body_of(r).size() == 1000000);
  }
  SECTION("HEAD has no body") {
    Conn c(mock.port());
    c.send(
        "HEAD /bytes/100 HTTP/1.1\r\nHost: x\r\n\r\n"
        "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    std::string r = c.read_all();
    CHECK(r.find("Content-Length: 100\r\n") != std::string::npos);
    // The next response follows the HEAD response's head directly.
    auto first_end = r.find("\r\n\r\n");
    REQUIRE(first_end != std::string::npos);
    CHECK(r.compare(first_end + 4, 15, "HTTP/1.1 200 OK") == 0);
    CHECK(body_of(r.substr(first_end + 4)) == "ok");
  }
}

TEST_CASE("mock server speaks HTTP/1.0", "[chaos][mock]") {
  MockServer mock("alpha");
  SECTION("content-length response, then close") {
    Conn c(mock.port());
    c.send("GET /health HTTP/1.0\r\n\r\n");
    std::string r = c.read_all();  // returns only because the server closes
    CHECK(r.find("Connection: close\r\n") != std::string::npos);
    CHECK(body_of(r) == "ok");
  }
  SECTION("streamed response is delimited by close") {
    Conn c(mock.port());
    c.send("GET /sse HTTP/1.0\r\n\r\n");
    std::string r = c.read_all();
    CHECK(r.find("Transfer-Encoding") == std::string::npos);
    CHECK(body_of(r).rfind("data: tick 1\n\n", 0) == 0);
    CHECK(body_of(r).find("data: tick 5\n\n") != std::string::npos);
  }
  SECTION("keep-alive when asked") {
    Conn c(mock.port());
    c.send(
        "GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
        "GET /health HTTP/1.0\r\n\r\n");
    std::string r = c.read_all();
    CHECK(count(r, "HTTP/1.1 200 OK") == 2);
    CHECK(r.find("Connection: keep-alive\r\n") != std::string::npos);
  }
}

TEST_CASE("mock server sends 100 Continue when the handler reads the body", "[chaos][mock]") {
  MockServer mock("alpha");
  Conn c(mock.port());
  c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
  std::string interim = c.read_until("\r\n\r\n");
  CHECK(interim == "HTTP/1.1 100 Continue\r\n\r\n");
  c.send("abcd");
  std::string r = c.read_until("}");
  CHECK(r.rfind("HTTP/1.1 200 OK", 0) == 0);
  CHECK(r.find("\"body_bytes\":4") != std::string::npos);
}

TEST_CASE("mock server reset() aborts the connection", "[chaos][mock]") {
  MockServer mock("alpha", {{"", "*", [](MockExchange& ex) { ex.reset(); }}});
  Conn c(mock.port());
  c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string r = c.read_all();
  CHECK(r.empty());
  CHECK(c.last_errno == ECONNRESET);
}

TEST_CASE("mock server stop() closes live connections promptly", "[chaos][mock]") {
  auto mock = std::make_unique<MockServer>("alpha");
  Conn idle(mock->port());
  idle.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(idle.read_until("ok").find("ok") != std::string::npos);
  Conn half(mock->port());
  half.send("GET /health HTTP/1.1\r\nHost:");  // a partial head: its thread is blocked reading
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto start = std::chrono::steady_clock::now();
  mock->stop();
  auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK(elapsed < std::chrono::seconds(5));  // a bound against hangs, not a timing
  CHECK(idle.read_all().empty());
  mock.reset();  // the destructor after stop() is fine
}

TEST_CASE("mock server rebinds a port it just released", "[chaos][mock]") {
  std::uint16_t port = 0;
  {
    MockServer a("a");
    port = a.port();
    Conn c(port);
    c.send("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    c.read_all();
  }
  MockServer b("b", {}, port);
  CHECK(b.port() == port);
  Conn c(port);
  c.send("GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK(body_of(c.read_all()).find("\"b\"") != std::string::npos);
}
