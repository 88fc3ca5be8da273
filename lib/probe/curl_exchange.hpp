// Internal to lib/probe: one HTTP exchange through libcurl, shared by the HTTP and gRPC probes.
// Fills status, headers (and trailers), body, timings and the TLS session's facts.
#pragma once

#include <string>

#include "sluice/probe/probe.hpp"

namespace sluice::probe::detail {

struct CurlRequest {
  std::string url;
  bool tls = false;
  std::string host;  // the URL's host, for --sni
  std::uint16_t port = 0;
  std::string method = "GET";
  Headers headers;
  std::string body;
  bool follow_redirects = false;
  long max_redirects = 10;
  HttpVersion http_version = HttpVersion::any;
  bool h2_prior_knowledge = false;  // h2c without an upgrade (gRPC over plain TCP)
  TlsOptions tls_options;
  Duration timeout{0};
  Duration connect_timeout{0};
};

// The parts every request to `t` shares: URL, address, TLS options and time limits.
CurlRequest request_for(const Target& t, Duration timeout);

ProbeResult curl_exchange(const CurlRequest& req);

// RFC 6761: names under .invalid never resolve, and resolvers should say so at once. The probes
// answer them without asking the system resolver (which might wait on the network).
bool is_invalid_tld(std::string_view host);

}  // namespace sluice::probe::detail
