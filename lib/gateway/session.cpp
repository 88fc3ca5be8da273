#include "sluice/gateway/session.hpp"

#include <array>
#include <cstring>

#include <boost/asio/steady_timer.hpp>

#include <fmt/format.h>

#include "response_head.hpp"
#include "session_exchange.hpp"
#include "session_hedge.hpp"
#include "upstream_link.hpp"
#include "sluice/gateway/forward.hpp"
#include "sluice/gateway/worker.hpp"
#include "sluice/net/tls.hpp"

namespace sluice::gateway {

namespace asio = net::asio;
using net::error_code;
using net::ParseError;
using Clock = std::chrono::steady_clock;

namespace {

// An idle keep-alive connection holds only this much (thousands of them must stay cheap);
// bodies stream through kBodyBufferSize.
constexpr std::size_t kClientBufferSize = 4 * 1024;
constexpr std::size_t kBodyBufferSize = 16 * 1024;
constexpr std::size_t kMaxAttempts = 3;
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// Moves unconsumed bytes to the front when the buffer is full, so a read has room.
void make_room(std::vector<char>& buf, std::size_t& begin, std::size_t& end) {
  if (begin == end) {
    begin = end = 0;
  } else if (end == buf.size() && begin > 0) {
    std::memmove(buf.data(), buf.data() + begin, end - begin);
    end -= begin;
    begin = 0;
  }
}

}  // namespace

Session::Session(Worker& w, const ListenerRuntime& listener, std::string listener_name,
                 net::tcp::socket sock)
    : w_(w),
      listener_name_(std::move(listener_name)),
      tls_(listener.tls != nullptr),
      client_(listener.tls ? net::Stream(std::move(sock), *listener.tls)
                           : net::Stream(std::move(sock))),
      x_(std::make_unique<Exchange>()) {
  error_code ec;
  auto remote = client_.socket().remote_endpoint(ec);
  if (!ec) client_ip_ = remote.address().to_string();
  w_.attach(this);
}

Session::~Session() {
  release_upstream(false);
  if (!ubuf_.empty()) w_.give_buffer(std::move(ubuf_));
  w_.detach(this);
}

void Session::expire() {
  if (phase_ == Phase::head && !timed_out_) {
    // An incomplete head: stop reading but keep the socket, so read_head() can answer 408.
    timed_out_ = true;
    deadline_ = coarse_now() + std::chrono::seconds(1);
    error_code ignored;
    client_.socket().cancel(ignored);
    return;
  }
  deadline_ = TimePoint::max();
  timed_out_ = true;
  if (phase_ == Phase::upstream) {
    // Waiting on the upstream: close only it, so the client still gets a 504.
    if (up_) up_->close();
    return;
  }
  if (up_) up_->close();
  client_.close();
}

void Session::drain() {
  closing_ = true;
  if ((phase_ == Phase::idle || phase_ == Phase::handshake) && begin_ == end_) client_.close();
}

void Session::release_upstream(bool reusable) {
  if (!up_) return;
  --w_.stats().upstream_active;
  const auto* route = x_->route;
  if (reusable && route && x_->ep && up_->is_open()) {
    const auto& c = route->cluster->config();
    w_.pool().put(x_->ep->pool_key, std::move(up_), coarse_now(), c.pool_idle_timeout, c.max_idle);
  } else {
    up_->close();
  }
  up_.reset();
}

net::awaitable<void> Session::run() {
  if (tls_) {
    phase_ = Phase::handshake;
    set_deadline(w_.runtime()->config().server.header_timeout);
    error_code ec;
    co_await client_.handshake(asio::ssl::stream_base::server, ec);
    if (ec) co_return;
  }
  buf_.resize(kClientBufferSize);
  while (!closing_ || begin_ != end_) {
    x_->reset();
    if (!co_await read_head()) break;
    co_await handle_request();
    ++served_;
    finish();
    if (!x_->keep_alive || closing_ || !client_.is_open()) break;
  }
  if (client_.is_open()) {
    client_.shutdown_send();
    client_.close();
  }
}

// Reads until a complete request head is parsed. False when the connection should just close
// (peer gone, timeout with nothing pending); bad heads are answered here and also return false.
net::awaitable<bool> Session::read_head() {
  // A copy: a reload may free the runtime while this coroutine waits for bytes.
  const config::Server server = w_.runtime()->config().server;
  phase_ = Phase::idle;
  timed_out_ = false;
  req_.reset(static_cast<std::uint32_t>(server.max_header_bytes), server.max_body_bytes);
  if (begin_ == end_) {
    begin_ = end_ = 0;
    if (buf_.size() > kBodyBufferSize) std::vector<char>(kClientBufferSize).swap(buf_);
    // A new connection must send its first head within header_timeout (an idle slowloris);
    // a kept-alive one may wait idle_timeout for its next request.
    set_deadline(served_ == 0 ? server.header_timeout : server.idle_timeout);
  } else {
    phase_ = Phase::head;
    set_deadline(server.header_timeout);
  }
  // Beast consumes the request line before the rest of the head has arrived, and the head's
  // views point into buf_. So the head's start stays put until the head is complete; moving the
  // bytes (to make room) restarts the parse over the moved head.
  std::size_t head = begin_;
  for (;;) {
    if (end_ > begin_) {
      ParseError perr;
      std::size_t n = req_.feed(buf_.data() + begin_, end_ - begin_, perr);
      begin_ += n;
      if (req_.header_done()) {
        if (x_->start == Clock::time_point{}) x_->start = Clock::now();
        co_return true;
      }
      if (perr != ParseError::need_more && perr != ParseError::none) {
        w_.new_request_id(x_->request_id);
        x_->keep_alive = false;
        GatewayError e{400, "bad_request", "malformed HTTP request"};
        if (perr == ParseError::header_too_large)
          e = {431, "request_header_too_large",
               fmt::format("request head exceeds server.max_header_bytes ({} bytes)",
                           server.max_header_bytes)};
        else if (perr == ParseError::body_too_large)
          e = {413, "request_body_too_large",
               fmt::format("request body exceeds server.max_body_bytes ({} bytes)",
                           server.max_body_bytes)};
        co_await send_error(e);
        finish();
        co_return false;
      }
    }
    if (end_ == buf_.size()) {
      if (head > 0) {
        std::memmove(buf_.data(), buf_.data() + head, end_ - head);
        end_ -= head;
      } else {
        // Beast reports header_too_large once the head outgrows the limit; give it room to.
        std::size_t cap = server.max_header_bytes + 4096;
        buf_.resize(std::max(end_ + 1, std::min<std::size_t>(buf_.size() * 2, cap)));
      }
      head = begin_ = 0;
      req_.reset(static_cast<std::uint32_t>(server.max_header_bytes), server.max_body_bytes);
    }
    error_code ec;
    std::size_t n =
        co_await client_.read_some(asio::buffer(buf_.data() + end_, buf_.size() - end_), ec);
    if (ec || n == 0) {
      if (timed_out_ && end_ > begin_ && client_.is_open()) {
        // Slowloris: a head that never completes. expire() only cancelled the read, so the
        // client is told why before the connection closes (bounded by a short deadline).
        w_.new_request_id(x_->request_id);
        x_->keep_alive = false;
        x_->error = "header_timeout";
        GatewayError e{408, "request_timeout",
                       fmt::format("request head not received within server.header_timeout ({})",
                                   format_duration(server.header_timeout))};
        co_await send_error(e, std::chrono::seconds(1));
        finish();
      }
      co_return false;
    }
    if (phase_ == Phase::idle) {
      phase_ = Phase::head;
      x_->start = Clock::now();
      set_deadline(server.header_timeout);
    }
    end_ += n;
  }
}

net::awaitable<void> Session::send_error(const GatewayError& e, Duration write_timeout) {
  if (x_->request_id.empty()) w_.new_request_id(x_->request_id);
  bool close = !x_->keep_alive || !x_->request_done || closing_;
  if (close) x_->keep_alive = false;
  write_error_response(head_out_, e, x_->request_id, close, x_->attempts);
  x_->status = e.status;
  if (x_->error.empty()) x_->error = e.type;
  x_->response_started = true;
  set_deadline(write_timeout.count() ? write_timeout : w_.runtime()->config().server.idle_timeout);
  error_code ec;
  co_await client_.write(asio::buffer(head_out_), ec);
  if (!ec) x_->bytes_out += head_out_.size();
}

GatewayError Session::upstream_failure() const {
  const auto& ep = x_->ep ? x_->ep->name : std::string();
  nlohmann::json details = {{"endpoint", ep}, {"attempts", x_->attempts}};
  if (x_->route) details["cluster"] = x_->route->cluster->name();
  if (x_->error == "upstream_timeout" || x_->error == "upstream_connect_timeout")
    return {504, "upstream_timeout", fmt::format("upstream {} did not answer in time", ep),
            details};
  if (x_->error == "upstream_connect_error")
    return {502, "upstream_connect_error", fmt::format("cannot connect to upstream {}", ep),
            details};
  if (x_->error == "upstream_tls_error")
    return {502, "upstream_tls_error", fmt::format("TLS handshake with upstream {} failed", ep),
            details};
  if (x_->error == "pending_overflow" || x_->error == "pending_timeout") {
    const auto& b = x_->cluster->config().breaker;
    return {503, "upstream_overflow",
            x_->error == "pending_overflow"
                ? fmt::format("cluster {} has {} connections open (breaker.max_connections) and "
                              "{} requests waiting for one (breaker.max_pending)",
                              x_->cluster->name(), b.max_connections, b.max_pending)
                : fmt::format("no connection of cluster {} closed within connect_timeout {} "
                              "({} open, breaker.max_connections)",
                              x_->cluster->name(),
                              format_duration(x_->cluster->config().connect_timeout),
                              b.max_connections),
            details};
  }
  if (x_->error == "upstream_bad_response")
    return {502, "upstream_bad_response", fmt::format("upstream {} sent a malformed response", ep),
            details};
  return {502, "upstream_reset",
          fmt::format("upstream {} closed the connection before responding", ep), details};
}

net::awaitable<void> Session::handle_request() {
  auto& x = *x_;
  x.rt = w_.runtime();
  const auto& head = req_.head();
  const auto& server = x.rt->config().server;
  x.method.assign(head.method);
  x.target.assign(head.target);
  x.path.assign(target_path(head.target));
  x.head_request = head.method == "HEAD";
  x.keep_alive = head.keep_alive && !closing_;
  x.http10 = head.version == 10;
  x.expect_continue = head.expect_continue;
  auto rid = head.get("x-request-id");
  if (!rid.empty() && rid.size() <= 200)
    x.request_id.assign(rid);
  else
    w_.new_request_id(x.request_id);

  // Consume the body bytes that arrived with the head.
  ParseError perr = ParseError::none;
  req_.body_pieces().clear();
  std::size_t n = req_.done() ? 0 : req_.feed(buf_.data() + begin_, end_ - begin_, perr);
  x.body_begin = begin_;
  begin_ += n;
  x.request_done = req_.done();
  // While the body is incomplete every byte held belongs to it (see relay_response on why
  // unconsumed bytes are forwarded too).
  x.body_end = x.request_done ? begin_ : end_;
  x.bytes_in += x.body_end - x.body_begin;
  x.replayable = x.request_done;
  if (perr == ParseError::body_too_large) {
    GatewayError e{413, "request_body_too_large",
                   fmt::format("request body exceeds server.max_body_bytes ({} bytes)",
                               server.max_body_bytes)};
    co_await send_error(e);
    co_return;
  }
  if (perr != ParseError::none && perr != ParseError::need_more) {
    GatewayError e{400, "bad_request", "malformed request body"};
    co_await send_error(e);
    co_return;
  }

  RequestFacts facts{listener_name_, head.get("host"), head.method, head.target, &head.fields};
  auto idx = x.rt->router().match(facts);
  if (!idx) {
    GatewayError e{404,
                   "no_route",
                   fmt::format("no route matches {} {}", x.method, x.path),
                   {{"listener", listener_name_}, {"host", std::string(facts.host)}}};
    co_await send_error(e);
    co_return;
  }
  x.route = &x.rt->route(*idx);
  if (x.route->handler) {
    co_await run_handler();
    co_return;
  }
  x.cluster = x.route->cluster.get();
  x.rt->router().rewrite_target(*idx, head.target, x.target);

  // The route's cluster, or its fallback when that has no usable endpoint or an open breaker.
  std::optional<upstream::ResourceLimits::Guard> request_slot;
  for (;;) {
    auto& st = x.cluster->state();
    x.snap = st.snapshot();
    const auto& fb = x.route->cfg->fallback;
    // With no healthy endpoint at all, a configured fallback wins over panic routing.
    bool usable = !x.snap->routable.empty() && (x.snap->usable > 0 || !fb);
    if (usable && st.breaker_enabled()) {
      x.admission = st.breaker_gate().admit();
      usable = static_cast<bool>(x.admission);
    } else {
      x.admission.kind = upstream::BreakerAdmission::Kind::normal;
    }
    if (usable) {
      request_slot = st.limits().try_acquire(upstream::Resource::requests);
      if (!request_slot) {
        if (x.admission.is_probe()) st.breaker_gate().return_probe(x.admission);
        GatewayError e{503,
                       "upstream_overflow",
                       fmt::format("cluster {} has {} requests in flight (breaker.max_requests)",
                                   x.cluster->name(), x.cluster->config().breaker.max_requests),
                       {{"cluster", x.cluster->name()}}};
        co_await send_error(e);
        co_return;
      }
      break;
    }
    if (fb && x.route->fallback_cluster && x.cluster != x.route->fallback_cluster.get()) {
      ++x.route->retry_counters->fallback_cluster;
      x.fallback = true;
      x.cluster = x.route->fallback_cluster.get();
      continue;
    }
    GatewayError e =
        x.snap->usable == 0 || x.snap->routable.empty() ? no_healthy_upstream() : breaker_open();
    if (fb && fb->status != 0) {
      ++x.route->retry_counters->fallback_static;
      x.explanation = e.message;
      co_await send_static_fallback(*fb);
      co_return;
    }
    co_await send_error(e);
    co_return;
  }
  const auto& cluster = *x.cluster;
  auto& state = cluster.state();
  const std::uint64_t hash = hash_key_of(cluster.config(), head);
  upstream::Bulkhead::Permit bulkhead_slot;
  if (cluster.config().bulkhead.max_concurrent > 0) {
    auto permit = co_await enter_bulkhead(state.bulkhead());
    if (!permit) {
      if (x.admission.is_probe()) state.breaker_gate().return_probe(x.admission);
      co_return;  // enter_bulkhead answered
    }
    bulkhead_slot = std::move(*permit);
  }

  const auto& retry_cfg = x.route->cfg->retry;
  const bool retries = retry_cfg.attempts > 1;
  std::optional<upstream::RetryBudget::RequestGuard> in_flight;
  if (retries) in_flight.emplace(x.route->retry_budget->track_request());
  x.deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                  retry_cfg.deadline ? *retry_cfg.deadline : x.route->cfg->timeout);

