#include "sluice/upstream/resolver.hpp"

#include "sluice/net/listen.hpp"

namespace sluice::upstream {

Result<net::asio::ip::address> Resolver::resolve(const std::string& host) {
  auto all = resolve_all(host);
  if (!all) return all.error();
  return all->front();
}

Result<std::vector<net::asio::ip::address>> SystemResolver::resolve_all(const std::string& host) {
  return net::resolve_host_all(host);
}

Result<net::asio::ip::address> SystemResolver::resolve(const std::string& host) {
  return net::resolve_host(host);
}

}  // namespace sluice::upstream
