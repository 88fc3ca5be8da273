// A mock HTTP/1.1 upstream on loopback: the fake upstream of integration tests and of
// `serve --demo`. One thread per connection with blocking I/O, so a handler may sleep, stream or
// wait on a test's signal without disturbing other connections.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <functional>
#include <memory>
#include <optional>
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
  // Adds a fact to this request's record (RecordedRequest::notes), e.g. the prompt tokens an
  // LLM mock counted. A key noted twice keeps the last value.
  virtual void note(std::string_view key, std::string value) {}
};

using MockHandler = std::function<void(MockExchange&)>;

// What a mock recorded of one request, for assertions and the control API.
struct RecordedRequest {
  std::uint64_t seq = 0;  // arrival order, from 0
  std::chrono::steady_clock::time_point received;
  std::string label;  // the mock's label when the request arrived (the chaos runner's phase)
  MockRequest request;
  std::string body;                 // the first kMaxRecordedBody bytes of the body that was read
  std::uint64_t body_bytes = 0;     // the size of the body that was read
  int status = 0;                   // the status answered; 0 while unanswered, or for none at all
  bool complete = false;            // the exchange is over
  std::vector<std::string> faults;  // the faults that fired for it, in plan order
  // Facts the route handler noted (MockExchange::note), in the order first noted.
  std::vector<std::pair<std::string, std::string>> notes;
  // The value noted under key, or nullptr.
  const std::string* note(std::string_view key) const;
};

// Recording bounds: the newest kMaxRecorded requests are kept, each with at most kMaxRecordedBody
// body bytes, and the oldest go first when the kept bodies pass kMaxRecordedBodies in total.
// Counts (requests(), label_counts()) stay exact beyond them.
inline constexpr std::size_t kMaxRecorded = 10000;
inline constexpr std::size_t kMaxRecordedBody = 64 * 1024;
inline constexpr std::size_t kMaxRecordedBodies = 32 * 1024 * 1024;

// A status fault's answer in a route's own protocol (an LLM provider's error body).
struct FaultReply {
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // content-type included
};
// Given the fault's status and Retry-After delay (if the fault sets one); nullopt: the generic
// body. The Retry-After header itself is the fault's to add; a replier adds one only when
// retry_after is empty and its protocol always sends one.
using StatusFaultReplier = std::function<std::optional<FaultReply>(
    int status, std::optional<std::chrono::seconds> retry_after)>;

struct MockRoute {
  std::string method;  // empty: any
  std::string
      path;  // matches when the target's path equals it, or starts with it if it ends in '*'
  MockHandler handler;
  // Shapes a status fault without a body of its own for requests this route matches; empty: the
  // generic JSON error.
  StatusFaultReplier status_reply = {};
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

  // Tags the requests that arrive from now on (the chaos runner sets its phase name).
  void set_label(std::string label);
  // The recorded requests, oldest first (see kMaxRecorded), and how many older ones were dropped.
  std::vector<RecordedRequest> recorded() const;
  std::uint64_t recorded_dropped() const;
  // Requests seen per label ("" before any set_label).
  std::map<std::string, std::uint64_t> label_counts() const;
  // Forgets the recorded requests (counts are kept).
  void clear_recorded();

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
