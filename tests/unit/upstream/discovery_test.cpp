// DNS discovery with a fake resolver: a name expands to one endpoint per address, a refresh
// pass sees what joined and left, and a failed resolution keeps the previous addresses.
#include "sluice/upstream/discovery.hpp"

#include <catch2/catch.hpp>

#include "fake_resolver.hpp"
#include "sluice/upstream/cluster.hpp"

using namespace std::chrono_literals;
using sluice::test::FakeResolver;
namespace up = sluice::upstream;

namespace {

sluice::config::Cluster cluster(std::vector<std::pair<std::string, std::uint16_t>> eps,
                                sluice::Duration refresh = 100ms) {
  sluice::config::Cluster c;
  c.name = "svc";
  c.dns_refresh = refresh;
  for (const auto& [host, port] : eps) {
    sluice::config::Endpoint e;
    e.address = {host, port};
    e.weight = 3;
    c.endpoints.push_back(e);
  }
  return c;
}

std::vector<std::string> names(const std::vector<up::Endpoint>& eps) {
  std::vector<std::string> out;
  for (const auto& e : eps) out.push_back(e.name);
  return out;
}

}  // namespace

TEST_CASE("discovery: a name expands to one endpoint per address, named ADDR:PORT", "[dns]") {
  FakeResolver r;
  r.set("svc.test", {"127.0.0.3", "127.0.0.2", "127.0.0.3"});
  auto built = up::Cluster::build(cluster({{"svc.test", 8080}, {"127.0.0.9", 81}}), 0, r);
  REQUIRE(built);
  const auto& eps = (*built)->endpoints();
  CHECK(names(eps) == std::vector<std::string>{"127.0.0.2:8080", "127.0.0.3:8080", "127.0.0.9:81"});
  for (std::size_t i = 0; i < eps.size(); ++i) CHECK(eps[i].index == i);
  CHECK(eps[0].discovered);
  CHECK(eps[0].host_header == "svc.test:8080");
  CHECK(eps[0].server_name == "svc.test");
  CHECK(eps[0].config_index == 0);
  CHECK(eps[0].pool_key != eps[1].pool_key);
  CHECK_FALSE(eps[2].discovered);
  CHECK(eps[2].config_index == 1);
  CHECK((*built)->state().size() == 3);
  // Each address keeps the configured weight.
  CHECK((*built)->state().snapshot()->endpoints[1].weight == 3.0);
}

TEST_CASE("discovery: without dns_refresh a name stays one endpoint named as configured", "[dns]") {
  FakeResolver r;
  r.set("svc.test", {"127.0.0.2", "127.0.0.3"});
  auto built = up::Cluster::build(cluster({{"svc.test", 8080}}, 0s), 0, r);
  REQUIRE(built);
  REQUIRE((*built)->endpoints().size() == 1);
  CHECK((*built)->endpoints()[0].name == "svc.test:8080");
  CHECK((*built)->endpoints()[0].address.address().to_string() == "127.0.0.2");
}

TEST_CASE("discovery: IPv6 answers are bracketed in endpoint names", "[dns]") {
  FakeResolver r;
  r.set("svc.test", {"::1"});
  auto built = up::Cluster::build(cluster({{"svc.test", 443}}), 0, r);
  REQUIRE(built);
  CHECK((*built)->endpoints()[0].name == "[::1]:443");
}

TEST_CASE("discovery: an address found twice is listed once", "[dns]") {
  FakeResolver r;
  r.set("a.test", {"127.0.0.2"});
  r.set("b.test", {"127.0.0.2", "127.0.0.3"});
  auto built = up::Cluster::build(cluster({{"a.test", 80}, {"b.test", 80}}), 0, r);
  REQUIRE(built);
  CHECK(names((*built)->endpoints()) == std::vector<std::string>{"127.0.0.2:80", "127.0.0.3:80"});
}

TEST_CASE("discovery: a refresh pass reports the endpoints that joined and left", "[dns]") {
  FakeResolver r;
  r.set("svc.test", {"127.0.0.2"});
  auto built = up::Cluster::build(cluster({{"svc.test", 8080}}), 0, r);
  REQUIRE(built);

  auto same = up::rediscover(**built, 0, r);
  REQUIRE(same);
  CHECK(same->changes.empty());
  CHECK(same->failures.empty());

  r.set("svc.test", {"127.0.0.2", "127.0.0.3"});
  auto joined = up::rediscover(**built, 0, r);
  REQUIRE(joined);
  CHECK(joined->changes.added == std::vector<std::string>{"127.0.0.3:8080"});
  CHECK(joined->changes.removed.empty());
  CHECK(names(joined->endpoints) == std::vector<std::string>{"127.0.0.2:8080", "127.0.0.3:8080"});

  auto next =
      up::Cluster::from_endpoints((*built)->config(), 0, joined->endpoints, 1, built->get());
  REQUIRE(next);
  r.set("svc.test", {"127.0.0.3"});
  auto left = up::rediscover(**next, 0, r);
  REQUIRE(left);
  CHECK(left->changes.added.empty());
  CHECK(left->changes.removed == std::vector<std::string>{"127.0.0.2:8080"});
}

TEST_CASE("discovery: a failed resolution keeps the previous addresses", "[dns]") {
  FakeResolver r;
  r.set("svc.test", {"127.0.0.2", "127.0.0.3"});
  auto built = up::Cluster::build(cluster({{"svc.test", 8080}}), 0, r);
  REQUIRE(built);
  r.fail("svc.test");
  auto pass = up::rediscover(**built, 0, r);
  REQUIRE(pass);
  CHECK(pass->changes.empty());
  REQUIRE(pass->failures.size() == 1);
  CHECK(pass->failures[0].host == "svc.test");
  CHECK(pass->failures[0].error.find("fake failure") != std::string::npos);
  CHECK(names(pass->endpoints) == std::vector<std::string>{"127.0.0.2:8080", "127.0.0.3:8080"});

  // A rebuild (a reload) with the previous cluster keeps them as well, and says so.
  std::vector<up::ResolveFailure> kept;
  auto rebuilt = up::Cluster::build((*built)->config(), 0, r, 1, built->get(), &kept);
  REQUIRE(rebuilt);
  CHECK((*rebuilt)->endpoints().size() == 2);
  CHECK(kept.size() == 1);
}

TEST_CASE("discovery: a name that never resolved is a config error naming the endpoint", "[dns]") {
  FakeResolver r;
  auto built = up::Cluster::build(cluster({{"127.0.0.9", 80}, {"missing.test", 80}}), 2, r);
  REQUIRE_FALSE(built);
  CHECK(built.error().message.find("clusters[2].endpoints[1]") != std::string::npos);
  CHECK(built.error().message.find("missing.test") != std::string::npos);
}
