// Each toxic measured through a real TcpProxy on loopback, in front of an echo server or a mock
// HTTP upstream. Timings are lower bounds with wide margins; every wait is bounded.
#include "sluice/chaos/tcp_proxy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "http_client.hpp"
#include "sluice/chaos/mock_server.hpp"

using namespace std::chrono_literals;
using namespace sluice::chaos;
using SteadyClock = std::chrono::steady_clock;

namespace {

int loopback_socket(std::uint16_t port, bool do_connect) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int rc = do_connect ? ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr)
                      : ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  if (rc != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    auto n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Echoes every connection's bytes back; half-closes when the client does.
class EchoServer {
 public:
  EchoServer() {
    listen_fd_ = loopback_socket(0, false);
    REQUIRE(listen_fd_ >= 0);
    REQUIRE(::listen(listen_fd_, 64) == 0);
    sockaddr_in addr{};
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { accept_loop(); });
  }
  ~EchoServer() {
    stop_ = true;
    thread_.join();
    for (auto& t : conns_) t.join();
    ::close(listen_fd_);
  }
  std::uint16_t port() const { return port_; }

 private:
  void accept_loop() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd >= 0) conns_.emplace_back([this, fd] { serve(fd); });
    }
  }
  void serve(int fd) {
    char buf[16384];
    while (!stop_) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      auto n = ::recv(fd, buf, sizeof buf, 0);
      if (n == 0) {
        ::shutdown(fd, SHUT_WR);
        break;
      }
      if (n < 0 || !send_all(fd, std::string_view(buf, static_cast<std::size_t>(n)))) break;
    }
    ::close(fd);
  }

  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::vector<std::thread> conns_;
};

enum class End { eof, reset, open };

// A blocking loopback client whose every read has a deadline.
class Client {
 public:
  explicit Client(std::uint16_t port) : fd_(loopback_socket(port, true)) {
    REQUIRE(fd_ >= 0);
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~Client() { ::close(fd_); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool send(std::string_view data) { return send_all(fd_, data); }
  void shutdown_write() { ::shutdown(fd_, SHUT_WR); }

  // Reads until n bytes arrived, the peer closed, or the timeout passed.
  std::string read(std::size_t n, std::chrono::milliseconds timeout) {
    std::string out;
    auto deadline = SteadyClock::now() + timeout;
    while (out.size() < n) {
      auto chunk = read_some(deadline);
      if (!chunk) break;
      out += *chunk;
    }
    return out;
  }

  // Waits for the peer to close or reset, appending any data that arrives first.
  End wait_end(std::chrono::milliseconds timeout, std::string* data = nullptr) {
    auto deadline = SteadyClock::now() + timeout;
    for (;;) {
      auto chunk = read_some(deadline);
      if (chunk) {
        if (data) *data += *chunk;
        continue;
      }
      return end_;
    }
  }

  // Successful reads so far.
  int reads() const { return reads_; }

 private:
  // One recv; nullopt at EOF, reset or the deadline (end_ says which).
  std::optional<std::string> read_some(SteadyClock::time_point deadline) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
    if (left.count() <= 0) {
      end_ = End::open;
      return std::nullopt;
    }
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      end_ = End::open;
      return std::nullopt;
    }
    char buf[65536];
    auto n = ::recv(fd_, buf, sizeof buf, 0);
    if (n > 0) {
      ++reads_;
      return std::string(buf, static_cast<std::size_t>(n));
    }
    end_ = n == 0 ? End::eof : (errno == ECONNRESET ? End::reset : End::eof);
    return std::nullopt;
  }

  int fd_ = -1;
  int reads_ = 0;
  End end_ = End::open;
};

std::unique_ptr<TcpProxy> make_proxy(std::uint16_t upstream_port, std::uint64_t seed = 1) {
  TcpProxyOptions o;
  o.name = "test";
  o.upstream = fmt::format("127.0.0.1:{}", upstream_port);
  o.seed = seed;
  auto r = TcpProxy::start(std::move(o));
  if (!r) FAIL(r.error().message);
  return std::move(r).value();
}

Toxic toxic(std::string name, Direction d, ToxicAttributes a, double toxicity = 1.0) {
  return Toxic{std::move(name), d, toxicity, a};
}

std::string payload(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + i % 26);
  return s;
}

double seconds_since(SteadyClock::time_point t0) {
  return std::chrono::duration<double>(SteadyClock::now() - t0).count();
}

// Sends msg and reads its echo; returns the seconds it took (a failed echo fails the test).
double round_trip(Client& c, const std::string& msg) {
  auto t0 = SteadyClock::now();
  REQUIRE(c.send(msg));
  REQUIRE(c.read(msg.size(), 5s) == msg);
  return seconds_since(t0);
}

