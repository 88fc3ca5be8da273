// A tiny HTTPS/1.1 server for TLS probe tests: every request gets the same status and JSON body.
// Blocking OpenSSL on 127.0.0.1, one thread per connection, like the chaos mocks.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace sluice::test {

class TlsHttpServer {
 public:
  // Binds 127.0.0.1:0 and serves TLS 1.2 and 1.3 with the PEM certificate (chain) and key. With
  // ca_for_client_auth set, a client must present a certificate that this CA verifies. Throws
  // std::runtime_error when the files do not load or the socket cannot bind.
  TlsHttpServer(std::string cert_file, std::string key_file, int status = 200,
                std::string body = "{\"status\":\"UP\"}", std::string ca_for_client_auth = "");
  ~TlsHttpServer();
  TlsHttpServer(const TlsHttpServer&) = delete;
  TlsHttpServer& operator=(const TlsHttpServer&) = delete;

  std::uint16_t port() const;
  std::string address() const;     // "127.0.0.1:PORT"
  std::uint64_t requests() const;  // requests answered, over completed handshakes
  // Closes the listener and every connection, then joins all threads. Idempotent.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::test
