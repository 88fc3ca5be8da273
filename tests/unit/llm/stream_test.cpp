// Stream translation against the golden transcripts of fixtures/llm/streams/: each provider's
// stream fed event by event, written for OpenAI and Anthropic clients.
#include "sluice/llm/stream.hpp"

#include <catch2/catch.hpp>

#include "golden.hpp"
#include "sluice/llm/provider_error.hpp"

using namespace sluice::llm;
using golden::Json;

namespace {

std::string translate(const std::string& name, WireFormat provider, WireFormat ingress,
                      bool include_usage = true) {
  WriteOptions opt;
  opt.created = 1700000000;
  StreamTranslator t(provider, ingress, include_usage, opt);
  std::string out;
  for (const auto& ev : golden::parse_sse(golden::read("streams/" + name + ".sse")))
    t.feed(ev.event, ev.data, out);
  t.close(out);
  CHECK(t.done());
  return out;
}

}  // namespace

TEST_CASE("provider streams translate to both ingress formats", "[llm][stream]") {
  const std::pair<const char*, WireFormat> cases[] = {
      {"openai_tools", WireFormat::openai},       {"openai_truncated", WireFormat::openai},
      {"anthropic_tools", WireFormat::anthropic}, {"anthropic_error", WireFormat::anthropic},
      {"gemini_tools", WireFormat::gemini},       {"gemini_text", WireFormat::gemini},
  };
  for (const auto& [name, provider] : cases) {
    for (auto ingress : {WireFormat::openai, WireFormat::anthropic}) {
      INFO(name << " to " << to_string(ingress));
      golden::check_sse(
          std::string("streams/") + name + ".to_" + std::string(to_string(ingress)) + ".sse",
          translate(name, provider, ingress));
    }
  }
}

TEST_CASE("an OpenAI client's stream ends with the DONE marker, with usage only when asked",
          "[llm][stream]") {
  auto with =
      golden::parse_sse(translate("anthropic_tools", WireFormat::anthropic, WireFormat::openai));
  REQUIRE(with.size() >= 2);
  CHECK(with.back().data == "[DONE]");
  auto usage = Json::parse(with[with.size() - 2].data);
  CHECK(usage["choices"].empty());
  CHECK(usage["usage"]["prompt_tokens"] == 600);  // 472 + 128 read from the cache
  CHECK(usage["usage"]["completion_tokens"] == 89);

  auto without = golden::parse_sse(
      translate("anthropic_tools", WireFormat::anthropic, WireFormat::openai, false));
  CHECK(without.size() == with.size() - 1);
  CHECK(without.back().data == "[DONE]");
}

TEST_CASE("streams are translated chunk by chunk, not buffered", "[llm][stream]") {
  StreamTranslator t(WireFormat::anthropic, WireFormat::openai, false);
  std::string out;
  t.feed(
      "message_start",
      R"({"type":"message_start","message":{"id":"m1","model":"c","usage":{"input_tokens":3,"output_tokens":1}}})",
      out);
  CHECK(out.find("\"role\":\"assistant\"") != std::string::npos);
  out.clear();
  t.feed("ping", R"({"type": "ping"})", out);
  CHECK(out.empty());
  t.feed("content_block_start",
         R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})",
         out);
  t.feed("content_block_delta",
         R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}})",
         out);
  CHECK(out.find("\"content\":\"Hi\"") != std::string::npos);
  CHECK(t.usage()->input == 3);
  CHECK_FALSE(t.done());
}

TEST_CASE("a stream that fails mid-way ends with an explicit error event", "[llm][stream]") {
  ProviderError reset;
  reset.kind = ProviderErrorKind::stream;
  reset.message = "upstream connection reset";
  for (auto ingress : {WireFormat::openai, WireFormat::anthropic}) {
    StreamTranslator t(WireFormat::gemini, ingress, true);
    std::string out;
    t.feed(
        "",
        R"({"candidates":[{"content":{"parts":[{"text":"Once"}],"role":"model"}}],"responseId":"r"})",
        out);
    t.fail(reset, out);
    auto events = golden::parse_sse(out);
    REQUIRE(!events.empty());
    auto last = Json::parse(events.back().data);
    CHECK(last["error"]["message"] == "upstream connection reset");
    if (ingress == WireFormat::anthropic) {
      CHECK(events.back().event == "error");
      CHECK(last["error"]["type"] == "api_error");
    } else {
      CHECK(out.find("[DONE]") == std::string::npos);
    }
    CHECK(t.done());
    std::string after;
    t.close(after);
    CHECK(after.empty());
  }
}

TEST_CASE("malformed provider chunks end the stream with an error", "[llm][stream]") {
  StreamTranslator t(WireFormat::openai, WireFormat::anthropic, true);
  std::string out;
  t.feed("", R"({"id":"c","model":"m","choices":[{"index":0,"delta":{"content":"a"}}]})", out);
  t.feed("", "{not json", out);
  auto events = golden::parse_sse(out);
  REQUIRE(!events.empty());
  CHECK(events.back().event == "error");
  CHECK(t.done());
}

TEST_CASE("an OpenAI-compatible stream may end after its finish reason without the DONE marker",
          "[llm][stream]") {
  const char* chunks[] = {
      R"({"id":"c","model":"llama","choices":[{"index":0,"delta":{"content":"hi"}}]})",
      R"({"id":"c","model":"llama","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]})"};
  for (auto provider : {WireFormat::openai_compatible, WireFormat::openai}) {
    StreamTranslator t(provider, WireFormat::openai, false);
    std::string out;
    for (const char* c : chunks) t.feed("", c, out);
    t.close(out);
    auto events = golden::parse_sse(out);
    REQUIRE(!events.empty());
    // OpenAI itself always sends [DONE]; without it the stream was cut.
    CHECK((events.back().data == "[DONE]") == (provider == WireFormat::openai_compatible));
  }
}

TEST_CASE("a tool call index beyond any reply's size is ignored, not used to size a table",
          "[llm][stream]") {
  StreamParser p(WireFormat::openai);
  std::vector<StreamEvent> events;
  p.feed("",
         R"({"id":"c","model":"m","choices":[{"index":0,"delta":{"tool_calls":[)"
         R"({"index":2147483647,"id":"call_x","function":{"name":"f","arguments":"{}"}},)"
         R"({"index":-1,"id":"call_y","function":{"name":"g","arguments":"{}"}},)"
         R"({"index":1,"id":"call_z","function":{"name":"h","arguments":"{}"}}]}}]})",
         events);
  std::vector<std::string> ids;
  for (const auto& e : events) {
    if (e.kind == StreamEvent::Kind::tool_call_start) ids.push_back(e.id);
    if (e.kind == StreamEvent::Kind::tool_call_start || e.kind == StreamEvent::Kind::tool_call_args)
      CHECK(e.index == 1);
  }
  CHECK(ids == std::vector<std::string>{"call_z"});
}
