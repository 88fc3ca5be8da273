// Routes answered by a handler (LLM routes): the session reads the request body for it and
// writes what it answers, whole or as a chunked stream. Upstream calls are the handler's
// (UpstreamCall); the session's own deadline guards only the client side.
#include <utility>  // before Asio: Boost 1.74 uses std::exchange without including it

#include <cstring>

#include <fmt/format.h>

#include "session_exchange.hpp"
#include "sluice/gateway/access_log.hpp"
#include "sluice/gateway/forward.hpp"
#include "sluice/gateway/worker.hpp"

namespace sluice::gateway {

namespace asio = net::asio;
using net::error_code;
using net::ParseError;

class HandlerAdapter final : public HandlerIo {
 public:
  explicit HandlerAdapter(Session& s) : s_(s), x_(*s.x_) {
    std::string_view t = x_.target;
    auto q = t.find('?');
    if (q != std::string_view::npos) query_ = t.substr(q + 1);
    pin_head(s.req_.head());
  }

  const net::MessageHead& head() const override { return head_; }
  std::string_view path() const override { return x_.path; }
  std::string_view query() const override { return query_; }
  const std::string& request_id() const override { return x_.request_id; }
  const Runtime& runtime() const override { return *x_.rt; }
  Worker& worker() override { return s_.w_; }

  net::awaitable<bool> read_body(std::string& out) override {
    out.clear();
    const auto& server = x_.rt->config().server;
    // 64 bytes of slack past the body for parsers that read ahead (simdjson's padding).
    if (auto cl = head().content_length)
      out.reserve(std::min<std::uint64_t>(*cl, server.max_body_bytes) + 64);
    for (auto p : s_.req_.body_pieces()) out.append(p.data(), p.size());
    s_.req_.body_pieces().clear();
    if (x_.expect_continue && !s_.req_.done()) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      error_code ec;
      co_await s_.client_.write(asio::buffer(kContinue), ec);
      if (ec) co_return gone();
    }
    if (auto cl = head().content_length; cl && !s_.req_.done() && s_.begin_ == s_.end_) {
      // A sized body: read straight into out, in reads as large as the kernel gives, and let
      // the parser count the bytes (its pieces are views of out and need no copy).
      // (A length over server.max_body_bytes was answered 413 before the handler ran.)
      const std::size_t total = *cl;
      std::size_t have = out.size();
      out.resize(total);
      s_.begin_ = s_.end_ = 0;
      while (!s_.req_.done() && have < total) {
        s_.set_deadline(server.idle_timeout);
        error_code ec;
        std::size_t n =
            co_await s_.client_.read_some(asio::buffer(out.data() + have, total - have), ec);
        if (ec || n == 0) co_return gone();
        x_.bytes_in += n;
        ParseError perr = ParseError::none;
        std::size_t used = s_.req_.feed(out.data() + have, n, perr);
        s_.req_.body_pieces().clear();
        have += n;
        if ((perr != ParseError::none && perr != ParseError::need_more) || used != n) {
          x_.keep_alive = false;
          GatewayError e{400, "bad_request", "malformed request body"};
          co_await s_.send_error(e);
          co_return false;
        }
      }
      out.resize(have);
    }
    auto& buf = s_.buf_;
    if (buf.size() < 16 * 1024) buf.resize(16 * 1024);
    while (!s_.req_.done()) {
      // Everything before begin_ is consumed: the rest is an incomplete chunk header.
      if (s_.begin_ == s_.end_) {
        s_.begin_ = s_.end_ = 0;
      } else if (s_.end_ == buf.size()) {
        std::memmove(buf.data(), buf.data() + s_.begin_, s_.end_ - s_.begin_);
        s_.end_ -= s_.begin_;
        s_.begin_ = 0;
      }
      s_.set_deadline(server.idle_timeout);
      error_code ec;
      std::size_t n = co_await s_.client_.read_some(
          asio::buffer(buf.data() + s_.end_, buf.size() - s_.end_), ec);
      if (ec || n == 0) co_return gone();
      s_.end_ += n;
      x_.bytes_in += n;
      ParseError perr = ParseError::none;
      s_.begin_ += s_.req_.feed(buf.data() + s_.begin_, s_.end_ - s_.begin_, perr);
      for (auto p : s_.req_.body_pieces()) out.append(p.data(), p.size());
      s_.req_.body_pieces().clear();
      if (perr == ParseError::body_too_large) {
        x_.keep_alive = false;
        GatewayError e{413, "request_body_too_large",
                       fmt::format("request body exceeds server.max_body_bytes ({} bytes)",
                                   server.max_body_bytes)};
        co_await s_.send_error(e);
        co_return false;
      }
      if (perr != ParseError::none && perr != ParseError::need_more) {
        x_.keep_alive = false;
        GatewayError e{400, "bad_request", "malformed request body"};
        co_await s_.send_error(e);
        co_return false;
      }
    }
    x_.request_done = true;
    s_.deadline_ = TimePoint::max();  // upstream waits are bounded by the handler's calls
    co_return true;
  }

