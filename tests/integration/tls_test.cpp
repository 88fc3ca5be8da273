// TLS termination on a listener and TLS to an upstream, with the certificates in fixtures/tls
// (a test CA and a server certificate for localhost and 127.0.0.1).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <thread>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <catch2/catch.hpp>

#include "common.hpp"
#include "sluice/chaos/mock_server.hpp"

using namespace sluice::test;
using sluice::chaos::MockServer;

namespace {

const std::string kTlsDir = std::string(SLUICE_SOURCE_DIR) + "/fixtures/tls";
const std::string kCa = kTlsDir + "/ca.pem";
const std::string kCert = kTlsDir + "/server.pem";
const std::string kKey = kTlsDir + "/server.key";
const std::string kClientCert = kTlsDir + "/client.pem";
const std::string kClientKey = kTlsDir + "/client.key";

struct CtxDeleter {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
struct SslDeleter {
  void operator()(SSL* s) const { SSL_free(s); }
};

std::string ssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out += buf;
    out += "; ";
  }
  return out;
}

void set_timeouts(int fd, int seconds) {
  timeval tv{seconds, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

// Sends `raw` over TLS (verifying the server against the test CA) and reads until the server
// closes. Returns what was read, or the error.
std::string tls_exchange(std::uint16_t port, std::string_view raw, std::string* error) {
  std::unique_ptr<SSL_CTX, CtxDeleter> ctx(SSL_CTX_new(TLS_client_method()));
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  if (SSL_CTX_load_verify_locations(ctx.get(), kCa.c_str(), nullptr) != 1) {
    *error = "load CA: " + ssl_errors();
    return {};
  }
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  set_timeouts(fd, 10);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    *error = "connect failed";
    ::close(fd);
    return {};
  }
  std::unique_ptr<SSL, SslDeleter> ssl(SSL_new(ctx.get()));
  SSL_set_fd(ssl.get(), fd);
  SSL_set_tlsext_host_name(ssl.get(), "localhost");
  SSL_set1_host(ssl.get(), "localhost");
  std::string out;
  if (SSL_connect(ssl.get()) != 1) {
    *error = "handshake: " + ssl_errors();
  } else if (SSL_write(ssl.get(), raw.data(), static_cast<int>(raw.size())) <= 0) {
    *error = "write: " + ssl_errors();
  } else {
    char buf[16384];
    for (;;) {
      int n = SSL_read(ssl.get(), buf, sizeof buf);
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  return out;
}

// A one-connection-at-a-time HTTPS upstream: answers every request with
// {"upstream":"tls","sni":NAME,"client":CN} and closes. With require_client_cert, the
// handshake fails unless the client presents a certificate signed by the test CA.
class TlsUpstream {
 public:
  explicit TlsUpstream(bool require_client_cert = false) : ctx_(SSL_CTX_new(TLS_server_method())) {
    if (SSL_CTX_use_certificate_chain_file(ctx_.get(), kCert.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx_.get(), kKey.c_str(), SSL_FILETYPE_PEM) != 1)
      throw std::runtime_error("TLS upstream: " + ssl_errors());
    if (require_client_cert) {
      if (SSL_CTX_load_verify_locations(ctx_.get(), kCa.c_str(), nullptr) != 1)
        throw std::runtime_error("TLS upstream CA: " + ssl_errors());
      SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    }
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(fd_, 64);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~TlsUpstream() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);  // wakes accept
    thread_.join();
    ::close(fd_);
  }
  std::uint16_t port() const { return port_; }
  int handshakes() const { return handshakes_; }

 private:
  void run() {
    while (!stop_) {
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) {
        if (stop_) return;
        continue;
      }
      set_timeouts(c, 5);
      std::unique_ptr<SSL, SslDeleter> ssl(SSL_new(ctx_.get()));
      SSL_set_fd(ssl.get(), c);
      if (SSL_accept(ssl.get()) == 1) {
        ++handshakes_;
        std::string head;
        char buf[4096];
        while (head.find("\r\n\r\n") == std::string::npos) {
          int n = SSL_read(ssl.get(), buf, sizeof buf);
          if (n <= 0) break;
          head.append(buf, static_cast<std::size_t>(n));
        }
        if (head.find("\r\n\r\n") != std::string::npos) {
          const char* sni = SSL_get_servername(ssl.get(), TLSEXT_NAMETYPE_host_name);
          std::string client;
          if (X509* peer = SSL_get_peer_certificate(ssl.get())) {
            char cn[256] = {};
            X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn, sizeof cn);
            client = cn;
            X509_free(peer);
          }
          std::string body = fmt::format(R"({{"upstream":"tls","sni":"{}","client":"{}"}})",
                                         sni ? sni : "", client);
          std::string resp = fmt::format(
              "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n"
              "Connection: close\r\n\r\n{}",
              body.size(), body);
          SSL_write(ssl.get(), resp.data(), static_cast<int>(resp.size()));
        }
        SSL_shutdown(ssl.get());
      }
      ::close(c);
    }
  }

  std::unique_ptr<SSL_CTX, CtxDeleter> ctx_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> handshakes_{0};
  std::thread thread_;
};

}  // namespace