  bool allow_pooled = true;
  std::size_t connect_failures = 0;
  const upstream::Endpoint* failed = nullptr;
  std::optional<upstream::ResourceLimits::Guard> retry_slot;  // held while a retry runs
  for (;;) {
    ++x.attempts;
    x.reported = false;
    if (!x.ep) x.ep = cluster.choose(*x.snap, w_.index(), failed, hash);
    if (!x.ep) {
      if (x.admission.is_probe()) state.breaker_gate().return_probe(x.admission);
      GatewayError e = no_healthy_upstream();
      co_await send_error(e);
      co_return;
    }
    // Requests in flight per endpoint, for least_request; released when this try ends.
    struct InFlight {
      std::atomic<std::uint32_t>& n;
      explicit InFlight(std::atomic<std::uint32_t>& c) : n(c) {
        n.fetch_add(1, std::memory_order_relaxed);
      }
      ~InFlight() { n.fetch_sub(1, std::memory_order_relaxed); }
    } in_flight_here(state.active(x.ep->index));
    // Only a first try whose whole request is buffered is hedged: the hedge sends it again.
    bool hedge = x.attempts == 1 && x.route->hedge->enabled() && x.request_done && x.replayable;
    Outcome outcome = Outcome::failed;
    if (hedge) {
      outcome = co_await hedged_try(allow_pooled, hash);
    } else {  // single_try, inline: one coroutine frame less on the hot path
      outcome = co_await connect_upstream(allow_pooled);
      if (outcome == Outcome::ok) outcome = co_await send_request();
      if (outcome == Outcome::ok) outcome = co_await await_response();
    }
    if (outcome == Outcome::ok) outcome = co_await relay_response();
    if (outcome == Outcome::ok) {
      report_attempt();
      co_return;
    }
    bool connect_failed =
        x.error == "upstream_connect_error" || x.error == "upstream_connect_timeout";
    if (outcome == Outcome::retry && !x.status_retry && x.attempts < kMaxAttempts) {
      // A pooled connection the upstream had closed: send again on a fresh one.
      allow_pooled = false;
      x.error = {};
      continue;
    }
    report_attempt();
    if (x.error.starts_with("upstream_") && x.status == 0) {
      std::string adhoc;
      const std::string& key =
          x.fallback ? (adhoc = stat_key(x.route->cfg->name, cluster.name(), x.ep->name))
                     : x.route->stat_keys[x.ep->index];
      ++w_.stats().series(key, x.route->cfg->name, cluster.name(), x.ep->name).upstream_errors;
    }
    // [routes.retry]: decided here for transport failures, in relay_response for statuses.
    std::optional<upstream::RetryDecision> decision = std::move(x.status_retry);
    x.status_retry.reset();
    if (!decision && retries && !x.response_started && x.replayable) decision = decide_retry();
    retry_slot.reset();
    if (decision && decision->retry) {
      retry_slot = state.limits().try_acquire(upstream::Resource::retries);
      if (!retry_slot) decision->retry = false;  // breaker.max_retries in flight already
    }
    if (decision && decision->retry) {
      x.route->retry_counters->count(decision->reason);
      if (decision->delay > Duration{0}) {
        asio::steady_timer t(co_await asio::this_coro::executor);
        t.expires_after(decision->delay);
        error_code ec;
        co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (!client_.is_open()) co_return;
      }
      failed = x.ep;
      x.ep = nullptr;
      x.error = {};
      x.status = 0;
      x.ttfb_ms = -1;
      allow_pooled = true;
      continue;
    }
    x.retry_guard.reset();
    // Without a retry policy a connect failure still moves on: nothing was sent.
    if (!retries && connect_failed && !x.response_started &&
        ++connect_failures < std::min(x.snap->routable.size(), kMaxAttempts)) {
      failed = x.ep;
      x.ep = nullptr;
      x.error = {};
      continue;
    }
    if (!x.response_started && client_.is_open()) {
      x.keep_alive = x.keep_alive && x.request_done;
      // Every endpoint was unusable and the try on one of them failed too: explain why.
      // (A named local: GCC 12 mishandles a conditional temporary across co_await.)
      GatewayError e = x.snap->usable == 0 ? no_healthy_upstream() : upstream_failure();
      co_await send_error(e);
    } else {
      x.keep_alive = false;
    }
    co_return;
  }
}

