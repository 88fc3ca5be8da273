// A byte stream that is plain TCP or TLS over TCP, so the proxy has one code path for both.
#pragma once

#include <memory>
#include <optional>

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>

#include "sluice/net/asio.hpp"

namespace sluice::net {

// Something released when a Stream is destroyed: the gateway attaches its upstream connection
// slot (breaker.max_connections), so a connection holds it while in use and while pooled.
struct StreamToken {
  virtual ~StreamToken() = default;
};

class Stream {
 public:
  explicit Stream(tcp::socket sock) : sock_(std::move(sock)) {}
  // TLS over sock; the handshake is done by handshake().
  Stream(tcp::socket sock, asio::ssl::context& ctx)
      : tls_(std::make_unique<asio::ssl::stream<tcp::socket>>(std::move(sock), ctx)) {}

  bool is_tls() const { return tls_ != nullptr; }
  tcp::socket& socket() { return tls_ ? tls_->next_layer() : *sock_; }
  asio::ssl::stream<tcp::socket>* tls() { return tls_.get(); }

  // Not coroutines themselves: they hand back the socket's own awaitable, so a read or write
  // costs no extra coroutine frame.
  awaitable<std::size_t> read_some(asio::mutable_buffer buf, error_code& ec) {
    if (tls_) return tls_->async_read_some(buf, asio::redirect_error(asio::use_awaitable, ec));
    return sock_->async_read_some(buf, asio::redirect_error(asio::use_awaitable, ec));
  }

  // Writes every byte of the buffer sequence.
  template <class Buffers>
  awaitable<std::size_t> write(const Buffers& bufs, error_code& ec) {
    if (tls_) return asio::async_write(*tls_, bufs, asio::redirect_error(asio::use_awaitable, ec));
    return asio::async_write(*sock_, bufs, asio::redirect_error(asio::use_awaitable, ec));
  }

  awaitable<void> handshake(asio::ssl::stream_base::handshake_type type, error_code& ec) {
    if (tls_) co_await tls_->async_handshake(type, asio::redirect_error(asio::use_awaitable, ec));
  }

  // Closes at once; pending operations complete with operation_aborted.
  void close() {
    error_code ignored;
    socket().close(ignored);
  }
  // Half-close: the peer sees the end of our data before we close, so a final error response
  // is not lost to a reset.
  void shutdown_send() {
    error_code ignored;
    socket().shutdown(tcp::socket::shutdown_send, ignored);
  }
  bool is_open() { return socket().is_open(); }

  std::unique_ptr<StreamToken> token;

 private:
  std::optional<tcp::socket> sock_;
  std::unique_ptr<asio::ssl::stream<tcp::socket>> tls_;
};

// Non-blocking check that an idle connection was not closed by the peer meanwhile.
bool idle_connection_alive(tcp::socket& sock);

}  // namespace sluice::net
