// ConnectionPool over real loopback sockets: LIFO reuse, the per-key cap, expiry against
// synthetic time points, and the stale-connection probe.
#include "sluice/net/pool.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "sluice/net/asio.hpp"
#include "sluice/net/stream.hpp"

using namespace std::chrono_literals;
using sluice::TimePoint;
using sluice::net::ConnectionPool;
using sluice::net::Stream;
using sluice::net::tcp;

namespace {

const TimePoint t0 = TimePoint{} + 1000s;
constexpr auto kLong = 3600s;  // probe_after that never probes in these tests

// Connected loopback pairs. The pool gets the client side; the test keeps the server side to
// play the upstream (close it, write to it, or watch for the pool closing the client side).
class Loopback {
 public:
  Loopback() : acceptor_(ioc_, tcp::endpoint(sluice::net::asio::ip::address_v4::loopback(), 0)) {}

  struct Pair {
    std::unique_ptr<Stream> client;
    int id;  // the client's local port, to recognise it when the pool hands it back
  };

  Pair connect() {
    tcp::socket client(ioc_);
    client.connect(acceptor_.local_endpoint());
    tcp::socket server(ioc_);
    acceptor_.accept(server);
    int id = client.local_endpoint().port();
    servers_.emplace(id, std::move(server));
    return {std::make_unique<Stream>(std::move(client)), id};
  }

  tcp::socket& server(int id) { return servers_.at(id); }

  // True when the server side sees EOF (the pool closed the client side) within 2 s.
  bool peer_closed(int id) {
    int fd = server(id).native_handle();
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, 2000) <= 0) return false;
    char byte;
    return ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
  }

 private:
  sluice::net::asio::io_context ioc_;
  tcp::acceptor acceptor_;
  std::map<int, tcp::socket> servers_;
};

int id_of(Stream& s) {
  return s.socket().local_endpoint().port();
}

// Waits until the FIN (or data) from the server side has reached the client socket.
void wait_readable(Stream& s) {
  pollfd pfd{s.socket().native_handle(), POLLIN, 0};
  REQUIRE(::poll(&pfd, 1, 2000) == 1);
}

std::size_t idle_count(const ConnectionPool& pool, const std::string& key) {
  std::size_t n = 0;
  pool.for_each_idle([&](const std::string& k, std::size_t count) {
    if (k == key) n = count;
  });
  return n;
}

}  // namespace

TEST_CASE("ConnectionPool: an empty pool has nothing to give", "[net][pool]") {
  ConnectionPool pool;
  CHECK(pool.take("a", t0, kLong) == nullptr);
  CHECK(pool.take("a", t0, 0ns) == nullptr);
  CHECK(pool.counters().reused == 0);
  CHECK(pool.counters().stale == 0);
  pool.note_created();
  pool.note_created();
  CHECK(pool.counters().created == 2);
}

TEST_CASE("ConnectionPool: most recently returned connections are reused first", "[net][pool]") {
  Loopback net;
  ConnectionPool pool;
  auto a = net.connect();
  auto b = net.connect();
  auto c = net.connect();
  pool.put("k", std::move(a.client), t0, 60s, 8);
  pool.put("k", std::move(b.client), t0 + 1s, 60s, 8);
  pool.put("k", std::move(c.client), t0 + 2s, 60s, 8);
  CHECK(idle_count(pool, "k") == 3);

  auto first = pool.take("k", t0 + 3s, kLong);
  REQUIRE(first);
  CHECK(id_of(*first) == c.id);
  auto second = pool.take("k", t0 + 3s, kLong);
  REQUIRE(second);
  CHECK(id_of(*second) == b.id);
  auto third = pool.take("k", t0 + 3s, kLong);
  REQUIRE(third);
  CHECK(id_of(*third) == a.id);
  CHECK(pool.take("k", t0 + 3s, kLong) == nullptr);
  CHECK(pool.counters().reused == 3);
  CHECK(pool.counters().stale == 0);
  CHECK(first->is_open());
}

TEST_CASE("ConnectionPool: keys do not share connections", "[net][pool]") {
  Loopback net;
  ConnectionPool pool;
  auto a = net.connect();
  pool.put("10.0.0.1:80", std::move(a.client), t0, 60s, 8);
  CHECK(pool.take("10.0.0.2:80", t0, kLong) == nullptr);
  auto got = pool.take("10.0.0.1:80", t0, kLong);
  REQUIRE(got);
  CHECK(id_of(*got) == a.id);
}