TEST_CASE("a TLS listener terminates TLS", "[integration][tls]") {
  MockServer up("plain");
  std::string config = fmt::format(R"([server]
workers = 1

[admin]
listen = "127.0.0.1:0"

[[listeners]]
name = "main"
listen = "127.0.0.1:0"

[[listeners]]
name = "secure"
listen = "127.0.0.1:0"
tls = {{ cert_file = "{}", key_file = "{}" }}

[[routes]]
name = "api"
path_prefix = "/"
cluster = "backend"

[[clusters]]
name = "backend"
endpoints = ["{}"]
)",
                                   kCert, kKey, up.address());
  SluiceProcess::Options opts;
  opts.listeners = {"main", "secure"};
  SluiceProcess proc(config, opts);

  std::string error;
  std::string out = tls_exchange(
      proc.port("secure"), make_request("GET", "/echo/tls", {{"Connection", "close"}}), &error);
  INFO("error: " << error << "\nresponse: " << out);
  REQUIRE(error.empty());
  CHECK(out.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(out.find("\"upstream\":\"plain\"") != std::string::npos);
  // The upstream learns the client spoke https.
  CHECK(out.find(R"("x-forwarded-proto":["https"])") != std::string::npos);

  // The plain listener still speaks plain HTTP.
  auto r = http_get(proc.port("main"), "/echo/plain");
  REQUIRE(r);
  CHECK(r->status == 200);
}

TEST_CASE("a cluster reaches an upstream over TLS", "[integration][tls]") {
  TlsUpstream up;
  std::string config = config_with(fmt::format(R"([[routes]]
name = "api"
path_prefix = "/"
cluster = "secure"

[[clusters]]
name = "secure"
endpoints = ["https://127.0.0.1:{}"]
tls = {{ ca_file = "{}", sni = "localhost" }}
)",
                                               up.port(), kCa));
  SluiceProcess proc(config);
  auto r = http_get(proc.port(), "/over-tls");
  INFO((r ? r->body : std::string("no response")) << "\nstderr:\n" << proc.stderr_text());
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->json().value("upstream", "") == "tls");
  CHECK(r->json().value("sni", "") == "localhost");
  CHECK(up.handshakes() >= 1);
}

TEST_CASE("a cluster presents a client certificate to an upstream that requires one",
          "[integration][tls][mtls]") {
  TlsUpstream up(/*require_client_cert=*/true);
  auto config_for = [&](std::string_view client_keys) {
    return config_with(fmt::format(R"([[routes]]
name = "api"
path_prefix = "/"
cluster = "secure"

[[clusters]]
name = "secure"
endpoints = ["https://127.0.0.1:{}"]
tls = {{ ca_file = "{}", sni = "localhost"{} }}
)",
                                   up.port(), kCa, client_keys));
  };
  SECTION("with the certificate the request passes") {
    SluiceProcess proc(
        config_for(fmt::format(R"(, cert_file = "{}", key_file = "{}")", kClientCert, kClientKey)));
    auto r = http_get(proc.port(), "/mtls");
    INFO((r ? r->body : std::string("no response")) << "\nstderr:\n" << proc.stderr_text());
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->json().value("client", "") == "sluice-test-client");
  }
  SECTION("without it the upstream refuses and the client gets 502") {
    SluiceProcess proc(config_for(""));
    auto r = http_get(proc.port(), "/mtls");
    REQUIRE(r);
    CHECK(r->status == 502);
    // TLS 1.3 rejects the missing certificate after the handshake: the gateway reads either the
    // alert (upstream_tls_error) or, when the upstream's reset overtakes it, a reset.
    CHECK((has_error_shape(*r, "upstream_tls_error") || has_error_shape(*r, "upstream_reset")));
    CHECK(up.handshakes() == 0);  // the upstream never completed a handshake it accepted
  }
}

TEST_CASE("an upstream certificate the CA does not vouch for is refused",
          "[integration][tls][verify]") {
  TlsUpstream up;
  // The server certificate is valid for localhost, but the system store does not trust the test
  // CA, so verification must fail.
  SluiceProcess proc(config_with(fmt::format(R"([[routes]]
name = "api"
path_prefix = "/"
cluster = "secure"

[[clusters]]
name = "secure"
endpoints = ["https://127.0.0.1:{}"]
tls = {{ sni = "localhost" }}
)",
                                             up.port())));
  auto r = http_get(proc.port(), "/untrusted");
  REQUIRE(r);
  CHECK(r->status == 502);
  CHECK(has_error_shape(*r, "upstream_tls_error"));
}
