// count_context against count_chat (same rules, raw messages), its per-message cache, and
// Anthropic bodies counted as their OpenAI equivalents. Plus a hidden timing of the whole
// split + count + plan path at turn 200 (run with "[.bench]").
#include "sluice/llm/context_count.hpp"

#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "sluice/llm/context_policy.hpp"
#include "sluice/llm/models.hpp"

using namespace sluice::llm;
using Json = nlohmann::json;

namespace {

Json load(const std::string& rel) {
  std::ifstream in(std::string(SLUICE_SOURCE_DIR) + "/" + rel);
  std::stringstream ss;
  ss << in.rdbuf();
  return Json::parse(ss.str());
}

const Tokenizer& o200k() {
  return Tokenizer::get(Encoding::o200k_base);
}

}  // namespace

TEST_CASE("count_context totals what count_chat counts", "[llm][context]") {
  Json cases = load("fixtures/chat/requests.json");
  std::size_t compared = 0;
  for (const auto& c : cases) {
    const Json& req = c["request"];
    if (req.contains("functions")) continue;  // legacy functions: count_chat only
    INFO(c["name"].get<std::string>());
    std::string model = c["model"].get<std::string>();
    auto me = encoding_for_model(model);
    REQUIRE(me);
    const auto& tok = Tokenizer::get(me->encoding);
    auto rules = chat_rules_for(model, me->encoding);
    auto want = count_chat(req, tok, rules);
    REQUIRE(want);
    std::string body = req.dump();
    auto raw = split_chat(body, WireFormat::openai);
    REQUIRE(raw);
    MessageCache cache;
    auto got = count_context(*raw, tok, rules, &cache);
    REQUIRE(got);
    CHECK(got->total() == want->total);
    CHECK(got->tools == want->tools);
    REQUIRE(got->message_tokens.size() == want->messages.size());
    for (std::size_t i = 0; i < want->messages.size(); ++i)
      CHECK(got->message_tokens[i] == want->messages[i].tokens);
    CHECK(got->estimate == want->estimate);
    CHECK(got->cache_hits == 0);
    // The second count tokenises nothing.
    auto again = count_context(*raw, tok, rules, &cache);
    REQUIRE(again);
    CHECK(again->total() == want->total);
    CHECK(again->estimate == want->estimate);
    CHECK(again->cache_hits == raw->messages.size() + (raw->has_tools ? 1 : 0));
    ++compared;
  }
  CHECK(compared >= 8);
}

TEST_CASE("an Anthropic body counts like its OpenAI equivalent", "[llm][context]") {
  const auto& tok = o200k();
  auto rules = chat_rules_for("gpt-4o", Encoding::o200k_base);
  std::string body = R"({"model":"claude","system":"Be kind.","messages":[
    {"role":"user","content":"What is 2+2?"},
    {"role":"assistant","content":[{"type":"text","text":"Let me check."},
      {"type":"tool_use","id":"t1","name":"calc","input":{"expr":"2+2"}}]},
    {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"4"}]}],
    "tools":[{"name":"calc","description":"Evaluate.","input_schema":{"type":"object","properties":{"expr":{"type":"string"}}}}]})";
  auto raw = split_chat(body, WireFormat::anthropic);
  REQUIRE(raw);
  auto c = count_context(*raw, tok, rules, nullptr);
  REQUIRE(c);
  REQUIRE(c->message_tokens.size() == 3);
  auto n = [&](std::string_view s) { return tok.count(s); };
  CHECK(c->system == 3 + n("system") + n("Be kind."));
  CHECK(c->message_tokens[0] == 3 + n("user") + n("What is 2+2?"));
  CHECK(c->message_tokens[1] ==
        3 + n("assistant") + n("Let me check.") + 3 + n("calc") + n(R"({"expr":"2+2"})"));
  CHECK(c->message_tokens[2] == 3 + n("user") + n("t1") + n("4"));
  Json oa = {{"messages", Json::array()},
             {"tools",
              {{{"type", "function"},
                {"function",
                 {{"name", "calc"},
                  {"description", "Evaluate."},
                  {"parameters",
                   {{"type", "object"}, {"properties", {{"expr", {{"type", "string"}}}}}}}}}}}}};
  auto tools = count_chat(oa, tok, rules);
  REQUIRE(tools);
  CHECK(c->tools == tools->tools);
  CHECK(c->priming == 3);
  CHECK(!c->estimate);
  CHECK(c->total() == c->system + c->tools + c->priming + c->message_tokens[0] +
                          c->message_tokens[1] + c->message_tokens[2]);

  std::string img =
      R"({"messages":[{"role":"user","content":[{"type":"image","source":{}},{"type":"text","text":"hi"}]}]})";
  auto ri = split_chat(img, WireFormat::anthropic);
  REQUIRE(ri);
  MessageCache cache;
  auto ci = count_context(*ri, tok, rules, &cache);
  REQUIRE(ci);
  CHECK(ci->estimate);
  CHECK(ci->message_tokens[0] == 3 + n("user") + 765 + n("hi"));
  auto again = count_context(*ri, tok, rules, &cache);
  REQUIRE(again);
  CHECK(again->estimate);  // the flag survives the cache
  CHECK(again->message_tokens[0] == ci->message_tokens[0]);
}

