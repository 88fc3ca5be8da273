#include "sluice/gateway/upstream_call.hpp"

#include <cstring>

#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>

#include "response_head.hpp"
#include "sluice/gateway/worker.hpp"
#include "upstream_link.hpp"

namespace sluice::gateway {

namespace asio = net::asio;
using net::error_code;
using net::ParseError;
using Clock = std::chrono::steady_clock;

std::string_view to_string(CallError e) {
  switch (e) {
    case CallError::none:
      return "none";
    case CallError::no_endpoint:
      return "no_healthy_upstream";
    case CallError::breaker_open:
      return "breaker_open";
    case CallError::overflow:
      return "upstream_overflow";
    case CallError::connect_error:
      return "upstream_connect_error";
    case CallError::connect_timeout:
      return "upstream_connect_timeout";
    case CallError::tls_error:
      return "upstream_tls_error";
    case CallError::timeout:
      return "upstream_timeout";
    case CallError::reset:
      return "upstream_reset";
    case CallError::bad_response:
      return "upstream_bad_response";
    case CallError::too_large:
      return "upstream_response_too_large";
  }
  return "none";
}

bool before_request(CallError e) {
  switch (e) {
    case CallError::no_endpoint:
    case CallError::breaker_open:
    case CallError::overflow:
    case CallError::connect_error:
    case CallError::connect_timeout:
    case CallError::tls_error:
      return true;
    default:
      return false;
  }
}

UpstreamCall::UpstreamCall(Worker& w, const upstream::Cluster& cluster)
    : w_(w), cluster_(cluster), alive_(std::make_shared<bool>(true)) {}

UpstreamCall::~UpstreamCall() {
  *alive_ = false;
  if (timer_) timer_->cancel();
  report(false);
  release(false);
  if (!buf_.empty()) w_.give_buffer(std::move(buf_));
}

void UpstreamCall::arm(Duration d) {
  if (!timer_) timer_ = std::make_unique<asio::steady_timer>(w_.io());
  timer_->expires_after(d);
  timer_->async_wait([this, alive = alive_](const error_code& ec) {
    if (ec || !*alive) return;
    timed_out_ = true;
    if (up_) up_->close();
  });
}

void UpstreamCall::disarm() {
  if (timer_) timer_->cancel();
}

void UpstreamCall::release(bool reusable) {
  if (!up_) return;
  --w_.stats().upstream_active;
  if (reusable && ep_ && up_->is_open()) {
    const auto& c = cluster_.config();
    w_.pool().put(ep_->pool_key, std::move(up_), coarse_now(), c.pool_idle_timeout, c.max_idle);
  } else {
    up_->close();
  }
  up_.reset();
}

CallError UpstreamCall::fail(CallError e) {
  disarm();
  error_ = e;
  release(false);
  return e;
}

void UpstreamCall::cancel() {
  disarm();
  release(false);
}

void UpstreamCall::report(bool failed) {
  if (reported_ || !ep_) return;
  reported_ = true;
  auto& state = cluster_.state();
  if (error_ == CallError::overflow) {
    if (admission_.is_probe()) state.breaker_gate().return_probe(admission_);
    return;
  }
  auto latency = std::chrono::duration_cast<Duration>(
      std::chrono::duration<double, std::milli>(std::max(0.0, ttfb_ms_)));
  upstream::Outcome o = status() == 0 ? upstream::Outcome::gateway(latency)
                                      : upstream::Outcome::from_status(status(), latency);
  if (status() != 0 && (failed || error_ != CallError::none))
    o.kind = upstream::OutcomeKind::gateway_failure;
  state.report(ep_->index, o, admission_);
}

net::awaitable<CallError> UpstreamCall::start(const UpstreamRequest& req) {
  auto& state = cluster_.state();
  snap_ = state.snapshot();
  if (snap_->routable.empty()) co_return error_ = CallError::no_endpoint;
  if (state.breaker_enabled()) {
    admission_ = state.breaker_gate().admit();
    if (!admission_) co_return error_ = CallError::breaker_open;
  } else {
    admission_.kind = upstream::BreakerAdmission::Kind::normal;
  }
  request_slot_ = state.limits().try_acquire(upstream::Resource::requests);
  if (!request_slot_) {
    if (admission_.is_probe()) state.breaker_gate().return_probe(admission_);
    co_return error_ = CallError::overflow;
  }
  ep_ = cluster_.choose(*snap_, w_.index());
  if (!ep_) {
    if (admission_.is_probe()) state.breaker_gate().return_probe(admission_);
    co_return error_ = CallError::no_endpoint;
  }
  idle_timeout_ = req.idle_timeout;
  head_.clear();
  auto out = std::back_inserter(head_);
  fmt::format_to(out, "{} {} HTTP/1.1\r\nhost: {}\r\n", req.method, req.target, req.host);
  if (req.headers)
    for (const auto& h : *req.headers) fmt::format_to(out, "{}: {}\r\n", h.name, h.value);
  fmt::format_to(out, "content-length: {}\r\n\r\n", req.body.size());
  CallError e = co_await attempt(req, true);
  // A pooled connection the upstream had closed meanwhile: the request never reached it.
  if (e == CallError::reset && reused_ && status() == 0 && ttfb_ms_ < 0 && !timed_out_)
    e = co_await attempt(req, false);
  error_ = e;
  co_return e;
}

net::awaitable<CallError> UpstreamCall::attempt(const UpstreamRequest& req, bool allow_pooled) {
  timed_out_ = false;
  ttfb_ms_ = -1;
  reused_ = false;
  if (allow_pooled) {
    up_ = w_.pool().take(ep_->pool_key, coarse_now(), std::chrono::seconds(2));
    if (up_) {
      reused_ = true;
      ++w_.stats().upstream_active;
    }
  }
  if (!up_) {
    auto slot = immediate_connection_slot(w_, cluster_);
    if (!slot) co_return fail(CallError::overflow);
    auto t0 = Clock::now();
    arm(cluster_.config().connect_timeout);
    up_ = std::make_unique<net::Stream>(net::tcp::socket(w_.io()));
    up_->token = std::move(slot);
    ++w_.stats().upstream_active;
    std::string_view err = co_await dial_endpoint(w_, cluster_, *ep_, up_, timed_out_);
    if (!err.empty()) {
      CallError e = err == "upstream_connect_timeout" ? CallError::connect_timeout
                    : err == "upstream_tls_error"     ? CallError::tls_error
                                                      : CallError::connect_error;
      co_return fail(e);
    }
    connect_ms_ = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  }
  arm(req.timeout);
  error_code ec;
  std::array<asio::const_buffer, 2> bufs{asio::buffer(head_), asio::buffer(req.body)};
  co_await up_->write(bufs, ec);
  if (ec) co_return fail(timed_out_ ? CallError::timeout : CallError::reset);
  if (buf_.empty()) buf_ = w_.take_buffer();
  ResponseBuffer rb(buf_);
  auto read = co_await read_response_head(*up_, parser_, rb, req.method == "HEAD", ec);
  ub_ = rb.ub;
  ue_ = rb.ue;
  ttfb_ms_ = rb.ttfb_ms;
  if (read == HeadRead::bad_response) co_return fail(CallError::bad_response);
  if (read == HeadRead::closed) co_return fail(timed_out_ ? CallError::timeout : CallError::reset);
  disarm();
  if (parser_.done()) {  // a bodiless answer (204, 304, Content-Length: 0, HEAD)
    finished_ = true;
    release(parser_.head().keep_alive && ub_ == ue_ && !timed_out_);
  }
  co_return CallError::none;
}

net::awaitable<CallError> UpstreamCall::read(std::string& out) {
  if (error_ != CallError::none) co_return error_;
  ParseError perr = ParseError::none;
  for (;;) {
    if (ue_ > ub_ && !parser_.done()) {
      parser_.body_pieces().clear();
      ub_ += parser_.feed(buf_.data() + ub_, ue_ - ub_, perr);
      if (perr != ParseError::none && perr != ParseError::need_more)
        co_return fail(CallError::bad_response);
      std::size_t before = out.size();
      for (auto p : parser_.body_pieces()) out.append(p.data(), p.size());
      parser_.body_pieces().clear();
      if (parser_.done()) break;
      if (out.size() > before) co_return CallError::none;
    }
    if (parser_.done()) break;
    // Keep unparsed bytes (an incomplete chunk header) and make room behind them.
    if (ub_ == ue_) {
      ub_ = ue_ = 0;
    } else if (ue_ == buf_.size()) {
      std::memmove(buf_.data(), buf_.data() + ub_, ue_ - ub_);
      ue_ -= ub_;
      ub_ = 0;
    }
    arm(idle_timeout_);
    error_code ec;
    std::size_t n = co_await up_->read_some(asio::buffer(buf_.data() + ue_, buf_.size() - ue_), ec);
    disarm();
    if (ec || n == 0) {
      bool clean_eof = ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
      if (clean_eof && parser_.needs_eof()) {
        parser_.feed_eof(perr);
        break;
      }
      co_return fail(timed_out_ ? CallError::timeout : CallError::reset);
    }
    ue_ += n;
  }
  finished_ = true;
  bool reusable = parser_.head().keep_alive && ub_ == ue_ && !parser_.needs_eof() && !timed_out_;
  release(reusable);
  co_return CallError::none;
}

net::awaitable<CallError> UpstreamCall::read_all(std::string& out, std::uint64_t limit) {
  if (auto cl = parser_.head().content_length) out.reserve(out.size() + std::min(*cl, limit));
  while (!finished_) {
    CallError e = co_await read(out);
    if (e != CallError::none) co_return e;
    if (out.size() > limit) co_return fail(CallError::too_large);
  }
  co_return CallError::none;
}

}  // namespace sluice::gateway
