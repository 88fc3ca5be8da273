// MockServer: an acceptor thread plus one thread per connection, all with blocking Beast I/O.
//
// Shutdown: stop() marks the server as stopping, shuts down the listening socket (which wakes a
// blocked accept on Linux) and every live connection socket (which wakes blocked reads and
// writes), then joins every thread. A connection thread closes its own socket, under the server
// mutex, so stop() never shuts down a descriptor number that has been reused.
#include <utility>  // before Asio: Boost 1.74 uses std::exchange without including it

#include "sluice/chaos/mock_server.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <limits>
#include <list>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>
#include <fmt/format.h>

#include "fault_exec.hpp"
#include "sluice/core/text.hpp"

namespace sluice::chaos {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

using text::iequals;

bool icontains_token(std::string_view value, std::string_view token) {
  // Comma-separated header values such as "keep-alive, Upgrade".
  std::size_t pos = 0;
  while (pos <= value.size()) {
    std::size_t comma = value.find(',', pos);
    if (comma == std::string_view::npos) comma = value.size();
    std::string_view item = value.substr(pos, comma - pos);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (iequals(item, token)) return true;
    pos = comma + 1;
  }
  return false;
}

std::string_view path_of(std::string_view target) {
  std::size_t q = target.find('?');
  return q == std::string_view::npos ? target : target.substr(0, q);
}

bool route_matches(const MockRoute& r, const MockRequest& req) {
  // A GET route also answers HEAD (the body is then left out).
  if (!r.method.empty() && r.method != req.method && !(r.method == "GET" && req.method == "HEAD"))
    return false;
  std::string_view path = path_of(req.target);
  if (!r.path.empty() && r.path.back() == '*') {
    std::string_view prefix(r.path.data(), r.path.size() - 1);
    return path.substr(0, prefix.size()) == prefix;
  }
  return path == r.path;
}

constexpr std::size_t kReadChunk = 64 * 1024;

}  // namespace

const std::string* RecordedRequest::note(std::string_view key) const {
  for (const auto& [k, v] : notes) {
    if (k == key) return &v;
  }
  return nullptr;
}

std::string MockRequest::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return v;
  }
  return {};
}

namespace {

struct MockConn {
  explicit MockConn(tcp::socket s) : sock(std::move(s)) {}
  tcp::socket sock;
  std::thread thread;
  std::atomic<bool> done{false};
  bool closed = false;  // guarded by ConnRegistry::mu
};

// The part of the server an exchange needs (MockServer::Impl itself is private).
struct ConnRegistry {
  std::mutex mu;
  std::condition_variable stop_cv;  // notified when stopping turns true
  bool stopping = false;
  // Sleeps for d unless the server stops first. False when stopping.
  bool sleep_unless_stopping(std::chrono::nanoseconds d) {
    std::unique_lock lk(mu);
    return !stop_cv.wait_for(lk, d, [this] { return stopping; });
  }
  bool is_stopping(const MockConn& c) {
    std::lock_guard lk(mu);
    return stopping || c.closed;
  }
  // Closes the connection's socket once. abortive: SO_LINGER 0 (RST).
  void close_conn(MockConn& c, bool abortive) {
    std::lock_guard lk(mu);
    if (c.closed) return;
    error_code ec;
    if (abortive) {
      c.sock.set_option(asio::socket_base::linger(true, 0), ec);
    } else {
      c.sock.shutdown(tcp::socket::shutdown_send, ec);
    }
    c.sock.close(ec);
    c.closed = true;
  }
};

// What an exchange gathers for its record while it runs.
struct Capture {
  std::string body;
  std::uint64_t body_bytes = 0;
  int status = 0;
  std::vector<std::string> faults;
  std::vector<std::pair<std::string, std::string>> notes;
};

// The recorded requests of one mock (see RecordedRequest for the bounds).
struct Recorder {
  mutable std::mutex mu;
  std::deque<RecordedRequest> records;
  std::size_t body_total = 0;  // bytes of body kept in records
  std::uint64_t next_seq = 0;
  std::uint64_t dropped = 0;
  std::string label;
  std::map<std::string, std::uint64_t> by_label;

  std::uint64_t arrive(const MockRequest& req) {
    std::lock_guard lk(mu);
    RecordedRequest r;
    r.seq = next_seq++;
    r.received = std::chrono::steady_clock::now();
    r.label = label;
    r.request = req;
    ++by_label[label];
    records.push_back(std::move(r));
    trim();
    return records.back().seq;
  }

