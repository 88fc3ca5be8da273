// A mock HTTP/1.1 upstream on loopback: the fake upstream of integration tests and of
// `serve --demo`. One thread per connection with blocking I/O, so a handler may sleep, stream or
// wait on a test's signal without disturbing other connections.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sluice/chaos/fault_plan.hpp"

namespace sluice::chaos {

struct MockRequest {
  std::string method;
  std::string target;
  int version = 11;                                          // 10 or 11
  std::vector<std::pair<std::string, std::string>> headers;  // as received, in order
  // Header value by case-insensitive name; empty when absent.
  std::string header(std::string_view name) const;
};

// One request/response exchange, handed to a handler. The request head is read; the body is not
// until the handler asks (read_body), or is discarded after the handler returns.
class MockExchange {
 public:
  virtual ~MockExchange() = default;
  virtual const MockRequest& request() const = 0;
  // Reads the whole body, calling on_chunk for each piece as it arrives (nothing is buffered).
  // Returns the total byte count, or -1 when the connection failed.
  virtual std::int64_t read_body(const std::function<void(std::string_view)>& on_chunk) = 0;
  // Reads and returns the whole body (for small bodies).
  virtual std::string body() = 0;
  // A complete response with Content-Length.
  virtual void respond(int status, std::string_view body,
                       const std::vector<std::pair<std::string, std::string>>& headers = {}) = 0;
  // Streams a response. content_length < 0 means chunked transfer encoding.
  virtual bool begin(int status, const std::vector<std::pair<std::string, std::string>>& headers,
                     std::int64_t content_length = -1) = 0;
  // Writes body bytes (one chunk when chunked) and flushes them at once. False when the peer is
  // gone.
  virtual bool write(std::string_view data) = 0;
  virtual bool end() = 0;
  // Closes the connection abruptly (RST), for fault tests.
  virtual void reset() = 0;
};

using MockHandler = std::function<void(MockExchange&)>;

struct MockRoute {
  std::string method;  // empty: any
  std::string
      path;  // matches when the target's path equals it, or starts with it if it ends in '*'
  MockHandler handler;
};

class MockServer {
 public:
  // Binds 127.0.0.1:port (0 picks a free port). Routes are tried in order; unmatched requests get
  // 404. The default route set (when none is given) is demo_routes(name).
  explicit MockServer(std::string name, std::vector<MockRoute> routes = {}, std::uint16_t port = 0,
                      std::string host = "127.0.0.1");
  ~MockServer();
  MockServer(const MockServer&) = delete;
  MockServer& operator=(const MockServer&) = delete;

  std::uint16_t port() const;
  std::string address() const;  // "127.0.0.1:PORT"
  const std::string& name() const;
  std::uint64_t requests() const;  // requests seen so far
  void stop();

  // Swaps the fault plan at run time (nullptr: none). A request keeps the plan it started with.
  void set_faults(std::shared_ptr<const FaultPlan> plan);
  std::shared_ptr<const FaultPlan> faults() const;
  // Requests seen and the current plan's counters.
  FaultCounters counters() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The routes a demo upstream serves:
//   GET  /health           200 "ok"
//   ANY  /echo*            200 JSON: the upstream's name, method, target, headers and body size
//   GET  /sse              text/event-stream: 5 events "data: tick N", one every 200ms
//   GET  /delay/<ms>       waits, then 200
//   GET  /status/<code>    that status
//   GET  /bytes/<n>        n bytes of payload, streamed (Content-Length)
//   ANY  *                 200 JSON {"upstream": NAME, "path": ...}
std::vector<MockRoute> demo_routes(const std::string& name);

}  // namespace sluice::chaos
