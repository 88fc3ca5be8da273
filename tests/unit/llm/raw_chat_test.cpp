// split_chat and rebuild on real OpenAI and Anthropic bodies: the spans are the body's own
// bytes, a rebuild with the same messages is the same request, system notes land where each
// format wants them, and bad bodies give errors that name the field.
#include "sluice/llm/raw_chat.hpp"

#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "sluice/core/text.hpp"

using namespace sluice::llm;
using Json = nlohmann::json;

namespace {

std::string load(const std::string& rel) {
  std::ifstream in(std::string(SLUICE_SOURCE_DIR) + "/" + rel);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

RawChat split(const std::string& body, WireFormat f) {
  auto r = split_chat(body, f);
  if (!r) FAIL(r.error().message);
  return std::move(*r);
}

std::string error_of(std::string_view body, WireFormat f = WireFormat::openai) {
  auto r = split_chat(body, f);
  REQUIRE(!r);
  return r.error().message;
}

Rebuild same_messages(const RawChat& c) {
  Rebuild r;
  for (const auto& m : c.messages) r.messages.push_back(m.json);
  return r;
}

const char* kOpenAi = R"({"model" : "gpt-4o",  "temperature":0.2,
  "messages": [
    {"role":"developer","content":"Be brief. \"quoted\" \\ and \u00e9 \ud83d\ude00"},
    {"role":"user","content":[{"type":"text","text":"caf\u00e9 ☕"},{"type":"image_url","image_url":{"url":"https://x/y.png"}}]},
    {"role":"assistant","content":null,"tool_calls":[
      {"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}},
      {"id":"call_2","type":"function","function":{"name":"g","arguments":"{}"}}]},
    {"role":"tool","tool_call_id":"call_1","content":"one"},
    {"role":"tool","tool_call_id":"call_2","content":"two"} ,
    {"role":"user","name":"bob","content":"and now?"}
  ] ,
  "tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],
  "max_completion_tokens": 500, "stream": true, "x_unknown": {"keep": [1,2,3]}
})";

}  // namespace

TEST_CASE("split_chat finds OpenAI messages, roles and tool-call ids in the body's bytes",
          "[llm][context]") {
  std::string body = kOpenAi;
  auto c = split(body, WireFormat::openai);
  REQUIRE(c.messages.size() == 6);
  CHECK(c.body.data() == body.data());
  CHECK(body.substr(c.messages_begin, 1) == "[");
  CHECK(body.substr(c.messages_end - 1, 1) == "]");
  CHECK(c.model == "\"gpt-4o\"");
  CHECK(c.max_tokens == 500);
  CHECK(c.has_tools);
  CHECK(Json::parse(c.tools).size() == 1);
  CHECK(c.messages[0].role == Role::system);
  CHECK(c.messages[1].role == Role::user);
  CHECK(c.messages[2].role == Role::assistant);
  CHECK(c.messages[2].calls == std::vector<std::string>{"call_1", "call_2"});
  CHECK(c.messages[3].role == Role::tool);
  CHECK(c.messages[3].results == std::vector<std::string>{"call_1"});
  CHECK(c.messages[4].results == std::vector<std::string>{"call_2"});
  CHECK(c.messages[5].json == R"({"role":"user","name":"bob","content":"and now?"})");
  Json doc = Json::parse(body);
  for (std::size_t i = 0; i < c.messages.size(); ++i) {
    const auto& m = c.messages[i];
    // Spans point into the caller's body, and each is exactly one element.
    CHECK(m.json.data() >= body.data());
    CHECK(m.json.data() + m.json.size() <= body.data() + body.size());
    CHECK(Json::parse(m.json) == doc["messages"][i]);
  }
}

TEST_CASE("a rebuild with the same messages is the same request, byte for byte", "[llm][context]") {
  for (auto [file, format] :
       {std::pair{"fixtures/llm/requests/openai_chat.json", WireFormat::openai},
        std::pair{"fixtures/llm/requests/anthropic_messages.json", WireFormat::anthropic}}) {
    INFO(file);
    std::string body = load(file);
    auto c = split(body, format);
    REQUIRE(!c.messages.empty());
    std::string out = rebuild(c, same_messages(c));
    CHECK(Json::parse(out) == Json::parse(body));
  }
  std::string body = kOpenAi;
  auto c = split(body, WireFormat::openai);
  std::string out = rebuild(c, same_messages(c));
  CHECK(Json::parse(out) == Json::parse(body));
  // Outside the messages array nothing moves.
  CHECK(out.substr(0, c.messages_begin) == body.substr(0, c.messages_begin));
}

