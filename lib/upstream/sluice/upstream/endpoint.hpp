// One resolved upstream endpoint of a cluster.
#pragma once

#include <cstdint>
#include <string>

#include "sluice/net/asio.hpp"

namespace sluice::upstream {

struct Endpoint {
  // The metrics, admin and log label, unique in the cluster: "host:port" as configured, or
  // "ADDR:PORT" ("[ADDR]:PORT" for IPv6) for an address DNS discovery found for a name.
  std::string name;
  std::string host;  // configured host (name or literal)
  std::uint16_t port = 0;
  net::tcp::endpoint address;
  bool tls = false;
  std::string host_header;       // for auto_host_rewrite: host, plus :port unless it's the default
  std::string server_name;       // SNI and verification name ("" for address literals without sni)
  std::string pool_key;          // identifies interchangeable connections
  std::size_t index = 0;         // position in the cluster
  std::size_t config_index = 0;  // the configured endpoint it comes from (clusters.endpoints[N])
  bool discovered = false;       // one of the addresses of a re-resolved name (dns_refresh > 0)
};

}  // namespace sluice::upstream
