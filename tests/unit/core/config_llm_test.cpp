// sluice.toml: the LLM gateway's tables ([[providers]], [[models]], [[prices]], [routes.llm]).
#include <string>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "sluice/core/config/load.hpp"

using namespace sluice;
using namespace sluice::config;
using namespace std::chrono_literals;

namespace {

std::string text(std::string_view extra, std::string_view route_llm = "[routes.llm]") {
  return fmt::format(R"([[listeners]]
listen = "127.0.0.1:0"
[[routes]]
name = "llm"
path_prefix = "/v1/"
{}
[[providers]]
name = "openai"
kind = "openai"
base_url = "https://api.openai.com/v1"
api_key_env = "OPENAI_API_KEY"
[[providers]]
name = "local"
kind = "openai-compatible"
base_url = "http://127.0.0.1:8000/v1/"
api_version = "2024-10-21"
[[models]]
name = "gpt"
targets = [{{ provider = "openai", model = "gpt-4o-mini", weight = 3 }}, {{ provider = "local" }}]
fallbacks = ["big"]
strategy = "cheapest"
[[models]]
name = "big"
targets = [{{ provider = "openai", model = "gpt-4.1", context_window = 1000000 }}]
{}
)",
                     route_llm, extra);
}

std::string error(const std::string& t) {
  auto r = load_string(t, "s.toml");
  REQUIRE_FALSE(r);
  return r.error().message;
}

}  // namespace

TEST_CASE("config: providers become clusters and models keep their targets", "[config]") {
  auto r = load_string(text(R"([[prices]]
model = "gpt-4o-mini"
input = 0.1
output = 0.2
)"),
                       "s.toml");
  INFO((r ? std::string() : r.error().message));
  REQUIRE(r);
  REQUIRE(r->routes[0].llm);
  CHECK(r->routes[0].cluster.empty());
  REQUIRE(r->providers.size() == 2);
  CHECK(r->providers[0].base_path == "/v1");
  CHECK(r->providers[0].host_header == "api.openai.com");
  CHECK(r->providers[1].base_path == "/v1");
  CHECK(r->providers[1].host_header == "127.0.0.1:8000");
  CHECK(r->providers[1].kind == ProviderKind::openai_compatible);
  REQUIRE(r->clusters.size() == 2);
  CHECK(r->clusters[0].name == "openai");
  CHECK(r->clusters[0].endpoints[0].tls);
  CHECK(r->clusters[0].endpoints[0].address.port == 443);
  CHECK(r->clusters[0].tls.enabled);
  REQUIRE(r->models.size() == 2);
  CHECK(r->models[0].strategy == LlmStrategy::cheapest);
  CHECK(r->models[0].targets[0].weight == 3);
  CHECK(r->models[0].targets[1].model.empty());
  CHECK(r->models[1].targets[0].context_window == 1000000);
  CHECK(r->prices.at(0).input == 0.1);
  auto j = to_json(*r);
  CHECK(j["providers"][0]["api_key_env"] == "OPENAI_API_KEY");
  CHECK(j["models"][0]["fallbacks"][0] == "big");
}

TEST_CASE("config: LLM mistakes name the key and the fix", "[config]") {
  CHECK_THAT(error(text(R"([[models]]
name = "x"
targets = [{ provider = "opnai", model = "m" }]
)")),
             Catch::Contains("models[2].targets[0].provider: no provider named \"opnai\"") &&
                 Catch::Contains("did you mean \"openai\""));
  CHECK_THAT(error(text(R"([[models]]
name = "x"
targets = [{ provider = "openai" }]
fallbacks = ["nope"]
)")),
             Catch::Contains("models[2].fallbacks[0]: no model alias named \"nope\""));
  CHECK_THAT(error(text(R"([[models]]
name = "gpt"
targets = [{ provider = "openai" }]
)")),
             Catch::Contains("duplicate model alias \"gpt\""));
  CHECK_THAT(error(text("", "[routes.llm]\nmodels = [\"gtp\"]")),
             Catch::Contains("routes[0].llm.models[0]: no model alias named \"gtp\"") &&
                 Catch::Contains("did you mean \"gpt\""));
  CHECK_THAT(error(text("", "cluster = \"x\"\n[routes.llm]")),
             Catch::Contains("an LLM route ([routes.llm]) has no cluster"));
  CHECK_THAT(error(text(R"([[providers]]
name = "p"
kind = "cohere"
base_url = "http://127.0.0.1:1"
)")),
             Catch::Contains("providers[2].kind: unknown provider kind \"cohere\""));
  CHECK_THAT(error(text(R"([[providers]]
name = "p"
kind = "openai"
base_url = "http://127.0.0.1:1"
api_key = "sk-live-123"
)")),
             Catch::Contains("secrets are never written inline"));
  CHECK_THAT(
      error(text(R"([[providers]]
name = "p"
kind = "openai"
base_url = "http://127.0.0.1:1"
headers = { authorization = "Bearer x" }
)")),
      Catch::Contains("providers[2].headers.authorization: secrets are never written inline"));
  CHECK_THAT(error(text(R"([[providers]]
name = "openai"
kind = "openai"
base_url = "http://127.0.0.1:1"
)")),
             Catch::Contains("duplicate cluster name \"openai\""));
  CHECK_THAT(error(text(R"([[providers]]
name = "p"
kind = "openai"
base_url = "127.0.0.1:1"
)")),
             Catch::Contains("providers[2].base_url: \"127.0.0.1:1\" is not a URL"));
  CHECK_THAT(error(text(R"([[models]]
name = "x"
targets = [{ provider = "openai" }]
strategy = "fastest"
)")),
             Catch::Contains("unknown strategy \"fastest\""));
}