TEST_CASE("a rebuild keeps chosen messages and replaces the model", "[llm][context]") {
  std::string body = kOpenAi;
  auto c = split(body, WireFormat::openai);
  Rebuild r;
  r.messages = {c.messages[0].json, c.messages[5].json};
  r.model = "gpt-4o-mini";
  Json out = Json::parse(rebuild(c, r));
  Json in = Json::parse(body);
  CHECK(out["model"] == "gpt-4o-mini");
  REQUIRE(out["messages"].size() == 2);
  CHECK(out["messages"][0] == in["messages"][0]);
  CHECK(out["messages"][1] == in["messages"][5]);
  out.erase("messages");
  out.erase("model");
  in.erase("messages");
  in.erase("model");
  CHECK(out == in);  // tools, temperature, stream, unknown keys untouched
}

TEST_CASE("OpenAI system notes follow the leading system messages", "[llm][context]") {
  std::string body = kOpenAi;
  auto c = split(body, WireFormat::openai);
  Rebuild r = same_messages(c);
  r.system_notes = {"Earlier turns were dropped.", "note \"2\""};
  r.system_prepend = {"first"};
  Json out = Json::parse(rebuild(c, r));
  auto& ms = out["messages"];
  REQUIRE(ms.size() == 9);
  CHECK(ms[0] == Json{{"role", "system"}, {"content", "first"}});
  CHECK(ms[1]["role"] == "developer");
  CHECK(ms[2] == Json{{"role", "system"}, {"content", "Earlier turns were dropped."}});
  CHECK(ms[3] == Json{{"role", "system"}, {"content", "note \"2\""}});
  CHECK(ms[4]["role"] == "user");
  // No leading system message: the notes come first.
  r.messages = {c.messages[5].json};
  r.system_prepend.clear();
  out = Json::parse(rebuild(c, r));
  REQUIRE(out["messages"].size() == 3);
  CHECK(out["messages"][0]["content"] == "Earlier turns were dropped.");
  CHECK(out["messages"][2]["content"] == "and now?");
}

TEST_CASE("split_chat reads Anthropic system, tool_use and tool_result blocks", "[llm][context]") {
  std::string body = load("fixtures/llm/requests/anthropic_messages.json");
  auto c = split(body, WireFormat::anthropic);
  Json doc = Json::parse(body);
  REQUIRE(c.messages.size() == doc["messages"].size());
  CHECK(Json::parse(c.system) == doc["system"]);
  CHECK(c.max_tokens == 1024);
  CHECK(c.messages[1].calls == std::vector<std::string>{"toolu_01A", "toolu_01B"});
  CHECK(c.messages[2].results == std::vector<std::string>{"toolu_01A", "toolu_01B"});
  CHECK(!c.messages[2].results_only);  // it also says "Go on."

  std::string only = R"({"model":"claude","messages":[
    {"role":"user","content":"hi"},
    {"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":{}}]},
    {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"ok"}]}]})";
  auto o = split(only, WireFormat::anthropic);
  CHECK(o.system.empty());
  CHECK(o.messages[2].results_only);
  CHECK(!o.messages[0].results_only);
}