net::awaitable<Session::Outcome> Session::connect_upstream(bool allow_pooled) {
  auto& x = *x_;
  const auto& cluster = *x.cluster;
  if (allow_pooled) {
    // A replayable request survives a stale connection (it is sent again), so recently used
    // connections skip the liveness probe.
    up_ = w_.pool().take(x.ep->pool_key, coarse_now(),
                         x.replayable ? std::chrono::seconds(2) : std::chrono::nanoseconds(0));
    if (up_) {
      x.reused = true;
      ++w_.stats().upstream_active;
      co_return Outcome::ok;
    }
  }
  x.reused = false;
  phase_ = Phase::upstream;
  timed_out_ = false;
  auto t0 = Clock::now();
  auto slot = co_await connection_slot(true);
  if (!slot) co_return Outcome::failed;
  if (hedge_ && hedge_->won) co_return Outcome::failed;  // answered by the hedge meanwhile
  timed_out_ = false;  // a deadline that passed while waiting for the slot is not this one's
  set_deadline(cluster.config().connect_timeout);
  up_ = std::make_unique<net::Stream>(net::tcp::socket(w_.io()));
  up_->token = std::move(slot);
  ++w_.stats().upstream_active;
  std::string_view err = co_await dial(*x.ep, up_, timed_out_);
  if (!err.empty()) {
    x.error = err;
    release_upstream(false);
    co_return Outcome::failed;
  }
  x.connect_ms = ms_since(t0);
  co_return Outcome::ok;
}

