#include "sluice/net/listen.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <netdb.h>
#include <sys/socket.h>

#include <fmt/format.h>

namespace sluice::net {

Result<asio::ip::address> resolve_host(const std::string& host) {
  error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (!ec) return addr;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc != 0 || !res)
    return make_error(ErrorKind::dns, ErrorSource::internal,
                      fmt::format("cannot resolve \"{}\": {}", host, gai_strerror(rc)));
  asio::ip::address out;
  if (res->ai_family == AF_INET) {
    auto* sin = reinterpret_cast<sockaddr_in*>(res->ai_addr);
    out = asio::ip::address_v4(ntohl(sin->sin_addr.s_addr));
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(res->ai_addr);
    asio::ip::address_v6::bytes_type b;
    std::memcpy(b.data(), &sin6->sin6_addr, 16);
    out = asio::ip::address_v6(b);
  }
  ::freeaddrinfo(res);
  return out;
}

Result<std::vector<asio::ip::address>> resolve_host_all(const std::string& host) {
  error_code ec;
  auto literal = asio::ip::make_address(host, ec);
  if (!ec) return std::vector<asio::ip::address>{literal};
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc != 0 || !res)
    return make_error(ErrorKind::dns, ErrorSource::internal,
                      fmt::format("cannot resolve \"{}\": {}", host, gai_strerror(rc)));
  std::vector<asio::ip::address> out;
  for (addrinfo* a = res; a; a = a->ai_next) {
    if (a->ai_family == AF_INET) {
      auto* sin = reinterpret_cast<sockaddr_in*>(a->ai_addr);
      out.push_back(asio::ip::address_v4(ntohl(sin->sin_addr.s_addr)));
    } else if (a->ai_family == AF_INET6) {
      auto* sin6 = reinterpret_cast<sockaddr_in6*>(a->ai_addr);
      asio::ip::address_v6::bytes_type b;
      std::memcpy(b.data(), &sin6->sin6_addr, 16);
      out.push_back(asio::ip::address_v6(b, sin6->sin6_scope_id));
    }
  }
  ::freeaddrinfo(res);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  if (out.empty())
    return make_error(ErrorKind::dns, ErrorSource::internal,
                      fmt::format("cannot resolve \"{}\": no IPv4 or IPv6 address", host));
  return out;
}

Result<tcp::acceptor> open_acceptor(asio::io_context& io, const tcp::endpoint& at,
                                    ReusePort reuse_port) {
  tcp::acceptor acc(io);
  error_code ec;
  auto fail = [&](const char* what) {
    return make_error(ErrorKind::io, ErrorSource::internal,
                      fmt::format("cannot {} {}: {}", what, to_string(at), ec.message()));
  };
  acc.open(at.protocol(), ec);
  if (ec) return fail("open a socket for");
  acc.set_option(asio::socket_base::reuse_address(true), ec);
  int one = 1;
  if (reuse_port == ReusePort::yes &&
      ::setsockopt(acc.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
    ec = error_code(errno, boost::system::system_category());
    return fail("set SO_REUSEPORT on");
  }
  acc.bind(at, ec);
  if (ec) return fail("bind");
  acc.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail("listen on");
  return acc;
}

Result<void> check_port_free(const tcp::endpoint& at) {
  if (at.port() == 0) return {};
  asio::io_context io;
  tcp::acceptor probe(io);
  error_code ec;
  probe.open(at.protocol(), ec);
  if (!ec) probe.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) probe.bind(at, ec);
  if (ec)
    return make_error(ErrorKind::io, ErrorSource::internal,
                      fmt::format("cannot bind {}: {}", to_string(at), ec.message()));
  return {};
}

Result<tcp::endpoint> parse_numeric_endpoint(std::string_view text) {
  auto fail = [&](std::string_view why) {
    return make_error(
        ErrorKind::config, ErrorSource::internal,
        fmt::format("\"{}\" {} (expected numeric HOST:PORT, e.g. 127.0.0.1:0)", text, why));
  };
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return fail("has no port");
  auto host = text.substr(0, colon);
  auto port_text = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  unsigned port = 0;
  auto [end, perr] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (perr != std::errc{} || end != port_text.data() + port_text.size() || port > 65535)
    return fail("has an invalid port");
  error_code ec;
  auto address = asio::ip::make_address(std::string(host), ec);
  if (ec) return fail("has an invalid address");
  return tcp::endpoint(address, static_cast<std::uint16_t>(port));
}

std::string to_string(const tcp::endpoint& ep) {
  if (ep.address().is_v6()) return fmt::format("[{}]:{}", ep.address().to_string(), ep.port());
  return fmt::format("{}:{}", ep.address().to_string(), ep.port());
}

}  // namespace sluice::net
