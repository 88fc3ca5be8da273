// Targets from a gateway config: one per endpoint, with the cluster's TLS settings.
#include <catch2/catch.hpp>

#include "sluice/core/config/load.hpp"
#include "sluice/probe/config_targets.hpp"

using namespace sluice;
using namespace sluice::probe;
using namespace std::chrono_literals;

TEST_CASE("probe config targets: every endpoint of every cluster", "[probe][config]") {
  auto c = config::load_string(R"([[listeners]]
name = "main"
listen = "127.0.0.1:0"

[[routes]]
name = "api"
cluster = "plain"

[[clusters]]
name = "plain"
endpoints = ["127.0.0.1:9001", "http://127.0.0.1:9002"]
connect_timeout = "250ms"

[[clusters]]
name = "secure"
endpoints = ["https://localhost:9443"]
[clusters.tls]
sni = "api.internal"
verify = false
)",
                               "gateway.toml");
  INFO((c.ok() ? "" : c.error().message));
  REQUIRE(c.ok());
  auto targets = config_targets(*c, {}, {});
  REQUIRE(targets.ok());
  REQUIRE(targets->size() == 3);
  const auto& a = (*targets)[0];
  CHECK(a.name == "plain/127.0.0.1:9001");
  CHECK(a.url == "http://127.0.0.1:9001/");
  CHECK(a.kind == Kind::http);
  CHECK(a.options.connect_timeout == 250ms);
  CHECK(a.origin.starts_with("gateway.toml:11:"));
  CHECK(a.conditions.at(0).source == "status in 200..299");
  const auto& s = (*targets)[2];
  CHECK(s.name == "secure/localhost:9443");
  CHECK(s.url == "https://localhost:9443/");
  CHECK(s.tls);
  CHECK(s.options.tls.sni == "api.internal");
  CHECK(s.options.tls.insecure);

  auto expect = config_targets(*c, {}, {{"status == 200", "--expect"}});
  REQUIRE(expect.ok());
  CHECK((*expect)[1].conditions.at(0).source == "status == 200");
  auto wrong = config_targets(*c, {}, {{"connected", "--expect"}});
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.error().message.find("\"connected\" is for tcp targets") != std::string::npos);
}

TEST_CASE("probe config targets: an invalid config is reported in the config format",
          "[probe][config]") {
  auto r = load_config_targets("/nonexistent/sluice.toml", {}, {});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::config);
  CHECK(r.error().message.starts_with("/nonexistent/sluice.toml: cannot read the config file"));
}

TEST_CASE("probe config targets: a cluster's health check decides how it is probed",
          "[probe][config]") {
  auto c = config::load_string(R"([[listeners]]
listen = "127.0.0.1:0"
[[routes]]
cluster = "web"
[[clusters]]
name = "web"
endpoints = ["127.0.0.1:9001"]
[clusters.health_check]
path = "/ready"
method = "HEAD"
expected_statuses = [200, "300-302"]
body_contains = "UP"
timeout = "700ms"
[[clusters]]
name = "db"
endpoints = ["127.0.0.1:5432"]
[clusters.health_check]
type = "tcp"
)",
                               "gateway.toml");
  INFO((c.ok() ? "" : c.error().message));
  REQUIRE(c.ok());
  auto targets = config_targets(*c, {}, {});
  INFO((targets.ok() ? "" : targets.error().message));
  REQUIRE(targets.ok());
  REQUIRE(targets->size() == 2);
  const auto& web = (*targets)[0];
  CHECK(web.url == "http://127.0.0.1:9001/ready");
  CHECK(web.options.method == "HEAD");
  CHECK(web.options.timeout == 700ms);
  REQUIRE(web.conditions.size() == 2);
  CHECK(web.conditions[0].source == "status == 200 or status in 300..302");
  CHECK(web.conditions[0].origin == "clusters.web.health_check");
  CHECK(web.conditions[1].source == "body contains \"UP\"");
  const auto& db = (*targets)[1];
  CHECK(db.kind == Kind::tcp);
  CHECK(db.conditions.at(0).source != "status in 200..299");
  // --expect replaces the health check's conditions.
  auto expect = config_targets(*c, {}, {{"status == 204", "--expect"}});
  REQUIRE_FALSE(expect.ok());  // "status" is not a tcp name: the db target refuses it
}
