// Hedging ([routes.retry] hedge_delay): when a request's first try has no response head after
// hedge_delay, the same request goes to another endpoint too, and the first good head wins.
//
// Both tries run on the worker's thread: the first in the session's coroutine (single_try), the
// hedge in run_hedge, which owns its connection, parser and buffer. "Good" means a head whose
// status the route would not retry on. When the hedge wins it closes the first try's
// connection, and hedged_try adopts the hedge's connection, parser and buffer, so the answer is
// relayed as usual. When the first try wins, the hedge is stopped (its connection closed). When
// the first try fails by itself, the hedge, if under way, is awaited: its good answer still
// wins. hedged_try never returns while run_hedge runs, so run_hedge may use the session.
//
// A hedge needs what a retry needs: an idempotent request, an attempt left, time before the
// deadline, a retry-budget slot and a breaker.max_retries slot. A first try that lost to its
// hedge is reported as cancelled with the time it had taken (a lower bound of its latency): the
// latency rule still sees a slow endpoint, while its failure streaks and the breaker are left
// alone. A hedge that lost is not reported (it was cut short); one that failed by itself is.
#include <utility>  // before Asio: Boost 1.74 uses std::exchange without including it

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>

#include "response_head.hpp"
#include "session_exchange.hpp"
#include "session_hedge.hpp"
#include "sluice/gateway/worker.hpp"

