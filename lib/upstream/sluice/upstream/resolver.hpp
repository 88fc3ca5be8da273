// Name resolution behind an interface, so tests can inject answers (getaddrinfo can't be
// pointed at a test server).
#pragma once

#include <string>
#include <vector>

#include "sluice/core/error.hpp"
#include "sluice/net/asio.hpp"

namespace sluice::upstream {

class Resolver {
 public:
  virtual ~Resolver() = default;
  // Every address of host (A and AAAA answers), without duplicates, in a stable sorted order
  // (IPv4 before IPv6, then by value). A literal resolves to itself. Never empty: no address at
  // all is an error. DNS discovery (dns_refresh) expands a name to one endpoint per address.
  virtual Result<std::vector<net::asio::ip::address>> resolve_all(const std::string& host) = 0;
  // One address, where one is wanted (listeners, endpoints of clusters without dns_refresh).
  // By default the first of resolve_all().
  virtual Result<net::asio::ip::address> resolve(const std::string& host);
};

// getaddrinfo; literal addresses are returned as they are. resolve() is the system's first
// choice.
class SystemResolver final : public Resolver {
 public:
  Result<std::vector<net::asio::ip::address>> resolve_all(const std::string& host) override;
  Result<net::asio::ip::address> resolve(const std::string& host) override;
};

}  // namespace sluice::upstream
