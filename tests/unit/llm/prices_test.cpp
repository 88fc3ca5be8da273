// The price table: the embedded data, the lookup rules, overrides, cost arithmetic and the errors
// of a malformed table.
#include "sluice/llm/prices.hpp"

#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>

using namespace sluice::llm;
using Catch::Matchers::Contains;

namespace {

std::string read_file(const std::string& rel) {
  std::ifstream in(std::string(SLUICE_SOURCE_DIR) + "/" + rel);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

PriceTable table(std::string_view models) {
  auto r = PriceTable::from_json(std::string(R"({"as_of": "2025-01-02", "models": )") +
                                 std::string(models) + "}");
  REQUIRE(r);
  return std::move(r).value();
}

std::string error_of(std::string_view text) {
  auto r = PriceTable::from_json(text);
  REQUIRE_FALSE(r);
  return r.error().message;
}

}  // namespace

TEST_CASE("the built-in table is the embedded data/llm/prices.json", "[prices]") {
  const PriceTable& b = PriceTable::builtin();
  auto file = PriceTable::from_json(read_file("data/llm/prices.json"));
  REQUIRE(file);
  CHECK(b.as_of() == file->as_of());
  CHECK(b.entries().size() == file->entries().size());
  CHECK(b.as_of().size() == 10);

  for (const char* m : {"gpt-4o",
                        "gpt-4o-mini",
                        "gpt-4.1",
                        "gpt-4.1-mini",
                        "gpt-4.1-nano",
                        "o3",
                        "o4-mini",
                        "o1",
                        "text-embedding-3-small",
                        "text-embedding-3-large",
                        "claude-opus-4",
                        "claude-sonnet-4",
                        "claude-3-7-sonnet",
                        "claude-3-5-sonnet",
                        "claude-3-5-haiku",
                        "claude-3-haiku",
                        "gemini-2.5-pro",
                        "gemini-2.5-flash",
                        "gemini-2.0-flash",
                        "gemini-1.5-pro",
                        "gemini-1.5-flash"}) {
    INFO(m);
    auto it = b.entries().find(m);
    REQUIRE(it != b.entries().end());
    CHECK(it->second.price.input > 0);
    CHECK(b.sources().count(it->second.provider) == 1);
  }
  for (const auto& [name, e] : b.entries()) {
    INFO(name);
    CHECK(b.sources().count(e.provider) == 1);
    // Cache reads are cheaper than input, and Anthropic's cache writes dearer.
    CHECK(e.price.cached_input <= e.price.input);
    if (e.provider == "anthropic") CHECK(e.price.cache_write > e.price.input);
  }
  const Price* mini = b.find("gpt-4o-mini");
  REQUIRE(mini);
  CHECK(mini->input == 0.15);
  CHECK(mini->output == 0.60);
  CHECK(mini->cached_input == 0.075);
  CHECK(b.find("text-embedding-3-small")->output == 0);
}

TEST_CASE("model lookup: exact, provider prefix, version suffix, longest prefix", "[prices]") {
  PriceTable t = table(R"({
    "gpt-4o": {"provider": "openai", "input": 2.5, "output": 10},
    "gpt-4o-mini": {"provider": "openai", "input": 0.15, "output": 0.6},
    "gpt-4o-2024-05-13": {"provider": "openai", "input": 5, "output": 15},
    "o3": {"provider": "openai", "input": 2, "output": 8},
    "claude-3-5-haiku": {"provider": "anthropic", "input": 0.8, "output": 4},
    "claude-sonnet-4": {"provider": "anthropic", "input": 3, "output": 15},
    "gemini-1.5-pro": {"provider": "gemini", "input": 1.25, "output": 5},
    "gemini-2.5-pro": {"provider": "gemini", "input": 1.25, "output": 10},
    "text-embedding-ada-002": {"provider": "openai", "input": 0.1, "output": 0}
  })");
  auto input_of = [&](std::string_view m) -> double {
    const Price* p = t.find(m);
    return p ? p->input : -1;
  };

