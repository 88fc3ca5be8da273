// The test PKI and TlsHttpServer, checked from outside with the curl CLI and OpenSSL's verifier.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <string>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "pki.hpp"
#include "tls_http_server.hpp"

using namespace sluice::test;

namespace {

struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

X509Ptr read_cert(const std::string& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) return nullptr;
  return X509Ptr(PEM_read_X509(f.get(), nullptr, nullptr, nullptr));
}

// Seconds from now until the certificate's notAfter (negative once expired).
long seconds_left(X509* cert) {
  int days = 0;
  int secs = 0;
  if (ASN1_TIME_diff(&days, &secs, nullptr, X509_get0_notAfter(cert)) != 1) return 0;
  return days * 86400L + secs;
}

// X509_V_OK when the CA verifies cert for the purpose, else the verifier's error.
int verify(const std::string& ca_path, const std::string& cert_path, int purpose) {
  X509Ptr ca = read_cert(ca_path);
  X509Ptr cert = read_cert(cert_path);
  if (!ca || !cert) return -1;
  std::unique_ptr<X509_STORE, void (*)(X509_STORE*)> store(X509_STORE_new(), &X509_STORE_free);
  X509_STORE_add_cert(store.get(), ca.get());
  std::unique_ptr<X509_STORE_CTX, void (*)(X509_STORE_CTX*)> ctx(X509_STORE_CTX_new(),
                                                                 &X509_STORE_CTX_free);
  X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), nullptr);
  X509_STORE_CTX_set_purpose(ctx.get(), purpose);
  if (X509_verify_cert(ctx.get()) == 1) return X509_V_OK;
  return X509_STORE_CTX_get_error(ctx.get());
}

struct Command {
  int exit_code = -1;
  std::string out;  // stdout and stderr
};

// Runs a shell command (bounded by curl's --max-time) and captures its output.
Command run(const std::string& cmd) {
  Command result;
  std::FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return result;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) result.out.append(buf, n);
  const int status = ::pclose(p);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// curl with a bound on time; the write-out prints "<status> <connections opened>" per transfer.
std::string curl(const std::string& args) {
  return "curl -sS --max-time 10 -o /dev/null -w '%{http_code} %{num_connects}\\n' " + args;
}

}  // namespace

TEST_CASE("pki: the CA signs server, soon and client certificates", "[pki]") {
  const TestPki pki = make_test_pki(365, 5);
  CHECK(pki.dir.find("sluice-pki-") != std::string::npos);

  CHECK(verify(pki.ca_cert, pki.server_cert, X509_PURPOSE_SSL_SERVER) == X509_V_OK);
  CHECK(verify(pki.ca_cert, pki.soon_cert, X509_PURPOSE_SSL_SERVER) == X509_V_OK);
  CHECK(verify(pki.ca_cert, pki.client_cert, X509_PURPOSE_SSL_CLIENT) == X509_V_OK);
  // The client certificate is for client authentication only.
  CHECK(verify(pki.ca_cert, pki.client_cert, X509_PURPOSE_SSL_SERVER) != X509_V_OK);

  X509Ptr server = read_cert(pki.server_cert);
  X509Ptr soon = read_cert(pki.soon_cert);
  REQUIRE(server);
  REQUIRE(soon);
  const long day = 86400;
  CHECK(seconds_left(server.get()) > 364 * day);
  CHECK(seconds_left(server.get()) <= 365 * day);
  CHECK(seconds_left(soon.get()) > 4 * day);
  CHECK(seconds_left(soon.get()) <= 5 * day);
  CHECK(X509_check_ip_asc(soon.get(), "127.0.0.1", 0) == 1);
  CHECK(X509_check_host(soon.get(), "localhost", 0, 0, nullptr) == 1);

  // A day count of zero or less gives a certificate that has already expired.
  const TestPki expired = make_test_pki(30, -1);
  CHECK(verify(expired.ca_cert, expired.server_cert, X509_PURPOSE_SSL_SERVER) == X509_V_OK);
  CHECK(verify(expired.ca_cert, expired.soon_cert, X509_PURPOSE_SSL_SERVER) ==
        X509_V_ERR_CERT_HAS_EXPIRED);
}

