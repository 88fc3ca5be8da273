// Chat counting against fixtures/chat: reference counts computed by
// tools/tokenizer/chat_reference.mjs (OpenAI's published rules applied with js-tiktoken); the
// model map; and the message cache on a re-sent conversation.
#include "sluice/llm/chat_tokens.hpp"

#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "sluice/llm/models.hpp"
#include "sluice/llm/token_cache.hpp"
#include "sluice/llm/tokenizer.hpp"

using namespace sluice::llm;
using Json = nlohmann::json;

namespace {

Json load(const std::string& rel) {
  std::ifstream in(std::string(SLUICE_SOURCE_DIR) + "/" + rel);
  std::stringstream ss;
  ss << in.rdbuf();
  return Json::parse(ss.str());
}

ChatCount counted(const Json& request, const std::string& model, MessageCache* cache = nullptr) {
  auto me = encoding_for_model(model);
  REQUIRE(me);
  auto c =
      count_chat(request, Tokenizer::get(me->encoding), chat_rules_for(model, me->encoding), cache);
  REQUIRE(c);
  return *c;
}

}  // namespace

TEST_CASE("chat counts match the reference counts of fixtures/chat", "[llm][chat]") {
  Json cases = load("fixtures/chat/requests.json");
  Json expected = load("fixtures/chat/expected.json");
  REQUIRE(cases.size() == expected.size());
  REQUIRE(cases.size() >= 10);
  for (std::size_t i = 0; i < cases.size(); ++i) {
    INFO(cases[i]["name"].get<std::string>());
    REQUIRE(expected[i]["name"] == cases[i]["name"]);
    auto c = counted(cases[i]["request"], cases[i]["model"].get<std::string>());
    CHECK(c.total == expected[i]["tokens"].get<std::size_t>());
  }
}

TEST_CASE("a chat count adds message overheads, names, tools and the reply priming",
          "[llm][chat]") {
  const auto& tok = Tokenizer::get(Encoding::o200k_base);
  auto rules = chat_rules_for("gpt-4o", Encoding::o200k_base);
  Json one = {{"messages", {{{"role", "user"}, {"content", "hi"}}}}};
  auto c = count_chat(one, tok, rules);
  REQUIRE(c);
  CHECK(c->total == 3 + tok.count("user") + tok.count("hi") + 3);
  CHECK(c->priming == 3);
  CHECK(c->messages.size() == 1);
  CHECK(c->messages[0].role == "user");
  Json named = {{"messages", {{{"role", "user"}, {"name", "bob"}, {"content", "hi"}}}}};
  auto n = count_chat(named, tok, rules);
  REQUIRE(n);
  CHECK(n->total == c->total + tok.count("bob") + 1);
  CHECK_FALSE(c->estimate);
}

TEST_CASE("bad chat requests are errors that name the field", "[llm][chat]") {
  const auto& tok = Tokenizer::get(Encoding::o200k_base);
  ChatRules rules;
  auto err = [&](const Json& j) {
    auto c = count_chat(j, tok, rules);
    REQUIRE_FALSE(c);
    return c.error().message;
  };
  CHECK(err(Json::array()) == "request: expected a JSON object");
  CHECK(err(Json::object()).starts_with("messages: missing"));
  CHECK(err({{"messages", 3}}) == "messages: expected an array");
  CHECK(err({{"messages", {1}}}) == "messages[0]: expected an object");
  CHECK(err({{"messages", {{{"role", "user"}, {"content", 5}}}}})
            .starts_with("messages[0].content: expected"));
  CHECK(err({{"messages", Json::array()}, {"tools", "x"}}) == "tools: expected an array");
}

TEST_CASE("an image part is an estimate", "[llm][chat]") {
  const auto& tok = Tokenizer::get(Encoding::o200k_base);
  Json j = {{"messages",
             {{{"role", "user"},
               {"content", {{{"type", "image_url"}, {"image_url", {{"url", "x"}}}}}}}}}};
  auto c = count_chat(j, tok, ChatRules{});
  REQUIRE(c);
  CHECK(c->estimate);
  CHECK(c->total == 3 + tok.count("user") + 765 + 3);
}

TEST_CASE("a re-sent conversation is counted again only for its new messages", "[llm][chat]") {
  MessageCache cache;
  Json convo = {{"messages",
                 {{{"role", "system"}, {"content", "You are terse."}},
                  {{"role", "user"}, {"content", "What is BPE?"}}}}};
  auto first = counted(convo, "gpt-4o", &cache);
  CHECK(first.cache_hits == 0);
  convo["messages"].push_back({{"role", "assistant"}, {"content", "Byte-pair encoding."}});
  convo["messages"].push_back({{"role", "user"}, {"content", "Who uses it?"}});
  auto second = counted(convo, "gpt-4o", &cache);
  CHECK(second.cache_hits == 2);
  CHECK(second.messages[0].cached);
  CHECK(second.messages[1].cached);
  CHECK_FALSE(second.messages[2].cached);
  // The same totals as without a cache.
  CHECK(second.total == counted(convo, "gpt-4o").total);
  CHECK(cache.hits() == 2);
  // Another encoding is another key.
  auto other = counted(convo, "gpt-4", &cache);
  CHECK(other.cache_hits == 0);
}

TEST_CASE("the message cache forgets the least recently used first", "[llm][chat]") {
  MessageCache cache(2);
  cache.put(1, 10);
  cache.put(2, 20);
  CHECK(cache.find(1) == std::optional<std::size_t>(10));  // 1 is now the most recent
  cache.put(3, 30);
  CHECK_FALSE(cache.find(2));
  CHECK(cache.find(1));
  CHECK(cache.find(3));
  CHECK(cache.size() == 2);
}

TEST_CASE("models map to their encodings; Anthropic and Gemini are estimates", "[llm][models]") {
  auto enc = [](std::string_view m) { return encoding_for_model(m); };
  for (auto m : {"gpt-4o", "gpt-4o-mini", "openai/gpt-4o-2024-08-06", "gpt-4.1-nano", "o1",
                 "o3-mini", "o4-mini", "gpt-5", "chatgpt-4o-latest"}) {
    INFO(m);
    REQUIRE(enc(m));
    CHECK(enc(m)->encoding == Encoding::o200k_base);
    CHECK_FALSE(enc(m)->estimate);
  }
  for (auto m : {"gpt-4", "gpt-4-turbo", "gpt-4-0613", "gpt-3.5-turbo", "azure/gpt-35-turbo",
                 "text-embedding-3-small", "text-embedding-ada-002"}) {
    INFO(m);
    REQUIRE(enc(m));
    CHECK(enc(m)->encoding == Encoding::cl100k_base);
  }
  REQUIRE(enc("claude-sonnet-4-5"));
  CHECK(enc("claude-sonnet-4-5")->estimate);
  CHECK(enc("anthropic/claude-3-5-haiku")->family == "anthropic");
  REQUIRE(enc("gemini-2.5-pro"));
  CHECK(enc("gemini-2.5-pro")->estimate);
  CHECK_FALSE(enc("o100"));
  CHECK_FALSE(enc("llama-3"));
  CHECK(scaled_count(*enc("claude-3-opus"), 100) == 110);
  CHECK(scaled_count(*enc("gpt-4o"), 100) == 100);
}
