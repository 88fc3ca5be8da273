// pick() must not allocate: it runs on every request of every worker. Counted with the ASan
// allocator's hooks, so the check exists in the dev (ASan) build only.
#if defined(__SANITIZE_ADDRESS__)

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include <catch2/catch.hpp>

#include "sluice/upstream/balancer.hpp"

extern "C" int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void*,
                                                                             std::size_t),
                                                         void (*free_hook)(const volatile void*));

using sluice::SeededRng;
using sluice::config::LbPolicy;
using namespace sluice::upstream;

namespace {

// Per thread, so that allocations of any other thread in the test binary are not counted.
thread_local bool counting = false;
thread_local long allocations = 0;

void on_malloc(const volatile void*, std::size_t) {
  if (counting) ++allocations;
}
void on_free(const volatile void*) {}

bool install_hooks() {
  static const bool installed = __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free) != 0;
  return installed;
}

// The allocations made by f(), on this thread.
template <class F>
long allocations_in(F&& f) {
  allocations = 0;
  counting = true;
  f();
  counting = false;
  return allocations;
}

}  // namespace

TEST_CASE("the allocation counter sees an allocation", "[upstream][balancer]") {
  REQUIRE(install_hooks());
  CHECK(allocations_in([] { auto v = std::make_unique<std::vector<int>>(3); }) == 2);
  CHECK(allocations_in([] {}) == 0);
}

TEST_CASE("pick allocates nothing in any policy", "[upstream][balancer]") {
  REQUIRE(install_hooks());
  std::vector<LbHost> hosts(16, LbHost{2, true});
  hosts[5].usable = false;
  hosts[6].weight = 0.5;
  std::vector<std::atomic<std::uint32_t>> active(hosts.size());
  for (LbPolicy policy : {LbPolicy::round_robin, LbPolicy::weighted_round_robin, LbPolicy::random,
                          LbPolicy::least_request, LbPolicy::ring_hash, LbPolicy::maglev}) {
    INFO(int(policy));
    SeededRng rng(1);
    auto balancer = make_balancer(policy, rng);
    const auto table = build_table(policy, hosts);
    const ActiveRequests in_flight_reader(active);
    PickContext ctx{.hosts = hosts, .active = &in_flight_reader, .table = table.get()};
    REQUIRE(balancer->pick(ctx).has_value());  // weighted_round_robin sizes its state here
    std::vector<std::optional<std::size_t>> results(2000);
    const long n = allocations_in([&] {
      for (std::size_t i = 0; i < results.size(); ++i) {
        ctx.hash = i * 0x9e3779b97f4a7c15ull;
        ctx.exclude = i % 3 == 0 ? i % hosts.size() : kNoEndpoint;
        ctx.panic = i % 7 == 0 ? Panic::yes : Panic::no;
        results[i] = balancer->pick(ctx);
      }
    });
    CHECK(n == 0);
    CHECK(std::all_of(results.begin(), results.end(), [](auto r) { return r.has_value(); }));
  }
}

#endif