net::awaitable<std::string_view> Session::dial(const upstream::Endpoint& ep,
                                               std::unique_ptr<net::Stream>& s,
                                               const bool& timed_out) {
  return dial_endpoint(w_, *x_->cluster, ep, s, timed_out);
}

void Session::build_upstream_head(std::string& out, const upstream::Endpoint& ep) const {
  const auto& route = *x_->route->cfg;
  UpstreamRequestContext ctx;
  ctx.target = x_->target;
  if (route.host_rewrite)
    ctx.host_override = *route.host_rewrite;
  else if (route.auto_host_rewrite)
    ctx.host_override = ep.host_header;
  ctx.default_host = ep.host_header;
  ctx.client_address = client_ip_;
  ctx.client_tls = tls_;
  ctx.request_id = x_->request_id;
  write_upstream_request_head(out, req_.head(), ctx);
}

net::awaitable<Session::Outcome> Session::send_request() {
  auto& x = *x_;
  const auto& route = *x.route->cfg;
  phase_ = Phase::body;
  timed_out_ = false;
  set_deadline(route.stream_idle_timeout);
  // Rebuilt on a retry only when the Host depends on the endpoint.
  if (!x.head_built || route.auto_host_rewrite) {
    build_upstream_head(head_out_, *x.ep);
    x.head_built = true;
  }
  error_code ec;
  std::array<asio::const_buffer, 2> first{
      asio::buffer(head_out_), asio::buffer(buf_.data() + x.body_begin, x.body_end - x.body_begin)};
  co_await up_->write(first, ec);
  if (ec) {
    x.error = "upstream_reset";
    bool retry = x.reused && x.replayable && !timed_out_;
    release_upstream(false);
    co_return retry ? Outcome::retry : Outcome::failed;
  }
  if (x.request_done) co_return Outcome::ok;

  // Stream the rest of the body as it arrives.
  if (x.expect_continue && x.body_end == x.body_begin) {
    co_await client_.write(asio::buffer(kContinue), ec);
    if (ec) {
      x.error = "downstream_reset";
      release_upstream(false);
      x.keep_alive = false;
      x.response_started = true;  // nobody to answer
      co_return Outcome::failed;
    }
  }
  x.replayable = false;
  if (buf_.size() < kBodyBufferSize) buf_.resize(kBodyBufferSize);
  // Beast consumes all it can, so bytes left after a feed are an incomplete chunk header: keep
  // them and read more.
  std::size_t fwd = x.body_end;
  while (!req_.done()) {
    std::size_t before = begin_;
    make_room(buf_, begin_, end_);
    fwd -= before - begin_;
    std::size_t n =
        co_await client_.read_some(asio::buffer(buf_.data() + end_, buf_.size() - end_), ec);
    if (ec || n == 0) {
      x.error = timed_out_ ? "downstream_timeout" : "downstream_reset";
      release_upstream(false);
      x.keep_alive = false;
      x.response_started = true;  // the client is gone or stalled: nobody to answer
      client_.close();
      co_return Outcome::failed;
    }
    end_ += n;
    ParseError perr;
    begin_ += req_.feed(buf_.data() + begin_, end_ - begin_, perr);
    if (perr != ParseError::none && perr != ParseError::need_more) {
      release_upstream(false);
      x.keep_alive = false;
      GatewayError e{400, "bad_request", "malformed request body"};
      if (perr == ParseError::body_too_large)
        e = {413, "request_body_too_large", "request body exceeds server.max_body_bytes"};
      co_await send_error(e);
      co_return Outcome::failed;
    }
    std::size_t until = req_.done() ? begin_ : end_;
    if (until <= fwd) continue;
    co_await up_->write(asio::buffer(buf_.data() + fwd, until - fwd), ec);
    x.bytes_in += until - fwd;
    fwd = until;
    set_deadline(route.stream_idle_timeout);
    if (ec) {
      x.error = timed_out_ ? "upstream_timeout" : "upstream_reset";
      release_upstream(false);
      x.keep_alive = false;
      co_return Outcome::failed;
    }
  }
  x.request_done = true;
  co_return Outcome::ok;
}