  void complete(std::uint64_t seq, Capture&& c) {
    std::lock_guard lk(mu);
    if (records.empty() || seq < records.front().seq) return;  // dropped meanwhile
    auto idx = static_cast<std::size_t>(seq - records.front().seq);
    if (idx >= records.size()) return;
    RecordedRequest& r = records[idx];
    body_total += c.body.size();
    r.body = std::move(c.body);
    r.body_bytes = c.body_bytes;
    r.status = c.status;
    r.faults = std::move(c.faults);
    r.notes = std::move(c.notes);
    r.complete = true;
    trim();
  }

  void trim() {
    while (!records.empty() && (records.size() > kMaxRecorded || body_total > kMaxRecordedBodies)) {
      body_total -= records.front().body.size();
      records.pop_front();
      ++dropped;
    }
  }
};

}  // namespace

struct MockServer::Impl : ConnRegistry {
  std::string name;
  std::vector<MockRoute> routes;
  std::string host;
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::uint16_t port = 0;
  std::atomic<std::uint64_t> requests{0};
  mutable std::mutex faults_mu;
  std::shared_ptr<const FaultPlan> faults;  // guarded by faults_mu

  std::list<std::unique_ptr<MockConn>> conns;
  std::thread accept_thread;
  Recorder recorder;

  void accept_loop();
  void serve(MockConn& c);
  void handle(FaultableExchange& ex);
  void dispatch(MockExchange& ex);
};

