// Listening sockets. Every worker binds its own SO_REUSEPORT socket on the same address, so the
// kernel spreads connections and workers share nothing.
#pragma once

#include <string>
#include <vector>

#include "sluice/core/config/schema.hpp"
#include "sluice/core/error.hpp"
#include "sluice/net/asio.hpp"

namespace sluice::net {

// Resolves host (name or literal) to one address, synchronously (start-up and reload only).
Result<asio::ip::address> resolve_host(const std::string& host);
// Every address of host (A and AAAA answers), without duplicates, sorted (IPv4 before IPv6, then
// by value), synchronously. A literal resolves to itself. No address at all is an error.
Result<std::vector<asio::ip::address>> resolve_host_all(const std::string& host);

enum class ReusePort { no, yes };

Result<tcp::acceptor> open_acceptor(asio::io_context& io, const tcp::endpoint& at,
                                    ReusePort reuse_port);

// SO_REUSEPORT would let a second gateway share a port silently; binding once without it first
// turns "already in use by another process" into an error. Port 0 always succeeds.
Result<void> check_port_free(const tcp::endpoint& at);

std::string to_string(const tcp::endpoint& ep);

// A numeric "HOST:PORT" ("127.0.0.1:0", "[::1]:80") without name resolution. The error says
// what is wrong with the text; callers prefix what the address was for.
Result<tcp::endpoint> parse_numeric_endpoint(std::string_view text);  // "127.0.0.1:80", "[::1]:80"

}  // namespace sluice::net
