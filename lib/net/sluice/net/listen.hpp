// Listening sockets. Every worker binds its own SO_REUSEPORT socket on the same address, so the
// kernel spreads connections and workers share nothing.
#pragma once

#include <string>

#include "sluice/core/config/schema.hpp"
#include "sluice/core/error.hpp"
#include "sluice/net/asio.hpp"

namespace sluice::net {

// Resolves host (name or literal) to one address, synchronously (start-up and reload only).
Result<asio::ip::address> resolve_host(const std::string& host);

Result<tcp::acceptor> open_acceptor(asio::io_context& io, const tcp::endpoint& at);

std::string to_string(const tcp::endpoint& ep);  // "127.0.0.1:80", "[::1]:80"

}  // namespace sluice::net
