// sluice.toml: the LLM gateway's policy tables (context, sessions, inject, limits in
// [routes.llm] and [[models]]; [[keys]]; [store]).
#include <string>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "sluice/core/config/load.hpp"

using namespace sluice;
using namespace sluice::config;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view kHash =
    "1c590839af894cf25f9a5fe06929af05b377f60efbe55508ef93d251887b9213";

std::string text(std::string_view route_llm, std::string_view extra = "",
                 std::string_view model_extra = "") {
  return fmt::format(R"([[listeners]]
listen = "127.0.0.1:0"
[[routes]]
name = "llm"
path_prefix = "/v1/"
[routes.llm]
{}
[[providers]]
name = "openai"
kind = "openai"
base_url = "https://api.openai.com/v1"
[[models]]
name = "gpt"
targets = [{{ provider = "openai", model = "gpt-4o-mini", context_window = 8192 }}]
{}
[[models]]
name = "small"
targets = [{{ provider = "openai", model = "gpt-4o-mini" }}]
{}
)",
                     route_llm, model_extra, extra);
}

std::string error(const std::string& t) {
  auto r = load_string(t, "s.toml");
  REQUIRE_FALSE(r);
  return r.error().message;
}

}  // namespace

TEST_CASE("config: route policies read with their defaults", "[config]") {
  auto r = load_string(text(R"(require_key = true
context = { strategy = "summarize", summarizer = "small", window = 4096, summary_timeout = "3s" }
sessions = { ttl = "2h", max_messages = 50 }
inject = [{ role = "user", position = "prepend", text = "Be brief." }]
limits = { rpm = 10, tpm = 1000, reserve_output = true, cut_streams = true }
)",
                            fmt::format(R"([[keys]]
name = "team-a"
sha256 = "{}"
models = ["gpt"]
metadata = {{ team = "a", tier = 2 }}
limits = {{ rpm = 5 }}
budget = {{ daily_usd = 1.5, monthly_usd = 20 }}
[store]
kind = "sqlite"
path = "/tmp/x.db"
)",
                                        kHash)),
                       "s.toml");
  REQUIRE(r);
  const auto& llm = *r->routes[0].llm;
  REQUIRE(llm.context);
  CHECK(llm.context->strategy == ContextStrategy::summarize);
  CHECK(llm.context->summarizer == "small");
  CHECK(*llm.context->window == 4096);
  CHECK(llm.context->reserve_output == 1024);
  CHECK(llm.context->summary_timeout == 3s);
  CHECK(llm.context->summary_fallback_truncate);
  CHECK(llm.sessions.enabled);
  CHECK(llm.sessions.ttl == 2h);
  CHECK(llm.sessions.max_messages == 50);
  REQUIRE(llm.inject.size() == 1);
  CHECK(llm.inject[0].role == Injection::Role::user);
  CHECK(llm.inject[0].position == Injection::Position::prepend);
  CHECK(llm.limits.rpm == 10);
  CHECK(llm.limits.tpm == 1000);
  CHECK(llm.reserve_output);
  CHECK(llm.cut_streams);
  CHECK(llm.require_key);
  REQUIRE(r->keys.size() == 1);
  const auto& k = r->keys[0];
  CHECK(k.name == "team-a");
  CHECK(k.sha256 == kHash);
  CHECK(k.models == std::vector<std::string>{"gpt"});
  CHECK(k.metadata.at("team") == "a");
  CHECK(k.metadata.at("tier") == "2");
  CHECK(k.limits.rpm == 5);
  CHECK(k.limits.tpm == 0);
  CHECK(k.budget_daily_usd == 1.5);
  CHECK(k.budget_monthly_usd == 20);
  CHECK(r->store.kind == Store::Kind::sqlite);
  CHECK(r->store.path == "/tmp/x.db");
}

TEST_CASE("config: a model's own context and limits", "[config]") {
  auto r = load_string(text("", "", R"(context = { strategy = "middle_out", reserve_output = 100 }
limits = { tpm = 500 }
inject = [{ text = "Today is {{date}}." }])"),
                       "s.toml");
  REQUIRE(r);
  const auto& m = r->models[0];
  REQUIRE(m.context);
  CHECK(m.context->strategy == ContextStrategy::middle_out);
  CHECK_FALSE(m.context->window);
  CHECK(m.context->reserve_output == 100);
  CHECK(m.limits.tpm == 500);
  REQUIRE(m.inject.size() == 1);
  CHECK(m.inject[0].role == Injection::Role::system);
  CHECK(m.inject[0].position == Injection::Position::append);
  CHECK_FALSE(r->routes[0].llm->sessions.enabled);
  CHECK(r->store.kind == Store::Kind::memory);
}

TEST_CASE("config: policy errors name the key and say how to fix it", "[config]") {
  CHECK_THAT(error(text(R"(context = { strategy = "drop_all" })")),
             Catch::Contains("routes[0].llm.context.strategy: unknown strategy \"drop_all\"") &&
                 Catch::Contains("truncate_oldest"));
  CHECK_THAT(
      error(text(R"(context = { strategy = "summarize" })")),
      Catch::Contains("routes[0].llm.context.summarizer") && Catch::Contains("add summarizer"));
  CHECK_THAT(error(text(R"(context = { strategy = "summarize", summarizer = "smal" })")),
             Catch::Contains("no model alias named \"smal\"") &&
                 Catch::Contains("did you mean \"small\""));
  CHECK_THAT(error(text(R"(limits = { rpm = -1 })")), Catch::Contains("routes[0].llm.limits.rpm"));
  CHECK_THAT(error(text(R"(inject = [{ role = "admin", text = "x" }])")),
             Catch::Contains("routes[0].llm.inject[0].role: unknown role \"admin\""));
  CHECK_THAT(error(text(R"(require_key = true)")), Catch::Contains("no [[keys]] are defined"));
  CHECK_THAT(error(text("", R"([[keys]]
name = "a"
key = "sk-123"
sha256 = "abc")")),
             Catch::Contains("keys[0].key: virtual keys are never written inline") &&
                 Catch::Contains("keys[0].sha256: is not 64 hexadecimal digits"));
  CHECK_THAT(error(text("", fmt::format(R"([[keys]]
name = "a"
sha256 = "{0}"
models = ["gtp"]
[[keys]]
name = "a"
sha256 = "{0}")",
                                        kHash))),
             Catch::Contains("keys[0].models[0]: no model alias named \"gtp\"") &&
                 Catch::Contains("keys[1].name: duplicate key name \"a\"") &&
                 Catch::Contains("keys[1].sha256: the same key is defined twice"));
  CHECK_THAT(error(text("", R"([store]
kind = "sqlite")")),
             Catch::Contains("store.path") && Catch::Contains("SQLite file"));
  CHECK_THAT(error(text("", R"([store]
kind = "redis")")),
             Catch::Contains("store.kind: unknown store \"redis\""));
  CHECK_THAT(error(text("", "", R"(context = { strategy = "summarize", summarizer = "gpt" })")),
             Catch::Contains("cannot summarise its own"));
}