TEST_CASE("tls_http_server: curl verifies the handshake against the test CA", "[pki][tls_http]") {
  const TestPki pki = make_test_pki();
  TlsHttpServer server(pki.server_cert, pki.server_key);
  const std::string url = fmt::format("https://127.0.0.1:{}/health", server.port());
  CHECK(server.address() == fmt::format("127.0.0.1:{}", server.port()));

  Command r = run("curl -sS --max-time 10 --cacert " + pki.ca_cert + " " + url);
  CHECK(r.exit_code == 0);
  CHECK(r.out == "{\"status\":\"UP\"}");

  // By name (DNS:localhost), over TLS 1.2 and 1.3, two requests on one kept-alive connection.
  r =
      run(curl(fmt::format("--cacert {} --resolve localhost:{}:127.0.0.1 https://localhost:{}/ "
                           "-o /dev/null https://localhost:{}/again",
                           pki.ca_cert, server.port(), server.port(), server.port())));
  CHECK(r.exit_code == 0);
  CHECK(r.out == "200 1\n200 0\n");
  r = run(curl(fmt::format("--tlsv1.2 --tls-max 1.2 --cacert {} {}", pki.ca_cert, url)));
  CHECK(r.out == "200 1\n");
  r = run(curl(fmt::format("--tlsv1.3 --cacert {} {}", pki.ca_cert, url)));
  CHECK(r.out == "200 1\n");
  CHECK(server.requests() == 5);

  // Without the CA, verification fails before any request is sent.
  r = run(curl(url));
  CHECK(r.exit_code == 60);
  CHECK(server.requests() == 5);
}

TEST_CASE("tls_http_server: status, body and the soon certificate", "[pki][tls_http]") {
  const TestPki pki = make_test_pki(365, 3);
  TlsHttpServer server(pki.soon_cert, pki.soon_key, 503, "{\"status\":\"DOWN\"}");
  Command r =
      run(fmt::format("curl -sS --max-time 10 --cacert {} -w ' %{{http_code}}' "
                      "https://127.0.0.1:{}/",
                      pki.ca_cert, server.port()));
  CHECK(r.exit_code == 0);
  CHECK(r.out == "{\"status\":\"DOWN\"} 503");
  CHECK(server.requests() == 1);
}

TEST_CASE("tls_http_server: mTLS requires a client certificate", "[pki][tls_http]") {
  const TestPki pki = make_test_pki();
  TlsHttpServer server(pki.server_cert, pki.server_key, 200, "{\"status\":\"UP\"}", pki.ca_cert);
  const std::string url = fmt::format("https://127.0.0.1:{}/", server.port());

  Command r = run(curl(fmt::format("--cacert {} {}", pki.ca_cert, url)));
  CHECK(r.exit_code != 0);
  r = run(curl(fmt::format("--tlsv1.2 --tls-max 1.2 --cacert {} {}", pki.ca_cert, url)));
  CHECK(r.exit_code != 0);
  // A certificate from another CA is refused too.
  const TestPki other = make_test_pki();
  r = run(curl(fmt::format("--cacert {} --cert {} --key {} {}", pki.ca_cert, other.client_cert,
                           other.client_key, url)));
  CHECK(r.exit_code != 0);
  CHECK(server.requests() == 0);

  r = run(curl(fmt::format("--cacert {} --cert {} --key {} {}", pki.ca_cert, pki.client_cert,
                           pki.client_key, url)));
  CHECK(r.exit_code == 0);
  CHECK(r.out == "200 1\n");
  CHECK(server.requests() == 1);
}

TEST_CASE("tls_http_server: stop does not wait for a silent client", "[pki][tls_http]") {
  const TestPki pki = make_test_pki();
  auto server = std::make_unique<TlsHttpServer>(pki.server_cert, pki.server_key);
  // A TCP connection that never starts the handshake.
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(server->port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  // A request that does complete, so the silent connection surely has its thread by now.
  CHECK(run(curl(fmt::format("--cacert {} https://127.0.0.1:{}/", pki.ca_cert, server->port())))
            .out == "200 1\n");

  const auto start = std::chrono::steady_clock::now();
  server->stop();
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(3));
  char byte;
  CHECK(::recv(fd, &byte, 1, 0) == 0);  // closed by the server
  ::close(fd);
  server->stop();  // idempotent
}
