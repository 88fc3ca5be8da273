#include "sluice/gateway/admin.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include "sluice/net/listen.hpp"

namespace sluice::gateway {

namespace asio = net::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using net::error_code;

Result<std::unique_ptr<AdminServer>> AdminServer::start(asio::io_context& io,
                                                        const net::tcp::endpoint& at,
                                                        AdminHandler handler) {
  auto acc = net::open_acceptor(io, at, net::ReusePort::no);
  if (!acc) return acc.error();
  std::unique_ptr<AdminServer> s(new AdminServer(std::move(*acc), std::move(handler)));
  asio::co_spawn(io, s->accept_loop(), asio::detached);
  return s;
}

net::tcp::endpoint AdminServer::bound() const {
  error_code ec;
  return acc_.local_endpoint(ec);
}

void AdminServer::stop() {
  error_code ec;
  acc_.close(ec);
}

net::awaitable<void> AdminServer::accept_loop() {
  for (;;) {
    error_code ec;
    auto sock = co_await acc_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (!acc_.is_open()) co_return;
      continue;
    }
    asio::co_spawn(acc_.get_executor(), serve(std::move(sock)), asio::detached);
  }
}

net::awaitable<void> AdminServer::serve(net::tcp::socket sock) {
  beast::tcp_stream stream(std::move(sock));
  beast::flat_buffer buf;
  for (;;) {
    http::request<http::string_body> req;
    http::request_parser<http::string_body> parser;
    parser.body_limit(64 * 1024);
    stream.expires_after(std::chrono::seconds(30));
    error_code ec;
    co_await http::async_read(stream, buf, parser, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
    req = parser.release();
    AdminResponse r = handler_(std::string(req.method_string()), std::string(req.target()));
    http::response<http::string_body> res{static_cast<http::status>(r.status), req.version()};
    res.set(http::field::content_type, r.content_type);
    res.set(http::field::cache_control, "no-store");
    res.keep_alive(req.keep_alive());
    res.body() = std::move(r.body);
    res.prepare_payload();
    co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
    if (ec || !res.keep_alive()) break;
  }
  error_code ignored;
  stream.socket().shutdown(net::tcp::socket::shutdown_both, ignored);
}

}  // namespace sluice::gateway
