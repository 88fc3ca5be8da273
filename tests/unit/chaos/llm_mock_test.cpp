// The mock LLM providers over loopback: wire formats streamed and not, honest usage, context
// windows, provider-shaped faults, stream cuts, and what assertions read of the recorded requests.
#include "sluice/chaos/llm_mock.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "loopback.hpp"
#include "run_scope.hpp"
#include "sluice/chaos/fault_plan.hpp"
#include "sluice/chaos/scenario.hpp"
#include "sluice/core/expr/expr.hpp"
#include "sluice/llm/models.hpp"
#include "sluice/llm/provider_error.hpp"
#include "sluice/llm/stream.hpp"
#include "sluice/llm/tokenizer.hpp"
#include "sluice/llm/wire.hpp"

using namespace sluice;
using namespace sluice::chaos;
using Json = nlohmann::json;
using sluice::test::Conn;

namespace {

struct Reply {
  int status = 0;
  std::string head;       // lower-cased
  std::string body;       // de-chunked
  bool complete = false;  // a chunked body ended with its last chunk
  std::size_t raw_size = 0;
  Json json() const { return Json::parse(body, nullptr, false); }
  bool has_header(std::string_view line) const { return head.find(line) != std::string::npos; }
};

Reply call(const MockServer& m, std::string_view method, std::string_view target,
           std::string_view body = {}, std::string_view extra_headers = {}) {
  Conn c(m.port());
  c.send(
      fmt::format("{} {} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  "Content-Length: {}\r\nConnection: close\r\n{}\r\n{}",
                  method, target, body.size(), extra_headers, body));
  std::string raw = c.read_all();
  Reply r;
  r.raw_size = raw.size();
  auto end = raw.find("\r\n\r\n");
  if (raw.size() < 12 || end == std::string::npos) return r;
  r.status = std::stoi(raw.substr(9, 3));
  r.head = raw.substr(0, end);
  std::transform(r.head.begin(), r.head.end(), r.head.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  std::string rest = raw.substr(end + 4);
  if (!r.has_header("transfer-encoding: chunked")) {
    r.body = rest;
    r.complete = true;
    return r;
  }
  std::size_t pos = 0;
  while (pos < rest.size()) {
    auto eol = rest.find("\r\n", pos);
    if (eol == std::string::npos) break;
    std::size_t n = std::stoul(rest.substr(pos, eol - pos), nullptr, 16);
    if (n == 0) {
      r.complete = true;
      break;
    }
    r.body += rest.substr(eol + 2, n);
    pos = eol + 2 + n + 2;
  }
  return r;
}

struct SseEvent {
  std::string event;
  std::string data;
};

std::vector<SseEvent> sse_events(const std::string& body) {
  std::vector<SseEvent> out;
  std::string text = body;
  for (std::size_t p; (p = text.find("\r\n")) != std::string::npos;) text.replace(p, 2, "\n");
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto end = text.find("\n\n", pos);
    std::string block = text.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    SseEvent e;
    std::size_t lp = 0;
    while (lp < block.size()) {
      auto nl = block.find('\n', lp);
      std::string line = block.substr(lp, nl == std::string::npos ? std::string::npos : nl - lp);
      if (line.rfind("event: ", 0) == 0) e.event = line.substr(7);
      if (line.rfind("data: ", 0) == 0) e.data = line.substr(6);
      if (nl == std::string::npos) break;
      lp = nl + 1;
    }
    if (!block.empty()) out.push_back(e);
    if (end == std::string::npos) break;
    pos = end + 2;
  }
  return out;
}

// The neutral events of a provider stream, through lib/llm's parser.
std::vector<llm::StreamEvent> parse_stream(llm::WireFormat f, const std::string& body,
                                           bool close = true) {
  llm::StreamParser p(f);
  std::vector<llm::StreamEvent> out;
  for (const auto& e : sse_events(body)) p.feed(e.event, e.data, out);
  if (close) p.close(out);
  return out;
}

std::string text_of(const std::vector<llm::StreamEvent>& evs) {
  std::string out;
  for (const auto& e : evs)
    if (e.kind == llm::StreamEvent::Kind::text) out += e.text;
  return out;
}

std::size_t o200k(std::string_view s) {
  return llm::Tokenizer::get(llm::Encoding::o200k_base).count(s);
}
std::size_t cl100k(std::string_view s) {
  return llm::Tokenizer::get(llm::Encoding::cl100k_base).count(s);
}

// OpenAI's chat counting rules for plain messages, written out: 3 per message plus its role and
// content, 3 for the reply's priming.
std::size_t chat_count(const std::vector<std::pair<std::string, std::string>>& msgs,
                       std::size_t (*count)(std::string_view)) {
  std::size_t n = 3;
  for (const auto& [role, content] : msgs) n += 3 + count(role) + count(content);
  return n;
}

std::size_t claude_scaled(std::size_t exact) {
  return static_cast<std::size_t>(std::ceil(static_cast<double>(exact) * 1.10 - 1e-9));
}

LlmMockSpec spec_of(LlmProvider p) {
  LlmMockSpec s;
  s.provider = p;
  return s;
}

const std::string kOpenAiBody =
    R"({"model":"gpt-4o","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hello there, mock!"}]})";

}  // namespace