  net::awaitable<bool> respond(int status, const std::vector<Header>& headers,
                               std::string_view body) override {
    write_head(status, headers, fmt::format("content-length: {}\r\n", body.size()));
    std::array<asio::const_buffer, 2> bufs{asio::buffer(s_.head_out_),
                                           asio::buffer(body.data(), body.size())};
    if (x_.head_request) bufs[1] = asio::const_buffer();
    co_return co_await write(bufs);
  }

  net::awaitable<bool> respond_error(const GatewayError& e) override {
    co_await s_.send_error(e);
    co_return s_.client_.is_open();
  }

  net::awaitable<bool> begin_stream(int status, const std::vector<Header>& headers) override {
    // An HTTP/1.0 client cannot take chunks: the body ends when the connection closes.
    chunked_ = !x_.http10;
    if (!chunked_) x_.keep_alive = false;
    write_head(status, headers, chunked_ ? "transfer-encoding: chunked\r\n" : "");
    std::array<asio::const_buffer, 1> bufs{asio::buffer(s_.head_out_)};
    co_return co_await write(bufs);
  }

  net::awaitable<bool> write_chunk(std::string_view data) override {
    if (data.empty()) co_return s_.client_.is_open();
    if (!chunked_) {
      std::array<asio::const_buffer, 1> bufs{asio::buffer(data.data(), data.size())};
      co_return co_await write(bufs);
    }
    char size_line[24];
    auto end = fmt::format_to(size_line, "{:x}\r\n", data.size());
    std::array<asio::const_buffer, 3> bufs{
        asio::buffer(size_line, static_cast<std::size_t>(end - size_line)),
        asio::buffer(data.data(), data.size()), asio::buffer("\r\n", 2)};
    co_return co_await write(bufs);
  }

  net::awaitable<bool> end_stream() override {
    if (!chunked_) {
      s_.client_.shutdown_send();
      x_.keep_alive = false;
      co_return true;
    }
    std::array<asio::const_buffer, 1> bufs{asio::buffer("0\r\n\r\n", 5)};
    co_return co_await write(bufs);
  }

  void abort_stream() override {
    // Without the final chunk the client sees an incomplete response, never a clean end.
    x_.keep_alive = false;
    s_.client_.close();
  }

  void note_upstream(std::string_view cluster, std::string_view endpoint, int attempts,
                     double ttfb_ms) override {
    x_.handler_cluster.assign(cluster);
    x_.handler_endpoint.assign(endpoint);
    x_.attempts = static_cast<std::size_t>(attempts);
    x_.ttfb_ms = ttfb_ms;
  }

  void note_error(std::string_view kind) override { x_.error = kind; }

  bool logging() const override { return s_.w_.access_log().enabled(); }

