// The exact response cache: the canonical request key and the LRU with its TTL and caps.
#include "sluice/llm/response_cache.hpp"

#include <atomic>
#include <functional>
#include <set>
#include <thread>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "sluice/llm/cache_key.hpp"
#include "sluice/llm/wire.hpp"

using namespace sluice::llm;
using namespace std::chrono_literals;
using Json = nlohmann::json;
using sluice::TimePoint;

namespace {

ChatRequest parse_openai(std::string_view text) {
  auto r = parse_openai_request(Json::parse(text));
  REQUIRE(r);
  return std::move(r).value();
}

ChatRequest parse_anthropic(std::string_view text) {
  auto r = parse_anthropic_request(Json::parse(text));
  REQUIRE(r);
  return std::move(r).value();
}

// A request that sets every field, so each mutation below changes something present.
ChatRequest full_request() {
  ChatRequest r;
  r.model = "gpt-4o-mini";
  r.system = {text_part("be brief"), text_part("be kind")};
  Message user;
  user.role = Role::user;
  user.parts.push_back(text_part("what is in this image?"));
  Part img;
  img.kind = Part::Kind::image;
  img.url = "https://example.com/a.png";
  img.media_type = "image/png";
  img.data = "iVBORw0KGgo=";
  img.detail = "low";
  user.parts.push_back(img);
  Message assistant;
  assistant.role = Role::assistant;
  Part call;
  call.kind = Part::Kind::tool_call;
  call.id = "call_1";
  call.name = "lookup";
  call.text = R"({"q":"cat"})";
  assistant.parts.push_back(call);
  Message tool;
  tool.role = Role::tool;
  Part result;
  result.kind = Part::Kind::tool_result;
  result.id = "call_1";
  result.text = "a cat";
  result.is_error = false;
  tool.parts.push_back(result);
  r.messages = {user, assistant, tool};
  r.tools = {Tool{"lookup", "looks things up", R"({"type":"object"})"}};
  r.tool_choice = {ToolChoice::Mode::function, "lookup"};
  r.stop = {"\n\n", "END"};
  r.temperature = 0.0;
  r.top_p = 0.9;
  r.max_tokens = 100;
  r.seed = 7;
  r.response_format = {ResponseFormat::Kind::json_schema, "answer", R"({"type":"object"})", true};
  r.stream = false;
  r.include_usage = true;
  return r;
}

CachedResponse reply(std::string body) {
  CachedResponse c;
  c.status = 200;
  c.content_type = "application/json";
  c.body = std::move(body);
  return c;
}

const TimePoint t0{std::chrono::seconds(1000)};

}  // namespace

TEST_CASE("cache keys ignore JSON key order and whitespace", "[response-cache]") {
  auto a = parse_openai(R"({"model": "gpt-4o-mini", "temperature": 0, "max_tokens": 50,
    "messages": [{"role": "system", "content": "be brief"},
                 {"role": "user", "content": [{"type": "text", "text": "hi"}]}],
    "tools": [{"type": "function", "function": {"name": "f", "parameters":
      {"type": "object", "properties": {"x": {"type": "integer"}, "a": {"type": "string"}}}}}],
    "stop": ["END"], "seed": 3})");
  auto b = parse_openai(
      R"({"seed":3,"stop":["END"],"tools":[{"function":{"parameters":{"properties":{"a":{"type":"string"},"x":{"type":"integer"}},"type":"object"},"name":"f"},"type":"function"}],"messages":[{"content":"be brief","role":"system"},{"content":[{"text":"hi","type":"text"}],"role":"user"}],"max_tokens":50,"temperature":0.0,"model":"gpt-4o-mini"})");
  auto ka = exact_cache_key(a, "alias|openai");
  auto kb = exact_cache_key(b, "alias|openai");
  REQUIRE(ka);
  REQUIRE(kb);
  CHECK(*ka == *kb);
  // The scope separates routes and ingress formats.
  CHECK(*exact_cache_key(a, "other|openai") != *ka);
  CHECK(*exact_cache_key(a, "alias|anthropic") != *ka);

  auto c = parse_anthropic(R"({"model": "claude-3-5-haiku", "max_tokens": 64, "temperature": 0,
    "system": "be brief", "messages": [{"role": "user", "content": "hi"}]})");
  auto d = parse_anthropic(
      R"({"messages":[{"content":[{"type":"text","text":"hi"}],"role":"user"}],"system":[{"type":"text","text":"be brief"}],"temperature":0,"max_tokens":64,"model":"claude-3-5-haiku"})");
  REQUIRE(exact_cache_key(c, "s"));
  CHECK(exact_cache_key(c, "s") == exact_cache_key(d, "s"));
}