  SECTION("exact") {
    CHECK(input_of("gpt-4o") == 2.5);
    CHECK(input_of("gpt-4o-mini") == 0.15);
    // An exact entry beats the suffix rule: the first gpt-4o snapshot had its own price.
    CHECK(input_of("gpt-4o-2024-05-13") == 5);
    CHECK(input_of("text-embedding-ada-002") == 0.1);
  }
  SECTION("provider prefix") {
    CHECK(input_of("openai/gpt-4o-mini") == 0.15);
    CHECK(input_of("anthropic/claude-sonnet-4") == 3);
    CHECK(input_of("models/gemini-1.5-pro") == 1.25);
    CHECK(input_of("openai/gpt-4o-2024-05-13") == 5);
    CHECK(input_of("openai/text-embedding-ada-002") == 0.1);
  }
  SECTION("version suffixes") {
    CHECK(input_of("gpt-4o-mini-2024-07-18") == 0.15);
    CHECK(input_of("gpt-4o-2024-08-06") == 2.5);
    CHECK(input_of("claude-3-5-haiku-20241022") == 0.8);
    CHECK(input_of("claude-3-5-haiku-latest") == 0.8);
    CHECK(input_of("claude-sonnet-4@20250514") == 3);
    CHECK(input_of("gemini-1.5-pro-002") == 1.25);
    CHECK(input_of("models/gemini-1.5-pro-latest") == 1.25);
    CHECK(input_of("o3-2025-04-16") == 2);
    CHECK(normalize_model_name("anthropic/claude-sonnet-4-5@20250929") == "claude-sonnet-4-5");
    CHECK(normalize_model_name("gpt-4o-mini-2024-07-18") == "gpt-4o-mini");
    CHECK(normalize_model_name("claude-3-5-haiku-20241022") == "claude-3-5-haiku");
    CHECK(normalize_model_name("gemini-1.5-flash-001") == "gemini-1.5-flash");
    CHECK(normalize_model_name("models/gemini-2.0-flash") == "gemini-2.0-flash");
    CHECK(normalize_model_name("gpt-4o") == "gpt-4o");
    CHECK(normalize_model_name("-latest") == "-latest");
  }
  SECTION("longest known prefix on a dash") {
    CHECK(input_of("gemini-2.5-pro-preview-06-05") == 1.25);
    CHECK(input_of("gpt-4o-mini-search-preview") == 0.15);
    CHECK(input_of("gpt-4o-audio-preview") == 2.5);
    CHECK(input_of("claude-sonnet-4-5@20250929") == 3);
    CHECK(input_of("o3-deep-research") == 2);
  }
  SECTION("no match") {
    CHECK(t.find("") == nullptr);
    CHECK(t.find("gpt-4") == nullptr);      // gpt-4o is not a prefix on a dash boundary
    CHECK(t.find("gpt-4omni") == nullptr);  // nor is gpt-4o of this
    CHECK(t.find("o3mini") == nullptr);
    CHECK(t.find("llama-3-70b") == nullptr);
    CHECK(t.find("/") == nullptr);
    CHECK(t.find("@") == nullptr);
    CHECK(t.find("-") == nullptr);
  }
}

TEST_CASE("config overrides replace or add entries", "[prices]") {
  PriceTable t = table(R"({"gpt-4o": {"provider": "openai", "input": 2.5, "output": 10}})");
  t.set("gpt-4o", Price{1, 2, 0.5, 0});
  REQUIRE(t.find("gpt-4o"));
  CHECK(t.find("gpt-4o")->input == 1);
  CHECK(t.find("gpt-4o")->cached_input == 0.5);
  CHECK(t.find("openai/gpt-4o-2024-11-20")->output == 2);
  CHECK(t.find_entry("gpt-4o")->provider == "openai");

  t.set("my-local-model", Price{0.01, 0.02, 0, 0});
  REQUIRE(t.find("my-local-model-q4"));
  CHECK(t.find("my-local-model-q4")->output == 0.02);

  // A copy of the built-in table takes overrides without touching the shared one.
  PriceTable copy = PriceTable::builtin();
  copy.set("gpt-4o-mini", Price{9, 9, 0, 0});
  CHECK(copy.find("gpt-4o-mini")->input == 9);
  CHECK(PriceTable::builtin().find("gpt-4o-mini")->input == 0.15);
}