Duration Session::try_wait() const {
  const auto& route = *x_->route->cfg;
  // Each try waits at most per_try_timeout (default: the route timeout), and never past the
  // deadline of all tries.
  Duration wait = route.retry.per_try_timeout ? *route.retry.per_try_timeout : route.timeout;
  if (route.retry.attempts > 1) {
    auto left = std::chrono::duration_cast<Duration>(x_->deadline - Clock::now());
    wait = std::max(Duration{0}, std::min(wait, left));
  }
  return wait;
}

net::awaitable<Session::Outcome> Session::single_try(bool allow_pooled) {
  auto outcome = co_await connect_upstream(allow_pooled);
  if (outcome == Outcome::ok) outcome = co_await send_request();
  if (outcome == Outcome::ok) outcome = co_await await_response();
  co_return outcome;
}

net::awaitable<Session::Outcome> Session::await_response() {
  auto& x = *x_;
  if (ubuf_.empty()) ubuf_ = w_.take_buffer();
  phase_ = Phase::upstream;
  timed_out_ = false;
  set_deadline(try_wait());
  ResponseBuffer rb(ubuf_);
  error_code ec;
  auto read = co_await read_response_head(*up_, res_, rb, x.head_request, ec);
  ub_ = rb.ub;
  ue_ = rb.ue;
  x.ttfb_ms = rb.ttfb_ms;
  if (read == HeadRead::bad_response) {
    x.error = "upstream_bad_response";
    release_upstream(false);
    co_return Outcome::failed;
  }
  if (read == HeadRead::closed) {
    bool nothing = rb.ue == 0 && rb.ttfb_ms < 0;
    x.error = timed_out_ ? "upstream_timeout" : "upstream_reset";
    // TLS 1.3 servers reject a client certificate after the handshake, with an alert.
    if (ec.category() == asio::error::get_ssl_category()) x.error = "upstream_tls_error";
    // The upstream may have processed the request before closing, so only idempotent ones
    // are sent again here (a failed write, above, never reached it).
    bool retry = !timed_out_ && nothing && x.reused && x.replayable &&
                 upstream::idempotency_of(x.method) == upstream::Idempotent::yes;
    release_upstream(false);
    co_return retry ? Outcome::retry : Outcome::failed;
  }

  // A status the route retries on: try again instead of answering, when the policy, the
  // attempts, the deadline and the budget allow it.
  if (x.route->cfg->retry.attempts > 1 && !x.head_request) {
    const auto& h = res_.head();
    if (!x.route->retry->matched_condition(upstream::AttemptResult::http(h.status)).empty()) {
      std::string retry_after(h.get("retry-after"));
      auto d = decide_retry(h.status, retry_after);
      if (d && d->retry) {
        x.status = h.status;
        x.error = "upstream_retriable_status";
        x.status_retry = std::move(d);
        release_upstream(false);
        co_return Outcome::retry;
      }
    }
  }
  co_return Outcome::ok;
}