TEST_CASE("a text message costs its overhead, role and text", "[llm][context]") {
  const auto& tok = o200k();
  auto rules = chat_rules_for("gpt-4o", Encoding::o200k_base);
  CHECK(count_text_message("Earlier turns were dropped.", Role::system, tok, rules) ==
        3 + tok.count("system") + tok.count("Earlier turns were dropped."));
}

TEST_CASE("split, count and plan a 400-message conversation", "[.bench]") {
  Json req = {{"model", "gpt-4o"}, {"stream", true}, {"messages", Json::array()}};
  req["messages"].push_back({{"role", "system"}, {"content", "You are a helpful assistant."}});
  for (int i = 0; i < 400; ++i) {
    std::string text;
    for (int w = 0; w < 40; ++w) text += "word" + std::to_string(i * 40 + w) + " ";
    req["messages"].push_back({{"role", i % 2 ? "assistant" : "user"}, {"content", text}});
  }
  std::string body = req.dump();
  const auto& tok = o200k();
  auto rules = chat_rules_for("gpt-4o", Encoding::o200k_base);
  MessageCache cache;
  auto warm = split_chat(body, WireFormat::openai);
  REQUIRE(warm);
  REQUIRE(count_context(*warm, tok, rules, &cache));
  using Clock = std::chrono::steady_clock;
  const int rounds = 200;
  double split_us = 0, count_us = 0, plan_us = 0;
  std::size_t kept = 0;
  for (int r = 0; r < rounds; ++r) {
    auto t0 = Clock::now();
    auto raw = split_chat(body, WireFormat::openai);
    auto t1 = Clock::now();
    auto c = count_context(*raw, tok, rules, &cache);
    auto t2 = Clock::now();
    auto turns = turns_of(*raw, *c);
    ContextBudget b{
        .window = c->total() / 2, .reserve_output = 1000, .fixed = c->tools + c->priming};
    auto plan = plan_context(turns, b, ContextStrategy::truncate_oldest);
    auto t3 = Clock::now();
    kept += std::get<ContextPlan>(plan).keep.size();
    split_us += std::chrono::duration<double, std::micro>(t1 - t0).count();
    count_us += std::chrono::duration<double, std::micro>(t2 - t1).count();
    plan_us += std::chrono::duration<double, std::micro>(t3 - t2).count();
  }
  std::cout << "body " << body.size() << " bytes, 401 messages: split " << split_us / rounds
            << " us, count (warm) " << count_us / rounds << " us, turns+plan " << plan_us / rounds
            << " us (kept " << kept / rounds << ")\n";
}