TEST_CASE("cost is computed from usage with cached tokens", "[prices]") {
  Price p{2.5, 10, 1.25, 0};
  Usage u;
  CHECK(cost_usd(p, u) == 0);

  u.input = 1'000'000;
  u.output = 1'000'000;
  CHECK(cost_usd(p, u) == Approx(12.5));

  // input includes the cached tokens: 400k uncached at 2.5, 600k cached at 1.25.
  u.cached_input = 600'000;
  CHECK(cost_usd(p, u) == Approx(0.4 * 2.5 + 0.6 * 1.25 + 10));

  // No cached price: cached tokens cost the input price.
  Price plain{2.5, 10, 0, 0};
  CHECK(cost_usd(plain, u) == Approx(12.5));

  // Anthropic: 1000 uncached, 2000 read, 3000 written, 500 out (input counts all 6000).
  Price sonnet{3, 15, 0.30, 3.75};
  Usage a{6000, 500, 2000, 3000};
  CHECK(cost_usd(sonnet, a) == Approx((1000 * 3 + 2000 * 0.30 + 3000 * 3.75 + 500 * 15) / 1e6));
  // No cache write price: writes cost the input price.
  Price no_write{3, 15, 0.30, 0};
  CHECK(cost_usd(no_write, a) == Approx((1000 * 3 + 2000 * 0.30 + 3000 * 3 + 500 * 15) / 1e6));

  // Inconsistent usage (cached more than input, negatives) never gives a negative cost.
  Usage odd{100, -5, 300, 0};
  CHECK(cost_usd(p, odd) == Approx(300 * 1.25 / 1e6));

  // A small request, end to end with the built-in table.
  const Price* mini = PriceTable::builtin().find("gpt-4o-mini-2024-07-18");
  REQUIRE(mini);
  CHECK(cost_usd(*mini, Usage{1200, 300, 1024, 0}) ==
        Approx((176 * 0.15 + 1024 * 0.075 + 300 * 0.60) / 1e6));
}

TEST_CASE("a malformed price table is an error naming the field", "[prices]") {
  CHECK_THAT(error_of(""), Contains("not valid JSON"));
  CHECK_THAT(error_of("{\"as_of\": "), Contains("not valid JSON"));
  CHECK_THAT(error_of("[]"), Contains("expected an object"));
  CHECK_THAT(error_of(R"({"models": {}})"), Contains("as_of: missing"));
  CHECK_THAT(error_of(R"({"as_of": 2025, "models": {}})"), Contains("as_of: expected a date"));
  CHECK_THAT(error_of(R"({"as_of": "2025-1-2", "models": {}})"), Contains("as_of"));
  CHECK_THAT(error_of(R"({"as_of": "2025-01-02"})"), Contains("models: missing"));
  CHECK_THAT(error_of(R"({"as_of": "2025-01-02", "models": []})"),
             Contains("models: expected an object"));
  CHECK_THAT(error_of(R"({"as_of": "2025-01-02", "sources": {"openai": 1}, "models": {}})"),
             Contains("sources.openai: expected a string"));
  CHECK_THAT(error_of(R"({"as_of": "2025-01-02", "models": {"m": 1}})"),
             Contains("models.m: expected an object"));
  CHECK_THAT(error_of(R"({"as_of": "2025-01-02", "models": {"m": {"output": 1}}})"),
             Contains("models.m.input: missing"));
  CHECK_THAT(error_of(R"({"as_of": "2025-01-02", "models": {"m": {"input": "1", "output": 1}}})"),
             Contains("models.m.input: expected a non-negative number"));
  CHECK_THAT(error_of(R"({"as_of": "2025-01-02", "models": {"m": {"input": 1, "output": -1}}})"),
             Contains("models.m.output: expected a non-negative number"));
  CHECK_THAT(error_of(R"({"as_of": "2025-01-02", "models": {"gpt-4o": {"input": 1, "output": 1,
                         "cached_input": null}}})"),
             Contains("models.gpt-4o.cached_input"));
  CHECK_THAT(error_of(R"({"as_of": "2025-01-02", "models": {"m": {"input": 1, "output": 1,
                         "cache_write": true}}})"),
             Contains("models.m.cache_write"));
  CHECK_THAT(error_of(R"({"as_of": "2025-01-02", "models": {"m": {"provider": 3, "input": 1,
                         "output": 1}}})"),
             Contains("models.m.provider: expected a string"));
  CHECK_THAT(error_of(R"({"as_of": "2025-01-02", "models": {"m": {"input": 1e400, "output": 1}}})"),
             Contains("not valid JSON"));
  // Not thrown: an unsigned beyond int64 and huge numbers still parse as numbers.
  CHECK(PriceTable::from_json(
      R"({"as_of": "2025-01-02", "models": {"m": {"input": 18446744073709551615, "output": 1}}})"));
}
