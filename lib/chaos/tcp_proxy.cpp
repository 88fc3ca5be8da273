#include "sluice/net/asio.hpp"

#include "sluice/chaos/tcp_proxy.hpp"
#include "sluice/net/listen.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <deque>
#include <list>
#include <mutex>
#include <optional>
#include <thread>

#include <fmt/format.h>

namespace sluice::chaos {

namespace asio = net::asio;
using net::error_code;
using net::tcp;
using SteadyClock = std::chrono::steady_clock;
using std::chrono::microseconds;

namespace {

// How often an idle connection looks for toxic changes and timer deadlines.
constexpr auto kPoll = std::chrono::milliseconds(25);
constexpr std::size_t kChunkSize = 32 * 1024;
// Bytes a direction may hold between its reader and its writer before reading pauses.
constexpr std::size_t kMaxQueued = 1024 * 1024;

enum class CloseMode { graceful, reset };

Result<tcp::endpoint> parse_endpoint(std::string_view text, std::string_view what) {
  auto ep = net::parse_numeric_endpoint(text);
  if (!ep)
    return make_error(ErrorKind::config, ErrorSource::internal,
                      fmt::format("tcp proxy {}: {}", what, ep.error().message));
  return ep;
}

struct ToxicEntry {
  Toxic toxic;
  std::uint64_t id = 0;  // changes when the toxic is replaced, so connections re-decide it
};
using ToxicList = std::vector<ToxicEntry>;

}  // namespace

namespace {
struct ProxyConnection;
}  // namespace

struct TcpProxy::Impl {
  std::string name;
  tcp::endpoint upstream;

  // Shared with API threads.
  mutable std::mutex mu;
  std::shared_ptr<const ToxicList> toxics = std::make_shared<const ToxicList>();
  std::atomic<std::uint64_t> version{1};
  std::uint64_t next_id = 1;
  std::map<std::string, std::uint64_t> applied_by_toxic;
  std::atomic<std::uint64_t> connections{0}, active{0}, connect_failures{0}, bytes_upstream{0},
      bytes_downstream{0}, applied{0};
  std::atomic<bool> stopped{false};

  // io thread only. Declared after the shared state: connections left in the io_context when it
  // is destroyed still update the counters.
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  std::unique_ptr<Rng> rng;
  std::list<std::weak_ptr<ProxyConnection>> conns;
  bool stopping = false;
  std::uint16_t port = 0;
  std::thread thread;

