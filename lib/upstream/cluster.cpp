#include "sluice/upstream/cluster.hpp"

#include <fmt/format.h>

#include "sluice/core/config/load.hpp"

namespace sluice::upstream {

namespace {

bool is_address_literal(const std::string& host) {
  net::error_code ec;
  net::asio::ip::make_address(host, ec);
  return !ec;
}

}  // namespace

Result<std::shared_ptr<const Cluster>> Cluster::build(const config::Cluster& cfg, std::size_t index,
                                                      Resolver& resolver, std::size_t workers) {
  std::shared_ptr<Cluster> c(new Cluster(cfg));
  bool any_tls = cfg.tls.enabled;
  for (const auto& e : cfg.endpoints) any_tls = any_tls || e.tls;
  if (any_tls) {
    auto ctx = net::make_client_tls(cfg.tls);
    if (!ctx)
      return config::config_error(cfg.pos, fmt::format("clusters[{}].tls", index),
                                  ctx.error().message, "check the certificate, key and CA files");
    c->tls_ = std::move(*ctx);
  }
  for (std::size_t i = 0; i < cfg.endpoints.size(); ++i) {
    const auto& e = cfg.endpoints[i];
    auto addr = resolver.resolve(e.address.host);
    if (!addr)
      return config::config_error(e.pos, fmt::format("clusters[{}].endpoints[{}]", index, i),
                                  addr.error().message, "use a resolvable name or an IP address");
    Endpoint ep;
    ep.host = e.address.host;
    ep.port = e.address.port;
    ep.address = net::tcp::endpoint(*addr, e.address.port);
    ep.tls = e.tls || cfg.tls.enabled;
    bool v6 = ep.host.find(':') != std::string::npos;
    std::string h = v6 ? fmt::format("[{}]", ep.host) : ep.host;
    ep.name = fmt::format("{}:{}", h, ep.port);
    bool default_port = ep.port == (ep.tls ? 443 : 80);
    ep.host_header = default_port ? h : ep.name;
    ep.server_name = !cfg.tls.sni.empty()          ? cfg.tls.sni
                     : is_address_literal(ep.host) ? std::string()
                                                   : ep.host;
    ep.pool_key = fmt::format("{}|{}|{}", cfg.name, ep.name, ep.tls ? "tls" : "tcp");
    ep.index = i;
    c->endpoints_.push_back(std::move(ep));
  }
  std::vector<std::string> names;
  for (const auto& ep : c->endpoints_) names.push_back(ep.name);
  c->state_ = std::make_shared<ClusterState>(cfg, std::move(names), SystemClock::instance(),
                                             SeededRng::from_entropy().next());
  for (std::size_t w = 0; w < std::max<std::size_t>(1, workers); ++w) {
    auto wb = std::make_unique<WorkerBalancer>(WorkerBalancer{SeededRng::from_entropy(), nullptr});
    BalancerOptions o;
    o.first_index = w;
    wb->balancer = make_balancer(cfg.lb, wb->rng, o);
    c->balancers_.push_back(std::move(wb));
  }
  return std::shared_ptr<const Cluster>(std::move(c));
}

const Endpoint* Cluster::choose(const ClusterSnapshot& snap, std::size_t worker,
                                const Endpoint* exclude, std::uint64_t hash) const {
  if (snap.routable.empty()) return nullptr;
  auto active = state_->active_view();
  PickContext ctx{.hosts = snap.hosts,
                  .hash = hash,
                  .exclude = exclude ? exclude->index : kNoEndpoint,
                  .panic = snap.panic,
                  .active = &active,
                  .table = snap.table.get()};
  auto& wb = *balancers_[worker % balancers_.size()];
  auto i = wb.balancer->pick(ctx);
  return i && *i < endpoints_.size() ? &endpoints_[*i] : nullptr;
}

}  // namespace sluice::upstream