  void log_fields(nlohmann::json fields) override {
    if (!fields.is_object()) return;
    x_.log_extra.clear();
    for (auto it = fields.begin(); it != fields.end(); ++it) {
      if (!x_.log_extra.empty()) x_.log_extra += ',';
      x_.log_extra += '"';
      append_json_escaped(x_.log_extra, it.key());
      x_.log_extra += "\":";
      x_.log_extra += it.value().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
  }

 private:
  bool gone() {
    x_.error = "downstream_reset";
    x_.keep_alive = false;
    x_.response_started = true;  // nobody to answer
    s_.client_.close();
    return false;
  }

  void write_head(int status, const std::vector<Header>& headers, std::string_view framing) {
    bool close = !x_.keep_alive || !x_.request_done || s_.closing_;
    if (close) x_.keep_alive = false;
    auto& out = s_.head_out_;
    out.clear();
    auto it = std::back_inserter(out);
    fmt::format_to(it, "HTTP/1.1 {} {}\r\n", status, reason_phrase(status));
    for (const auto& h : headers) fmt::format_to(it, "{}: {}\r\n", h.name, h.value);
    fmt::format_to(it, "{}x-request-id: {}\r\n{}\r\n", framing, x_.request_id,
                   close ? "connection: close\r\n" : "");
    x_.status = status;
    x_.response_started = true;
  }

  template <class Buffers>
  net::awaitable<bool> write(const Buffers& bufs) {
    if (!s_.client_.is_open()) co_return false;
    s_.set_deadline(x_.rt->config().server.idle_timeout);
    error_code ec;
    co_await s_.client_.write(bufs, ec);
    s_.deadline_ = TimePoint::max();
    if (ec) co_return gone();
    x_.bytes_out += asio::buffer_size(bufs);
    co_return true;
  }

  // The parsed head's views point into the session's read buffer, which read_body reuses (and
  // may reallocate) for the body: the handler gets a copy that owns its bytes.
  void pin_head(const net::MessageHead& h) {
    std::size_t n = h.method.size() + h.target.size() + h.reason.size();
    for (const auto& f : h.fields) n += f.name.size() + f.value.size();
    head_bytes_.reserve(n);
    auto keep = [this](std::string_view v) {
      std::size_t at = head_bytes_.size();
      head_bytes_.append(v);
      return at;
    };
    head_ = h;
    // Offsets first: views are taken once every byte is in place (no reallocation after).
    std::vector<std::pair<std::size_t, std::size_t>> at;
    at.reserve(3 + 2 * h.fields.size());
    for (std::string_view v : {h.method, h.target, h.reason}) at.emplace_back(keep(v), v.size());
    for (const auto& f : h.fields) {
      at.emplace_back(keep(f.name), f.name.size());
      at.emplace_back(keep(f.value), f.value.size());
    }
    auto view = [&](std::size_t i) {
      return std::string_view(head_bytes_).substr(at[i].first, at[i].second);
    };
    head_.method = view(0);
    head_.target = view(1);
    head_.reason = view(2);
    for (std::size_t i = 0; i < head_.fields.size(); ++i) {
      head_.fields[i].name = view(3 + 2 * i);
      head_.fields[i].value = view(4 + 2 * i);
    }
  }

  Session& s_;
  Session::Exchange& x_;
  std::string head_bytes_;
  net::MessageHead head_;
  std::string_view query_;
  bool chunked_ = true;
};

net::awaitable<void> Session::run_handler() {
  auto& x = *x_;
  // Consumed by the handler's read_body; a handler that answers without reading it (an error)
  // leaves the body unread, so the connection cannot be reused.
  phase_ = Phase::response;
  deadline_ = TimePoint::max();
  HandlerAdapter io(*this);
  std::shared_ptr<const RouteHandler> handler = x.route->handler;
  co_await handler->handle(io);
  if (!req_.done()) x.keep_alive = false;
  if (!x.response_started && client_.is_open()) {
    GatewayError e{500, "internal_error", "the route's handler gave no answer"};
    co_await send_error(e);
  }
}

}  // namespace sluice::gateway