TEST_CASE("Anthropic system notes join a string, extend an array or create the system",
          "[llm][context]") {
  Rebuild r;
  r.system_notes = {"note"};
  {
    std::string body = R"({"system":"Be \"kind\".","messages":[{"role":"user","content":"hi"}]})";
    auto c = split(body, WireFormat::anthropic);
    r.messages = {c.messages[0].json};
    r.system_prepend = {"pre"};
    Json out = Json::parse(rebuild(c, r));
    CHECK(out["system"] == "pre\n\nBe \"kind\".\n\nnote");
    r.system_prepend.clear();
  }
  {
    std::string body = R"({"system": [ {"type":"text","text":"a"} ] ,"messages":[]})";
    auto c = split(body, WireFormat::anthropic);
    r.messages = {};
    Json out = Json::parse(rebuild(c, r));
    CHECK(out["system"] ==
          Json::parse(R"([{"type":"text","text":"a"},{"type":"text","text":"note"}])"));
    CHECK(out["messages"] == Json::array());
  }
  {
    std::string body = R"({"model":"m","messages":[{"role":"user","content":"hi"}]})";
    auto c = split(body, WireFormat::anthropic);
    r.messages = {c.messages[0].json};
    Json out = Json::parse(rebuild(c, r));
    CHECK(out["system"] == "note");
    CHECK(out["model"] == "m");
    CHECK(out["messages"].size() == 1);
  }
}

TEST_CASE("split_chat errors name the field", "[llm][context]") {
  CHECK(error_of(R"({"messages": [} )") == "messages[0]: not valid JSON");
  CHECK(error_of(R"({"model": } )") == "model: not valid JSON");
  CHECK(error_of("not json").find("the request body is not") == 0);
  CHECK(error_of("[1,2]") == "the request body is not a JSON object");
  CHECK(error_of(R"({"model":"x"})") == "messages: required");
  CHECK(error_of(R"({"messages":{"role":"user"}})") == "messages: expected an array");
  CHECK(error_of(R"({"messages":[{"role":"user","content":"a"},1]})") ==
        "messages[1]: not an object");
  CHECK(error_of(R"({"messages":[{"content":"a"}]})") == "messages[0].role: required");
  CHECK(error_of(R"({"messages":[{"role":"wizard"}]})") ==
        "messages[0].role: unknown role \"wizard\"");
  CHECK(error_of(R"({"messages":[{"role":"system","content":"a"}]})", WireFormat::anthropic) ==
        "messages[0].role: unknown role \"system\"");
  CHECK(error_of(R"({"messages":[]} trailing)") == "the request body is not valid JSON");
  CHECK(error_of(R"({"messages":[], "max_tokens": "ten"})") == "max_tokens: expected an integer");
  CHECK(!split_chat(R"({"messages":[{"role":"user","content":"a"})", WireFormat::openai));
}

TEST_CASE("adding text to a message keeps its other fields", "[llm][context]") {
  auto s =
      add_text_to_message(R"({"role":"user","content":"question","name":"x"})", "Be brief.", false);
  REQUIRE(s);
  CHECK(*s == R"({"role":"user","content":"question\n\nBe brief.","name":"x"})");
  s = add_text_to_message(R"({"role":"user","content":"question"})", "Be brief.", true);
  REQUIRE(s);
  CHECK(Json::parse(*s)["content"] == "Be brief.\n\nquestion");
  s = add_text_to_message(R"({"role":"user","content":[{"type":"text","text":"q"}]})", "first",
                          true);
  REQUIRE(s);
  CHECK(Json::parse(*s)["content"] ==
        Json::parse(R"([{"type":"text","text":"first"},{"type":"text","text":"q"}])"));
  s = add_text_to_message(R"({"role":"assistant","content":null})", "x", false);
  REQUIRE(s);
  CHECK(Json::parse(*s)["content"] == "x");
  CHECK(!add_text_to_message("[1]", "x", false));
  CHECK(!add_text_to_message("{", "x", false));
  CHECK(!add_text_to_message(R"({"content":5})", "x", false));
}

TEST_CASE("text messages and JSON string escaping", "[llm][context]") {
  CHECK(text_message_json(Role::system, "a\"b", WireFormat::openai) ==
        R"({"role":"system","content":"a\"b"})");
  CHECK(text_message_json(Role::user, "x", WireFormat::anthropic) ==
        R"({"role":"user","content":"x"})");
  for (std::string s : {std::string("plain"), std::string("tab\there\n\"q\" \\ \x01\x1f"),
                        std::string("caf\xc3\xa9 \xf0\x9f\x98\x80"), std::string("bad \xff\xc3")}) {
    std::string ours = sluice::text::json_escape_string(s);
    CHECK(ours == Json(s).dump(-1, ' ', false, Json::error_handler_t::replace));
  }
}
