// One resolved upstream endpoint of a cluster.
#pragma once

#include <cstdint>
#include <string>

#include "sluice/net/asio.hpp"

namespace sluice::upstream {

struct Endpoint {
  std::string name;  // "host:port" as configured; the metrics and log label
  std::string host;  // configured host (name or literal)
  std::uint16_t port = 0;
  net::tcp::endpoint address;
  bool tls = false;
  std::string host_header;  // for auto_host_rewrite: host, plus :port unless it's the default
  std::string server_name;  // SNI and verification name ("" for address literals without sni)
  std::string pool_key;     // identifies interchangeable connections
  std::size_t index = 0;    // position in the cluster
};

}  // namespace sluice::upstream