TEST_CASE("ConnectionPool: put closes connections beyond max_idle", "[net][pool]") {
  Loopback net;
  ConnectionPool pool;
  auto a = net.connect();
  auto b = net.connect();
  auto c = net.connect();
  pool.put("k", std::move(a.client), t0, 60s, 2);
  pool.put("k", std::move(b.client), t0, 60s, 2);
  pool.put("k", std::move(c.client), t0, 60s, 2);
  CHECK(idle_count(pool, "k") == 2);
  CHECK(net.peer_closed(c.id));  // the one that did not fit was closed, not leaked

  auto first = pool.take("k", t0, kLong);
  REQUIRE(first);
  CHECK(id_of(*first) == b.id);
  auto second = pool.take("k", t0, kLong);
  REQUIRE(second);
  CHECK(id_of(*second) == a.id);
  CHECK(pool.take("k", t0, kLong) == nullptr);

  SECTION("max_idle 0 keeps nothing") {
    auto d = net.connect();
    pool.put("z", std::move(d.client), t0, 60s, 0);
    CHECK(net.peer_closed(d.id));
    CHECK(pool.take("z", t0, kLong) == nullptr);
  }
  SECTION("a zero idle timeout keeps nothing") {
    auto d = net.connect();
    pool.put("z", std::move(d.client), t0, 0s, 8);
    CHECK(net.peer_closed(d.id));
    CHECK(pool.take("z", t0, kLong) == nullptr);
  }
}

TEST_CASE("ConnectionPool: take skips connections past their idle timeout", "[net][pool]") {
  Loopback net;
  ConnectionPool pool;
  auto a = net.connect();
  pool.put("k", std::move(a.client), t0, 10s, 8);

  SECTION("just before expiry it is handed out") {
    auto got = pool.take("k", t0 + 10s - 1ns, kLong);
    REQUIRE(got);
    CHECK(id_of(*got) == a.id);
    CHECK(pool.counters().stale == 0);
  }
  SECTION("at expiry it is stale and closed") {
    CHECK(pool.take("k", t0 + 10s, kLong) == nullptr);
    CHECK(pool.counters().stale == 1);
    CHECK(pool.counters().reused == 0);
    CHECK(net.peer_closed(a.id));
  }
}

TEST_CASE("ConnectionPool: an expired newer connection falls back to an older live one",
          "[net][pool]") {
  Loopback net;
  ConnectionPool pool;
  auto old_conn = net.connect();
  auto new_conn = net.connect();
  pool.put("k", std::move(old_conn.client), t0, 60s, 8);
  // A reload shortened the timeout: the newest entry expires first.
  pool.put("k", std::move(new_conn.client), t0 + 1s, 2s, 8);
  auto got = pool.take("k", t0 + 5s, kLong);
  REQUIRE(got);
  CHECK(id_of(*got) == old_conn.id);
  CHECK(pool.counters().stale == 1);
  CHECK(pool.counters().reused == 1);
  CHECK(net.peer_closed(new_conn.id));
}

TEST_CASE("ConnectionPool: sweep closes expired connections oldest first", "[net][pool]") {
  Loopback net;
  ConnectionPool pool;
  auto a = net.connect();
  auto b = net.connect();
  auto c = net.connect();
  pool.put("k", std::move(a.client), t0, 5s, 8);
  pool.put("k", std::move(b.client), t0 + 1s, 5s, 8);
  pool.put("other", std::move(c.client), t0, 30s, 8);

  pool.sweep(t0 + 4s);
  CHECK(pool.counters().expired == 0);
  CHECK(idle_count(pool, "k") == 2);

  pool.sweep(t0 + 5s);  // a expires exactly now
  CHECK(pool.counters().expired == 1);
  CHECK(idle_count(pool, "k") == 1);
  CHECK(net.peer_closed(a.id));

  pool.sweep(t0 + 6s);
  CHECK(pool.counters().expired == 2);
  CHECK(net.peer_closed(b.id));
  std::size_t keys = 0;
  pool.for_each_idle([&](const std::string& k, std::size_t) {
    ++keys;
    CHECK(k == "other");
  });
  CHECK(keys == 1);  // an emptied key is forgotten

  auto got = pool.take("other", t0 + 6s, kLong);
  REQUIRE(got);
  CHECK(id_of(*got) == c.id);
  CHECK(pool.counters().stale == 0);  // sweep counts as expired, not stale
}