namespace {

class ExchangeImpl final : public FaultableExchange {
 public:
  ExchangeImpl(ConnRegistry& server, MockConn& conn, beast::flat_buffer& buffer,
               http::request_parser<http::buffer_body>& parser)
      : server_(server), conn_(conn), buffer_(buffer), parser_(parser) {
    const auto& msg = parser_.get();
    req_.method = std::string(msg.method_string());
    req_.target = std::string(msg.target());
    req_.version = msg.version();
    for (const auto& field : msg) {
      req_.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    keep_alive_ = msg.keep_alive();
    head_ = req_.method == "HEAD";
    expect_continue_ = iequals(req_.header("expect"), "100-continue");
  }

  const MockRequest& request() const override { return req_; }

  std::int64_t read_body(const std::function<void(std::string_view)>& on_chunk) override {
    if (body_failed_) return -1;
    if (body_done_) return 0;
    body_started_ = true;
    if (!parser_.is_done() && expect_continue_ && !continue_sent_ && !began_) {
      continue_sent_ = true;
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      if (!send(asio::buffer(kContinue.data(), kContinue.size()))) {
        body_failed_ = true;
        return -1;
      }
    }
    std::int64_t total = 0;
    std::vector<char> chunk(kReadChunk);
    auto keep = [this](std::string_view piece) {
      capture_.body_bytes += piece.size();
      if (capture_.body.size() < kMaxRecordedBody)
        capture_.body.append(piece.substr(0, kMaxRecordedBody - capture_.body.size()));
    };
    while (!parser_.is_done()) {
      parser_.get().body().data = chunk.data();
      parser_.get().body().size = chunk.size();
      error_code ec;
      http::read(conn_.sock, buffer_, parser_, ec);
      if (ec == http::error::need_buffer) ec = {};
      if (ec) {
        body_failed_ = true;
        broken_ = true;
        return -1;
      }
      std::size_t n = chunk.size() - parser_.get().body().size;
      if (n > 0) {
        total += static_cast<std::int64_t>(n);
        keep(std::string_view(chunk.data(), n));
        if (on_chunk) on_chunk(std::string_view(chunk.data(), n));
      }
    }
    body_done_ = true;
    return total;
  }

  std::string body() override {
    std::string out;
    read_body([&](std::string_view piece) { out.append(piece); });
    return out;
  }

  void respond(int status, std::string_view body,
               const std::vector<std::pair<std::string, std::string>>& headers) override {
    if (began_) return;
    bool has_length = false;
    for (const auto& [k, v] : headers) {
      if (iequals(k, "content-length")) has_length = true;
    }
    std::string head = head_text(status, headers);
    capture_.status = status;
    if (!has_length && body_allowed(status))
      head += fmt::format("Content-Length: {}\r\n", body.size());
    head += "\r\n";
    began_ = true;
    ended_ = true;
    mode_ = Mode::length;
    if (head_ || !body_allowed(status) || body.empty()) {
      send(asio::buffer(head));
    } else {
      std::array<asio::const_buffer, 2> bufs{asio::buffer(head),
                                             asio::buffer(body.data(), body.size())};
      send(bufs);
    }
  }

  bool begin(int status, const std::vector<std::pair<std::string, std::string>>& headers,
             std::int64_t content_length) override {
    if (began_) return false;
    std::string head = head_text(status, headers);
    capture_.status = status;
    if (!body_allowed(status)) {
      mode_ = Mode::none;
    } else if (content_length >= 0) {
      mode_ = Mode::length;
      declared_ = content_length;
      head += fmt::format("Content-Length: {}\r\n", content_length);
    } else if (req_.version >= 11) {
      mode_ = Mode::chunked;
      head += "Transfer-Encoding: chunked\r\n";
    } else {
      // An HTTP/1.0 client: the body ends when the connection closes.
      mode_ = Mode::until_close;
      close_after_ = true;
      if (keep_alive_) head += "Connection: close\r\n";
    }
    head += "\r\n";
    began_ = true;
    return send(asio::buffer(head));
  }

  bool write(std::string_view data) override {
    if (!began_ || ended_) return false;
    if (broken_) return false;
    if (head_ || mode_ == Mode::none || data.empty()) return true;
    written_ += static_cast<std::int64_t>(data.size());
    if (mode_ == Mode::chunked) {
      std::string size_line = fmt::format("{:x}\r\n", data.size());
      std::array<asio::const_buffer, 3> bufs{
          asio::buffer(size_line), asio::buffer(data.data(), data.size()), asio::buffer("\r\n", 2)};
      return send(bufs);
    }
    return send(asio::buffer(data.data(), data.size()));
  }

  bool end() override {
    if (!began_) return false;
    if (ended_) return !broken_;
    ended_ = true;
    if (head_) return !broken_;
    if (mode_ == Mode::chunked) {
      static constexpr std::string_view kLast = "0\r\n\r\n";
      return send(asio::buffer(kLast.data(), kLast.size()));
    }
    if (mode_ == Mode::length && written_ != declared_) {
      // The body is shorter (or longer) than announced: the connection cannot be reused.
      close_after_ = true;
    }
    return !broken_;
  }

  void reset() override {
    broken_ = true;
    began_ = true;
    ended_ = true;
    server_.close_conn(conn_, /*abortive=*/true);
  }

  bool pause(Duration d) override { return server_.sleep_unless_stopping(d); }

  void fired(std::string_view fault_name) override { capture_.faults.emplace_back(fault_name); }
  void note(std::string_view key, std::string value) override {
    for (auto& [k, v] : capture_.notes) {
      if (k == key) {
        v = std::move(value);
        return;
      }
    }
    capture_.notes.emplace_back(std::string(key), std::move(value));
  }

  // What the record of this exchange needs; taken once the exchange is over.
  Capture take_capture() { return std::move(capture_); }

  void hang() override {
    broken_ = true;
    began_ = true;
    ended_ = true;
    // stop() shuts the socket down, which wakes poll; the timeout only bounds the flag check.
    const int fd = conn_.sock.native_handle();
    std::array<char, 4096> sink;
    while (!server_.is_stopping(conn_)) {
      pollfd p{fd, POLLIN | POLLRDHUP, 0};
      int r = ::poll(&p, 1, 100);
      if (r < 0 && errno != EINTR) return;
      if (r <= 0) continue;
      if ((p.revents & (POLLHUP | POLLERR | POLLNVAL | POLLRDHUP)) != 0) return;
      ssize_t n = ::recv(fd, sink.data(), sink.size(), MSG_DONTWAIT);
      if (n == 0) return;
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return;
    }
  }

  void close() override {
    // Unread request bytes would turn the close into an RST. Skipped when the client still waits
    // for "100 Continue", as that interim response would be a byte of answer.
    if (!broken_ && !body_done_ && (!expect_continue_ || continue_sent_)) read_body(nullptr);
    broken_ = true;
    began_ = true;
    ended_ = true;
    server_.close_conn(conn_, /*abortive=*/false);
  }

  // Completes the exchange after the handler returned. True when the connection may serve the
  // next request.
  bool finish() {
    if (broken_) return false;
    if (!began_) {
      respond(500, "mock handler did not respond\n", {{"content-type", "text/plain"}});
    } else if (!ended_) {
      end();
    }
    if (broken_) return false;
    if (!body_done_) {
      // A client waiting for "100 Continue" that never came will not send the body: close.
      if (expect_continue_ && !continue_sent_ && !body_started_) return false;
      if (read_body(nullptr) < 0) return false;
    }
    return keep_alive_ && !close_after_;
  }

 private:
  enum class Mode { none, length, chunked, until_close };

  static bool body_allowed(int status) { return !(status < 200 || status == 204 || status == 304); }

  std::string head_text(int status,
                        const std::vector<std::pair<std::string, std::string>>& headers) {
    auto reason_bsv = http::obsolete_reason(static_cast<http::status>(status));
    std::string_view reason(reason_bsv.data(), reason_bsv.size());
    if (reason == "<unknown-status>") reason = "Status";
    std::string head = fmt::format("HTTP/1.1 {} {}\r\n", status, reason);
    bool has_connection = false;
    for (const auto& [k, v] : headers) {
      head += k;
      head += ": ";
      head += v;
      head += "\r\n";
      if (iequals(k, "connection")) {
        has_connection = true;
        if (icontains_token(v, "close")) close_after_ = true;
      }
    }
    if (!has_connection) {
      if (!keep_alive_) {
        head += "Connection: close\r\n";
      } else if (req_.version < 11) {
        head += "Connection: keep-alive\r\n";
      }
    }
    return head;
  }

  template <class Buffers>
  bool send(const Buffers& buffers) {
    if (broken_) return false;
    error_code ec;
    asio::write(conn_.sock, buffers, ec);
    if (ec) {
      broken_ = true;
      return false;
    }
    return true;
  }

  ConnRegistry& server_;
  MockConn& conn_;
  beast::flat_buffer& buffer_;
  http::request_parser<http::buffer_body>& parser_;
  MockRequest req_;
  bool keep_alive_ = true;
  bool head_ = false;
  bool expect_continue_ = false;
  bool continue_sent_ = false;
  bool body_started_ = false;
  bool body_done_ = false;
  bool body_failed_ = false;
  bool began_ = false;
  bool ended_ = false;
  bool broken_ = false;
  bool close_after_ = false;
  Mode mode_ = Mode::none;
  Capture capture_;
  std::int64_t declared_ = 0;
  std::int64_t written_ = 0;
};

}  // namespace

void MockServer::Impl::accept_loop() {
  for (;;) {
    tcp::socket sock(ioc);
    error_code ec;
    acceptor.accept(sock, ec);
    std::unique_lock lk(mu);
    if (stopping) {
      sock.close(ec);
      return;
    }
    if (ec) {
      // EMFILE and the like: back off briefly rather than spin.
      lk.unlock();
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    // Reap connections whose threads have finished.
    for (auto it = conns.begin(); it != conns.end();) {
      if ((*it)->done.load()) {
        if ((*it)->thread.joinable()) (*it)->thread.join();
        it = conns.erase(it);
      } else {
        ++it;
      }
    }
    sock.set_option(tcp::no_delay(true), ec);
    auto conn = std::make_unique<MockConn>(std::move(sock));
    MockConn* c = conn.get();
    conns.push_back(std::move(conn));
    c->thread = std::thread([this, c] {
      serve(*c);
      c->done.store(true);
    });
  }
}

void MockServer::Impl::serve(MockConn& c) {
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::buffer_body> parser;
    parser.header_limit(1024 * 1024);
    // Unlimited. Not boost::none: Boost 1.74 compares the length against the optional itself, and
    // an empty optional is smaller than any length.
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    error_code ec;
    http::read_header(c.sock, buffer, parser, ec);
    if (ec) {
      if (ec != http::error::end_of_stream && ec != asio::error::eof &&
          ec != asio::error::connection_reset && ec != asio::error::bad_descriptor &&
          ec != asio::error::operation_aborted) {
        // A malformed request head.
        static constexpr std::string_view kBad =
            "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        error_code wec;
        asio::write(c.sock, asio::buffer(kBad.data(), kBad.size()), wec);
      }
      break;
    }
    requests.fetch_add(1);
    ExchangeImpl ex(*this, c, buffer, parser);
    const std::uint64_t seq = recorder.arrive(ex.request());
    handle(ex);
    const bool again = ex.finish();
    recorder.complete(seq, ex.take_capture());
    if (!again) break;
  }
  close_conn(c, false);
}

void MockServer::Impl::handle(FaultableExchange& ex) {
  std::shared_ptr<const FaultPlan> plan;
  {
    std::lock_guard lk(faults_mu);
    plan = faults;
  }
  if (!plan || plan->empty()) {
    dispatch(ex);
    return;
  }
  const StatusFaultReplier* replier = nullptr;
  for (const auto& route : routes) {
    if (!route_matches(route, ex.request())) continue;
    if (route.status_reply) replier = &route.status_reply;
    break;
  }
  run_with_faults(
      ex, *plan, [this](MockExchange& e) { dispatch(e); }, replier);
}

void MockServer::Impl::dispatch(MockExchange& ex) {
  for (const auto& route : routes) {
    if (!route_matches(route, ex.request())) continue;
    try {
      route.handler(ex);
    } catch (const std::exception& e) {
      ex.respond(500, fmt::format("mock handler threw: {}\n", e.what()),
                 {{"content-type", "text/plain"}});
    }
    return;
  }
  ex.respond(404, fmt::format("{{\"upstream\":\"{}\",\"error\":\"no mock route\"}}", name),
             {{"content-type", "application/json"}});
}

MockServer::MockServer(std::string name, std::vector<MockRoute> routes, std::uint16_t port,
                       std::string host)
    : impl_(std::make_unique<Impl>()) {
  impl_->name = std::move(name);
  impl_->routes = routes.empty() ? demo_routes(impl_->name) : std::move(routes);
  impl_->host = std::move(host);
  tcp::endpoint ep(asio::ip::make_address(impl_->host), port);
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.set_option(asio::socket_base::reuse_address(true));
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen(asio::socket_base::max_listen_connections);
  impl_->port = impl_->acceptor.local_endpoint().port();
  impl_->accept_thread = std::thread([impl = impl_.get()] { impl->accept_loop(); });
}

MockServer::~MockServer() {
  stop();
}

std::uint16_t MockServer::port() const {
  return impl_->port;
}

std::string MockServer::address() const {
  return fmt::format("{}:{}", impl_->host, impl_->port);
}

const std::string& MockServer::name() const {
  return impl_->name;
}

std::uint64_t MockServer::requests() const {
  return impl_->requests.load();
}

void MockServer::stop() {
  {
    std::lock_guard lk(impl_->mu);
    if (!impl_->stopping) {
      impl_->stopping = true;
      if (impl_->acceptor.is_open()) ::shutdown(impl_->acceptor.native_handle(), SHUT_RDWR);
    }
    impl_->stop_cv.notify_all();
    for (auto& c : impl_->conns) {
      if (!c->closed) ::shutdown(c->sock.native_handle(), SHUT_RDWR);
    }
  }
  if (impl_->accept_thread.joinable()) impl_->accept_thread.join();
  error_code ec;
  impl_->acceptor.close(ec);
  // The acceptor thread is gone, so the list no longer changes.
  for (auto& c : impl_->conns) {
    if (c->thread.joinable()) c->thread.join();
  }
  impl_->conns.clear();
}

void MockServer::set_faults(std::shared_ptr<const FaultPlan> plan) {
  std::lock_guard lk(impl_->faults_mu);
  impl_->faults = std::move(plan);
}

std::shared_ptr<const FaultPlan> MockServer::faults() const {
  std::lock_guard lk(impl_->faults_mu);
  return impl_->faults;
}

void MockServer::set_label(std::string label) {
  std::lock_guard lk(impl_->recorder.mu);
  impl_->recorder.label = std::move(label);
}

std::vector<RecordedRequest> MockServer::recorded() const {
  std::lock_guard lk(impl_->recorder.mu);
  return {impl_->recorder.records.begin(), impl_->recorder.records.end()};
}

std::uint64_t MockServer::recorded_dropped() const {
  std::lock_guard lk(impl_->recorder.mu);
  return impl_->recorder.dropped;
}

std::map<std::string, std::uint64_t> MockServer::label_counts() const {
  std::lock_guard lk(impl_->recorder.mu);
  return impl_->recorder.by_label;
}

void MockServer::clear_recorded() {
  std::lock_guard lk(impl_->recorder.mu);
  impl_->recorder.dropped += impl_->recorder.records.size();
  impl_->recorder.records.clear();
  impl_->recorder.body_total = 0;
}

FaultCounters MockServer::counters() const {
  FaultCounters c;
  if (auto plan = faults()) c = plan->counters();
  c.requests = impl_->requests.load();
  return c;
}

}  // namespace sluice::chaos
