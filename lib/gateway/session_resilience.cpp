// The session's resilience decisions: retries ([routes.retry]), the bulkhead queue, the hash key
// of consistent-hash balancing, outcome reports to the cluster state, and the answers when no
// endpoint can be used (the diagnostic 503, breaker_open, a static fallback).
#include <utility>  // before Asio: Boost 1.74 uses std::exchange without including it

#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>

#include "session_exchange.hpp"
#include "upstream_link.hpp"
#include "sluice/gateway/error_response.hpp"
#include "sluice/gateway/worker.hpp"
#include "sluice/upstream/key_hash.hpp"

namespace sluice::gateway {

namespace asio = net::asio;
using net::error_code;
using Clock = std::chrono::steady_clock;

std::optional<upstream::RetryDecision> Session::decide_retry(int status,
                                                             std::string_view retry_after) {
  auto& x = *x_;
  const auto& cfg = x.route->cfg->retry;
  if (cfg.attempts <= 1 || !x.replayable) return std::nullopt;
  upstream::AttemptResult r;
  std::string_view err = x.error;
  if (status != 0)
    r = upstream::AttemptResult::http(status, retry_after);
  else if (err == "upstream_connect_error" || err == "upstream_connect_timeout" ||
           err == "upstream_tls_error")
    r = upstream::AttemptResult::connect_failure();
  else if (err == "upstream_timeout")
    r = upstream::AttemptResult::timeout();
  else if (err == "upstream_reset")
    r = upstream::AttemptResult::reset();
  else
    return std::nullopt;
  upstream::RetryContext ctx;
  ctx.attempt = static_cast<std::uint32_t>(x.attempts);
  ctx.now = Clock::now();
  ctx.deadline = x.deadline;
  ctx.idempotent = upstream::idempotency_of(x.method);
  ctx.wall_now = std::chrono::system_clock::now();
  thread_local SeededRng rng = SeededRng::from_entropy();
  auto d = x.route->retry->decide(r, ctx, rng);
  if (!d.retry) return d;
  x.retry_guard.reset();  // the previous retry's slot
  auto guard = x.route->retry_budget->try_acquire_retry();
  if (!guard) {
    ++x.route->retry_counters->budget_exhausted;
    d.retry = false;
    return d;
  }
  x.retry_guard = std::move(*guard);
  return d;
}

net::awaitable<Session::Slot> Session::wait_for_slot(upstream::Bulkhead& bulkhead, Duration timeout,
                                                     std::shared_ptr<const void> owner) {
  // A queued request is granted its slot by whichever thread releases one: the grant is posted
  // to this worker, where it wakes the wait by cancelling the timer.
  struct Wait {
    explicit Wait(asio::any_io_executor ex) : timer(ex) {}
    asio::steady_timer timer;
    upstream::Bulkhead::Permit permit;
    bool granted = false;
  };
  auto ex = co_await asio::this_coro::executor;
  auto wait = std::make_shared<Wait>(ex);
  // owner keeps the bulkhead alive until a grant that lost the race to the timeout is dropped.
  auto entry = bulkhead.try_enter([wait, ex, owner](upstream::Bulkhead::Permit p) {
    auto shared = std::make_shared<upstream::Bulkhead::Permit>(std::move(p));
    asio::post(ex, [wait, shared, owner] {
      wait->permit = std::move(*shared);
      wait->granted = true;
      wait->timer.cancel();
    });
  });
  using Status = upstream::Bulkhead::Entry::Status;
  if (entry.status == Status::admitted) co_return Slot{std::move(entry.permit), SlotWait::admitted};
  if (entry.status != Status::queued) co_return Slot{{}, SlotWait::full};
  wait->timer.expires_after(timeout);
  error_code ec;
  slot_wait_ = &wait->timer;
  co_await wait->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  slot_wait_ = nullptr;
  if (wait->granted) co_return Slot{std::move(wait->permit), SlotWait::admitted};
  // Timed out. If the grant raced the timeout, the posted grant releases the slot itself.
  bulkhead.cancel(entry.ticket);
  co_return Slot{{}, SlotWait::timed_out};
}

net::awaitable<std::optional<upstream::Bulkhead::Permit>> Session::enter_bulkhead(
    upstream::Bulkhead& bulkhead) {
  auto& x = *x_;
  const auto& cfg = x.cluster->config().bulkhead;
  Slot slot = co_await wait_for_slot(bulkhead, cfg.queue_timeout, x.cluster->shared_state());
  if (slot.wait == SlotWait::admitted) co_return std::move(slot.permit);
  if (slot.wait == SlotWait::timed_out) {
    GatewayError e{
        503,
        "bulkhead_timeout",
        fmt::format("no slot of cluster {}'s bulkhead ({} in flight) freed up within "
                    "queue_timeout {}",
                    x.cluster->name(), cfg.max_concurrent, format_duration(cfg.queue_timeout)),
        {{"cluster", x.cluster->name()}}};
    co_await send_error(e);
    co_return std::nullopt;
  }
  GatewayError e{503,
                 "bulkhead_full",
                 fmt::format("cluster {}'s bulkhead is full: {} in flight and {} queued",
                             x.cluster->name(), cfg.max_concurrent, cfg.max_queue),
                 {{"cluster", x.cluster->name()}}};
  co_await send_error(e);
  co_return std::nullopt;
}

net::awaitable<std::unique_ptr<net::StreamToken>> Session::connection_slot(bool wait) {
  auto& x = *x_;
  if (auto now = immediate_connection_slot(w_, *x.cluster)) co_return now;
  if (!wait) co_return nullptr;
  auto& connections = x.cluster->state().connections();
  Slot waited = co_await wait_for_slot(connections, x.cluster->config().connect_timeout,
                                       x.cluster->state().shared_connections());
  if (waited.wait == SlotWait::admitted)
    co_return std::make_unique<ConnectionSlot>(x.cluster->state().shared_connections(),
                                               std::move(waited.permit));
  x.error = waited.wait == SlotWait::full ? "pending_overflow" : "pending_timeout";
  co_return nullptr;
}

std::uint64_t Session::hash_key_of(const config::Cluster& c, const net::MessageHead& head) const {
  if (c.lb != config::LbPolicy::ring_hash && c.lb != config::LbPolicy::maglev) return 0;
  switch (c.hash_key.source) {
    case config::HashKey::Source::source_ip:
      return upstream::key_hash(client_ip_);
    case config::HashKey::Source::header:
      return upstream::key_hash(head.get(c.hash_key.name));
    case config::HashKey::Source::cookie: {
      // Cookie: a=1; b=2
      std::string_view cookies = head.get("cookie");
      while (!cookies.empty()) {
        auto semi = cookies.find(';');
        std::string_view pair = cookies.substr(0, semi);
        while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
        auto eq = pair.find('=');
        if (eq != std::string_view::npos && pair.substr(0, eq) == c.hash_key.name)
          return upstream::key_hash(pair.substr(eq + 1));
        if (semi == std::string_view::npos) break;
        cookies.remove_prefix(semi + 1);
      }
      return upstream::key_hash("");
    }
  }
  return 0;
}

void Session::report_attempt() {
  auto& x = *x_;
  if (x.reported || !x.ep || !x.route) return;
  x.reported = true;
  auto& state = x.cluster->state();
  std::string_view err = x.error;
  auto ttfb = std::chrono::duration_cast<Duration>(
      std::chrono::duration<double, std::milli>(std::max(0.0, x.ttfb_ms)));
  if (err.starts_with("downstream_") || err.starts_with("pending_")) {
    // The client went away, or no connection could be opened (breaker.max_connections): says
    // nothing about the endpoint.
    if (x.admission.is_probe()) state.breaker_gate().return_probe(x.admission);
    return;
  }
  upstream::Outcome o = err.starts_with("upstream_") && x.status == 0
                            ? upstream::Outcome::gateway(ttfb)
                            : upstream::Outcome::from_status(x.status, ttfb);
  if (err.starts_with("upstream_") && x.status != 0)
    o.kind = upstream::OutcomeKind::gateway_failure;
  state.report(x.ep->index, o, x.admission);
}

GatewayError Session::no_healthy_upstream() {
  auto& x = *x_;
  const auto& cluster = *x.cluster;
  auto explained = cluster.state().explain();
  nlohmann::json eps = nlohmann::json::array();
  std::string summary;
  for (const auto& e : explained) {
    eps.push_back(e.to_json());
    if (!summary.empty()) summary += "; ";
    summary += e.reason.empty() ? fmt::format("{}: {}", e.name, e.state)
                                : fmt::format("{}: {}", e.name, e.reason);
  }
  x.explanation = summary;
  std::string_view mode = upstream::to_string(x.snap->mode);
  nlohmann::json details = {{"cluster", cluster.name()},
                            {"mode", mode},
                            {"usable", x.snap->usable},
                            {"total", explained.size()},
                            {"endpoints", std::move(eps)}};
  std::string why = x.snap->mode == upstream::RouteMode::panic_fail_fast
                        ? fmt::format(
                              "{} of {} endpoints usable, below panic_threshold {}% "
                              "(panic_mode fail_fast)",
                              x.snap->usable, explained.size(), cluster.config().panic_threshold)
                        : fmt::format("none of its {} endpoints is usable", explained.size());
  return {503, "no_healthy_upstream",
          fmt::format("no healthy upstream in cluster {}: {}", cluster.name(), why),
          std::move(details)};
}

net::awaitable<void> Session::send_static_fallback(const config::Fallback& fb) {
  auto& x = *x_;
  if (x.request_id.empty()) w_.new_request_id(x.request_id);
  bool close = !x.keep_alive || !x.request_done || closing_;
  if (close) x.keep_alive = false;
  head_out_.clear();
  auto out = std::back_inserter(head_out_);
  fmt::format_to(out, "HTTP/1.1 {} {}\r\n", fb.status, reason_phrase(fb.status));
  for (const auto& [k, v] : fb.headers) fmt::format_to(out, "{}: {}\r\n", k, v);
  fmt::format_to(out,
                 "content-length: {}\r\nx-request-id: {}\r\nx-sluice-fallback: static\r\n{}\r\n",
                 fb.body.size(), x.request_id, close ? "connection: close\r\n" : "");
  if (!x.head_request) head_out_ += fb.body;
  x.status = fb.status;
  x.error = "fallback_static";
  x.response_started = true;
  set_deadline(w_.runtime()->config().server.idle_timeout);
  error_code ec;
  co_await client_.write(asio::buffer(head_out_), ec);
  if (!ec) x.bytes_out += head_out_.size();
}

GatewayError Session::breaker_open() {
  auto& x = *x_;
  const auto& cluster = *x.cluster;
  auto st = cluster.state().breaker_gate().snapshot();
  std::string reason = st ? st->reason : std::string();
  x.explanation = fmt::format("circuit breaker {}: {}",
                              upstream::to_string(cluster.state().breaker_gate().state()), reason);
  nlohmann::json details = {
      {"cluster", cluster.name()},
      {"breaker", std::string(upstream::to_string(cluster.state().breaker_gate().state()))},
      {"reason", reason}};
  return {503, "breaker_open",
          fmt::format("the circuit breaker of cluster {} is open: {}", cluster.name(), reason),
          std::move(details)};
}

}  // namespace sluice::gateway
