#include "sluice/upstream/resolver.hpp"

#include "sluice/net/listen.hpp"

namespace sluice::upstream {

Result<net::asio::ip::address> SystemResolver::resolve(const std::string& host) {
  return net::resolve_host(host);
}

}  // namespace sluice::upstream