net::awaitable<Session::Outcome> Session::relay_response() {
  auto& x = *x_;
  const auto& route = *x.route->cfg;
  std::size_t ub = ub_, ue = ue_;
  error_code ec;
  ParseError perr = ParseError::none;
  // The head is in; answer the client.
  const auto& head = res_.head();
  phase_ = Phase::response;
  set_deadline(route.stream_idle_timeout);
  bool until_close = res_.needs_eof() || (x.http10 && head.chunked);
  bool decode = x.http10 && head.chunked;
  if (until_close || closing_) x.keep_alive = false;
  ClientResponseContext ctx;
  ctx.request_id = x.request_id;
  ctx.close = !x.keep_alive;
  ctx.keep_alive_10 = x.http10 && x.keep_alive;
  ctx.framing = until_close ? ClientFraming::until_close : ClientFraming::passthrough;
  ctx.attempts = x.attempts;
  write_client_response_head(head_out_, head, ctx);
  x.status = head.status;
  bool upstream_keep_alive = head.keep_alive;

  auto& out = out_;
  out.clear();
  out.push_back(asio::buffer(head_out_));
  // Raw passthrough forwards every byte received while the message is incomplete, even those
  // Beast has not consumed yet (a chunk's CRLF waits for the next chunk header): an SSE event
  // must reach the client whole, now. fwd is the end of what was forwarded, in ubuf_.
  std::size_t fwd = ub;
  auto consume = [&](bool with_head) {
    if (!with_head) out.clear();
    res_.body_pieces().clear();
    std::size_t n = res_.done() ? 0 : res_.feed(ubuf_.data() + ub, ue - ub, perr);
    ub += n;
    if (decode) {
      for (auto p : res_.body_pieces()) out.push_back(asio::buffer(p.data(), p.size()));
      return;
    }
    std::size_t until = res_.done() ? ub : ue;
    if (until > fwd) out.push_back(asio::buffer(ubuf_.data() + fwd, until - fwd));
    fwd = std::max(fwd, until);
  };
  consume(true);
  x.response_started = true;
  for (;;) {
    if (perr != ParseError::none && perr != ParseError::need_more) {
      x.error = "upstream_bad_response";
      x.keep_alive = false;
      release_upstream(false);
      co_return Outcome::failed;
    }
    if (!out.empty()) {
      co_await client_.write(out, ec);
      x.bytes_out += asio::buffer_size(out);
      if (ec) {
        x.error = timed_out_ ? "downstream_timeout" : "downstream_reset";
        x.keep_alive = false;
        release_upstream(false);
        co_return Outcome::failed;
      }
      set_deadline(route.stream_idle_timeout);
    }
    if (res_.done()) break;
    std::size_t before = ub;
    make_room(ubuf_, ub, ue);
    fwd -= before - ub;
    std::size_t n = co_await up_->read_some(asio::buffer(ubuf_.data() + ue, ubuf_.size() - ue), ec);
    if (ec || n == 0) {
      bool clean_eof = ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
      if (clean_eof && res_.needs_eof()) {
        res_.feed_eof(perr);
        break;
      }
      // Cut mid-body: the client must not mistake this for a complete response.
      x.error = timed_out_ ? "upstream_timeout" : "upstream_reset";
      x.keep_alive = false;
      release_upstream(false);
      client_.close();
      co_return Outcome::failed;
    }
    ue += n;
    set_deadline(route.stream_idle_timeout);
    consume(false);
  }
  bool reusable =
      upstream_keep_alive && res_.done() && ub == ue && !res_.needs_eof() && !timed_out_;
  release_upstream(reusable);
  w_.give_buffer(std::move(ubuf_));
  ubuf_.clear();
  co_return Outcome::ok;
}