TEST_CASE("OpenAI mock: echo reply with honest usage", "[llm-mock]") {
  MockServer m("openai", llm_mock_routes("openai", spec_of(LlmProvider::openai)));
  auto r = call(m, "POST", "/v1/chat/completions", kOpenAiBody);
  REQUIRE(r.status == 200);
  auto j = r.json();
  REQUIRE(j.is_object());
  CHECK(j["object"] == "chat.completion");
  CHECK(j["model"] == "gpt-4o");
  CHECK(j["choices"][0]["message"]["role"] == "assistant");
  CHECK(j["choices"][0]["message"]["content"] == "echo: Hello there, mock!");
  CHECK(j["choices"][0]["finish_reason"] == "stop");
  const auto prompt = chat_count({{"system", "Be brief."}, {"user", "Hello there, mock!"}}, o200k);
  CHECK(j["usage"]["prompt_tokens"] == prompt);
  CHECK(j["usage"]["completion_tokens"] == o200k("echo: Hello there, mock!"));
  CHECK(j["usage"]["total_tokens"] == prompt + o200k("echo: Hello there, mock!"));

  // Any base prefix ending in the API path works, and the record carries the counts.
  auto r2 = call(m, "POST", "/openai/v1/chat/completions", kOpenAiBody);
  CHECK(r2.status == 200);
  auto rec = m.recorded();
  REQUIRE(rec.size() == 2);
  REQUIRE(rec[0].note("llm.prompt_tokens"));
  CHECK(*rec[0].note("llm.prompt_tokens") == std::to_string(prompt));
  CHECK(*rec[0].note("llm.provider") == "openai");

  auto models = call(m, "GET", "/v1/models");
  CHECK(models.status == 200);
  CHECK(models.json()["data"][0]["id"] == "gpt-4o-mini");
  auto unknown = call(m, "POST", "/v1/completions", "{}");
  CHECK(unknown.status == 404);
  CHECK(unknown.json()["error"]["type"] == "invalid_request_error");
}

TEST_CASE("OpenAI mock: streams with include_usage, chunked by characters", "[llm-mock]") {
  auto spec = spec_of(LlmProvider::openai);
  spec.replies = {"The quick brown fox jumps over the lazy dog."};
  spec.chunk_chars = 5;
  MockServer m("openai", llm_mock_routes("openai", spec));
  auto body = Json::parse(kOpenAiBody);
  body["stream"] = true;
  body["stream_options"] = {{"include_usage", true}};
  auto r = call(m, "POST", "/v1/chat/completions", body.dump());
  REQUIRE(r.status == 200);
  CHECK(r.has_header("content-type: text/event-stream"));
  CHECK(r.complete);
  auto events = sse_events(r.body);
  REQUIRE(events.size() > 9);  // role, 9 pieces of text, finish, usage, [DONE]
  CHECK(events.back().data == "[DONE]");
  auto usage_chunk = Json::parse(events[events.size() - 2].data);
  CHECK(usage_chunk["choices"].empty());
  CHECK(usage_chunk["usage"]["completion_tokens"] == o200k(spec.replies[0]));
  auto evs = parse_stream(llm::WireFormat::openai, r.body);
  CHECK(text_of(evs) == spec.replies[0]);
  CHECK(evs.back().kind == llm::StreamEvent::Kind::end);

  // Without include_usage: no usage chunk.
  body.erase("stream_options");
  auto r2 = call(m, "POST", "/v1/chat/completions", body.dump());
  CHECK(r2.body.find("\"usage\"") == std::string::npos);
  CHECK(text_of(parse_stream(llm::WireFormat::openai, r2.body)) == spec.replies[0]);
}

