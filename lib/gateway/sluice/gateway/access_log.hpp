// The JSON-lines access log. Each worker batches its lines and hands whole batches to the shared
// sink, so logging costs no lock per request and lines never interleave.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "sluice/core/log.hpp"

namespace sluice::gateway {

struct AccessRecord {
  std::string_view request_id, listener, client, method, path;
  std::string_view route, cluster, endpoint;
  int status = 0;
  std::uint64_t bytes_in = 0, bytes_out = 0;
  double total_ms = 0;
  double connect_ms = -1;  // -1: no new connection was made
  double ttfb_ms = -1;     // -1: no upstream response
  int attempts = 0;
  std::string_view error;   // error kind, empty when none
  std::string_view detail;  // why, for no_healthy_upstream and breaker_open; empty otherwise
  // More fields, as the members of a JSON object without its braces ("\"a\":1,\"b\":2");
  // a route handler's (an LLM route: alias, provider, tokens...). Empty: none.
  std::string_view extra;
};

class AccessLog {
 public:
  explicit AccessLog(std::shared_ptr<log::LineSink> sink) : sink_(std::move(sink)) {}
  ~AccessLog() { flush(); }
  bool enabled() const { return sink_ != nullptr; }
  void write(const AccessRecord& r);
  void flush();

 private:
  void append_time();
  std::shared_ptr<log::LineSink> sink_;
  std::string buf_;
  std::int64_t cached_second_ = -1;
  std::string cached_prefix_;  // "2026-11-25T12:00:00"
};

// Appends s as a JSON string body (without quotes), escaping as RFC 8259 requires.
void append_json_escaped(std::string& out, std::string_view s);

}  // namespace sluice::gateway
