// Name resolution behind an interface, so tests can inject answers (getaddrinfo can't be
// pointed at a test server).
#pragma once

#include <string>

#include "sluice/core/error.hpp"
#include "sluice/net/asio.hpp"

namespace sluice::upstream {

class Resolver {
 public:
  virtual ~Resolver() = default;
  virtual Result<net::asio::ip::address> resolve(const std::string& host) = 0;
};

// getaddrinfo; literal addresses are returned as they are.
class SystemResolver final : public Resolver {
 public:
  Result<net::asio::ip::address> resolve(const std::string& host) override;
};

}  // namespace sluice::upstream