TEST_CASE("OpenAI mock: scripted replies cycle and tool calls end after one round", "[llm-mock]") {
  auto spec = spec_of(LlmProvider::openai);
  spec.replies = {"one", "two"};
  spec.tool_call = LlmToolCall{"get_weather", R"({"city":"Paris"})"};
  MockServer m("openai", llm_mock_routes("openai", spec));
  std::vector<std::string> got;
  for (int i = 0; i < 3; ++i)
    got.push_back(call(m, "POST", "/v1/chat/completions", kOpenAiBody)
                      .json()["choices"][0]["message"]["content"]);
  CHECK(got == std::vector<std::string>{"one", "two", "one"});

  Json tools = Json::parse(kOpenAiBody);
  tools["tools"] = Json::parse(
      R"([{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}])");
  auto j = call(m, "POST", "/v1/chat/completions", tools.dump()).json();
  CHECK(j["choices"][0]["finish_reason"] == "tool_calls");
  CHECK(j["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "get_weather");
  CHECK(j["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] ==
        R"({"city":"Paris"})");
  CHECK(j["usage"]["completion_tokens"] == o200k(R"({"city":"Paris"})"));

  // With the tool's result last, the mock answers in text (the next scripted reply).
  tools["messages"].push_back(Json::parse(
      R"({"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"get_weather","arguments":"{}"}}]})"));
  tools["messages"].push_back(
      Json::parse(R"({"role":"tool","tool_call_id":"c1","content":"sunny"})"));
  auto j2 = call(m, "POST", "/v1/chat/completions", tools.dump()).json();
  CHECK(j2["choices"][0]["message"]["content"] == "two");

  // max_tokens cuts the reply, with finish_reason length.
  MockServer echo("echo", llm_mock_routes("echo", spec_of(LlmProvider::openai)));
  Json small = Json::parse(kOpenAiBody);
  small["max_tokens"] = 2;
  auto j3 = call(echo, "POST", "/v1/chat/completions", small.dump()).json();
  CHECK(j3["choices"][0]["finish_reason"] == "length");
  CHECK(j3["usage"]["completion_tokens"] == 2);
  CHECK(j3["choices"][0]["message"]["content"] == "echo:");
}

TEST_CASE("OpenAI and Anthropic mocks refuse tool calls split from their results", "[llm-mock]") {
  MockServer oa("openai", llm_mock_routes("openai", spec_of(LlmProvider::openai)));
  auto openai = [&](std::string_view messages) {
    return call(oa, "POST", "/v1/chat/completions",
                fmt::format(R"({{"model":"gpt-4o","messages":{}}})", messages));
  };
  const std::string calls =
      R"({"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}},{"id":"c2","type":"function","function":{"name":"f","arguments":"{}"}}]})";
  const std::string r1 = R"({"role":"tool","tool_call_id":"c1","content":"one"})";
  const std::string r2 = R"({"role":"tool","tool_call_id":"c2","content":"two"})";
  const std::string u = R"({"role":"user","content":"go on"})";
  CHECK(openai(fmt::format("[{},{},{},{},{}]", u, calls, r1, r2, u)).status == 200);
  CHECK(openai(fmt::format("[{},{},{},{}]", u, calls, r2, r1)).status == 200);

  // A result with no call before it, also one after the run of results has ended.
  auto orphan = openai(fmt::format("[{},{}]", u, r1));
  CHECK(orphan.status == 400);
  CHECK(orphan.json()["error"]["message"] ==
        "Invalid parameter: messages with role 'tool' must be a response to a preceeding "
        "message with 'tool_calls'.");
  CHECK(orphan.json()["error"]["param"] == "messages.[1].role");
  CHECK(openai(fmt::format("[{},{},{},{},{},{}]", u, calls, r1, r2, u, r1)).status == 400);
  // A result for a call the assistant did not make.
  auto stranger = openai(fmt::format(
      R"([{},{},{},{},{{"role":"tool","tool_call_id":"c9","content":"?"}}])", u, calls, r1, r2));
  CHECK(stranger.status == 400);
  CHECK(stranger.json()["error"]["message"] ==
        "Invalid parameter: 'tool_call_id' of 'c9' not found in 'tool_calls' of previous "
        "message.");
  // A call without its result, followed by another message or last.
  auto unanswered = openai(fmt::format("[{},{},{},{}]", u, calls, r1, u));
  CHECK(unanswered.status == 400);
  CHECK(unanswered.json()["error"]["message"] ==
        "An assistant message with 'tool_calls' must be followed by tool messages responding to "
        "each 'tool_call_id'. The following tool_call_ids did not have response messages: c2");
  CHECK(unanswered.json()["error"]["param"] == "messages.[1].role");
  CHECK(openai(fmt::format("[{},{}]", u, calls)).status == 400);

  MockServer an("anthropic", llm_mock_routes("anthropic", spec_of(LlmProvider::anthropic)));
  auto anthropic = [&](std::string_view messages) {
    return call(
        an, "POST", "/v1/messages",
        fmt::format(R"({{"model":"claude-sonnet-4-5","max_tokens":50,"messages":{}}})", messages));
  };
  const std::string uses =
      R"({"role":"assistant","content":[{"type":"text","text":"Looking."},{"type":"tool_use","id":"t1","name":"f","input":{}},{"type":"tool_use","id":"t2","name":"f","input":{}}]})";
  const std::string both =
      R"({"role":"user","content":[{"type":"tool_result","tool_use_id":"t2","content":"two"},{"type":"tool_result","tool_use_id":"t1","content":"one"},{"type":"text","text":"and?"}]})";
  const std::string one =
      R"({"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"one"}]})";
  const std::string hello = R"({"role":"user","content":"hello"})";
  CHECK(anthropic(fmt::format("[{},{},{}]", hello, uses, both)).status == 200);
  auto missing = anthropic(fmt::format("[{},{},{}]", hello, uses, one));
  CHECK(missing.status == 400);
  CHECK(missing.json()["error"]["type"] == "invalid_request_error");
  CHECK(missing.json()["error"]["message"] ==
        "messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: "
        "t2. Each `tool_use` block must have a corresponding `tool_result` block in the next "
        "message.");
  auto stray = anthropic(fmt::format("[{},{}]", hello, one));
  CHECK(stray.status == 400);
  CHECK(stray.json()["error"]["message"] ==
        "messages.1.content.0: unexpected `tool_use_id` found in `tool_result` blocks: t1. Each "
        "`tool_result` block must have a corresponding `tool_use` block in the previous message.");
  CHECK(anthropic(fmt::format("[{},{}]", hello, uses)).status == 400);
}