  std::shared_ptr<const ToxicList> snapshot() const {
    std::lock_guard lock(mu);
    return toxics;
  }
  // Publishes a new list; the caller holds mu.
  void publish(ToxicList list) {
    toxics = std::make_shared<const ToxicList>(std::move(list));
    version.fetch_add(1, std::memory_order_release);
  }
  void count_applied(const std::string& toxic) {
    std::lock_guard lock(mu);
    ++applied_by_toxic[toxic];
    ++applied;
  }
};

namespace {

// A toxic as one connection sees it: whether it applies here, and its per-connection state.
struct Active {
  std::uint64_t id = 0;
  Toxic toxic;
  bool applies = false;
  SteadyClock::time_point since;  // when this connection first saw the toxic
  std::uint64_t passed = 0;       // limit_data: bytes let through
};

// A chunk read but not yet delivered. Its latency is drawn when it is read, so chunks queued behind
// a slow one are not delayed twice (a stream keeps its rate, as through Toxiproxy).
struct Chunk {
  std::vector<char> data;
  SteadyClock::time_point due;  // read time plus latency
};

// The queue between a direction's reader and its writer. The timers serve as wake-up signals:
// a waiter sets them to never expire, the other side cancels them.
struct Lane {
  explicit Lane(asio::io_context& io) : has_data(io), has_room(io) {}
  std::deque<Chunk> queue;
  std::size_t bytes = 0;
  bool ended = false;  // the source sent EOF
  asio::steady_timer has_data, has_room;
};

net::awaitable<void> wait_signal(asio::steady_timer& t) {
  t.expires_at(SteadyClock::time_point::max());
  error_code ec;
  co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

// One proxied connection. Owned by its coroutines (shared_ptr); everything runs on the io thread.
struct ProxyConnection {
  ProxyConnection(TcpProxy::Impl& p, tcp::socket c, std::uint64_t seed)
      : proxy(p),
        client(std::move(c)),
        server(p.io),
        timers{asio::steady_timer(p.io), asio::steady_timer(p.io)},
        ctl(p.io),
        rng(seed),
        lanes{Lane(p.io), Lane(p.io)} {}
  ~ProxyConnection() { proxy.active.fetch_sub(1, std::memory_order_relaxed); }

  TcpProxy::Impl& proxy;
  tcp::socket client, server;
  asio::steady_timer timers[2];  // the writers' sleeps, one per direction
  asio::steady_timer ctl;
  SeededRng rng;
  Lane lanes[2];
  bool closed = false;
  bool done[2] = {false, false};  // the direction's source ended and its destination is half-closed
  std::uint64_t seen_version = 0;
  std::vector<Active> active;

  static int index(Direction d) { return d == Direction::upstream ? 0 : 1; }
  Lane& lane(Direction d) { return lanes[index(d)]; }

  // Picks up added, replaced and removed toxics; decides the toxicity of new ones.
  void refresh() {
    auto v = proxy.version.load(std::memory_order_acquire);
    if (v == seen_version) return;
    seen_version = v;
    auto list = proxy.snapshot();
    std::vector<Active> next;
    next.reserve(list->size());
    for (const auto& e : *list) {
      auto it = std::find_if(active.begin(), active.end(), [&](auto& a) { return a.id == e.id; });
      if (it != active.end()) {
        next.push_back(std::move(*it));
        continue;
      }
      Active a{e.id, e.toxic, toxic_applies(e.toxic.toxicity, rng), SteadyClock::now(), 0};
      if (a.applies) proxy.count_applied(a.toxic.name);
      next.push_back(std::move(a));
    }
    active = std::move(next);
  }

  // The applying toxics of type A in direction d.
  template <class A, class F>
  void each(Direction d, F&& f) {
    for (auto& a : active)
      if (a.applies && a.toxic.stream == d)
        if (auto* attr = std::get_if<A>(&a.toxic.attributes)) f(a, *attr);
  }

  void close(CloseMode mode) {
    if (closed) return;
    closed = true;
    error_code ec;
    if (mode == CloseMode::reset) {
      client.set_option(tcp::socket::linger(true, 0), ec);
      server.set_option(tcp::socket::linger(true, 0), ec);
    } else {
      client.shutdown(tcp::socket::shutdown_send, ec);
      server.shutdown(tcp::socket::shutdown_send, ec);
    }
    client.close(ec);
    server.close(ec);
    for (auto& t : timers) t.cancel();
    for (auto& l : lanes) {
      l.has_data.cancel();
      l.has_room.cancel();
    }
    ctl.cancel();
  }

  // The source of direction d ended: pass the half-close on; close when both have ended.
  void finish(Direction d) {
    done[index(d)] = true;
    error_code ec;
    (d == Direction::upstream ? server : client).shutdown(tcp::socket::shutdown_send, ec);
    if (done[0] && done[1]) close(CloseMode::graceful);
  }

  // False when the connection closed meanwhile.
  net::awaitable<bool> sleep_until(Direction d, SteadyClock::time_point t) {
    if (closed) co_return false;
    if (t <= SteadyClock::now()) co_return true;
    auto& timer = timers[index(d)];
    timer.expires_at(t);
    error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    co_return !closed;
  }
  net::awaitable<bool> sleep_for(Direction d, microseconds us) {
    return sleep_until(d, SteadyClock::now() + us);
  }

  net::awaitable<bool> write(Direction d, const char* data, std::size_t n) {
    auto& dst = d == Direction::upstream ? server : client;
    error_code ec;
    co_await asio::async_write(dst, asio::buffer(data, n),
                               asio::redirect_error(asio::use_awaitable, ec));
    if (closed) co_return false;
    if (ec) {
      close(CloseMode::reset);
      co_return false;
    }
    (d == Direction::upstream ? proxy.bytes_upstream : proxy.bytes_downstream) += n;
    co_return true;
  }
};

// Reads the source of direction d into its lane, drawing each chunk's latency as it arrives.
net::awaitable<void> read_lane(std::shared_ptr<ProxyConnection> c, Direction d) {
  auto& src = d == Direction::upstream ? c->client : c->server;
  auto& lane = c->lane(d);
  std::vector<char> buf(kChunkSize);
  for (;;) {
    while (lane.bytes >= kMaxQueued && !c->closed) co_await wait_signal(lane.has_room);
    if (c->closed) co_return;
    error_code ec;
    std::size_t n = co_await src.async_read_some(asio::buffer(buf),
                                                 asio::redirect_error(asio::use_awaitable, ec));
    if (c->closed) co_return;
    const auto read_at = SteadyClock::now();
    if (ec) {
      if (ec != asio::error::eof) {
        c->close(CloseMode::reset);  // a reset travels on to the other side
        co_return;
      }
      lane.ended = true;
      lane.has_data.cancel();
      co_return;
    }
    c->refresh();
    microseconds delay{0};
    c->each<Latency>(d, [&](Active&, const Latency& l) { delay += latency_delay(l, c->rng); });
    lane.queue.push_back(
        Chunk{std::vector<char>(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n)),
              read_at + delay});
    lane.bytes += n;
    lane.has_data.cancel();
  }
}

// Delivers direction d's lane to its destination through the toxics.
net::awaitable<void> write_lane(std::shared_ptr<ProxyConnection> c, Direction d) {
  auto& lane = c->lane(d);
  for (;;) {
    while (lane.queue.empty() && !lane.ended && !c->closed) co_await wait_signal(lane.has_data);
    if (c->closed) co_return;
    c->refresh();
    if (lane.queue.empty()) {  // the source ended and everything before it is delivered
      std::chrono::milliseconds delay{0};
      c->each<SlowClose>(d, [&](Active&, const SlowClose& s) { delay = std::max(delay, s.delay); });
      if (delay.count() > 0 && !co_await c->sleep_for(d, delay)) co_return;
      c->finish(d);
      co_return;
    }
    Chunk chunk = std::move(lane.queue.front());
    lane.queue.pop_front();
    lane.bytes -= chunk.data.size();
    lane.has_room.cancel();

    bool stalled = false;
    c->each<Timeout>(d, [&](Active&, const Timeout&) { stalled = true; });
    if (stalled) continue;  // dropped, as Toxiproxy's timeout does

    const std::size_t n = chunk.data.size();
    std::size_t allowed = n;
    c->each<LimitData>(d, [&](Active& a, const LimitData& l) {
      allowed = std::min(allowed, limit_allowance(l.bytes, a.passed, n));
    });
    bool cut = false;
    c->each<LimitData>(d, [&](Active& a, const LimitData& l) {
      a.passed += allowed;
      if (a.passed >= static_cast<std::uint64_t>(l.bytes)) cut = true;
    });
    std::optional<Slicer> slicer;
    c->each<Slicer>(d, [&](Active&, const Slicer& s) {
      if (!slicer) slicer = s;
    });
    std::int64_t rate = 0;
    c->each<Bandwidth>(d, [&](Active&, const Bandwidth& b) {
      rate = rate == 0 ? b.rate : std::min(rate, b.rate);
    });

    if (!co_await c->sleep_until(d, chunk.due)) co_return;
    std::vector<std::size_t> pieces =
        slicer ? slice_sizes(allowed, *slicer, c->rng) : std::vector<std::size_t>{allowed};
    std::size_t offset = 0;
    for (std::size_t i = 0; i < pieces.size(); ++i) {
      if (i > 0 && slicer && slicer->delay.count() > 0 && !co_await c->sleep_for(d, slicer->delay))
        co_return;
      std::size_t end = offset + pieces[i];
      while (offset < end) {
        std::size_t len = end - offset;
        if (rate > 0) {
          len = std::min(len, bandwidth_piece(rate));
          if (!co_await c->sleep_for(d, bandwidth_delay(len, rate))) co_return;
        }
        if (!co_await c->write(d, chunk.data.data() + offset, len)) co_return;
        offset += len;
      }
    }
    if (cut) {
      c->close(CloseMode::graceful);
      co_return;
    }
  }
}

// Fires the connection-wide timers of timeout and reset_peer, and keeps the toxic set fresh while
// both directions are idle.
net::awaitable<void> control(std::shared_ptr<ProxyConnection> c) {
  while (!c->closed) {
    c->refresh();
    const auto now = SteadyClock::now();
    auto next = now + kPoll;
    std::optional<CloseMode> fire;
    for (auto& a : c->active) {
      if (!a.applies) continue;
      if (auto* r = std::get_if<ResetPeer>(&a.toxic.attributes)) {
        auto at = a.since + r->timeout;
        if (now >= at) fire = CloseMode::reset;
        next = std::min(next, at);
      } else if (auto* t = std::get_if<Timeout>(&a.toxic.attributes); t && t->timeout.count() > 0) {
        auto at = a.since + t->timeout;
        if (now >= at && !fire) fire = CloseMode::graceful;
        next = std::min(next, at);
      }
    }
    if (fire) {
      c->close(*fire);
      co_return;
    }
    c->ctl.expires_at(next);
    error_code ec;
    co_await c->ctl.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

net::awaitable<void> run_connection(std::shared_ptr<ProxyConnection> c) {
  error_code ec;
  co_await c->server.async_connect(c->proxy.upstream,
                                   asio::redirect_error(asio::use_awaitable, ec));
  if (c->closed) co_return;
  if (ec) {
    ++c->proxy.connect_failures;
    c->close(CloseMode::graceful);
    co_return;
  }
  c->server.set_option(tcp::no_delay(true), ec);
  c->refresh();
  auto& io = c->proxy.io;
  for (auto d : {Direction::upstream, Direction::downstream}) {
    asio::co_spawn(io, read_lane(c, d), asio::detached);
    asio::co_spawn(io, write_lane(c, d), asio::detached);
  }
  co_await control(std::move(c));
}

net::awaitable<void> accept_loop(TcpProxy::Impl* p) {
  for (;;) {
    error_code ec;
    tcp::socket sock =
        co_await p->acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (p->stopping || !p->acceptor.is_open()) co_return;
    if (ec) {
      // Out of descriptors or similar: back off briefly instead of spinning.
      asio::steady_timer t(p->io, std::chrono::milliseconds(10));
      co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    sock.set_option(tcp::no_delay(true), ec);
    ++p->connections;
    ++p->active;
    auto c = std::make_shared<ProxyConnection>(*p, std::move(sock), p->rng->next());
    p->conns.remove_if([](const std::weak_ptr<ProxyConnection>& w) { return w.expired(); });
    p->conns.push_back(c);
    asio::co_spawn(p->io, run_connection(std::move(c)), asio::detached);
  }
}

}  // namespace

Result<std::unique_ptr<TcpProxy>> TcpProxy::start(TcpProxyOptions options) {
  auto listen = parse_endpoint(options.listen, "listen address");
  if (!listen) return listen.take_error();
  auto upstream = parse_endpoint(options.upstream, "upstream address");
  if (!upstream) return upstream.take_error();

  auto impl = std::make_unique<Impl>();
  impl->name = options.name;
  impl->upstream = *upstream;
  impl->rng = options.rng ? std::move(options.rng) : std::make_unique<SeededRng>(options.seed);

  error_code ec;
  auto& acc = impl->acceptor;
  acc.open(listen->protocol(), ec);
  if (!ec) acc.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acc.bind(*listen, ec);
  if (!ec) acc.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return make_error(ErrorKind::io, ErrorSource::internal,
                      fmt::format("tcp proxy {}: cannot listen on {}: {}", options.name,
                                  options.listen, ec.message()));
  impl->port = acc.local_endpoint(ec).port();

  asio::co_spawn(impl->io, accept_loop(impl.get()), asio::detached);
  Impl* p = impl.get();
  impl->thread = std::thread([p] {
    try {
      p->io.run();
    } catch (...) {
      // A bug in a handler; the proxy stops serving rather than taking the process down.
    }
  });
  return std::unique_ptr<TcpProxy>(new TcpProxy(std::move(impl)));
}

TcpProxy::TcpProxy(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

TcpProxy::~TcpProxy() {
  stop();
}

void TcpProxy::stop() {
  if (impl_->stopped.exchange(true)) return;
  Impl* p = impl_.get();
  asio::post(p->io, [p] {
    p->stopping = true;
    error_code ec;
    p->acceptor.close(ec);
    for (auto& w : p->conns)
      if (auto c = w.lock()) c->close(CloseMode::graceful);
  });
  if (p->thread.joinable()) p->thread.join();
}

std::uint16_t TcpProxy::port() const {
  return impl_->port;
}

std::string TcpProxy::address() const {
  return fmt::format("127.0.0.1:{}", impl_->port);
}

const std::string& TcpProxy::name() const {
  return impl_->name;
}

Result<void> TcpProxy::add_toxic(Toxic toxic) {
  std::lock_guard lock(impl_->mu);
  for (const auto& e : *impl_->toxics)
    if (e.toxic.name == toxic.name)
      return make_error(ErrorKind::config, ErrorSource::internal,
                        fmt::format("toxic \"{}\" already exists on {}", toxic.name, impl_->name));
  ToxicList list = *impl_->toxics;
  list.push_back({std::move(toxic), impl_->next_id++});
  impl_->publish(std::move(list));
  return {};
}

Result<void> TcpProxy::update_toxic(Toxic toxic) {
  std::lock_guard lock(impl_->mu);
  ToxicList list = *impl_->toxics;
  for (auto& e : list) {
    if (e.toxic.name != toxic.name) continue;
    e = {std::move(toxic), impl_->next_id++};
    impl_->publish(std::move(list));
    return {};
  }
  return make_error(ErrorKind::config, ErrorSource::internal,
                    fmt::format("no toxic \"{}\" on {}", toxic.name, impl_->name));
}

bool TcpProxy::remove_toxic(std::string_view name) {
  std::lock_guard lock(impl_->mu);
  ToxicList list = *impl_->toxics;
  auto it = std::find_if(list.begin(), list.end(), [&](auto& e) { return e.toxic.name == name; });
  if (it == list.end()) return false;
  list.erase(it);
  impl_->publish(std::move(list));
  return true;
}

void TcpProxy::clear_toxics() {
  std::lock_guard lock(impl_->mu);
  impl_->publish({});
}

std::vector<Toxic> TcpProxy::toxics() const {
  auto list = impl_->snapshot();
  std::vector<Toxic> out;
  out.reserve(list->size());
  for (const auto& e : *list) out.push_back(e.toxic);
  return out;
}

TcpProxyCounters TcpProxy::counters() const {
  TcpProxyCounters c;
  const auto& p = *impl_;
  c.connections = p.connections.load();
  c.active = p.active.load();
  c.connect_failures = p.connect_failures.load();
  c.bytes_upstream = p.bytes_upstream.load();
  c.bytes_downstream = p.bytes_downstream.load();
  std::lock_guard lock(p.mu);
  c.toxics_applied = p.applied.load();
  c.applied_by_toxic = p.applied_by_toxic;
  return c;
}

}  // namespace sluice::chaos