namespace sluice::gateway {

namespace asio = net::asio;
using net::error_code;
using Clock = std::chrono::steady_clock;

net::awaitable<Session::Outcome> Session::hedged_try(bool allow_pooled, std::uint64_t hash) {
  auto& x = *x_;
  auto ex = co_await asio::this_coro::executor;
  auto h = std::make_shared<Hedge>(ex);
  const auto first_sent = Clock::now();
  hedge_ = h;
  asio::co_spawn(ex, run_hedge(h, hash, first_sent), asio::detached);
  auto outcome = co_await single_try(allow_pooled);
  if (!h->won) {
    h->first = outcome == Outcome::ok ? Hedge::First::good : Hedge::First::failed;
    if (h->first == Hedge::First::good || !h->started) {
      h->stop();
    } else if (outcome == Outcome::failed || x.status_retry) {
      // The first try failed by itself while the hedge is out: that is news for outlier
      // detection whoever wins. (A stale pooled connection, Outcome::retry without a status,
      // says nothing about the endpoint.)
      report_attempt();
    }
  }
  // Waiting for the hedge: the session's own deadline has nothing left to close (expire() in
  // this phase closes only up_); the hedge's timers bound the wait.
  phase_ = Phase::upstream;
  while (!h->finished) {
    h->done.expires_at(Clock::time_point::max());
    error_code ec;
    co_await h->done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  hedge_.reset();
  if (!h->won) {
    if (!h->buf.empty()) w_.give_buffer(std::move(h->buf));
    co_return outcome;
  }
  // The hedge's answer is the one relayed.
  ++x.route->retry_counters->hedge_wins;
  if (h->first == Hedge::First::running && x.ep) {
    // The first try was cut short: its time so far, a lower bound of its latency, goes to the
    // latency rule (not to the failure streaks, nor to the breaker).
    auto took = std::chrono::duration_cast<Duration>(Clock::now() - first_sent);
    upstream::BreakerAdmission normal;
    normal.kind = upstream::BreakerAdmission::Kind::normal;
    x.cluster->state().report(x.ep->index, {upstream::OutcomeKind::cancelled, took}, normal);
    if (x.admission.is_probe()) x.cluster->state().breaker_gate().return_probe(x.admission);
  }
  x.admission.kind = upstream::BreakerAdmission::Kind::normal;  // a probe is settled above
  timed_out_ = false;       // the first try's timeout says nothing about the hedge's connection
  release_upstream(false);  // whatever is left of the first try
  up_ = std::move(h->stream);
  res_.swap(h->parser);
  std::swap(ubuf_, h->buf);
  if (!h->buf.empty()) w_.give_buffer(std::move(h->buf));
  ub_ = h->ub;
  ue_ = h->ue;
  x.ep = h->ep;
  x.reused = h->reused;
  x.connect_ms = h->connect_ms;
  x.ttfb_ms = h->ttfb_ms;
  x.error = {};
  x.status = 0;
  x.status_retry.reset();
  x.retry_guard.reset();
  x.reported = false;
  co_return Outcome::ok;
}

net::awaitable<void> Session::run_hedge(std::shared_ptr<Hedge> h, std::uint64_t hash,
                                        TimePoint first_sent) {
  struct Finish {
    Hedge& h;
    ~Finish() {
      h.finished = true;
      h.done.cancel();
    }
  } finish{*h};
  auto& x = *x_;
  const auto& policy = *x.route->hedge;
  const auto idem = upstream::idempotency_of(x.method);
  auto at = policy.hedge_at(first_sent, idem);
  if (!at) co_return;
  h->timer.expires_at(*at);
  error_code ec;
  co_await h->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  if (ec || h->first != Hedge::First::running) co_return;  // stopped, or the first try ended
  if (!policy.should_hedge(first_sent, Clock::now(), false, idem,
                           static_cast<std::uint32_t>(x.attempts), x.deadline))
    co_return;
  auto& cluster = *x.cluster;
  auto& state = cluster.state();
  auto budget = x.route->retry_budget->try_acquire_retry();
  if (!budget) {
    ++x.route->retry_counters->budget_exhausted;
    co_return;
  }
  auto slot = state.limits().try_acquire(upstream::Resource::retries);
  if (!slot) co_return;
  const upstream::Endpoint* ep = cluster.choose(*x.snap, w_.index(), x.ep, hash);
  if (!ep) co_return;
  auto pooled = w_.pool().take(ep->pool_key, coarse_now(), std::chrono::nanoseconds(0));
  std::unique_ptr<net::StreamToken> conn_slot;
  if (!pooled) {
    conn_slot = co_await connection_slot(false);  // a hedge does not wait for a connection
    if (!conn_slot) co_return;
  }
  h->ep = ep;
  h->started = true;
  ++x.attempts;
  ++x.route->retry_counters->hedges;
  auto& active = state.active(ep->index);
  active.fetch_add(1, std::memory_order_relaxed);
  struct Active {
    std::atomic<std::uint32_t>& n;
    ~Active() { n.fetch_sub(1, std::memory_order_relaxed); }
  } active_guard{active};

  std::string_view error;
  int status = 0;
  auto t0 = Clock::now();
  h->stream = std::move(pooled);
  ++w_.stats().upstream_active;
  if (h->stream) {
    h->reused = true;
  } else {
    h->stream = std::make_unique<net::Stream>(net::tcp::socket(w_.io()));
    h->stream->token = std::move(conn_slot);
    h->arm(cluster.config().connect_timeout, h);
    error = co_await dial(*ep, h->stream, h->timed_out);
    h->connect_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  }
  if (error.empty() && h->first == Hedge::First::good) error = "upstream_reset";  // stopped
  if (error.empty()) {
    h->timed_out = false;
    h->arm(try_wait(), h);
    build_upstream_head(h->head, *ep);
    std::array<asio::const_buffer, 2> request{
        asio::buffer(h->head), asio::buffer(buf_.data() + x.body_begin, x.body_end - x.body_begin)};
    co_await h->stream->write(request, ec);
    if (ec) error = h->timed_out ? "upstream_timeout" : "upstream_reset";
  }
  if (error.empty()) {
    h->buf = w_.take_buffer();
    ResponseBuffer rb(h->buf);
    auto read = co_await read_response_head(*h->stream, h->parser, rb, x.head_request, ec);
    h->ub = rb.ub;
    h->ue = rb.ue;
    h->ttfb_ms = rb.ttfb_ms;
    if (read == HeadRead::bad_response)
      error = "upstream_bad_response";
    else if (read == HeadRead::closed)
      error = h->timed_out ? "upstream_timeout" : "upstream_reset";
    else
      status = h->parser.head().status;
  }
  ++h->generation;
  h->timer.cancel();
  bool good = error.empty() &&
              (x.head_request ||
               x.route->retry->matched_condition(upstream::AttemptResult::http(status)).empty());
  if (good && h->first != Hedge::First::good) {
    // Adopted by hedged_try, which reports it as the request's answer.
    h->won = true;
    if (up_) up_->close();
    if (slot_wait_) slot_wait_->cancel();  // the first try waits for a connection slot
    co_return;
  }
  --w_.stats().upstream_active;
  h->stream->close();
  h->stream.reset();
  if (h->first == Hedge::First::good) co_return;  // cut short: says nothing about the endpoint
  auto ttfb = std::chrono::duration_cast<Duration>(
      std::chrono::duration<double, std::milli>(std::max(0.0, h->ttfb_ms)));
  upstream::Outcome o =
      status != 0 ? upstream::Outcome::from_status(status, ttfb) : upstream::Outcome::gateway(ttfb);
  if (status != 0 && !good) o.kind = upstream::OutcomeKind::gateway_failure;
  upstream::BreakerAdmission normal;
  normal.kind = upstream::BreakerAdmission::Kind::normal;
  state.report(ep->index, o, normal);
}

}  // namespace sluice::gateway

namespace sluice::gateway {

void Session::force_close() {
  expire();
  if (hedge_) hedge_->stop();
}

}  // namespace sluice::gateway