TEST_CASE("OpenAI mock: embeddings are deterministic and counted exactly", "[llm-mock]") {
  MockServer m("openai", llm_mock_routes("openai", spec_of(LlmProvider::openai)));
  const std::string body =
      R"({"model":"text-embedding-3-small","input":["hello world","another text"]})";
  auto a = call(m, "POST", "/v1/embeddings", body).json();
  auto b = call(m, "POST", "/v1/embeddings", body).json();
  REQUIRE(a["data"].size() == 2);
  CHECK(a["data"][0]["embedding"].size() == 8);
  CHECK(a["data"] == b["data"]);
  CHECK(a["data"][0]["embedding"] != a["data"][1]["embedding"]);
  CHECK(a["usage"]["prompt_tokens"] == cl100k("hello world") + cl100k("another text"));
  auto c =
      call(
          m, "POST", "/v1/embeddings",
          R"({"model":"text-embedding-3-small","input":"x","encoding_format":"base64","dimensions":4})")
          .json();
  CHECK(c["data"][0]["embedding"].get<std::string>().size() == 24);  // 16 bytes in base64
  CHECK(call(m, "POST", "/v1/embeddings", R"({"input":5})").status == 400);
}

TEST_CASE("Anthropic mock: messages streamed and not, max_tokens required", "[llm-mock]") {
  auto spec = spec_of(LlmProvider::anthropic);
  spec.replies = {"Bonjour, le monde!"};
  MockServer m("anthropic", llm_mock_routes("anthropic", spec));
  const std::string no_max =
      R"({"model":"claude-sonnet-4-5","system":"Be brief.","messages":[{"role":"user","content":"Hello"}]})";
  auto bad = call(m, "POST", "/v1/messages", no_max, "anthropic-version: 2023-06-01\r\n");
  CHECK(bad.status == 400);
  CHECK(bad.json()["type"] == "error");
  CHECK(bad.json()["error"]["type"] == "invalid_request_error");
  CHECK(bad.json()["error"]["message"] == "max_tokens: Field required");

  auto body = Json::parse(no_max);
  body["max_tokens"] = 100;
  auto r = call(m, "POST", "/v1/messages", body.dump(), "anthropic-version: 2023-06-01\r\n");
  REQUIRE(r.status == 200);
  auto j = r.json();
  CHECK(j["type"] == "message");
  CHECK(j["content"][0]["type"] == "text");
  CHECK(j["content"][0]["text"] == "Bonjour, le monde!");
  CHECK(j["stop_reason"] == "end_turn");
  const auto prompt =
      claude_scaled(chat_count({{"system", "Be brief."}, {"user", "Hello"}}, cl100k));
  CHECK(j["usage"]["input_tokens"] == prompt);
  CHECK(j["usage"]["output_tokens"] == claude_scaled(cl100k("Bonjour, le monde!")));

  body["stream"] = true;
  auto s = call(m, "POST", "/v1/messages", body.dump());
  REQUIRE(s.status == 200);
  std::vector<std::string> names;
  for (const auto& e : sse_events(s.body))
    if (names.empty() || names.back() != e.event) names.push_back(e.event);
  CHECK(names == std::vector<std::string>{"message_start", "content_block_start", "ping",
                                          "content_block_delta", "content_block_stop",
                                          "message_delta", "message_stop"});
  auto evs = parse_stream(llm::WireFormat::anthropic, s.body);
  CHECK(text_of(evs) == "Bonjour, le monde!");
  auto delta = sse_events(s.body);
  auto md = Json::parse(delta[delta.size() - 2].data);
  CHECK(md["usage"]["output_tokens"] == claude_scaled(cl100k("Bonjour, le monde!")));
}

