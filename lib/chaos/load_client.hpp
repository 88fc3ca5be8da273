// The chaos runner's traffic side (private to lib/chaos): a blocking HTTP/1.1 client with
// keep-alive and a per-request timeout, and the open- and closed-model traffic generators that
// drive a phase's requests through a pool of such clients.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "sluice/chaos/runner.hpp"
#include "sluice/chaos/scenario.hpp"

namespace sluice::chaos::detail {

// What one request got: a status (0 when there was no response at all) and how long it took.
struct RequestOutcome {
  int status = 0;
  double latency_ms = 0;
  std::string error;  // the transport error when status is 0
  std::string body;   // the response body
};

// One keep-alive connection to `address` ("host:port", numeric). It connects lazily; after any
// transport error it closes and reconnects on the next request. Not thread-safe: one per thread.
class HttpClient {
 public:
  explicit HttpClient(std::string address,
                      std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  RequestOutcome send(const RequestTemplate& request);
  void close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Thread-safe accumulation of ClientStats; sample times count from `start`.
class StatsSink {
 public:
  explicit StatsSink(std::chrono::steady_clock::time_point start) : start_(start) {}
  void record(const RequestOutcome& o, std::chrono::steady_clock::time_point sent);
  // A request that could not start (every worker was busy) when it was due.
  void record_overload(std::chrono::steady_clock::time_point due);
  ClientStats take();

 private:
  double since_start_ms(std::chrono::steady_clock::time_point t) const;

  std::chrono::steady_clock::time_point start_;
  std::mutex mu_;
  ClientStats stats_;
};

// Sends the phase's requests to `address` from `start` until `end` (open model at phase.rate, or
// closed loop with phase.concurrency clients), then waits for the requests in flight. `stop` ends
// it early.
ClientStats run_traffic(const Phase& phase, const std::string& address,
                        std::chrono::steady_clock::time_point start,
                        std::chrono::steady_clock::time_point end, const std::atomic<bool>& stop);

}  // namespace sluice::chaos::detail