TEST_CASE("cache keys differ when any field differs", "[response-cache]") {
  const ChatRequest base = full_request();
  const std::string key = *exact_cache_key(base, "scope");
  CHECK(exact_cache_key(full_request(), "scope") == key);

  const std::vector<std::pair<const char*, std::function<void(ChatRequest&)>>> mutations = {
      {"model", [](ChatRequest& r) { r.model = "gpt-4o"; }},
      {"system text", [](ChatRequest& r) { r.system[0].text = "be long"; }},
      {"system order", [](ChatRequest& r) { std::swap(r.system[0], r.system[1]); }},
      {"system moved into messages",
       [](ChatRequest& r) {
         r.messages.insert(r.messages.begin(), Message{Role::system, {r.system.back()}});
         r.system.pop_back();
       }},
      {"system part dropped", [](ChatRequest& r) { r.system.pop_back(); }},
      {"role", [](ChatRequest& r) { r.messages[0].role = Role::system; }},
      {"part kind", [](ChatRequest& r) { r.messages[0].parts[0].kind = Part::Kind::tool_result; }},
      {"text", [](ChatRequest& r) { r.messages[0].parts[0].text += "!"; }},
      {"url", [](ChatRequest& r) { r.messages[0].parts[1].url = "https://example.com/b.png"; }},
      {"media type", [](ChatRequest& r) { r.messages[0].parts[1].media_type = "image/jpeg"; }},
      {"data", [](ChatRequest& r) { r.messages[0].parts[1].data = "AAAA"; }},
      {"detail", [](ChatRequest& r) { r.messages[0].parts[1].detail = "high"; }},
      {"call id", [](ChatRequest& r) { r.messages[1].parts[0].id = "call_2"; }},
      {"call name", [](ChatRequest& r) { r.messages[1].parts[0].name = "find"; }},
      {"call arguments", [](ChatRequest& r) { r.messages[1].parts[0].text = R"({"q": "cat"})"; }},
      {"is_error", [](ChatRequest& r) { r.messages[2].parts[0].is_error = true; }},
      {"part dropped", [](ChatRequest& r) { r.messages[0].parts.pop_back(); }},
      {"message dropped", [](ChatRequest& r) { r.messages.pop_back(); }},
      {"text moved between parts",
       [](ChatRequest& r) {
         r.messages[0].parts[0].text = "what is in";
         r.messages[0].parts.insert(r.messages[0].parts.begin() + 1, text_part(" this image?"));
       }},
      {"tool name", [](ChatRequest& r) { r.tools[0].name = "search"; }},
      {"tool description", [](ChatRequest& r) { r.tools[0].description = ""; }},
      {"tool parameters", [](ChatRequest& r) { r.tools[0].parameters = ""; }},
      {"tool added", [](ChatRequest& r) { r.tools.push_back(r.tools[0]); }},
      {"tool choice mode", [](ChatRequest& r) { r.tool_choice.mode = ToolChoice::Mode::required; }},
      {"tool choice name", [](ChatRequest& r) { r.tool_choice.name = "other"; }},
      {"stop", [](ChatRequest& r) { r.stop[1] = "STOP"; }},
      {"stop joined", [](ChatRequest& r) { r.stop = {"\n\nEND"}; }},
      {"stop dropped", [](ChatRequest& r) { r.stop.clear(); }},
      {"temperature unset (seed kept)", [](ChatRequest& r) { r.temperature.reset(); }},
      {"temperature with a seed", [](ChatRequest& r) { r.temperature = 0.7; }},
      {"top_p", [](ChatRequest& r) { r.top_p = 1.0; }},
      {"top_p unset", [](ChatRequest& r) { r.top_p.reset(); }},
      {"max tokens", [](ChatRequest& r) { r.max_tokens = 101; }},
      {"max tokens unset", [](ChatRequest& r) { r.max_tokens.reset(); }},
      {"seed", [](ChatRequest& r) { r.seed = 8; }},
      {"seed unset", [](ChatRequest& r) { r.seed.reset(); }},
      {"format kind",
       [](ChatRequest& r) { r.response_format.kind = ResponseFormat::Kind::json_object; }},
      {"format name", [](ChatRequest& r) { r.response_format.name = "other"; }},
      {"format schema", [](ChatRequest& r) { r.response_format.schema = "{}"; }},
      {"format strict", [](ChatRequest& r) { r.response_format.strict = false; }},
      {"include usage", [](ChatRequest& r) { r.include_usage = false; }},
  };
  std::set<std::string> seen{key};
  for (const auto& [name, mutate] : mutations) {
    INFO(name);
    ChatRequest r = full_request();
    mutate(r);
    auto k = exact_cache_key(r, "scope");
    REQUIRE(k);
    CHECK(*k != key);
    CHECK(seen.insert(*k).second);  // and differs from every other mutation's
  }
  // Length prefixes: moving bytes between neighbouring strings changes the key.
  ChatRequest x = full_request(), y = full_request();
  x.messages[1].parts[0].id = "ab";
  x.messages[1].parts[0].name = "c";
  y.messages[1].parts[0].id = "a";
  y.messages[1].parts[0].name = "bc";
  CHECK(exact_cache_key(x, "s") != exact_cache_key(y, "s"));
  CHECK(exact_cache_key(base, "ab") != exact_cache_key(base, "a"));
}

