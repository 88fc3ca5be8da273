// The runner's HTTP client and traffic generators (see load_client.hpp).
#include "sluice/net/asio.hpp"
#include "load_client.hpp"

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <limits>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

namespace sluice::chaos::detail {

namespace beast = boost::beast;
namespace http = beast::http;
using net::error_code;
using net::asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

std::string describe(const error_code& ec) {
  if (ec == beast::error::timeout) return "timeout";
  if (ec == net::asio::error::connection_refused) return "connection refused";
  if (ec == net::asio::error::connection_reset) return "connection reset";
  if (ec == http::error::end_of_stream || ec == net::asio::error::eof) return "connection closed";
  return ec.message();
}

}  // namespace

struct HttpClient::Impl {
  std::string address;
  net::asio::ip::address host;
  std::uint16_t port = 0;
  std::string bad_address;  // set when address does not parse
  std::chrono::milliseconds timeout;
  net::asio::io_context ioc;
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;
  bool connected = false;

  // Runs one async operation to completion on this thread; the stream's expiry bounds it.
  template <class Start>
  error_code run(Start&& start) {
    error_code result = net::asio::error::would_block;
    start([&result](error_code ec, auto&&...) { result = ec; });
    ioc.restart();
    ioc.run();
    return result;
  }
};

HttpClient::HttpClient(std::string address, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()) {
  impl_->address = std::move(address);
  impl_->timeout = timeout;
  auto colon = impl_->address.rfind(':');
  error_code ec;
  if (colon != std::string::npos) {
    std::string h = impl_->address.substr(0, colon);
    if (h.size() > 1 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
    impl_->host = net::asio::ip::make_address(h, ec);
    int p = std::atoi(impl_->address.c_str() + colon + 1);
    if (p <= 0 || p > 65535) ec = net::asio::error::invalid_argument;
    impl_->port = static_cast<std::uint16_t>(p);
  }
  if (colon == std::string::npos || ec)
    impl_->bad_address = "not a numeric host:port: \"" + impl_->address + "\"";
}

HttpClient::~HttpClient() {
  close();
}

void HttpClient::close() {
  auto& s = *impl_;
  // Also after a failed connect, whose socket is open but unusable.
  error_code ec;
  if (s.connected) s.stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  if (s.stream.socket().is_open()) s.stream.close();
  s.buffer.clear();
  s.connected = false;
}

RequestOutcome HttpClient::send(const RequestTemplate& request) {
  auto& s = *impl_;
  auto t0 = Clock::now();
  RequestOutcome out;
  auto fail = [&](std::string_view step, const error_code& ec) {
    close();
    out.status = 0;
    out.error = std::string(step) + ": " + describe(ec);
    out.latency_ms = ms_since(t0);
    return out;
  };
  if (!s.bad_address.empty()) {
    out.error = s.bad_address;
    return out;
  }
  if (!s.connected) {
    s.stream.expires_after(s.timeout);
    tcp::endpoint ep(s.host, s.port);
    auto ec = s.run([&](auto handler) { s.stream.async_connect(ep, handler); });
    if (ec) return fail("connect", ec);
    error_code ignored;
    s.stream.socket().set_option(tcp::no_delay(true), ignored);
    s.buffer.clear();
    s.connected = true;
  }

  http::request<http::string_body> req;
  auto verb = http::string_to_verb(request.method);
  if (verb == http::verb::unknown)
    req.method_string(request.method);
  else
    req.method(verb);
  req.target(request.path);
  req.version(11);
  req.set(http::field::host, s.address);
  for (const auto& [name, value] : request.headers) req.set(name, value);
  req.body() = request.body;
  req.prepare_payload();

  s.stream.expires_after(s.timeout);
  auto ec = s.run([&](auto handler) { http::async_write(s.stream, req, handler); });
  if (ec) return fail("write", ec);

  http::response_parser<http::string_body> parser;
  // Boost 1.74: body_limit(boost::none) rejects every body; the largest limit means none.
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  if (verb == http::verb::head) parser.skip(true);
  ec = s.run([&](auto handler) { http::async_read(s.stream, s.buffer, parser, handler); });
  if (ec) return fail("read", ec);

  auto& res = parser.get();
  out.status = static_cast<int>(res.result_int());
  out.body = std::move(res.body());
  out.latency_ms = ms_since(t0);
  if (!res.keep_alive()) close();
  return out;
}

double StatsSink::since_start_ms(std::chrono::steady_clock::time_point t) const {
  return std::chrono::duration<double, std::milli>(t - start_).count();
}

void StatsSink::record(const RequestOutcome& o, std::chrono::steady_clock::time_point sent) {
  std::lock_guard lk(mu_);
  stats_.samples.push_back({since_start_ms(sent), o.latency_ms, o.status});
  ++stats_.requests;
  if (o.status == 0) {
    ++stats_.transport_errors;
    ++stats_.transport_error_causes[o.error.empty() ? "unknown" : o.error];
  } else {
    ++stats_.by_status[o.status];
    stats_.latencies_ms.push_back(o.latency_ms);
  }
}

void StatsSink::record_overload(std::chrono::steady_clock::time_point due) {
  std::lock_guard lk(mu_);
  stats_.samples.push_back({since_start_ms(due), 0.0, 0});
  ++stats_.requests;
  ++stats_.transport_errors;
  ++stats_.transport_error_causes["overload"];
}

ClientStats StatsSink::take() {
  std::lock_guard lk(mu_);
  return std::move(stats_);
}

namespace {

// Open model: a scheduler issues requests at fixed intervals onto a pool of workers, each with its
// own keep-alive connection. A request due while every worker is busy is not sent; it counts as a
// transport error ("overload"), so a slow target cannot slow the offered load down.
ClientStats run_open(const Phase& phase, const std::string& address, Clock::time_point start,
                     Clock::time_point end, const std::atomic<bool>& stop) {
  const double rate = *phase.rate;
  const auto workers = static_cast<std::size_t>(std::clamp(std::ceil(rate) + 4.0, 8.0, 256.0));
  StatsSink sink(start);
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::size_t> jobs;
  std::size_t idle = workers;
  bool done = false;

  std::vector<std::thread> pool;
  pool.reserve(workers);
  for (std::size_t w = 0; w < workers; ++w) {
    pool.emplace_back([&] {
      HttpClient client(address);
      std::unique_lock lk(mu);
      for (;;) {
        cv.wait(lk, [&] { return done || !jobs.empty(); });
        if (jobs.empty()) break;
        std::size_t idx = jobs.front();
        jobs.pop_front();
        lk.unlock();
        auto sent = Clock::now();
        auto outcome = client.send(phase.requests[idx]);
        sink.record(outcome, sent);
        lk.lock();
        ++idle;
      }
    });
  }

  const std::chrono::duration<double> interval(1.0 / rate);
  const std::size_t n = phase.requests.size();
  for (std::uint64_t i = 0;; ++i) {
    auto due =
        start + std::chrono::duration_cast<Clock::duration>(interval * static_cast<double>(i));
    if (due >= end || stop.load()) break;
    std::this_thread::sleep_until(due);
    std::lock_guard lk(mu);
    if (idle == 0) {
      sink.record_overload(due);
    } else {
      --idle;
      jobs.push_back(static_cast<std::size_t>(i % n));
      cv.notify_one();
    }
  }
  {
    std::lock_guard lk(mu);
    done = true;
  }
  cv.notify_all();
  for (auto& t : pool) t.join();
  return sink.take();
}

// Closed loop: each client sends its next request when the last one is answered.
ClientStats run_closed(const Phase& phase, const std::string& address, Clock::time_point start,
                       Clock::time_point end, const std::atomic<bool>& stop) {
  const std::size_t clients = std::min<std::size_t>(*phase.concurrency, 1024);
  StatsSink sink(start);
  std::atomic<std::uint64_t> next{0};
  const std::size_t n = phase.requests.size();
  std::vector<std::thread> pool;
  pool.reserve(clients);
  for (std::size_t c = 0; c < clients; ++c) {
    pool.emplace_back([&] {
      HttpClient client(address);
      while (Clock::now() < end && !stop.load()) {
        auto idx = static_cast<std::size_t>(next.fetch_add(1) % n);
        auto sent = Clock::now();
        auto outcome = client.send(phase.requests[idx]);
        bool failed = !outcome.error.empty();
        sink.record(outcome, sent);
        // A refused or broken target must not turn a client into a busy loop of failures.
        if (failed) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    });
  }
  for (auto& t : pool) t.join();
  return sink.take();
}

}  // namespace

ClientStats run_traffic(const Phase& phase, const std::string& address, Clock::time_point start,
                        Clock::time_point end, const std::atomic<bool>& stop) {
  if (phase.requests.empty()) return {};
  if (phase.rate && *phase.rate > 0) return run_open(phase, address, start, end, stop);
  if (phase.concurrency && *phase.concurrency > 0)
    return run_closed(phase, address, start, end, stop);
  return {};
}

}  // namespace sluice::chaos::detail
