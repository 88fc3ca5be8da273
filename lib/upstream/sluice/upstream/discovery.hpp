// DNS discovery: which endpoints a cluster's configured endpoints stand for. With dns_refresh > 0,
// an endpoint given by a name stands for every address the name resolves to (one endpoint per
// address), and the control thread calls rediscover() every dns_refresh to see whether that set
// changed. Pure functions over a Resolver; the timer that drives them lives in the gateway.
#pragma once

#include <string>
#include <vector>

#include "sluice/core/config/schema.hpp"
#include "sluice/core/error.hpp"
#include "sluice/net/asio.hpp"
#include "sluice/upstream/endpoint.hpp"
#include "sluice/upstream/resolver.hpp"

namespace sluice::upstream {

class Cluster;

using Addresses = std::vector<net::asio::ip::address>;

// A name that did not resolve on a refresh, so the addresses it had are kept.
struct ResolveFailure {
  std::size_t endpoint = 0;  // clusters.endpoints[N]
  std::string host;
  std::string error;
};

// True when `e` is re-resolved and expanded: the cluster has dns_refresh > 0 and e's host is a
// name, not an address literal.
bool is_discovered(const config::Cluster& cfg, const config::Endpoint& e);

// The addresses of every configured endpoint of `cfg`, in config order: a literal stands for
// itself, a name resolves to one address (resolve()) or, when discovered, to all of them
// (resolve_all()). `index` is the cluster's position, for error messages. When a discovered name
// fails and `previous` (the cluster this one replaces, or null) has addresses for the same
// host:port, they are kept and the failure is appended to `kept`: DNS trouble never empties a
// cluster. Any other failure is an error (clusters[I].endpoints[N]: ...).
Result<std::vector<Addresses>> resolve_endpoints(const config::Cluster& cfg, std::size_t index,
                                                 Resolver& resolver, const Cluster* previous,
                                                 std::vector<ResolveFailure>& kept);

// The endpoints `cfg` stands for, given the addresses of each configured endpoint (pure). A
// discovered name gives one endpoint per address, named "ADDR:PORT" ("[ADDR]:PORT" for IPv6),
// that keeps the name for its Host header (auto_host_rewrite) and TLS server name. An address and
// port already listed by an earlier endpoint is not listed twice.
std::vector<Endpoint> expand_endpoints(const config::Cluster& cfg,
                                       const std::vector<Addresses>& addresses);

// Endpoints (name and address) that joined and left between two lists.
struct EndpointChanges {
  std::vector<std::string> added, removed;  // endpoint names
  bool empty() const { return added.empty() && removed.empty(); }
};
EndpointChanges diff_endpoints(const std::vector<Endpoint>& before,
                               const std::vector<Endpoint>& after);

// One refresh pass over a built cluster: its endpoints as the names resolve now, what changed,
// and the names that failed (their previous addresses are kept).
struct Rediscovery {
  std::vector<Endpoint> endpoints;
  EndpointChanges changes;
  std::vector<ResolveFailure> failures;
};
Result<Rediscovery> rediscover(const Cluster& current, std::size_t index, Resolver& resolver);

}  // namespace sluice::upstream
