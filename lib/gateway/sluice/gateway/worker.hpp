// A worker thread: its own io_context, its own SO_REUSEPORT acceptors, connection pool, stats and
// access-log buffer. Nothing here is shared with other workers on the request path.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sluice/core/clock.hpp"
#include "sluice/gateway/access_log.hpp"
#include "sluice/gateway/runtime.hpp"
#include "sluice/gateway/stats.hpp"
#include "sluice/net/asio.hpp"
#include "sluice/net/pool.hpp"

namespace sluice::gateway {

class Session;

// What workers share with the control thread: the published runtime and process-wide counters.
struct Shared {
  std::atomic<std::uint64_t> generation{0};
  std::mutex mu;  // guards runtime
  std::shared_ptr<const Runtime> runtime;
  std::atomic<std::uint32_t> connections{0};  // client connections open, all workers
  std::atomic<bool> draining{false};

  void publish(std::shared_ptr<const Runtime> rt) {
    {
      std::lock_guard lock(mu);
      runtime = std::move(rt);
    }
    generation.fetch_add(1, std::memory_order_release);
  }
  std::shared_ptr<const Runtime> load() {
    std::lock_guard lock(mu);
    return runtime;
  }
};

class Worker {
 public:
  Worker(Shared& shared, unsigned index, std::shared_ptr<log::LineSink> access_sink);
  unsigned index() const { return index_; }
  ~Worker();

  // Binds one acceptor per listener (SO_REUSEPORT; port 0 must already be resolved to a real port
  // by the first worker). Call before start().
  Result<void> listen(const std::vector<ListenerRuntime>& listeners);
  // The bound addresses, in listener order (for the "listening" lines).
  std::vector<net::tcp::endpoint> bound() const;
  void start();
  // Stops accepting; idle connections close now, busy ones after their current response.
  void begin_drain();
  // Closes every connection still open.
  void force_close();
  void stop_and_join();

  std::size_t sessions() const { return session_count_.load(); }
  // A copy of this worker's statistics, taken on the worker's own thread.
  void snapshot_into(StatsSnapshot& out);

  // Request-path accessors, for sessions running on this worker.
  net::asio::io_context& io() { return io_; }
  const std::shared_ptr<const Runtime>& runtime();
  net::ConnectionPool& pool() { return pool_; }
  StatsShard& stats() { return stats_; }
  AccessLog& access_log() { return access_log_; }
  Shared& shared() { return shared_; }
  // 32 hex digits into out (reusing its capacity).
  void new_request_id(std::string& out);
  std::vector<char> take_buffer();
  void give_buffer(std::vector<char> b);
  void attach(Session* s);
  void detach(Session* s);

 private:
  net::awaitable<void> accept_loop(net::tcp::acceptor& acc, std::string name);
  net::awaitable<void> tick_loop();

  Shared& shared_;
  unsigned index_;
  // Only this worker thread touches its sockets (others post()), so the reactor needs no locks.
  net::asio::io_context io_{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
  std::vector<std::unique_ptr<net::tcp::acceptor>> acceptors_;
  std::vector<std::string> listener_names_;
  std::thread thread_;
  std::uint64_t seen_generation_ = ~0ull;
  std::shared_ptr<const Runtime> runtime_;
  net::ConnectionPool pool_;
  StatsShard stats_;
  AccessLog access_log_;
  SeededRng rng_;
  std::vector<std::vector<char>> spare_buffers_;
  Session* sessions_ = nullptr;  // intrusive list, walked by the tick for deadlines and drain
  std::atomic<std::size_t> session_count_{0};
  net::asio::steady_timer tick_{io_};
  bool stopping_ = false;
};

}  // namespace sluice::gateway