TEST_CASE("Gemini mock: generateContent and streamGenerateContent", "[llm-mock]") {
  auto spec = spec_of(LlmProvider::gemini);
  spec.chunk_chars = 4;
  MockServer m("gemini", llm_mock_routes("gemini", spec));
  const std::string body =
      R"({"systemInstruction":{"parts":[{"text":"Be brief."}]},"contents":[{"role":"user","parts":[{"text":"Hi Gemini"}]}]})";
  auto r = call(m, "POST", "/v1beta/models/gemini-2.5-flash:generateContent", body);
  REQUIRE(r.status == 200);
  auto j = r.json();
  CHECK(j["candidates"][0]["content"]["parts"][0]["text"] == "echo: Hi Gemini");
  CHECK(j["candidates"][0]["finishReason"] == "STOP");
  CHECK(j["modelVersion"] == "gemini-2.5-flash");
  const auto prompt = chat_count({{"system", "Be brief."}, {"user", "Hi Gemini"}}, o200k);
  CHECK(j["usageMetadata"]["promptTokenCount"] == prompt);
  CHECK(j["usageMetadata"]["candidatesTokenCount"] == o200k("echo: Hi Gemini"));

  auto s = call(m, "POST", "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", body);
  REQUIRE(s.status == 200);
  auto events = sse_events(s.body);
  CHECK(events.size() == 4);  // "echo: Hi Gemini" in pieces of 4 characters
  auto last = Json::parse(events.back().data);
  CHECK(last["candidates"][0]["finishReason"] == "STOP");
  CHECK(last["usageMetadata"]["promptTokenCount"] == prompt);
  auto evs = parse_stream(llm::WireFormat::gemini, s.body);
  CHECK(text_of(evs) == "echo: Hi Gemini");
  CHECK(evs.back().kind == llm::StreamEvent::Kind::end);

  auto arr = call(m, "POST", "/v1beta/models/gemini-2.5-flash:streamGenerateContent", body);
  CHECK(arr.json().is_array());
  CHECK(arr.json().size() == 4);
}

TEST_CASE("Each mock refuses a prompt over its window with its provider's error", "[llm-mock]") {
  struct Case {
    LlmProvider p;
    std::string target;
    std::string body;
    llm::WireFormat f;
  };
  const std::string long_text(400, 'a');
  const std::vector<Case> cases = {
      {LlmProvider::openai, "/v1/chat/completions",
       Json{{"model", "gpt-4o"}, {"messages", {{{"role", "user"}, {"content", long_text}}}}}.dump(),
       llm::WireFormat::openai},
      {LlmProvider::anthropic, "/v1/messages",
       Json{{"model", "claude-sonnet-4-5"},
            {"max_tokens", 10},
            {"messages", {{{"role", "user"}, {"content", long_text}}}}}
           .dump(),
       llm::WireFormat::anthropic},
      {LlmProvider::gemini, "/v1beta/models/gemini-2.5-flash:generateContent",
       Json{{"contents", {{{"role", "user"}, {"parts", {{{"text", long_text}}}}}}}}.dump(),
       llm::WireFormat::gemini},
  };
  for (const auto& c : cases) {
    auto spec = spec_of(c.p);
    spec.context_window = 20;
    MockServer m("x", llm_mock_routes("x", spec));
    auto r = call(m, "POST", c.target, c.body);
    INFO(r.body);
    CHECK(r.status == 400);
    auto err = llm::parse_provider_error(c.f, r.status, r.body);
    CHECK(err.kind == llm::ProviderErrorKind::context_length);
    CHECK(err.message.find("20") != std::string::npos);
    auto rec = m.recorded();
    REQUIRE(rec.size() == 1);
    CHECK(rec[0].note("llm.rejected"));
    CHECK(std::stoi(*rec[0].note("llm.prompt_tokens")) > 20);
  }
  // OpenAI's exact message.
  auto spec = spec_of(LlmProvider::openai);
  spec.context_window = 5;
  MockServer m("o", llm_mock_routes("o", spec));
  auto j = call(m, "POST", "/v1/chat/completions", kOpenAiBody).json();
  const auto prompt = chat_count({{"system", "Be brief."}, {"user", "Hello there, mock!"}}, o200k);
  CHECK(j["error"]["message"] ==
        fmt::format("This model's maximum context length is 5 tokens. However, your messages "
                    "resulted in {} tokens. Please reduce the length of the messages.",
                    prompt));
  CHECK(j["error"]["code"] == "context_length_exceeded");
  CHECK(j["error"]["param"] == "messages");
}

