// A mock gRPC health server (grpc.health.v1.Health/Check) on loopback: the fake target of gRPC
// probe tests. It speaks h2c with prior knowledge (no TLS, no HTTP/1.1 upgrade), one thread per
// connection with blocking I/O, like MockServer.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace sluice::chaos {

class GrpcHealthMock {
 public:
  // Binds 127.0.0.1:port (0 picks a free port). Throws std::runtime_error when it cannot.
  explicit GrpcHealthMock(std::uint16_t port = 0);
  ~GrpcHealthMock();
  GrpcHealthMock(const GrpcHealthMock&) = delete;
  GrpcHealthMock& operator=(const GrpcHealthMock&) = delete;

  std::uint16_t port() const;
  std::string address() const;  // "127.0.0.1:PORT"

  // The status Check answers for a service: 0 UNKNOWN, 1 SERVING, 2 NOT_SERVING,
  // 3 SERVICE_UNKNOWN. The empty service "" is the server overall and starts as SERVING. A service
  // never set gets gRPC status 5 (NOT_FOUND, "unknown service"), as real servers answer.
  void set_status(std::string service, int status);

  // Requests received so far: every complete HTTP/2 request, whatever its path or outcome.
  std::uint64_t requests() const;

  // Closes the listener and every connection, then joins all threads. Idempotent.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::chaos
