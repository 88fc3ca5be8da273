// The control thread's side of DNS discovery: every dns_refresh, each cluster that has one
// re-resolves its endpoint names (upstream::rediscover). When its endpoints changed, a runtime
// with that cluster rebuilt (state inherited) goes to `publish`, as a reload would, without being
// counted as one. A name that fails to resolve keeps its addresses and logs a warning.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "sluice/gateway/runtime.hpp"
#include "sluice/net/asio.hpp"
#include "sluice/upstream/resolver.hpp"

namespace sluice::gateway {

class DnsRefresher {
 public:
  using Publish = std::function<void(std::shared_ptr<const Runtime>)>;
  // `resolver` is asked for the resolver at every pass (a reload may change server.hosts_file).
  DnsRefresher(net::asio::io_context& control, std::function<upstream::Resolver&()> resolver,
               Publish publish)
      : io_(control), resolver_(std::move(resolver)), publish_(std::move(publish)) {}
  // Starts refreshing `rt`'s clusters (and stops refreshing the previous runtime's). A cluster
  // keeps its schedule across binds while its dns_refresh stays the same.
  void bind(std::shared_ptr<const Runtime> rt);
  void stop();
  // sluice_dns_refreshes_total{cluster,result} and sluice_dns_endpoint_changes_total.
  void write_metrics(std::string& out) const;

 private:
  using Clock = std::chrono::steady_clock;
  struct Schedule {
    Duration interval{0};
    Clock::time_point due{};
  };
  struct Counts {
    std::uint64_t unchanged = 0, changed = 0, failed = 0, added = 0, removed = 0;
  };
  net::awaitable<void> loop(std::uint64_t generation, std::string cluster);
  // One pass over `cluster`; true when it published a new runtime.
  bool refresh(const std::string& cluster);
  bool current(std::uint64_t generation) const { return !stopped_ && generation == generation_; }

  net::asio::io_context& io_;
  std::function<upstream::Resolver&()> resolver_;
  Publish publish_;
  std::shared_ptr<const Runtime> rt_;
  std::uint64_t generation_ = 0;
  bool stopped_ = false;
  std::map<std::string, Schedule> schedule_;
  std::map<std::string, Counts> counts_;
};

}  // namespace sluice::gateway
