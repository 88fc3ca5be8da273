#include "sluice/gateway/worker.hpp"

#include <future>

#include <fmt/format.h>

#include "sluice/core/log.hpp"
#include "sluice/gateway/error_response.hpp"
#include "sluice/gateway/session.hpp"
#include "sluice/net/listen.hpp"

namespace sluice::gateway {

namespace asio = net::asio;
using net::error_code;

namespace {

constexpr std::size_t kUpstreamBufferSize = 32 * 1024;
constexpr std::size_t kSpareBuffers = 64;
constexpr auto kTick = std::chrono::milliseconds(100);

net::awaitable<void> run_session(std::unique_ptr<Session> s) {
  co_await s->run();
}

// Sent to connections over server.max_connections before closing them.
std::string overload_response() {
  std::string out;
  write_error_response(
      out, {503, "too_many_connections", "the gateway is at server.max_connections; retry later"},
      "-", true);
  return out;
}

}  // namespace

Worker::Worker(Shared& shared, unsigned index, std::shared_ptr<log::LineSink> access_sink)
    : shared_(shared),
      index_(index),
      access_log_(std::move(access_sink)),
      rng_(SeededRng::from_entropy()) {}

Worker::~Worker() {
  stop_and_join();
}

Result<void> Worker::listen(const std::vector<ListenerRuntime>& listeners) {
  for (const auto& l : listeners) {
    auto acc = net::open_acceptor(io_, l.address, net::ReusePort::yes);
    if (!acc) return acc.error();
    acceptors_.push_back(std::make_unique<net::tcp::acceptor>(std::move(*acc)));
    listener_names_.push_back(l.cfg->name);
  }
  return {};
}

std::vector<net::tcp::endpoint> Worker::bound() const {
  std::vector<net::tcp::endpoint> out;
  for (const auto& a : acceptors_) {
    error_code ec;
    out.push_back(a->local_endpoint(ec));
  }
  return out;
}

void Worker::start() {
  runtime();
  for (std::size_t i = 0; i < acceptors_.size(); ++i)
    asio::co_spawn(io_, accept_loop(*acceptors_[i], listener_names_[i]), asio::detached);
  asio::co_spawn(io_, tick_loop(), asio::detached);
  thread_ = std::thread([this] { io_.run(); });
}

const std::shared_ptr<const Runtime>& Worker::runtime() {
  auto g = shared_.generation.load(std::memory_order_acquire);
  if (g != seen_generation_) {
    runtime_ = shared_.load();
    seen_generation_ = g;
  }
  return runtime_;
}

net::awaitable<void> Worker::accept_loop(net::tcp::acceptor& acc, std::string name) {
  for (;;) {
    error_code ec;
    net::tcp::socket sock =
        co_await acc.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted || !acc.is_open() || stopping_) co_return;
      // Out of descriptors or similar: back off briefly instead of spinning.
      asio::steady_timer t(io_, std::chrono::milliseconds(10));
      co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    const auto& rt = runtime();
    auto& counters = stats_.listener(name);
    if (shared_.connections.load(std::memory_order_relaxed) >=
        rt->config().server.max_connections) {
      ++counters.rejected;
      static const std::string busy = overload_response();
      sock.non_blocking(true, ec);
      sock.write_some(asio::buffer(busy), ec);  // best effort; never blocks the worker
      sock.close(ec);
      continue;
    }
    const ListenerRuntime* l = rt->listener(name);
    if (!l) {
      sock.close(ec);
      continue;
    }
    sock.set_option(net::tcp::no_delay(true), ec);
    ++counters.total;
    auto session = std::make_unique<Session>(*this, *l, name, std::move(sock));
    asio::co_spawn(io_, run_session(std::move(session)), asio::detached);
  }
}

net::awaitable<void> Worker::tick_loop() {
  unsigned ticks = 0;
  while (!stopping_) {
    tick_.expires_after(kTick);
    error_code ec;
    co_await tick_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (stopping_) break;
    auto now = coarse_now();
    for (Session* s = sessions_; s;) {
      Session* next = s->next;  // expire() may not unlink, but be safe
      if (s->deadline() <= now) s->expire();
      s = next;
    }
    access_log_.flush();
    if (++ticks % 10 == 0) pool_.sweep(now);
  }
  access_log_.flush();
}

void Worker::attach(Session* s) {
  s->next = sessions_;
  if (sessions_) sessions_->prev = s;
  sessions_ = s;
  ++session_count_;
  ++shared_.connections;
}

void Worker::detach(Session* s) {
  if (s->prev)
    s->prev->next = s->next;
  else
    sessions_ = s->next;
  if (s->next) s->next->prev = s->prev;
  --session_count_;
  --shared_.connections;
}

void Worker::new_request_id(std::string& out) {
  static constexpr char hex[] = "0123456789abcdef";
  out.resize(32);
  for (int half = 0; half < 2; ++half) {
    std::uint64_t v = rng_.next();
    for (int i = 0; i < 16; ++i, v >>= 4) out[half * 16 + i] = hex[v & 15];
  }
}

std::vector<char> Worker::take_buffer() {
  if (spare_buffers_.empty()) return std::vector<char>(kUpstreamBufferSize);
  auto b = std::move(spare_buffers_.back());
  spare_buffers_.pop_back();
  return b;
}

void Worker::give_buffer(std::vector<char> b) {
  if (spare_buffers_.size() < kSpareBuffers && b.size() == kUpstreamBufferSize)
    spare_buffers_.push_back(std::move(b));
}

void Worker::begin_drain() {
  asio::post(io_, [this] {
    for (auto& a : acceptors_) {
      error_code ec;
      a->close(ec);
    }
    for (Session* s = sessions_; s;) {
      Session* next = s->next;
      s->drain();
      s = next;
    }
  });
}

void Worker::force_close() {
  asio::post(io_, [this] {
    for (Session* s = sessions_; s;) {
      Session* next = s->next;
      s->force_close();
      s = next;
    }
  });
}

void Worker::snapshot_into(StatsSnapshot& out) {
  auto done = std::make_shared<std::promise<StatsSnapshot>>();
  auto fut = done->get_future();
  asio::post(io_, [this, done] {
    StatsSnapshot s;
    stats_.snapshot_into(s);
    for (auto& [name, l] : s.listeners) l.active = 0;
    for (Session* p = sessions_; p; p = p->next) ++s.listeners[p->listener_name()].active;
    const auto& c = pool_.counters();
    s.pool.reused = c.reused;
    s.pool.created = c.created;
    s.pool.stale = c.stale;
    s.pool.expired = c.expired;
    pool_.for_each_idle([&](const std::string& key, std::size_t n) { s.pool.idle[key] += n; });
    done->set_value(std::move(s));
  });
  if (fut.wait_for(std::chrono::seconds(2)) == std::future_status::ready) out.merge(fut.get());
}

void Worker::stop_and_join() {
  if (!thread_.joinable()) return;
  asio::post(io_, [this] {
    stopping_ = true;
    error_code ec;
    tick_.cancel();
    for (auto& a : acceptors_) a->close(ec);
    for (Session* s = sessions_; s;) {
      Session* next = s->next;
      s->expire();
      s = next;
    }
    pool_.clear();
    access_log_.flush();
  });
  // Let the sessions unwind, then stop.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (session_count_.load() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  io_.stop();
  thread_.join();
}

}  // namespace sluice::gateway
