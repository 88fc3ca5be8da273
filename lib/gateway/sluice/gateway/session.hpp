// One client connection: reads requests (pipelined in order), routes them, relays each to an
// upstream over a pooled connection, streams both bodies without buffering them, and logs.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sluice/core/clock.hpp"
#include "sluice/gateway/error_response.hpp"
#include "sluice/gateway/runtime.hpp"
#include "sluice/upstream/limits.hpp"
#include "sluice/upstream/retry.hpp"
#include "sluice/net/asio.hpp"
#include "sluice/net/http_parser.hpp"
#include "sluice/net/stream.hpp"

namespace sluice::gateway {

class Worker;

class Session {
 public:
  Session(Worker& w, const ListenerRuntime& listener, std::string listener_name,
          net::tcp::socket sock);
  ~Session();
  net::awaitable<void> run();

  // Called by the worker's tick.
  TimePoint deadline() const { return deadline_; }
  void expire();
  // expire(), and a hedge in flight is stopped too (the worker is shutting down).
  void force_close();
  void drain();
  const std::string& listener_name() const { return listener_name_; }

  Session* prev = nullptr;
  Session* next = nullptr;

 private:
  enum class Phase { handshake, idle, head, body, upstream, response };
  enum class Outcome { ok, retry, failed };
  struct Exchange;              // per-request state, defined in session_exchange.hpp
  struct Hedge;                 // a hedged second try, defined in session_hedge.cpp
  friend class HandlerAdapter;  // session_handler.cpp: HandlerIo for route handlers

  net::awaitable<bool> read_head();
  net::awaitable<void> handle_request();
  // The matched route has a handler (an LLM route): it answers (session_handler.cpp).
  net::awaitable<void> run_handler();
  // One try up to the response head: connect (or reuse), send, await the head.
  net::awaitable<Outcome> single_try(bool allow_pooled);
  // The same raced against a hedge on another endpoint after hedge_delay; the first good head
  // wins (session_hedge.cpp).
  net::awaitable<Outcome> hedged_try(bool allow_pooled, std::uint64_t hash);
  net::awaitable<void> run_hedge(std::shared_ptr<Hedge> h, std::uint64_t hash,
                                 TimePoint first_sent);
  net::awaitable<Outcome> connect_upstream(bool allow_pooled);
  // Connects s (already created, so a timeout can close it) to ep, with TLS when ep uses it.
  // Returns the error ("upstream_connect_error", ...) or an empty view.
  net::awaitable<std::string_view> dial(const upstream::Endpoint& ep,
                                        std::unique_ptr<net::Stream>& s, const bool& timed_out);
  // The upstream request head for ep, into out.
  void build_upstream_head(std::string& out, const upstream::Endpoint& ep) const;
  net::awaitable<Outcome> send_request();
  // Reads the response head; a status the route retries on ends the try with Outcome::retry.
  net::awaitable<Outcome> await_response();
  // How long a try waits for its answer: per_try_timeout, within the deadline of all tries.
  Duration try_wait() const;
  net::awaitable<Outcome> relay_response();
  // write_timeout 0: server.idle_timeout.
  net::awaitable<void> send_error(const GatewayError& e, Duration write_timeout = Duration{0});
  GatewayError upstream_failure() const;
  // The diagnostic 503: no endpoint can take the request, and why, endpoint by endpoint.
  GatewayError no_healthy_upstream();
  GatewayError breaker_open();
  // [routes.fallback] with a status: the configured answer, marked x-sluice-fallback: static.
  net::awaitable<void> send_static_fallback(const config::Fallback& fb);
  enum class SlotWait { admitted, full, timed_out };
  struct Slot {
    upstream::Bulkhead::Permit permit;
    SlotWait wait = SlotWait::full;
  };
  // A slot of bulkhead, now or after waiting in its queue for up to timeout. owner keeps the
  // bulkhead alive while a grant may still be posted to this worker.
  net::awaitable<Slot> wait_for_slot(upstream::Bulkhead& bulkhead, Duration timeout,
                                     std::shared_ptr<const void> owner);
  // A slot of the cluster's bulkhead, waiting up to queue_timeout in its queue; nullopt after
  // answering 503 (bulkhead_full or bulkhead_timeout).
  net::awaitable<std::optional<upstream::Bulkhead::Permit>> enter_bulkhead(
      upstream::Bulkhead& bulkhead);
  // A slot of breaker.max_connections for a new upstream connection. At the limit, one of this
  // worker's idle connections to the cluster is closed first; then, when wait, the request
  // waits as one of breaker.max_pending, up to connect_timeout. nullptr: none (x_->error says
  // pending_overflow or pending_timeout, unless !wait).
  net::awaitable<std::unique_ptr<net::StreamToken>> connection_slot(bool wait);
  // The request's key for ring_hash and maglev (cluster hash_key); 0 for other policies.
  std::uint64_t hash_key_of(const config::Cluster& c, const net::MessageHead& head) const;
  // Tells the cluster's outlier detection and breaker how the attempt on x_->ep went.
  void report_attempt();
  // The [routes.retry] decision on the attempt that just failed (status 0: a transport failure
  // in x_->error); a positive one holds a retry-budget slot. nullopt: retries do not apply.
  std::optional<upstream::RetryDecision> decide_retry(int status = 0,
                                                      std::string_view retry_after = {});
  void finish();
  void set_deadline(Duration d) { deadline_ = coarse_now() + d; }
  void release_upstream(bool reusable);

  Worker& w_;
  std::string listener_name_;
  bool tls_ = false;
  net::Stream client_;
  std::string client_ip_;
  std::vector<char> buf_;  // client bytes: begin_..end_ not yet consumed
  std::size_t begin_ = 0, end_ = 0;
  net::HttpParser req_{net::HttpParser::Kind::request};
  net::HttpParser res_{net::HttpParser::Kind::response};
  std::string head_out_;
  std::vector<char> ubuf_;       // upstream bytes, borrowed from the worker per request
  std::size_t ub_ = 0, ue_ = 0;  // ubuf_[0, ub_) parsed, [ub_, ue_) received, after the head
  std::vector<net::asio::const_buffer> out_;  // gather list for client writes
  std::unique_ptr<net::Stream> up_;
  Phase phase_ = Phase::idle;
  TimePoint deadline_ = TimePoint::max();
  bool timed_out_ = false;
  bool closing_ = false;
  std::uint64_t served_ = 0;  // requests answered on this connection
  std::unique_ptr<Exchange> x_;
  std::shared_ptr<Hedge> hedge_;                  // while a hedged try runs
  net::asio::steady_timer* slot_wait_ = nullptr;  // while waiting for a slot (wait_for_slot)
};

}  // namespace sluice::gateway
