// Internal to lib/probe: getaddrinfo with a deadline. The system resolver cannot be cancelled, so
// the lookup runs on its own thread; a probe that gives up leaves it to finish on its own.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/core/error.hpp"
#include "sluice/core/units.hpp"

namespace sluice::probe::detail {

struct Address {
  sockaddr_storage storage{};
  socklen_t length = 0;
  std::string text;  // "127.0.0.1", "::1"
};

// Addresses for host:port, IP literals without a lookup, .invalid names refused at once (RFC
// 6761). Errors are ErrorKind::dns.
Result<std::vector<Address>> resolve(const std::string& host, std::uint16_t port, Duration timeout);

}  // namespace sluice::probe::detail
