// DNS discovery: resolving and expanding a cluster's endpoints (see discovery.hpp).
#include "sluice/upstream/discovery.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "sluice/core/config/load.hpp"
#include "sluice/upstream/cluster.hpp"

namespace sluice::upstream {

namespace {

bool is_address_literal(const std::string& host) {
  net::error_code ec;
  net::asio::ip::make_address(host, ec);
  return !ec;
}

// "1.2.3.4" or "[::1]": the host part of a URL or a label.
std::string bracketed(const std::string& host) {
  return host.find(':') != std::string::npos ? fmt::format("[{}]", host) : host;
}

std::string address_text(const net::tcp::endpoint& ep) {
  return fmt::format("{}:{}", bracketed(ep.address().to_string()), ep.port());
}

// The addresses `previous` used for configured host:port `e`, when it discovered them.
Addresses previous_addresses(const Cluster* previous, const config::Endpoint& e) {
  Addresses out;
  if (!previous) return out;
  for (const auto& ep : previous->endpoints())
    if (ep.discovered && ep.host == e.address.host && ep.port == e.address.port)
      out.push_back(ep.address.address());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace

bool is_discovered(const config::Cluster& cfg, const config::Endpoint& e) {
  return cfg.dns_refresh.count() > 0 && !is_address_literal(e.address.host);
}

Result<std::vector<Addresses>> resolve_endpoints(const config::Cluster& cfg, std::size_t index,
                                                 Resolver& resolver, const Cluster* previous,
                                                 std::vector<ResolveFailure>& kept) {
  std::vector<Addresses> out;
  out.reserve(cfg.endpoints.size());
  for (std::size_t i = 0; i < cfg.endpoints.size(); ++i) {
    const auto& e = cfg.endpoints[i];
    Result<Addresses> addrs = Addresses{};
    if (is_discovered(cfg, e)) {
      addrs = resolver.resolve_all(e.address.host);
      if (addrs && addrs->empty())
        addrs = make_error(ErrorKind::dns, ErrorSource::internal,
                           fmt::format("\"{}\" resolved to no address", e.address.host));
      if (!addrs) {
        auto before = previous_addresses(previous, e);
        if (!before.empty()) {
          kept.push_back({i, e.address.host, addrs.error().message});
          addrs = std::move(before);
        }
      }
    } else {
      auto one = resolver.resolve(e.address.host);
      if (one)
        addrs = Addresses{*one};
      else
        addrs = one.error();
    }
    if (!addrs)
      return config::config_error(e.pos, fmt::format("clusters[{}].endpoints[{}]", index, i),
                                  addrs.error().message, "use a resolvable name or an IP address");
    out.push_back(std::move(*addrs));
  }
  return out;
}

std::vector<Endpoint> expand_endpoints(const config::Cluster& cfg,
                                       const std::vector<Addresses>& addresses) {
  std::vector<Endpoint> out;
  for (std::size_t i = 0; i < cfg.endpoints.size() && i < addresses.size(); ++i) {
    const auto& e = cfg.endpoints[i];
    const bool discovered = is_discovered(cfg, e);
    for (const auto& addr : addresses[i]) {
      Endpoint ep;
      ep.host = e.address.host;
      ep.port = e.address.port;
      ep.address = net::tcp::endpoint(addr, e.address.port);
      ep.tls = e.tls || cfg.tls.enabled;
      ep.discovered = discovered;
      ep.config_index = i;
      const std::string h = bracketed(ep.host);
      const std::string configured = fmt::format("{}:{}", h, ep.port);
      ep.name = discovered ? address_text(ep.address) : configured;
      const bool default_port = ep.port == (ep.tls ? 443 : 80);
      ep.host_header = default_port ? h : configured;
      ep.server_name = !cfg.tls.sni.empty()          ? cfg.tls.sni
                       : is_address_literal(ep.host) ? std::string()
                                                     : ep.host;
      ep.pool_key = fmt::format("{}|{}|{}", cfg.name, ep.name, ep.tls ? "tls" : "tcp");
      // Names must stay unique once discovery is involved (drains and metrics go by name).
      const bool listed = std::any_of(out.begin(), out.end(), [&](const Endpoint& o) {
        return (o.discovered || ep.discovered) && o.name == ep.name;
      });
      if (listed) continue;
      ep.index = out.size();
      out.push_back(std::move(ep));
    }
  }
  return out;
}

EndpointChanges diff_endpoints(const std::vector<Endpoint>& before,
                               const std::vector<Endpoint>& after) {
  auto contains = [](const std::vector<Endpoint>& list, const Endpoint& e) {
    return std::any_of(list.begin(), list.end(), [&](const Endpoint& o) {
      return o.name == e.name && o.address == e.address;
    });
  };
  EndpointChanges c;
  for (const auto& e : after)
    if (!contains(before, e)) c.added.push_back(e.name);
  for (const auto& e : before)
    if (!contains(after, e)) c.removed.push_back(e.name);
  return c;
}

Result<Rediscovery> rediscover(const Cluster& current, std::size_t index, Resolver& resolver) {
  Rediscovery r;
  auto addrs = resolve_endpoints(current.config(), index, resolver, &current, r.failures);
  if (!addrs) return addrs.error();
  r.endpoints = expand_endpoints(current.config(), *addrs);
  r.changes = diff_endpoints(current.endpoints(), r.endpoints);
  return r;
}

}  // namespace sluice::upstream