TEST_CASE("Status faults on LLM mocks answer with the provider's bodies", "[llm-mock]") {
  auto status_fault = [](int status, std::optional<int> retry_after = std::nullopt) {
    Fault f;
    f.name = "f";
    StatusFault s;
    s.status = status;
    if (retry_after)
      s.retry_after = RetryAfter{RetryAfter::Form::seconds, std::chrono::seconds(*retry_after)};
    f.action = s;
    return std::make_shared<FaultPlan>(std::vector<Fault>{f});
  };
  SECTION("OpenAI 429") {
    MockServer m("o", llm_mock_routes("o", spec_of(LlmProvider::openai)));
    m.set_faults(status_fault(429));
    auto r = call(m, "POST", "/v1/chat/completions", kOpenAiBody);
    CHECK(r.status == 429);
    CHECK(r.has_header("retry-after: 1"));
    CHECK(r.has_header("x-ratelimit-reset-requests: 1s"));
    auto j = r.json();
    CHECK(j["error"]["code"] == "rate_limit_exceeded");
    CHECK(j["error"]["type"] == "requests");
    auto err = llm::parse_provider_error(llm::WireFormat::openai, 429, r.body, "1");
    CHECK(err.kind == llm::ProviderErrorKind::rate_limit);
  }
  SECTION("OpenAI 429 with the fault's Retry-After") {
    MockServer m("o", llm_mock_routes("o", spec_of(LlmProvider::openai)));
    m.set_faults(status_fault(429, 7));
    auto r = call(m, "POST", "/v1/chat/completions", kOpenAiBody);
    CHECK(r.has_header("retry-after: 7"));
    CHECK(r.has_header("x-ratelimit-reset-requests: 7s"));
  }
  SECTION("Anthropic 429 and 529") {
    MockServer m("a", llm_mock_routes("a", spec_of(LlmProvider::anthropic)));
    m.set_faults(status_fault(429));
    auto r = call(m, "POST", "/v1/messages", "{}");
    CHECK(r.status == 429);
    CHECK(r.has_header("retry-after: 1"));
    CHECK(r.json()["error"]["type"] == "rate_limit_error");
    m.set_faults(status_fault(529));
    auto o = call(m, "POST", "/v1/messages", "{}");
    CHECK(o.status == 529);
    CHECK(o.json() ==
          Json::parse(
              R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})"));
    CHECK(llm::parse_provider_error(llm::WireFormat::anthropic, 529, o.body).kind ==
          llm::ProviderErrorKind::overloaded);
  }
  SECTION("Gemini 429 with RetryInfo, 500") {
    MockServer m("g", llm_mock_routes("g", spec_of(LlmProvider::gemini)));
    m.set_faults(status_fault(429, 31));
    auto r = call(m, "POST", "/v1beta/models/gemini-2.5-flash:generateContent", "{}");
    CHECK(r.status == 429);
    auto err = llm::parse_provider_error(llm::WireFormat::gemini, 429, r.body);
    CHECK(err.kind == llm::ProviderErrorKind::rate_limit);
    CHECK(err.type == "RESOURCE_EXHAUSTED");
    CHECK(err.retry_after_s == 31);
    m.set_faults(status_fault(500));
    auto s = call(m, "POST", "/v1beta/models/gemini-2.5-flash:generateContent", "{}");
    CHECK(s.json()["error"]["status"] == "INTERNAL");
    CHECK(llm::parse_provider_error(llm::WireFormat::gemini, 500, s.body).kind ==
          llm::ProviderErrorKind::server);
  }
}

TEST_CASE("stream_cut cuts streams before the first byte or after N events", "[llm-mock]") {
  auto spec = spec_of(LlmProvider::openai);
  spec.replies = {"abcdefghijklmnopqrstuvwxyz"};
  spec.chunk_chars = 2;
  MockServer m("o", llm_mock_routes("o", spec));
  auto cut = [&](std::uint64_t after) {
    Fault f;
    f.name = "cut";
    f.action = StreamCutFault{after};
    m.set_faults(std::make_shared<FaultPlan>(std::vector<Fault>{f}));
  };
  auto streaming = Json::parse(kOpenAiBody);
  streaming["stream"] = true;

  cut(0);
  auto before = call(m, "POST", "/v1/chat/completions", streaming.dump());
  CHECK(before.raw_size == 0);
  // A response that is not a stream passes.
  CHECK(call(m, "POST", "/v1/chat/completions", kOpenAiBody).status == 200);

  cut(3);
  auto after = call(m, "POST", "/v1/chat/completions", streaming.dump());
  CHECK(after.status == 200);
  CHECK_FALSE(after.complete);
  auto events = sse_events(after.body);
  CHECK(events.size() == 3);
  CHECK(after.body.find("[DONE]") == std::string::npos);
  auto evs = parse_stream(llm::WireFormat::openai, after.body);
  CHECK(evs.back().kind == llm::StreamEvent::Kind::error);

  auto j = fault_to_json(m.faults()->faults()[0]);
  CHECK(j["type"] == "stream_cut");
  CHECK(j["after_events"] == 3);
  auto back = fault_from_json(j);
  REQUIRE(back);
  CHECK(std::get<StreamCutFault>(back->action).after_events == 3);
}