TEST_CASE("ConnectionPool: a connection the peer closed is stale when probed", "[net][pool]") {
  Loopback net;
  ConnectionPool pool;
  auto live = net.connect();
  auto dead = net.connect();
  pool.put("k", std::move(live.client), t0, 60s, 8);
  pool.put("k", std::move(dead.client), t0, 60s, 8);
  // The upstream closes the newest idle connection while it sits in the pool.
  net.server(dead.id).close();

  SECTION("probe_after 0 probes every connection") {
    // Give the FIN time to arrive: take the live one out to look at, then return it.
    auto peek = pool.take("k", t0, kLong);
    REQUIRE(peek);
    REQUIRE(id_of(*peek) == dead.id);
    wait_readable(*peek);
    pool.put("k", std::move(peek), t0, 60s, 8);

    auto got = pool.take("k", t0 + 1ms, 0ns);
    REQUIRE(got);
    CHECK(id_of(*got) == live.id);
    CHECK(pool.counters().stale == 1);
    CHECK(pool.take("k", t0 + 1ms, 0ns) == nullptr);
  }
  SECTION("a recently returned connection is handed out without a probe") {
    auto peek = pool.take("k", t0, kLong);
    REQUIRE(peek);
    wait_readable(*peek);
    pool.put("k", std::move(peek), t0, 60s, 8);

    auto got = pool.take("k", t0 + 1ms, 1s);
    REQUIRE(got);
    CHECK(id_of(*got) == dead.id);  // not probed: the caller can replay on a fresh one
    CHECK(pool.counters().stale == 0);
  }
  SECTION("an old idle connection is probed even with probe_after set") {
    auto peek = pool.take("k", t0, kLong);
    REQUIRE(peek);
    wait_readable(*peek);
    pool.put("k", std::move(peek), t0, 60s, 8);

    auto got = pool.take("k", t0 + 2s, 1s);
    REQUIRE(got);
    CHECK(id_of(*got) == live.id);
    CHECK(pool.counters().stale == 1);
  }
}

TEST_CASE("ConnectionPool: unsolicited bytes make an idle connection stale", "[net][pool]") {
  Loopback net;
  ConnectionPool pool;
  auto a = net.connect();
  Stream* raw = a.client.get();
  pool.put("k", std::move(a.client), t0, 60s, 8);
  const std::string junk = "HTTP/1.1 408 Request Timeout\r\n\r\n";
  sluice::net::asio::write(net.server(a.id), sluice::net::asio::buffer(junk));
  wait_readable(*raw);
  CHECK(pool.take("k", t0 + 1s, 0ns) == nullptr);
  CHECK(pool.counters().stale == 1);
}

TEST_CASE("ConnectionPool: a live connection passes the probe", "[net][pool]") {
  Loopback net;
  ConnectionPool pool;
  auto a = net.connect();
  pool.put("k", std::move(a.client), t0, 60s, 8);
  auto got = pool.take("k", t0 + 30s, 0ns);
  REQUIRE(got);
  CHECK(id_of(*got) == a.id);
  CHECK(pool.counters().reused == 1);
  CHECK(pool.counters().stale == 0);
}

TEST_CASE("ConnectionPool: clear closes every idle connection", "[net][pool]") {
  Loopback net;
  ConnectionPool pool;
  auto a = net.connect();
  auto b = net.connect();
  pool.put("x", std::move(a.client), t0, 60s, 8);
  pool.put("y", std::move(b.client), t0, 60s, 8);
  pool.clear();
  CHECK(net.peer_closed(a.id));
  CHECK(net.peer_closed(b.id));
  CHECK(pool.take("x", t0, kLong) == nullptr);
  CHECK(pool.take("y", t0, kLong) == nullptr);
  std::size_t keys = 0;
  pool.for_each_idle([&](const std::string&, std::size_t) { ++keys; });
  CHECK(keys == 0);
}

TEST_CASE(
    "ConnectionPool: close_oldest closes the longest idle under a key prefix, and drops "
    "its token",
    "[net][pool]") {
  struct Token : sluice::net::StreamToken {
    explicit Token(int& n) : released(n) {}
    ~Token() override { ++released; }
    int& released;
  };
  Loopback net;
  ConnectionPool pool;
  int released = 0;
  auto old_a = net.connect();
  auto new_a = net.connect();
  auto other = net.connect();
  old_a.client->token = std::make_unique<Token>(released);
  pool.put("a|x:1|tcp", std::move(old_a.client), t0, 60s, 8);
  pool.put("b|x:1|tcp", std::move(other.client), t0 + 1s, 60s, 8);
  pool.put("a|x:2|tcp", std::move(new_a.client), t0 + 2s, 60s, 8);
  CHECK_FALSE(pool.close_oldest("c|"));
  CHECK(pool.close_oldest("a|"));
  CHECK(released == 1);  // the token went with the connection
  CHECK(net.peer_closed(old_a.id));
  CHECK(idle_count(pool, "a|x:1|tcp") == 0);
  CHECK(idle_count(pool, "a|x:2|tcp") == 1);
  CHECK(idle_count(pool, "b|x:1|tcp") == 1);
  CHECK(pool.close_oldest("a|"));
  CHECK_FALSE(pool.close_oldest("a|"));
  CHECK(idle_count(pool, "b|x:1|tcp") == 1);
}
