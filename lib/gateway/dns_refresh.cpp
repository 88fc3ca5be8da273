#include <utility>  // before Asio: Boost 1.74 uses std::exchange without including it

#include "sluice/gateway/dns_refresh.hpp"

#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>

#include "sluice/core/clock.hpp"
#include "sluice/core/log.hpp"
#include "sluice/upstream/discovery.hpp"

namespace sluice::gateway {

namespace asio = net::asio;
using net::error_code;

namespace {

bool has_names(const config::Cluster& cfg) {
  for (const auto& e : cfg.endpoints)
    if (upstream::is_discovered(cfg, e)) return true;
  return false;
}

}  // namespace

void DnsRefresher::bind(std::shared_ptr<const Runtime> rt) {
  rt_ = std::move(rt);
  const std::uint64_t gen = ++generation_;
  auto rng = SeededRng::from_entropy();
  const auto now = Clock::now();
  std::map<std::string, Schedule> next;
  for (const auto& c : rt_->clusters()) {
    const auto& cfg = c->config();
    if (!has_names(cfg)) continue;
    Schedule s;
    s.interval = cfg.dns_refresh;
    auto it = schedule_.find(cfg.name);
    if (it != schedule_.end() && it->second.interval == s.interval) {
      s.due = it->second.due;
    } else {
      // Up to a tenth later, so that clusters refreshed alike do not all resolve at once.
      s.due = now + std::chrono::duration_cast<Clock::duration>(s.interval +
                                                                s.interval * rng.uniform() / 10);
    }
    next[cfg.name] = s;
    counts_[cfg.name];  // the metrics show the cluster from the start
    asio::co_spawn(io_, loop(gen, cfg.name), asio::detached);
  }
  schedule_ = std::move(next);
}

void DnsRefresher::stop() {
  stopped_ = true;
  rt_.reset();
}

net::awaitable<void> DnsRefresher::loop(std::uint64_t generation, std::string cluster) {
  asio::steady_timer t(io_);
  auto rng = SeededRng::from_entropy();
  while (current(generation)) {
    t.expires_at(schedule_[cluster].due);
    error_code ec;
    co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec || !current(generation)) co_return;
    auto& s = schedule_[cluster];
    s.due = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                               s.interval + s.interval * rng.uniform() / 10);
    // A published change rebinds: the new generation's loop takes over this cluster.
    if (refresh(cluster)) co_return;
  }
}

bool DnsRefresher::refresh(const std::string& name) {
  std::shared_ptr<const Runtime> rt = rt_;
  std::size_t index = 0;
  std::shared_ptr<const upstream::Cluster> cluster;
  for (; index < rt->clusters().size(); ++index)
    if (rt->clusters()[index]->name() == name) {
      cluster = rt->clusters()[index];
      break;
    }
  if (!cluster) return false;
  auto& counts = counts_[name];
  auto found = upstream::rediscover(*cluster, index, resolver_());
  if (!found) {
    ++counts.failed;
    log::warn("dns_resolve_failed", {{"cluster", name},
                                     {"error", found.error().message},
                                     {"action", "kept the previous addresses"}});
    return false;
  }
  for (const auto& f : found->failures)
    log::warn("dns_resolve_failed", {{"cluster", name},
                                     {"host", f.host},
                                     {"error", f.error},
                                     {"action", "kept the previous addresses"}});
  if (!found->failures.empty())
    ++counts.failed;
  else if (found->changes.empty())
    ++counts.unchanged;
  else
    ++counts.changed;
  if (found->changes.empty()) return false;
  auto built =
      upstream::Cluster::from_endpoints(cluster->config(), index, std::move(found->endpoints),
                                        workers_of(rt->config()), cluster.get());
  if (!built) {
    log::error("dns_rebuild_failed", {{"cluster", name}, {"error", built.error().message}});
    return false;
  }
  auto next = Runtime::with_clusters(*rt, {*built});
  if (!next) {
    log::error("dns_rebuild_failed", {{"cluster", name}, {"error", next.error().message}});
    return false;
  }
  counts.added += found->changes.added.size();
  counts.removed += found->changes.removed.size();
  log::info("endpoints_changed", {{"cluster", name},
                                  {"trigger", "dns"},
                                  {"added", found->changes.added},
                                  {"removed", found->changes.removed},
                                  {"endpoints", (*built)->endpoints().size()}});
  publish_(std::move(*next));
  return true;
}

void DnsRefresher::write_metrics(std::string& out) const {
  if (counts_.empty()) return;
  out +=
      "# HELP sluice_dns_refreshes_total DNS discovery passes, by cluster and result (changed, "
      "unchanged, failed: a name did not resolve and kept its addresses)\n"
      "# TYPE sluice_dns_refreshes_total counter\n";
  for (const auto& [c, n] : counts_) {
    const std::pair<const char*, std::uint64_t> results[] = {
        {"changed", n.changed}, {"unchanged", n.unchanged}, {"failed", n.failed}};
    for (const auto& [result, v] : results)
      out += fmt::format("sluice_dns_refreshes_total{{cluster=\"{}\",result=\"{}\"}} {}\n", c,
                         result, v);
  }
  out +=
      "# HELP sluice_dns_endpoint_changes_total Endpoints DNS discovery added or removed\n"
      "# TYPE sluice_dns_endpoint_changes_total counter\n";
  for (const auto& [c, n] : counts_) {
    out += fmt::format("sluice_dns_endpoint_changes_total{{cluster=\"{}\",change=\"added\"}} {}\n",
                       c, n.added);
    out +=
        fmt::format("sluice_dns_endpoint_changes_total{{cluster=\"{}\",change=\"removed\"}} {}\n",
                    c, n.removed);
  }
}

}  // namespace sluice::gateway