TEST_CASE("Assertions read the messages, model and counts of LLM requests", "[llm-mock]") {
  MockServer m("openai", llm_mock_routes("openai", spec_of(LlmProvider::openai)));
  MockServer a("claude", llm_mock_routes("claude", spec_of(LlmProvider::anthropic)));
  call(m, "POST", "/v1/chat/completions", kOpenAiBody);
  auto big = Json::parse(kOpenAiBody);
  big["messages"][1]["content"] = "A somewhat longer question for the mock to count.";
  big["max_tokens"] = 50;
  call(m, "POST", "/v1/chat/completions", big.dump());
  call(
      a, "POST", "/v1/messages",
      R"({"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"Hi"}]})");
  detail::RunFacts facts;
  facts.mocks["openai"].recorded = m.recorded();
  facts.mocks["openai"].requests = m.requests();
  facts.mocks["claude"].recorded = a.recorded();
  facts.mocks["claude"].requests = a.requests();
  detail::ScopeWindow window;
  ClientStats client;
  auto eval = [&](std::string_view src) -> Result<expr::Value> {
    expr::MapScope scope;
    detail::fill_run_scope(scope, client, 1.0, nullptr, facts, window);
    auto e = expr::parse(src);
    REQUIRE(e);
    return expr::evaluate(*e, scope);
  };
  auto holds = [&](std::string_view src) {
    auto v = eval(src);
    INFO(src << (v ? "" : ": " + v.error().message));
    REQUIRE(v);
    REQUIRE(v->is(expr::Kind::boolean));
    return v->as_bool();
  };
  CHECK(holds(R"(mock("openai").last.model == "gpt-4o")"));
  CHECK(holds(R"(mock("openai").last.system == "Be brief.")"));
  CHECK(holds(R"(mock("openai").last.roles == ["system", "user"])"));
  CHECK(holds(R"(mock("openai").last.message_count == 2)"));
  CHECK(holds(R"(mock("openai").last.message(-1).content contains "longer question")"));
  CHECK(holds(R"(mock("openai").request(0).message(0).role == "system")"));
  CHECK(
      holds(R"(mock("openai").last.max_tokens == 50 and mock("openai").first.max_tokens == null)"));
  CHECK(holds(
      R"(mock("openai").last.json.messages != null and mock("openai").last.json.max_tokens == 50)"));
  CHECK(holds(R"(mock("openai").last.provider == "openai" and not mock("openai").last.stream)"));
  const auto p0 = chat_count({{"system", "Be brief."}, {"user", "Hello there, mock!"}}, o200k);
  CHECK(holds(fmt::format(R"(mock("openai").first.prompt_tokens == {})", p0)));
  CHECK(holds(R"(mock("openai").max_prompt_tokens == mock("openai").last.prompt_tokens)"));
  CHECK(holds(R"(mock("openai").max_prompt_tokens < 100)"));
  CHECK(holds(R"(mock("openai").received(system_contains="brief") == mock("openai").requests)"));
  CHECK(holds(R"(mock("claude").received(system_contains="brief") == 0)"));
  CHECK(holds(R"(mock("claude").last.system == "" and mock("claude").last.roles == ["user"])"));
  CHECK(holds(R"(mock("claude").last.messages != [])"));
  auto e = eval(R"(mock("openai").last.mesages)");
  REQUIRE_FALSE(e);
  CHECK(e.error().message.find("messages") != std::string::npos);
}