// Polls until pred holds or 3s pass.
bool eventually(const std::function<bool()>& pred) {
  auto deadline = SteadyClock::now() + 3s;
  while (SteadyClock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

}  // namespace

TEST_CASE("tcp proxy passes bytes through unchanged and counts them", "[toxics]") {
  EchoServer echo;
  auto proxy = make_proxy(echo.port());
  CHECK(proxy->address() == fmt::format("127.0.0.1:{}", proxy->port()));
  {
    Client c(proxy->port());
    auto data = payload(100000);
    REQUIRE(c.send(data));
    CHECK(c.read(data.size(), 5s) == data);
    CHECK(eventually([&] { return proxy->counters().bytes_downstream == 100000; }));
    auto k = proxy->counters();
    CHECK(k.connections == 1);
    CHECK(k.active == 1);
    CHECK(k.bytes_upstream == 100000);
    CHECK(k.toxics_applied == 0);
    c.shutdown_write();
    CHECK(c.wait_end(3s) == End::eof);
  }
  CHECK(eventually([&] { return proxy->counters().active == 0; }));
}

TEST_CASE("latency toxic delays each direction by at least the latency", "[toxics]") {
  EchoServer echo;
  auto proxy = make_proxy(echo.port());
  {
    Client c(proxy->port());
    CHECK(round_trip(c, "warm") < 1.0);
  }
  SECTION("downstream") {
    REQUIRE(proxy->add_toxic(toxic("lag", Direction::downstream, Latency{200ms, 0ms})));
    Client c(proxy->port());
    auto t = round_trip(c, "ping");
    CHECK(t >= 0.15);
    CHECK(t < 1.0);
  }
  SECTION("upstream with jitter") {
    REQUIRE(proxy->add_toxic(toxic("lag", Direction::upstream, Latency{200ms, 20ms})));
    Client c(proxy->port());
    for (int i = 0; i < 2; ++i) {
      auto t = round_trip(c, "ping");
      CHECK(t >= 0.15);
      CHECK(t < 1.0);
    }
  }
  SECTION("both directions add up") {
    REQUIRE(proxy->add_toxic(toxic("up", Direction::upstream, Latency{150ms, 0ms})));
    REQUIRE(proxy->add_toxic(toxic("down", Direction::downstream, Latency{150ms, 0ms})));
    Client c(proxy->port());
    auto t = round_trip(c, "ping");
    CHECK(t >= 0.25);
    CHECK(t < 1.5);
  }
  auto k = proxy->counters();
  CHECK(k.toxics_applied >= 1);
}

TEST_CASE("latency toxic does not compound over a stream of chunks", "[toxics]") {
  EchoServer echo;
  auto proxy = make_proxy(echo.port());
  REQUIRE(proxy->add_toxic(toxic("lag", Direction::downstream, Latency{200ms, 0ms})));
  Client c(proxy->port());
  auto t0 = SteadyClock::now();
  for (int i = 0; i < 10; ++i) {
    REQUIRE(c.send("0123456789"));
    std::this_thread::sleep_for(20ms);
  }
  CHECK(c.read(100, 5s).size() == 100);
  auto t = seconds_since(t0);
  // 180ms of sending plus one latency; delaying each chunk after the previous would take 2s.
  CHECK(t >= 0.35);
  CHECK(t < 1.5);
}

TEST_CASE("latency toxic in front of a mock HTTP upstream", "[toxics]") {
  MockServer upstream("m");
  auto proxy = make_proxy(upstream.port());
  auto t0 = SteadyClock::now();
  auto fast = sluice::test::http_get(proxy->port(), "/health");
  REQUIRE(fast);
  CHECK(fast->status == 200);
  CHECK(fast->body == "ok");
  CHECK(seconds_since(t0) < 1.0);

  REQUIRE(proxy->add_toxic(toxic("lag", Direction::downstream, Latency{200ms, 0ms})));
  t0 = SteadyClock::now();
  auto slow = sluice::test::http_get(proxy->port(), "/health");
  REQUIRE(slow);
  CHECK(slow->status == 200);
  auto t = seconds_since(t0);
  CHECK(t >= 0.15);
  CHECK(t < 1.0);
  CHECK(upstream.requests() == 2);
}

TEST_CASE("bandwidth toxic paces the bytes to the rate", "[toxics]") {
  EchoServer echo;
  auto proxy = make_proxy(echo.port());
  REQUIRE(proxy->add_toxic(toxic("thin", Direction::downstream, Bandwidth{100})));
  Client c(proxy->port());
  auto data = payload(50000);
  auto t0 = SteadyClock::now();
  REQUIRE(c.send(data));
  CHECK(c.read(data.size(), 5s) == data);
  auto t = seconds_since(t0);
  CHECK(t >= 0.35);  // 50 KB at 100 KB/s is 0.5s
  CHECK(t < 2.5);
}

TEST_CASE("slow_close toxic delays the close", "[toxics]") {
  EchoServer echo;
  auto proxy = make_proxy(echo.port());
  auto close_time = [&] {
    Client c(proxy->port());
    round_trip(c, "x");
    auto t0 = SteadyClock::now();
    c.shutdown_write();  // the echo server then closes its side
    REQUIRE(c.wait_end(3s) == End::eof);
    return seconds_since(t0);
  };
  CHECK(close_time() < 0.25);
  REQUIRE(proxy->add_toxic(toxic("linger", Direction::downstream, SlowClose{300ms})));
  auto t = close_time();
  CHECK(t >= 0.25);
  CHECK(t < 1.5);
}

TEST_CASE("timeout toxic stops the data and closes after the timeout", "[toxics]") {
  EchoServer echo;
  auto proxy = make_proxy(echo.port());
  SECTION("with a timeout the connection closes") {
    REQUIRE(proxy->add_toxic(toxic("stall", Direction::upstream, Timeout{300ms})));
    Client c(proxy->port());
    auto t0 = SteadyClock::now();
    REQUIRE(c.send("hello"));
    std::string got;
    CHECK(c.wait_end(3s, &got) == End::eof);
    auto t = seconds_since(t0);
    CHECK(got.empty());
    CHECK(t >= 0.25);
    CHECK(t < 1.5);
  }
  SECTION("timeout 0 never closes, and removing it lets data through again") {
    REQUIRE(proxy->add_toxic(toxic("stall", Direction::downstream, Timeout{0ms})));
    Client c(proxy->port());
    REQUIRE(c.send("lost"));
    std::string got;
    CHECK(c.wait_end(600ms, &got) == End::open);
    CHECK(got.empty());
    REQUIRE(proxy->remove_toxic("stall"));
    CHECK(round_trip(c, "back") < 1.0);  // the same, live connection
  }
}

TEST_CASE("reset_peer toxic resets the connection after the timeout", "[toxics]") {
  EchoServer echo;
  auto proxy = make_proxy(echo.port());
  REQUIRE(proxy->add_toxic(toxic("rst", Direction::downstream, ResetPeer{200ms})));
  Client c(proxy->port());
  auto t0 = SteadyClock::now();
  round_trip(c, "before");  // data flows until the reset
  CHECK(c.wait_end(3s) == End::reset);
  auto t = seconds_since(t0);
  CHECK(t >= 0.15);
  CHECK(t < 1.0);
}

TEST_CASE("slicer toxic delivers the data intact in many small reads", "[toxics]") {
  EchoServer echo;
  auto proxy = make_proxy(echo.port());
  REQUIRE(proxy->add_toxic(toxic("cut", Direction::downstream, Slicer{100, 50, 2000us})));
  Client c(proxy->port());
  auto data = payload(5000);
  REQUIRE(c.send(data));
  CHECK(c.read(data.size(), 5s) == data);
  CHECK(c.reads() >= 10);  // about 50 slices, 2ms apart
}

TEST_CASE("limit_data toxic closes the connection after N bytes", "[toxics]") {
  EchoServer echo;
  auto proxy = make_proxy(echo.port());
  SECTION("downstream") {
    REQUIRE(proxy->add_toxic(toxic("cap", Direction::downstream, LimitData{1000})));
    Client c(proxy->port());
    REQUIRE(c.send(payload(5000)));
    std::string got;
    CHECK(c.wait_end(3s, &got) != End::open);
    CHECK(got == payload(1000));
  }
  SECTION("upstream") {
    REQUIRE(proxy->add_toxic(toxic("cap", Direction::upstream, LimitData{100})));
    Client c(proxy->port());
    REQUIRE(c.send(payload(500)));
    std::string got;
    CHECK(c.wait_end(3s, &got) != End::open);
    CHECK(got.size() <= 100);
    CHECK(got == payload(got.size()));
    CHECK(eventually([&] { return proxy->counters().bytes_upstream == 100; }));
  }
}

TEST_CASE("toxicity 0 never applies and 1 always applies", "[toxics]") {
  EchoServer echo;
  auto proxy = make_proxy(echo.port());
  REQUIRE(proxy->add_toxic(toxic("never", Direction::downstream, Latency{300ms, 0ms}, 0.0)));
  for (int i = 0; i < 4; ++i) {
    Client c(proxy->port());
    CHECK(round_trip(c, "n") < 0.25);
  }
  // Live connections would see the next toxic too; let the closed ones finish first.
  REQUIRE(eventually([&] { return proxy->counters().active == 0; }));
  REQUIRE(proxy->remove_toxic("never"));
  REQUIRE(proxy->add_toxic(toxic("always", Direction::downstream, Latency{300ms, 0ms}, 1.0)));
  for (int i = 0; i < 4; ++i) {
    Client c(proxy->port());
    CHECK(round_trip(c, "a") >= 0.25);
  }
  auto k = proxy->counters();
  CHECK(k.applied_by_toxic.count("never") == 0);
  CHECK(k.applied_by_toxic["always"] == 4);
  CHECK(k.toxics_applied == 4);
}

TEST_CASE("a partial toxicity picks the same connections with the same seed", "[toxics]") {
  EchoServer echo;
  auto pattern = [&](std::uint64_t seed) {
    auto proxy = make_proxy(echo.port(), seed);
    REQUIRE(proxy->add_toxic(toxic("some", Direction::downstream, Latency{150ms, 0ms}, 0.5)));
    std::string out;
    for (int i = 0; i < 8; ++i) {
      Client c(proxy->port());
      out += round_trip(c, "p") >= 0.1 ? 'S' : 'f';
    }
    CHECK(proxy->counters().toxics_applied ==
          static_cast<std::uint64_t>(std::count(out.begin(), out.end(), 'S')));
    return out;
  };
  auto first = pattern(11);
  CHECK(pattern(11) == first);
  INFO(first);
  CHECK(first.find('S') != std::string::npos);
  CHECK(first.find('f') != std::string::npos);
}

TEST_CASE("removing a toxic restores normal behaviour", "[toxics]") {
  EchoServer echo;
  auto proxy = make_proxy(echo.port());
  REQUIRE(proxy->add_toxic(toxic("lag", Direction::upstream, Latency{300ms, 0ms})));
  Client live(proxy->port());
  CHECK(round_trip(live, "slow") >= 0.25);
  CHECK(proxy->toxics().size() == 1);
  REQUIRE(proxy->remove_toxic("lag"));
  CHECK(proxy->toxics().empty());
  CHECK(round_trip(live, "fast") < 0.25);  // the live connection
  Client fresh(proxy->port());
  CHECK(round_trip(fresh, "fast") < 0.25);

  SECTION("and a toxic added to a live connection applies to its next bytes") {
    REQUIRE(proxy->add_toxic(toxic("lag2", Direction::downstream, Latency{300ms, 0ms})));
    CHECK(round_trip(live, "slow") >= 0.25);
  }
  SECTION("and update_toxic changes the attributes") {
    REQUIRE(proxy->add_toxic(toxic("lag", Direction::downstream, Latency{300ms, 0ms})));
    REQUIRE(proxy->update_toxic(toxic("lag", Direction::downstream, Latency{0ms, 0ms})));
    CHECK(round_trip(live, "fast") < 0.25);
  }
}

TEST_CASE("tcp proxy reports errors as values", "[toxics]") {
  EchoServer echo;
  auto proxy = make_proxy(echo.port());
  REQUIRE(proxy->add_toxic(toxic("one", Direction::upstream, Latency{1ms, 0ms})));
  auto dup = proxy->add_toxic(toxic("one", Direction::upstream, Latency{1ms, 0ms}));
  REQUIRE_FALSE(dup.ok());
  CHECK(dup.error().message == "toxic \"one\" already exists on test");
  CHECK_FALSE(proxy->remove_toxic("two"));
  CHECK_FALSE(proxy->update_toxic(toxic("two", Direction::upstream, Latency{})).ok());
  proxy->clear_toxics();
  CHECK(proxy->toxics().empty());

  TcpProxyOptions bad;
  bad.upstream = "localhost";
  auto r = TcpProxy::start(std::move(bad));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message ==
        "tcp proxy upstream address: \"localhost\" has no port (expected numeric HOST:PORT, e.g. "
        "127.0.0.1:0)");

  TcpProxyOptions taken;
  taken.listen = proxy->address();
  taken.upstream = "127.0.0.1:1";
  auto busy = TcpProxy::start(std::move(taken));
  CHECK_FALSE(busy.ok());
}

TEST_CASE("tcp proxy closes the client when the upstream refuses", "[toxics]") {
  std::uint16_t dead_port;
  {
    EchoServer gone;
    dead_port = gone.port();
  }
  auto proxy = make_proxy(dead_port);
  Client c(proxy->port());
  CHECK(c.wait_end(3s) != End::open);
  CHECK(eventually([&] { return proxy->counters().connect_failures == 1; }));
  proxy->stop();
  proxy->stop();  // idempotent
}
