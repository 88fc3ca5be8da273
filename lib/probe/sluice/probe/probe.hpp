// One probe of one target, and what it observed. The probes never throw: a transport failure is
// ProbeResult::error, and everything else is data for the conditions to judge.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "sluice/core/clock.hpp"
#include "sluice/core/error.hpp"
#include "sluice/probe/target.hpp"

namespace sluice::probe {

// Bodies and TCP replies are kept up to this size; the rest is not read.
inline constexpr std::size_t kMaxBodyBytes = 1 << 20;

// Phase durations; a phase that did not happen (no TLS, an IP address) is zero.
struct Timings {
  Duration dns{0};      // name resolution
  Duration connect{0};  // TCP handshake
  Duration tls{0};      // TLS handshake
  Duration ttfb{0};     // from the start to the first byte of the response
  Duration total{0};    // the whole probe
};

struct CertInfo {
  std::string subject;  // RFC 2253: CN=localhost,O=...
  std::string issuer;
  std::chrono::system_clock::time_point not_after;
};

struct ProbeResult {
  // A transport failure: no answer to judge. dns, connect and tls kinds mean unreachable.
  std::optional<Error> error;
  Timings timings;

  // http and grpc
  int status = 0;            // HTTP status of the last response; 0 when none
  std::string http_version;  // "1.0", "1.1", "2"
  Headers headers;           // lower-case names, in order; gRPC trailers included
  std::string body;          // at most kMaxBodyBytes
  bool body_truncated = false;
  std::string final_url;
  long redirects = 0;
  std::string tls_version;  // "1.2", "1.3"; empty without TLS
  std::string tls_cipher;
  std::optional<CertInfo> cert;  // the server's leaf certificate

  // grpc
  std::optional<int> grpc_code;  // the grpc-status trailer
  std::string grpc_message;
  std::optional<int> serving_status;  // HealthCheckResponse.status

  // tcp
  bool connected = false;
  std::string received;

  // dns
  std::vector<std::string> addresses;

  // What a failure report should add to the conditions, e.g. "grpc-status 5 (NOT_FOUND): ...".
  std::string note;
};

// A transport error that means the target could not be reached: DNS, connect or TLS.
bool is_unreachable(const Error& e);

// Probes once, within `timeout`. `clock` times the phases of the probes that do not use libcurl.
ProbeResult probe_once(const Target& t, Duration timeout, const Clock& clock);

ProbeResult probe_http(const Target& t, Duration timeout);
ProbeResult probe_grpc(const Target& t, Duration timeout);
ProbeResult probe_tcp(const Target& t, Duration timeout, const Clock& clock);
ProbeResult probe_dns(const Target& t, Duration timeout, const Clock& clock);

}  // namespace sluice::probe