TEST_CASE("non-deterministic or streamed requests have no cache key", "[response-cache]") {
  ChatRequest r = full_request();
  r.seed.reset();
  CHECK(exact_cache_key(r, "s"));  // temperature 0
  r.temperature = 0.2;
  CHECK_FALSE(exact_cache_key(r, "s"));
  r.temperature.reset();
  CHECK_FALSE(exact_cache_key(r, "s"));  // the provider's default temperature is not 0
  r.seed = 1;
  CHECK(exact_cache_key(r, "s"));  // a seed asks for a repeatable answer
  r.temperature = 1.0;
  CHECK(exact_cache_key(r, "s"));
  r.stream = true;
  CHECK_FALSE(exact_cache_key(r, "s"));
  CHECK_FALSE(is_cacheable(r));

  auto parsed = parse_openai(
      R"({"model": "m", "stream": true, "temperature": 0, "messages": [{"role": "user", "content": "hi"}]})");
  CHECK_FALSE(exact_cache_key(parsed, "s"));
  auto plain = parse_openai(R"({"model": "m", "messages": [{"role": "user", "content": "hi"}]})");
  CHECK_FALSE(exact_cache_key(plain, "s"));
}

TEST_CASE("the response cache evicts the least recently used entry", "[response-cache]") {
  ResponseCache c(3, 1 << 20, 60s);
  c.put("a", reply("A"), t0);
  c.put("b", reply("B"), t0);
  c.put("c", reply("C"), t0);
  REQUIRE(c.get("a", t0));  // a is now the most recent; b is the oldest
  c.put("d", reply("D"), t0);
  CHECK_FALSE(c.get("b", t0));
  CHECK(c.get("a", t0)->body == "A");
  CHECK(c.get("c", t0)->body == "C");
  CHECK(c.get("d", t0)->body == "D");

  // Replacing an entry makes it most recent and does not count as an eviction.
  c.put("a", reply("A2"), t0);
  c.put("e", reply("E"), t0);  // evicts c, the oldest now
  CHECK_FALSE(c.get("c", t0));
  CHECK(c.get("a", t0)->body == "A2");

  auto s = c.stats();
  CHECK(s.entries == 3);
  CHECK(s.evictions == 2);
  CHECK(s.hits == 5);
  CHECK(s.misses == 2);

  CachedResponse full = reply("{}");
  full.status = 201;
  full.headers = {{"x-one", "1"}, {"x-two", "2"}};
  c.put("h", full, t0);
  auto got = c.get("h", t0);
  REQUIRE(got);
  CHECK(got->status == 201);
  CHECK(got->content_type == "application/json");
  CHECK(got->headers == full.headers);

  c.clear();
  CHECK(c.stats().entries == 0);
  CHECK(c.stats().bytes == 0);
  CHECK_FALSE(c.get("h", t0));
}

