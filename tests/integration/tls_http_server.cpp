// TlsHttpServer: a ThreadPerConnectionServer whose connection threads each run a blocking OpenSSL
// handshake and then a keep-alive HTTP/1.1 loop. The server owns accepting, closing and stop()
// (see sluice/chaos/thread_server.hpp).
#include "tls_http_server.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <csignal>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <utility>

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "sluice/chaos/thread_server.hpp"

namespace sluice::test {

namespace {

constexpr std::size_t kMaxHead = 64 * 1024;
// Bounds a silent or stuck client (handshake, idle keep-alive, unread response).
constexpr int kSocketTimeoutSeconds = 30;

std::string ssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

std::string_view reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Status";
  }
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool has_token(std::string_view value, std::string_view token) {
  std::size_t pos = 0;
  while (pos <= value.size()) {
    std::size_t comma = value.find(',', pos);
    if (comma == std::string_view::npos) comma = value.size();
    if (iequals(trim(value.substr(pos, comma - pos)), token)) return true;
    pos = comma + 1;
  }
  return false;
}

struct RequestHead {
  std::string method;
  bool keep_alive = true;
  bool chunked = false;
  std::uint64_t content_length = 0;
};

// False when the head is malformed.
bool parse_head(std::string_view head, RequestHead& out) {
  std::size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  const std::size_t sp1 = line.find(' ');
  const std::size_t sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1) return false;
  out.method = std::string(line.substr(0, sp1));
  const std::string_view version = line.substr(sp2 + 1);
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return false;
  out.keep_alive = version == "HTTP/1.1";
  while (eol != std::string_view::npos) {
    head.remove_prefix(eol + 2);
    eol = head.find("\r\n");
    line = head.substr(0, eol);
    if (line.empty()) continue;
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) return false;
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = trim(line.substr(colon + 1));
    if (iequals(name, "connection")) {
      if (has_token(value, "close")) out.keep_alive = false;
      if (has_token(value, "keep-alive")) out.keep_alive = true;
    } else if (iequals(name, "content-length")) {
      std::uint64_t n = 0;
      if (value.empty() || value.size() > 18) return false;
      for (char c : value) {
        if (c < '0' || c > '9') return false;
        n = n * 10 + static_cast<std::uint64_t>(c - '0');
      }
      out.content_length = n;
    } else if (iequals(name, "transfer-encoding")) {
      out.chunked = true;
    }
  }
  return true;
}

bool write_all(SSL* ssl, std::string_view data) {
  while (!data.empty()) {
    ERR_clear_error();
    const int n = SSL_write(ssl, data.data(), static_cast<int>(data.size()));
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace

struct TlsHttpServer::Impl {
  SSL_CTX* ctx = nullptr;
  int status = 200;
  std::string body;
  std::atomic<std::uint64_t> requests{0};
  // Made once ctx is ready; stopped before ctx is freed.
  std::optional<chaos::ThreadPerConnectionServer> server;

  ~Impl() {
    server.reset();
    SSL_CTX_free(ctx);
  }

  std::string response_for(const RequestHead& req) const {
    const bool no_body = status < 200 || status == 204 || status == 304;
    std::string out = fmt::format("HTTP/1.1 {} {}\r\n", status, reason(status));
    if (!no_body) {
      out += fmt::format("Content-Type: application/json\r\nContent-Length: {}\r\n", body.size());
    }
    out += req.keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
    if (!no_body && req.method != "HEAD") out += body;
    return out;
  }

  // The HTTP/1.1 loop after the handshake. False when the connection broke (no close_notify).
  bool serve_requests(SSL* ssl) {
    std::string buf;
    std::array<char, 16 * 1024> chunk;
    auto read_more = [&]() {
      ERR_clear_error();
      const int n = SSL_read(ssl, chunk.data(), static_cast<int>(chunk.size()));
      if (n <= 0) return false;
      buf.append(chunk.data(), static_cast<std::size_t>(n));
      return true;
    };
    for (;;) {
      std::size_t end;
      while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
        if (buf.size() > kMaxHead) return false;
        if (!read_more()) return buf.empty();  // a clean close between requests
      }
      RequestHead req;
      if (!parse_head(std::string_view(buf).substr(0, end), req)) {
        write_all(ssl,
                  "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return true;
      }
      buf.erase(0, end + 4);
      // Chunked request bodies are not decoded: answer, then close instead of misreading them.
      if (req.chunked) req.keep_alive = false;
      std::uint64_t remaining = req.chunked ? 0 : req.content_length;
      while (remaining > 0) {
        if (buf.empty() && !read_more()) return false;
        const std::size_t n =
            static_cast<std::size_t>(std::min<std::uint64_t>(remaining, buf.size()));
        buf.erase(0, n);
        remaining -= n;
      }
      requests.fetch_add(1);
      if (!write_all(ssl, response_for(req))) return false;
      if (!req.keep_alive) return true;
    }
  }

  void serve(int fd) {
    timeval tv{kSocketTimeoutSeconds, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    SSL* ssl = SSL_new(ctx);
    if (ssl == nullptr) return;
    SSL_set_fd(ssl, fd);
    ERR_clear_error();
    if (SSL_accept(ssl) == 1 && serve_requests(ssl)) {
      ERR_clear_error();
      SSL_shutdown(ssl);  // send close_notify; no need to wait for the peer's
    }
    ERR_clear_error();
    SSL_free(ssl);
  }
};

TlsHttpServer::TlsHttpServer(std::string cert_file, std::string key_file, int status,
                             std::string body, std::string ca_for_client_auth)
    : impl_(std::make_unique<Impl>()) {
  // SSL_write on a socket the peer closed would raise SIGPIPE; tests want an error instead.
  std::signal(SIGPIPE, SIG_IGN);
  impl_->status = status;
  impl_->body = std::move(body);

  auto fail = [](const std::string& what) {
    throw std::runtime_error("TlsHttpServer: " + what + ": " + ssl_errors());
  };
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) fail("SSL_CTX_new");
  impl_->ctx = ctx;
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1) fail("load " + cert_file);
  if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1)
    fail("load " + key_file);
  if (SSL_CTX_check_private_key(ctx) != 1) fail("key does not match " + cert_file);
  static constexpr unsigned char kSessionContext[] = "sluice-tls-http-server";
  SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof kSessionContext - 1);
  if (!ca_for_client_auth.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, ca_for_client_auth.c_str(), nullptr) != 1)
      fail("load " + ca_for_client_auth);
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(ca_for_client_auth.c_str());
    if (names == nullptr) fail("read CA names from " + ca_for_client_auth);
    SSL_CTX_set_client_CA_list(ctx, names);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }

  impl_->server.emplace(
      0, [impl = impl_.get()](int fd) { impl->serve(fd); },
      chaos::ThreadPerConnectionServer::ErrorText{"TlsHttpServer: socket", "TlsHttpServer: bind"});
}

TlsHttpServer::~TlsHttpServer() {
  stop();
}

std::uint16_t TlsHttpServer::port() const {
  return impl_->server->port();
}

std::string TlsHttpServer::address() const {
  return fmt::format("127.0.0.1:{}", impl_->server->port());
}

std::uint64_t TlsHttpServer::requests() const {
  return impl_->requests.load();
}

void TlsHttpServer::stop() {
  impl_->server->stop();
}

}  // namespace sluice::test