void Session::finish() {
  auto& x = *x_;
  phase_ = Phase::idle;
  // Idle connections hold no upstream buffer: thousands of them must stay cheap.
  if (!ubuf_.empty()) {
    w_.give_buffer(std::move(ubuf_));
    ubuf_.clear();
  }
  if (x.status == 0 && x.error.empty()) {
    x.rt.reset();
    return;
  }
  double total_ms = x.start == Clock::time_point{} ? 0 : ms_since(x.start);
  std::string_view route, cluster, endpoint;
  const std::string* key = nullptr;
  std::string adhoc;
  if (x.route) {
    route = x.route->cfg->name;
    if (x.route->handler)
      cluster = x.handler_cluster;
    else
      cluster = x.cluster ? x.cluster->name() : x.route->cluster->name();
  }
  if (x.route && x.route->handler) {
    endpoint = x.handler_endpoint;
    adhoc = stat_key(route, cluster, endpoint);
    key = &adhoc;
  } else if (x.route && x.ep && !x.fallback) {
    endpoint = x.ep->name;
    key = &x.route->stat_keys[x.ep->index];
  } else {
    if (x.ep) endpoint = x.ep->name;
    adhoc = stat_key(route, cluster, endpoint);
    key = &adhoc;
  }
  auto& s = w_.stats().series(*key, route, cluster, endpoint);
  int cls = x.status / 100;
  if (cls >= 1 && cls <= 5) ++s.by_class[cls - 1];
  s.latency.observe(total_ms / 1000.0);
  s.bytes_in += x.bytes_in;
  s.bytes_out += x.bytes_out;
  auto& log = w_.access_log();
  if (log.enabled()) {
    AccessRecord r;
    r.request_id = x.request_id;
    r.listener = listener_name_;
    r.client = client_ip_;
    r.method = x.method;
    r.path = x.path;
    r.route = route;
    r.cluster = cluster;
    r.endpoint = endpoint;
    r.status = x.status;
    r.bytes_in = x.bytes_in;
    r.bytes_out = x.bytes_out;
    r.total_ms = total_ms;
    r.connect_ms = x.connect_ms;
    r.ttfb_ms = x.ttfb_ms;
    r.attempts = static_cast<int>(x.attempts);
    r.error = x.error;
    r.detail = x.explanation;
    r.extra = x.log_extra;
    log.write(r);
  }
  x.start = {};
  x.rt.reset();  // an idle connection must not keep a replaced config alive
}

}  // namespace sluice::gateway
