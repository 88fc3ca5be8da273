#include "sluice/upstream/cluster.hpp"

#include <fmt/format.h>

#include "sluice/core/config/load.hpp"
#include "sluice/net/listen.hpp"

namespace sluice::upstream {

Result<std::shared_ptr<const Cluster>> Cluster::build(const config::Cluster& cfg, std::size_t index,
                                                      Resolver& resolver, std::size_t workers,
                                                      const Cluster* previous,
                                                      std::vector<ResolveFailure>* kept) {
  std::vector<ResolveFailure> failures;
  auto addrs = resolve_endpoints(cfg, index, resolver, previous, failures);
  if (!addrs) return addrs.error();
  if (kept) *kept = std::move(failures);
  return from_endpoints(cfg, index, expand_endpoints(cfg, *addrs), workers, previous);
}

Result<std::shared_ptr<const Cluster>> Cluster::from_endpoints(const config::Cluster& cfg,
                                                               std::size_t index,
                                                               std::vector<Endpoint> endpoints,
                                                               std::size_t workers,
                                                               const Cluster* previous) {
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
  c->endpoints_ = std::move(endpoints);
  std::vector<TrackedEndpoint> tracked;
  for (const auto& ep : c->endpoints_)
    tracked.push_back({ep.name, net::to_string(ep.address),
                       static_cast<double>(cfg.endpoints[ep.config_index].weight)});
  c->state_ = std::make_shared<ClusterState>(cfg, std::move(tracked), SystemClock::instance(),
                                             SeededRng::from_entropy().next());
  if (previous) c->state_->inherit(previous->state());
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
