// Scenario files: [[mocks.routes]], phases.slowloris and assertion windows (after/before).
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "sluice/chaos/scenario.hpp"

using namespace sluice::chaos;
using namespace std::chrono_literals;

namespace {

std::string error_of(std::string_view toml) {
  auto r = load_scenario_string(toml, "s.toml");
  REQUIRE_FALSE(r.ok());
  return r.error().message;
}

// A scenario with one mock whose [[mocks.routes]] and one phase whose keys the tests append.
std::string with_routes(std::string_view routes, std::string_view phase_extra = "",
                        std::string_view assertion_extra = "") {
  return fmt::format(R"(name = "parts"
[[mocks]]
name = "a"
{}
[[phases]]
name = "steady"
duration = "3s"
rate = 10
target = "mock.a"
{}
[[assertions]]
expect = "client.errors == 0"
{}
)",
                     routes, phase_extra, assertion_extra);
}

}  // namespace

TEST_CASE("mock routes are read in order with their responses", "[scenario]") {
  auto dir = std::filesystem::temp_directory_path() / ("sluice-parts-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "reply.json") << R"({"from":"file"})";
  auto s = load_scenario_string(with_routes(R"([[mocks.routes]]
method = "GET"
path = "/health"
status = 204
[[mocks.routes]]
path = "/v1/*"
status = 201
headers = { "content-type" = "application/json", "x-a" = "1" }
body_file = "reply.json"
[[mocks.routes]]
path = "*"
echo = true)"),
                                (dir / "s.toml").string());
  std::filesystem::remove_all(dir);
  REQUIRE(s.ok());
  const auto& routes = s->mocks.at(0).routes;
  REQUIRE(routes.size() == 3);
  CHECK(routes[0].method == "GET");
  CHECK(routes[0].path == "/health");
  CHECK(routes[0].status == 204);
  CHECK(routes[1].method.empty());
  CHECK(routes[1].status == 201);
  CHECK(routes[1].headers.size() == 2);
  CHECK(routes[1].body == R"({"from":"file"})");
  CHECK(routes[2].path == "*");
  CHECK(routes[2].echo);
  CHECK(routes[2].status == 200);
}

TEST_CASE("routes = \"demo\" and no routes both mean the demo routes", "[scenario]") {
  auto s = load_scenario_string(with_routes("routes = \"demo\""), "s.toml");
  REQUIRE(s.ok());
  CHECK(s->mocks.at(0).routes.empty());
}

TEST_CASE("mock route errors name the key and a fix", "[scenario]") {
  CHECK(error_of(with_routes("routes = \"dmeo\"")) ==
        "s.toml:4:10: mocks[0].routes: unknown route set \"dmeo\" (hint: did you mean "
        "\"demo\"?)");
  CHECK(error_of(with_routes("[[mocks.routes]]\npath = \"health\"")) ==
        "s.toml:5:8: mocks[0].routes[0].path: \"health\" is not a route path (hint: start it "
        "with '/', end it with '*' to match a prefix (\"/v1/*\"), or use \"*\" for every path; "
        "the query string is not matched)");
  CHECK(error_of(with_routes("[[mocks.routes]]\nbody = \"x\"\necho = true")) ==
        "s.toml:6:8: mocks[0].routes[0].echo: body, body_file and echo are alternatives (hint: "
        "keep one: body = \"...\", body_file = \"reply.json\", or echo = true)");
  CHECK(error_of(with_routes("[[mocks.routes]]\nstatus = 99")).find("mocks[0].routes[0].status") !=
        std::string::npos);
  auto missing = error_of(with_routes("[[mocks.routes]]\nbody_file = \"nope.json\""));
  CHECK(missing.find("mocks[0].routes[0].body_file: cannot read") != std::string::npos);
  CHECK(missing.find("relative path starts from the scenario file's directory") !=
        std::string::npos);
  CHECK(error_of(with_routes("[[mocks.routes]]\nstaus = 200")).find("did you mean \"status\"?") !=
        std::string::npos);
}

TEST_CASE("phases.slowloris is read with defaults", "[scenario]") {
  auto s = load_scenario_string(
      with_routes("", "slowloris = { connections = 30, interval = \"250ms\", bytes = 2 }"),
      "s.toml");
  REQUIRE(s.ok());
  REQUIRE(s->phases[0].slowloris);
  CHECK(s->phases[0].slowloris->connections == 30);
  CHECK(s->phases[0].slowloris->interval == 250ms);
  CHECK(s->phases[0].slowloris->bytes == 2);

  auto d = load_scenario_string(with_routes("", "slowloris = {}"), "s.toml");
  REQUIRE(d.ok());
  CHECK(d->phases[0].slowloris->connections == 10);
  CHECK(d->phases[0].slowloris->interval == 1s);

  CHECK(error_of(with_routes("", "slowloris = { conections = 3 }"))
            .find("phases[0].slowloris.conections: unknown key (hint: did you mean "
                  "\"connections\"?)") != std::string::npos);
  CHECK(error_of(with_routes("", "slowloris = { connections = 0 }"))
            .find("phases[0].slowloris.connections") != std::string::npos);
}

TEST_CASE("assertion windows need a phase and an order", "[scenario]") {
  auto s = load_scenario_string(
      with_routes("", "", "phase = \"steady\"\nafter = \"1s\"\nbefore = \"2s\""), "s.toml");
  REQUIRE(s.ok());
  CHECK(s->assertions[0].after == 1s);
  CHECK(s->assertions[0].before == 2s);

  CHECK(error_of(with_routes("", "", "after = \"1s\"")) ==
        "s.toml:13:9: assertions[0].after: after counts from the start of a phase, and there "
        "is none (hint: add phase = \"NAME\", the phase whose start it counts from)");
  CHECK(error_of(with_routes("", "", "phase = \"steady\"\nafter = \"2s\"\nbefore = \"1s\"")) ==
        "s.toml:15:10: assertions[0].before: must be later than after (hint: the window is "
        "[after, before) from the phase start, e.g. after = \"2s\", before = \"5s\")");
}
