// Upstream health in the real binary: active checks, the diagnostic 503, /admin/upstreams and
// manual drains. Chaos drills in scenarios/ cover outlier detection, retries and breakers under
// load; these pin the exact shapes.
#include <catch2/catch.hpp>

#include "common.hpp"
#include "sluice/chaos/mock_server.hpp"

using namespace sluice::test;
using sluice::chaos::MockExchange;
using sluice::chaos::MockServer;

namespace {

// POST with an empty body on a fresh connection.
std::optional<Response> post(std::uint16_t port, std::string_view target) {
  Connection c(port);
  return c.request(make_request("POST", target));
}

}  // namespace

TEST_CASE("with every endpoint failing its checks the answer is the diagnostic 503",
          "[integration][health]") {
  MockServer sick("sick", {{"", "*", [](MockExchange& ex) { ex.respond(503, "down"); }}});
  std::uint16_t dead = unused_port();
  SluiceProcess proc(config_with(fmt::format(R"([[routes]]
cluster = "up"
[[clusters]]
name = "up"
endpoints = ["{}", "127.0.0.1:{}"]
panic_threshold = 0
[clusters.health_check]
path = "/health"
interval = "50ms"
no_traffic_interval = "50ms"
timeout = "200ms"
unhealthy_threshold = 1
)",
                                             sick.address(), dead)));
  std::optional<Response> r;
  REQUIRE(eventually(
      [&] {
        r = http_get(proc.port(), "/x");
        return r && r->status == 503 && r->body.find("no_healthy_upstream") != std::string::npos;
      },
      5s));
  INFO(r->body);
  CHECK(has_error_shape(*r, "no_healthy_upstream"));
  auto j = r->json()["error"];
  CHECK(j["message"].get<std::string>().find("no healthy upstream in cluster up") !=
        std::string::npos);
  auto details = j["details"];
  CHECK(details["cluster"] == "up");
  CHECK(details["usable"] == 0);
  REQUIRE(details["endpoints"].size() == 2);
  CHECK(details["endpoints"][0]["state"] == "unhealthy");
  CHECK(details["endpoints"][0]["reason"].get<std::string>().find("status 503 not in 200-399") !=
        std::string::npos);
  CHECK(details["endpoints"][1]["reason"].get<std::string>().find("connect:") != std::string::npos);
  CHECK_FALSE(r->has_header("x-sluice-attempts"));  // no upstream was tried

  // The admin API tells the same story, with counters.
  auto a = http_get(proc.admin_port(), "/admin/upstreams/up");
  REQUIRE(a);
  CHECK(a->status == 200);
  auto up = a->json();
  CHECK(up["usable"] == 0);
  CHECK(up["endpoints"][0]["health_check"]["healthy"] == false);
  CHECK(up["endpoints"][0]["health_check"]["last_status"] == 503);
  CHECK(http_get(proc.admin_port(), "/admin/upstreams/nope")->status == 404);

  // And the metrics.
  auto m = http_get(proc.admin_port(), "/metrics");
  REQUIRE(m);
  CHECK(m->body.find("sluice_upstream_endpoint_healthy{cluster=\"up\",endpoint=\"" +
                     sick.address() + "\"} 0") != std::string::npos);
}

TEST_CASE("a drained endpoint gets no new requests until undrained", "[integration][health]") {
  MockServer a("a"), b("b");
  SluiceProcess proc(config_with(fmt::format(R"([[routes]]
cluster = "up"
[[clusters]]
name = "up"
endpoints = ["{}", "{}"]
)",
                                             a.address(), b.address())));
  auto drained = post(proc.admin_port(), "/admin/upstreams/up/" + b.address() + "/drain");
  REQUIRE(drained);
  CHECK(drained->status == 200);
  CHECK(drained->json()["endpoints"][1]["state"] == "draining");
  auto before = b.requests();
  for (int i = 0; i < 10; ++i) REQUIRE(http_get(proc.port(), "/echo")->status == 200);
  CHECK(b.requests() == before);
  CHECK(a.requests() >= 10);

  auto back = post(proc.admin_port(), "/admin/upstreams/up/" + b.address() + "/undrain");
  REQUIRE(back);
  CHECK(back->status == 200);
  for (int i = 0; i < 10; ++i) REQUIRE(http_get(proc.port(), "/echo")->status == 200);
  CHECK(b.requests() > before);

  CHECK(post(proc.admin_port(), "/admin/upstreams/up/127.0.0.1:1/drain")->status == 404);
  CHECK(http_get(proc.admin_port(), "/admin/upstreams/up/" + b.address() + "/drain")->status ==
        405);
}

TEST_CASE("a static fallback answers when the cluster has no usable endpoint",
          "[integration][health]") {
  std::uint16_t dead = unused_port();
  SluiceProcess proc(config_with(fmt::format(R"([[routes]]
cluster = "up"
[routes.fallback]
status = 200
body = '{{"degraded":true}}'
headers = {{ "content-type" = "application/json" }}
[[clusters]]
name = "up"
endpoints = ["127.0.0.1:{}"]
panic_threshold = 0
[clusters.health_check]
type = "tcp"
interval = "50ms"
no_traffic_interval = "50ms"
unhealthy_threshold = 1
)",
                                             dead)));
  std::optional<Response> r;
  REQUIRE(eventually(
      [&] {
        r = http_get(proc.port(), "/x");
        return r && r->header("x-sluice-fallback") == "static";
      },
      5s));
  CHECK(r->status == 200);
  CHECK(r->body == "{\"degraded\":true}");
  CHECK(r->header("content-type") == "application/json");
}
