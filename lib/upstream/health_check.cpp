#include <utility>  // before Asio: Boost 1.74 uses std::exchange without including it

#include "sluice/upstream/health_check.hpp"

#include <regex>

#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>

#include "sluice/core/units.hpp"
#include "sluice/net/http_parser.hpp"
#include "sluice/net/stream.hpp"

namespace sluice::upstream {

namespace asio = net::asio;
using net::error_code;

HealthTracker::HealthTracker(std::size_t endpoints, std::uint32_t healthy_threshold,
                             std::uint32_t unhealthy_threshold)
    : healthy_threshold_(std::max<std::uint32_t>(1, healthy_threshold)),
      unhealthy_threshold_(std::max<std::uint32_t>(1, unhealthy_threshold)),
      eps_(endpoints) {}

bool HealthTracker::record(std::size_t i, CheckResult r,
                           std::chrono::system_clock::time_point wall) {
  Endpoint& e = eps_.at(i);
  e.checked = true;
  e.last_at = wall;
  bool changed = false;
  if (r.passed) {
    e.failures = 0;
    ++e.passes;
    if (!e.healthy && e.passes >= healthy_threshold_) changed = true;
  } else {
    e.passes = 0;
    ++e.failures;
    if (e.healthy && e.failures >= unhealthy_threshold_) changed = true;
  }
  e.last = std::move(r);
  if (changed) {
    e.healthy = !e.healthy;
    e.changed_at = wall;
    ++e.transitions;
  }
  return changed;
}

Duration next_check_delay(const config::HealthCheck& hc, bool had_traffic, Rng& rng) {
  Duration base = had_traffic ? hc.interval : std::max(hc.interval, hc.no_traffic_interval);
  double stretch = 1.0 + hc.jitter * rng.uniform();
  return Duration(static_cast<Duration::rep>(static_cast<double>(base.count()) * stretch));
}

std::string describe_statuses(const std::vector<std::pair<int, int>>& ranges) {
  std::string out;
  for (const auto& [lo, hi] : ranges) {
    if (!out.empty()) out += ", ";
    out += lo == hi ? fmt::format("{}", lo) : fmt::format("{}-{}", lo, hi);
  }
  return out;
}

net::awaitable<CheckResult> check_endpoint(const Endpoint& ep, const config::HealthCheck& hc,
                                           net::SslContext* tls) {
  auto ex = co_await asio::this_coro::executor;
  auto t0 = std::chrono::steady_clock::now();
  CheckResult res;
  bool timed_out = false;
  net::tcp::socket sock(ex);
  std::unique_ptr<net::Stream> stream;
  asio::steady_timer timer(ex);
  timer.expires_after(hc.timeout);
  // The timer closes whatever is in progress; each step below then fails with an error.
  timer.async_wait([&](const error_code& ec) {
    if (ec) return;
    timed_out = true;
    error_code ignored;
    if (stream)
      stream->close();
    else
      sock.close(ignored);
  });
  auto finish = [&](std::string error) {
    timer.cancel();
    res.latency = std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - t0);
    res.passed = error.empty();
    res.error = timed_out ? fmt::format("timed out after {}", format_duration(hc.timeout))
                          : std::move(error);
    if (timed_out) res.passed = false;
    return res;
  };
  error_code ec;
  co_await sock.async_connect(ep.address, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return finish(fmt::format("connect: {}", ec.message()));
  if (hc.kind == config::HealthCheck::Kind::tcp) {
    error_code ignored;
    sock.close(ignored);
    co_return finish({});
  }
  if (ep.tls && tls) {
    stream = std::make_unique<net::Stream>(std::move(sock), *tls);
    if (!ep.server_name.empty())
      SSL_set_tlsext_host_name(stream->tls()->native_handle(), ep.server_name.c_str());
    co_await stream->handshake(asio::ssl::stream_base::client, ec);
    if (ec) co_return finish(fmt::format("TLS handshake: {}", ec.message()));
  } else {
    stream = std::make_unique<net::Stream>(std::move(sock));
  }
  std::string host = hc.host.empty() ? ep.host_header : hc.host;
  std::string req = fmt::format(
      "{} {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: sluice-health-check\r\nAccept: */*\r\n"
      "Connection: close\r\n\r\n",
      hc.method, hc.path, host);
  co_await stream->write(asio::buffer(req), ec);
  if (ec) co_return finish(fmt::format("write: {}", ec.message()));

  constexpr std::size_t kMaxBody = 64 * 1024;
  net::HttpParser parser(net::HttpParser::Kind::response);
  parser.reset(64 * 1024, 0);
  if (hc.method == "HEAD") parser.skip_body();
  std::string body;
  std::vector<char> buf(16 * 1024);
  net::ParseError perr = net::ParseError::none;
  while (!parser.done()) {
    std::size_t n = co_await stream->read_some(asio::buffer(buf), ec);
    if (ec || n == 0) {
      if (parser.header_done()) parser.feed_eof(perr);
      if (parser.done()) break;
      co_return finish(parser.header_done()
                           ? "the body was cut short"
                           : fmt::format("read: {}", ec ? ec.message() : "closed"));
    }
    std::size_t off = 0;
    while (off < n && !parser.done()) {
      parser.body_pieces().clear();
      off += parser.feed(buf.data() + off, n - off, perr);
      for (auto p : parser.body_pieces())
        if (body.size() < kMaxBody) body.append(p.substr(0, kMaxBody - body.size()));
      if (perr != net::ParseError::none && perr != net::ParseError::need_more)
        co_return finish("malformed HTTP response");
      if (perr == net::ParseError::need_more) break;
    }
  }
  stream->close();
  res.status = parser.head().status;
  bool status_ok = false;
  for (const auto& [lo, hi] : hc.expected_statuses)
    if (res.status >= lo && res.status <= hi) status_ok = true;
  if (!status_ok)
    co_return finish(
        fmt::format("status {} not in {}", res.status, describe_statuses(hc.expected_statuses)));
  if (!hc.body_contains.empty() && body.find(hc.body_contains) == std::string::npos)
    co_return finish(fmt::format("body does not contain \"{}\"", hc.body_contains));
  if (!hc.body_regex.empty()) {
    std::regex re(hc.body_regex);  // validated at load
    if (!std::regex_search(body, re))
      co_return finish(fmt::format("body does not match /{}/", hc.body_regex));
  }
  co_return finish({});
}

}  // namespace sluice::upstream