TEST_CASE("response cache entries expire after the TTL", "[response-cache]") {
  sluice::ManualClock clock;
  ResponseCache c(10, 1 << 20, 30s);
  c.put("k", reply("v"), clock.now());
  clock.advance(29s);
  CHECK(c.get("k", clock.now()));
  clock.advance(1s);  // exactly the TTL: expired
  CHECK_FALSE(c.get("k", clock.now()));
  auto s = c.stats();
  CHECK(s.hits == 1);
  CHECK(s.misses == 1);
  CHECK(s.expired == 1);
  CHECK(s.entries == 0);
  CHECK(s.bytes == 0);

  // A put restarts the TTL; a hit does not extend it.
  c.put("k", reply("v"), clock.now());
  clock.advance(20s);
  CHECK(c.get("k", clock.now()));
  c.put("k", reply("v2"), clock.now());
  clock.advance(20s);
  CHECK(c.get("k", clock.now())->body == "v2");
  clock.advance(10s);
  CHECK_FALSE(c.get("k", clock.now()));

  // No expiry: the longest TTL saturates rather than overflowing.
  ResponseCache forever(10, 1 << 20, sluice::Duration::max());
  forever.put("k", reply("v"), clock.now());
  clock.advance(24h * 365);
  CHECK(forever.get("k", clock.now()));
}

TEST_CASE("the response cache keeps within its byte cap", "[response-cache]") {
  // Each entry: key (2) + content type (16) + body (32) = 50 bytes.
  ResponseCache c(100, 160, 60s);
  const std::string body(32, 'x');
  CHECK(reply(body).bytes() == 48);
  c.put("k1", reply(body), t0);
  c.put("k2", reply(body), t0);
  c.put("k3", reply(body), t0);
  CHECK(c.stats().bytes == 150);
  c.put("k4", reply(body), t0);  // 200 > 160: k1 goes
  auto s = c.stats();
  CHECK(s.bytes == 150);
  CHECK(s.entries == 3);
  CHECK(s.evictions == 1);
  CHECK_FALSE(c.get("k1", t0));

  // A bigger entry evicts as many as it needs.
  c.put("kb", reply(std::string(100, 'y')), t0);  // 118 bytes: k2, k3 and k4 go
  s = c.stats();
  CHECK(s.bytes <= 160);
  CHECK(c.get("kb", t0));
  CHECK_FALSE(c.get("k2", t0));
  CHECK_FALSE(c.get("k3", t0));
  CHECK(s.bytes == 118);

  // Headers count too.
  CachedResponse h = reply("");
  h.headers = {{"x-a", std::string(200, 'z')}};
  c.put("kh", h, t0);
  CHECK_FALSE(c.get("kh", t0));
  CHECK(c.stats().rejected == 1);
}

TEST_CASE("an entry larger than the byte cap is not stored", "[response-cache]") {
  ResponseCache c(10, 100, 60s);
  c.put("small", reply("ok"), t0);
  c.put("big", reply(std::string(200, 'x')), t0);
  CHECK_FALSE(c.get("big", t0));
  CHECK(c.get("small", t0));  // nothing was evicted for it
  auto s = c.stats();
  CHECK(s.rejected == 1);
  CHECK(s.evictions == 0);
  CHECK(s.entries == 1);

  // Replacing a stored entry with an oversize one drops the old one (it is stale).
  c.put("small", reply(std::string(200, 'x')), t0);
  CHECK_FALSE(c.get("small", t0));
  CHECK(c.stats().entries == 0);
  CHECK(c.stats().bytes == 0);

  ResponseCache none(0, 100, 60s);
  none.put("a", reply("b"), t0);
  CHECK_FALSE(none.get("a", t0));
}

TEST_CASE("the response cache is safe to share between threads", "[response-cache]") {
  constexpr std::size_t kMaxEntries = 50;
  constexpr std::uint64_t kMaxBytes = 4000;
  ResponseCache c(kMaxEntries, kMaxBytes, 10s);
  std::atomic<std::uint64_t> gets{0}, wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        std::string key = "key-" + std::to_string((i * 7 + t * 13) % 120);
        TimePoint now = t0 + std::chrono::milliseconds(i * 10);
        if (i % 3 == 0) {
          c.put(key, reply("body of " + key), now);
        } else {
          auto got = c.get(key, now);
          ++gets;
          if (got && got->body != "body of " + key) ++wrong;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  auto s = c.stats();
  CHECK(wrong == 0);
  CHECK(s.hits + s.misses == gets);
  CHECK(s.entries <= kMaxEntries);
  CHECK(s.bytes <= kMaxBytes);
  // The byte count is the sum of what is stored: clearing leaves zero.
  std::uint64_t found = 0;
  for (int k = 0; k < 120; ++k) {
    std::string key = "key-" + std::to_string(k);
    if (auto got = c.get(key, t0)) found += key.size() + got->bytes();
  }
  CHECK(found == s.bytes);
}
