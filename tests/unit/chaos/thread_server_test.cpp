// ThreadPerConnectionServer: a handler per connection, descriptors closed by the server, bind
// errors, and a stop() that does not wait for blocked handlers.
#include "sluice/chaos/thread_server.hpp"

#include <sys/socket.h>

#include <array>
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include "loopback.hpp"

using sluice::chaos::ThreadPerConnectionServer;

namespace {

const ThreadPerConnectionServer::ErrorText kErrors{"test server: socket", "test server: bind"};

// Echoes one read back, then returns without closing: the server closes the descriptor.
void echo_once(int fd) {
  std::array<char, 256> buf;
  const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
  if (n > 0) ::send(fd, buf.data(), static_cast<std::size_t>(n), MSG_NOSIGNAL);
}

}  // namespace

TEST_CASE("thread server: one handler per connection, closed after it returns", "[chaos]") {
  std::atomic<int> handled{0};
  ThreadPerConnectionServer server(
      0,
      [&](int fd) {
        echo_once(fd);
        ++handled;
      },
      kErrors);
  REQUIRE(server.port() != 0);
  for (int i = 0; i < 20; ++i) {  // more than one, so finished threads get reaped on accept
    sluice::test::Conn c(server.port());
    c.send("ping " + std::to_string(i));
    CHECK(c.read_all() == "ping " + std::to_string(i));  // EOF: the server closed the descriptor
  }
  server.stop();
  CHECK(handled.load() == 20);
}

TEST_CASE("thread server: a throwing handler only drops its connection", "[chaos]") {
  std::atomic<bool> first{true};
  ThreadPerConnectionServer server(
      0,
      [&](int fd) {
        if (first.exchange(false)) throw std::runtime_error("boom");
        echo_once(fd);
      },
      kErrors);
  {
    sluice::test::Conn c(server.port());
    CHECK(c.read_all().empty());
  }
  sluice::test::Conn c(server.port());
  c.send("still here");
  CHECK(c.read_all() == "still here");
}

TEST_CASE("thread server: stop wakes blocked handlers and is idempotent", "[chaos]") {
  ThreadPerConnectionServer server(0, echo_once, kErrors);
  const std::uint16_t port = server.port();
  sluice::test::Conn silent(port);  // the handler blocks reading it
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const auto start = std::chrono::steady_clock::now();
  server.stop();
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
  CHECK(silent.read_all().empty());
  server.stop();
  CHECK_THROWS(sluice::test::Conn(port));
}

TEST_CASE("thread server: a port in use throws with the caller's message", "[chaos]") {
  ThreadPerConnectionServer first(0, echo_once, kErrors);
  try {
    ThreadPerConnectionServer second(first.port(), echo_once, kErrors);
    FAIL("bound a port in use");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).rfind("test server: bind: ", 0) == 0);
  }
}