TEST_CASE("Scenario mocks take a [mocks.llm] table", "[llm-mock]") {
  auto s = load_scenario_string(R"(
name = "llm"

[[mocks]]
name = "openai"
[mocks.llm]
provider = "openai"
context_window = 8192
replies = ["a", "b"]
tool_call = { name = "get_weather", arguments = '{"city": "Paris"}' }
chunk_chars = 4
chunk_delay = "5ms"
models = ["gpt-4o", "gpt-4o-mini"]

[[phases]]
name = "p"
duration = "1s"
rate = 1
target = "mock.openai"
[[assertions]]
expect = "client.errors == 0"
)",
                                "llm.toml");
  INFO((s ? std::string() : s.error().message));
  REQUIRE(s);
  REQUIRE(s->mocks.size() == 1);
  REQUIRE(s->mocks[0].llm);
  const auto& spec = *s->mocks[0].llm;
  CHECK(spec.provider == LlmProvider::openai);
  CHECK(spec.window() == 8192);
  CHECK(spec.replies == std::vector<std::string>{"a", "b"});
  REQUIRE(spec.tool_call);
  CHECK(spec.tool_call->name == "get_weather");
  CHECK(spec.chunk_chars == 4);
  CHECK(spec.chunk_delay == std::chrono::milliseconds(5));
  CHECK(spec.models.size() == 2);
  CHECK(routes_of(s->mocks[0]).size() == 1);

  auto bad = load_scenario_string(R"(
name = "llm"

[[mocks]]
name = "x"
[mocks.llm]
provider = "opena"
context_windw = 10
tool_call = { name = "f", arguments = "not json" }

[[phases]]
name = "p"
duration = "1s"
rate = 1
target = "mock.x"
[[assertions]]
expect = "client.errors == 0"
)",
                                  "bad.toml");
  REQUIRE_FALSE(bad);
  const auto& msg = bad.error().message;
  INFO(msg);
  CHECK(msg.find("bad.toml:7:") != std::string::npos);
  CHECK(msg.find("mocks[0].llm.provider: unknown provider \"opena\"") != std::string::npos);
  CHECK(msg.find("did you mean \"openai\"") != std::string::npos);
  CHECK(msg.find("mocks[0].llm.context_windw") != std::string::npos);
  CHECK(msg.find("did you mean \"context_window\"") != std::string::npos);
  CHECK(msg.find("mocks[0].llm.tool_call.arguments: is not a JSON object") != std::string::npos);

  auto missing =
      load_scenario_string(std::string("name = \"x\"\n[[mocks]]\nname = \"x\"\n[mocks.llm]\n") +
                               R"(
[[phases]]
name = "p"
duration = "1s"
rate = 1
target = "mock.x"
[[assertions]]
expect = "client.errors == 0"
)",
                           "m.toml");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message.find("mocks[0].llm.provider") != std::string::npos);
}

TEST_CASE("Anthropic and Gemini mocks return the scripted tool call", "[llm-mock]") {
  const LlmToolCall scripted{"get_weather", R"({"city":"Paris"})"};
  auto anth = spec_of(LlmProvider::anthropic);
  anth.tool_call = scripted;
  MockServer a("a", llm_mock_routes("a", anth));
  const std::string abody =
      R"({"model":"claude-sonnet-4-5","max_tokens":50,"stream":true,"tools":[{"name":"get_weather","input_schema":{"type":"object"}}],"messages":[{"role":"user","content":"Weather?"}]})";
  auto s = call(a, "POST", "/v1/messages", abody);
  auto evs = parse_stream(llm::WireFormat::anthropic, s.body);
  auto start = std::find_if(evs.begin(), evs.end(), [](const llm::StreamEvent& e) {
    return e.kind == llm::StreamEvent::Kind::tool_call_start;
  });
  REQUIRE(start != evs.end());
  CHECK(start->name == "get_weather");
  std::string args;
  for (const auto& e : evs)
    if (e.kind == llm::StreamEvent::Kind::tool_call_args) args += e.text;
  CHECK(args == R"({"city":"Paris"})");
  auto fin = std::find_if(evs.begin(), evs.end(), [](const llm::StreamEvent& e) {
    return e.kind == llm::StreamEvent::Kind::finish;
  });
  REQUIRE(fin != evs.end());
  CHECK(fin->finish == llm::FinishReason::tool_calls);

  auto gem = spec_of(LlmProvider::gemini);
  gem.tool_call = scripted;
  MockServer g("g", llm_mock_routes("g", gem));
  const std::string gbody =
      R"({"tools":[{"functionDeclarations":[{"name":"get_weather"}]}],"contents":[{"role":"user","parts":[{"text":"Weather?"}]}]})";
  auto j = call(g, "POST", "/v1beta/models/gemini-2.5-flash:generateContent", gbody).json();
  CHECK(j["candidates"][0]["content"]["parts"][0]["functionCall"]["name"] == "get_weather");
  CHECK(j["candidates"][0]["content"]["parts"][0]["functionCall"]["args"]["city"] == "Paris");
  auto resp = llm::parse_response(nlohmann::json(j), llm::WireFormat::gemini);
  REQUIRE(resp);
  CHECK(resp->finish == llm::FinishReason::tool_calls);
}
