// Request and response translation against the golden transcripts of fixtures/llm/.
#include <catch2/catch.hpp>

#include "golden.hpp"
#include "sluice/llm/wire.hpp"

using namespace sluice::llm;
using golden::Json;
using sluice::Result;

namespace {

const WireFormat kProviders[] = {WireFormat::openai, WireFormat::openai_compatible,
                                 WireFormat::anthropic, WireFormat::gemini};

std::string name_of(WireFormat f) {
  return std::string(to_string(f));
}

Result<ChatRequest> parse_request(WireFormat ingress, Json body) {
  return ingress == WireFormat::anthropic ? parse_anthropic_request(std::move(body))
                                          : parse_openai_request(std::move(body));
}

void check_request_goldens(const std::string& name, WireFormat ingress) {
  for (auto provider : kProviders) {
    INFO(name << " to " << name_of(provider));
    auto req = parse_request(ingress, golden::load("requests/" + name + ".json"));
    REQUIRE(req);
    auto body = write_request(*req, provider);
    REQUIRE(body);
    golden::check_json("requests/" + name + ".to_" + name_of(provider) + ".json", *body);
  }
}

std::string error_of(Result<ChatRequest> r) {
  REQUIRE_FALSE(r);
  return r.error().message;
}

}  // namespace

TEST_CASE("an OpenAI chat request translates to every provider", "[llm][translate]") {
  check_request_goldens("openai_chat", WireFormat::openai);
}

TEST_CASE("an Anthropic messages request translates to every provider", "[llm][translate]") {
  check_request_goldens("anthropic_messages", WireFormat::anthropic);
}

TEST_CASE("the neutral request keeps system prompts, tools, images and sampling",
          "[llm][translate]") {
  auto req = parse_openai_request(golden::load("requests/openai_chat.json"));
  REQUIRE(req);
  REQUIRE(req->system.size() == 3);  // one system message, one developer message of two parts
  CHECK(req->system[1].text == "Answer in English.");
  REQUIRE(req->messages.size() == 6);
  CHECK(req->messages[4].role == Role::system);  // the mid-conversation one keeps its place
  const auto& user = req->messages[0].parts;
  REQUIRE(user.size() == 3);
  CHECK(user[1].url == "https://example.com/paris.jpg");
  CHECK(user[2].media_type == "image/png");
  CHECK(user[2].data == "iVBORw0KGgoAAAANSUhEUg==");
  CHECK(req->messages[1].parts[1].text == "{\"city\":\"Lyon\"}");
  CHECK(req->messages[3].parts[0].text == "sunny, 24 C");
  CHECK(req->stop.size() == 2);
  CHECK(*req->max_tokens == 300);
  CHECK(*req->temperature == 0.2);
  CHECK(req->response_format.kind == ResponseFormat::Kind::json_schema);
  CHECK(req->include_usage);

  auto a = parse_anthropic_request(golden::load("requests/anthropic_messages.json"));
  REQUIRE(a);
  CHECK(a->system.size() == 2);
  // The user turn with two tool results and text becomes two tool messages and a user one.
  REQUIRE(a->messages.size() == 5);
  CHECK(a->messages[2].role == Role::tool);
  CHECK(a->messages[3].parts[0].is_error);
  CHECK(a->messages[4].parts[0].text == "Go on.");
  CHECK(a->tool_choice.mode == ToolChoice::Mode::required);
}

TEST_CASE("Anthropic gets a max_tokens default, which is a parameter", "[llm][translate]") {
  Json body = {{"model", "m"}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}};
  auto req = parse_openai_request(Json(body));
  REQUIRE(req);
  auto out = write_request(*req, WireFormat::anthropic);
  REQUIRE(out);
  CHECK((*out)["max_tokens"] == kAnthropicDefaultMaxTokens);
  CHECK(kAnthropicDefaultMaxTokens == 4096);
  WriteOptions opt;
  opt.anthropic_default_max_tokens = 1000;
  out = write_request(*req, WireFormat::anthropic, opt);
  REQUIRE(out);
  CHECK((*out)["max_tokens"] == 1000);
  CHECK((*out)["system"].is_null());
}

TEST_CASE("JSON mode reaches every provider", "[llm][translate]") {
  Json body = {{"model", "m"},
               {"messages", {{{"role", "user"}, {"content", "hi"}}}},
               {"response_format", {{"type", "json_object"}}}};
  auto req = parse_openai_request(Json(body));
  REQUIRE(req);
  CHECK((*write_request(*req, WireFormat::openai))["response_format"]["type"] == "json_object");
  CHECK((*write_request(*req, WireFormat::gemini))["generationConfig"]["responseMimeType"] ==
        "application/json");
  CHECK((*write_request(*req, WireFormat::anthropic))["system"] ==
        "Respond with a single JSON object and nothing else.");
}

TEST_CASE("bad requests are errors that name the field", "[llm][translate]") {
  CHECK(error_of(parse_openai_request(Json::array())) == "body: expected a JSON object");
  CHECK(error_of(parse_openai_request(Json{{"model", "m"}})) == "messages: expected an array");
  CHECK(error_of(parse_openai_request(Json{
            {"model", "m"},
            {"messages",
             {{{"role", "user"}, {"content", {{{"type", "image_url"}, {"image_url", "x"}}}}}}}})) ==
        "messages[0].content[0].image_url: expected an object");
  CHECK(error_of(parse_openai_request(Json{{"model", 3}, {"messages", Json::array()}})) ==
        "model: expected a string");
  CHECK(error_of(parse_openai_request(
            Json{{"model", "m"}, {"messages", Json::array()}, {"temperature", "hot"}})) ==
        "temperature: expected a number");
  CHECK(error_of(parse_openai_request(
            Json{{"model", "m"}, {"messages", {{{"role", "wizard"}, {"content", "hi"}}}}})) ==
        "messages[0].role: unsupported role 'wizard'");
  CHECK(error_of(parse_openai_request(
            Json{{"model", "m"}, {"messages", {{{"role", "tool"}, {"content", "hi"}}}}})) ==
        "messages[0].tool_call_id: missing");
  CHECK(error_of(parse_anthropic_request(
            Json{{"model", "m"}, {"messages", {{{"role", "system"}, {"content", "hi"}}}}})) ==
        "messages[0].role: unsupported role 'system'");
  CHECK(error_of(parse_anthropic_request(
            Json{{"model", "m"},
                 {"messages",
                  {{{"role", "user"},
                    {"content",
                     {{{"type", "image"}, {"source", {{"type", "base64"}, {"data", 5}}}}}}}}}})) ==
        "messages[0].content[0].source.data: expected a string");

  // Tool arguments that are not a JSON object cannot become Anthropic's input or Gemini's args.
  auto req =
      parse_openai_request(Json{{"model", "m"},
                                {"messages",
                                 {{{"role", "assistant"},
                                   {"tool_calls",
                                    {{{"id", "c1"},
                                      {"type", "function"},
                                      {"function", {{"name", "f"}, {"arguments", "[1"}}}}}}}}}});
  REQUIRE(req);
  CHECK_FALSE(write_request(*req, WireFormat::anthropic));
  CHECK_FALSE(write_request(*req, WireFormat::gemini));
  CHECK(write_request(*req, WireFormat::openai));
}

TEST_CASE("a Gemini tool result needs the call it answers", "[llm][translate]") {
  auto req = parse_openai_request(Json{
      {"model", "m"}, {"messages", {{{"role", "tool"}, {"tool_call_id", "x"}, {"content", "1"}}}}});
  REQUIRE(req);
  auto out = write_request(*req, WireFormat::gemini);
  REQUIRE_FALSE(out);
  CHECK(out.error().message == "messages: tool result 'x' answers no earlier tool call");
}

TEST_CASE("provider responses translate to both ingress formats", "[llm][translate]") {
  const std::pair<const char*, WireFormat> cases[] = {
      {"openai_tools", WireFormat::openai},
      {"openai_length", WireFormat::openai},
      {"anthropic_tools", WireFormat::anthropic},
      {"anthropic_stop_sequence", WireFormat::anthropic},
      {"gemini_tools", WireFormat::gemini},
      {"gemini_safety", WireFormat::gemini},
      {"gemini_max_tokens", WireFormat::gemini},
  };
  WriteOptions opt;
  opt.created = 1700000000;
  for (const auto& [name, provider] : cases) {
    for (auto ingress : {WireFormat::openai, WireFormat::anthropic}) {
      INFO(name << " to " << name_of(ingress));
      auto resp =
          parse_response(golden::load(std::string("responses/") + name + ".json"), provider);
      REQUIRE(resp);
      golden::check_json(std::string("responses/") + name + ".to_" + name_of(ingress) + ".json",
                         write_response(*resp, ingress, opt));
    }
  }
}

TEST_CASE("finish reasons and usage are mapped faithfully", "[llm][translate]") {
  auto g = parse_response(golden::load("responses/gemini_tools.json"), WireFormat::gemini);
  REQUIRE(g);
  CHECK(g->finish == FinishReason::tool_calls);  // STOP after a function call
  CHECK(g->finish_raw == "STOP");
  REQUIRE(g->tool_calls.size() == 2);
  CHECK(g->tool_calls[1].id == "call_1");
  CHECK(g->tool_calls[1].arguments == "{\"city\":\"Lyon\"}");
  CHECK(g->usage->input == 310);
  CHECK(g->usage->output == 54);  // candidates plus thoughts
  CHECK(g->usage->cached_input == 256);

  auto a = parse_response(golden::load("responses/anthropic_tools.json"), WireFormat::anthropic);
  REQUIRE(a);
  CHECK(a->finish == FinishReason::tool_calls);
  CHECK(a->usage->input == 472 + 100 + 2000);
  CHECK(a->usage->cached_input == 2000);

  CHECK(finish_from_anthropic("end_turn") == FinishReason::stop);
  CHECK(finish_from_anthropic("max_tokens") == FinishReason::length);
  CHECK(finish_from_anthropic("refusal") == FinishReason::content_filter);
  CHECK(finish_from_anthropic("pause_turn") == FinishReason::other);
  CHECK(finish_from_gemini("SAFETY") == FinishReason::content_filter);
  CHECK(finish_from_gemini("MAX_TOKENS") == FinishReason::length);
  CHECK(finish_from_gemini("MALFORMED_FUNCTION_CALL") == FinishReason::other);
  CHECK(finish_from_openai("function_call") == FinishReason::tool_calls);
  CHECK(finish_to_openai(FinishReason::content_filter) == "content_filter");
  CHECK(finish_to_anthropic(FinishReason::length) == "max_tokens");

  CHECK_FALSE(parse_response(Json{{"choices", Json::array()}}, WireFormat::openai));
  auto bad = parse_response(Json{{"content", "x"}}, WireFormat::anthropic);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message == "content: expected an array");
}

TEST_CASE("empty text beside tool calls does not reach Anthropic or Gemini", "[llm][translate]") {
  Json body = {{"model", "m"},
               {"messages",
                {{{"role", "user"}, {"content", "weather?"}},
                 {{"role", "assistant"},
                  {"content", ""},
                  {"tool_calls",
                   {{{"id", "c1"},
                     {"type", "function"},
                     {"function", {{"name", "w"}, {"arguments", "{}"}}}}}}},
                 {{"role", "tool"}, {"tool_call_id", "c1"}, {"content", "sunny"}},
                 {{"role", "assistant"}, {"content", ""}}}}};
  auto req = parse_openai_request(Json(body));
  REQUIRE(req);
  auto a = write_request(*req, WireFormat::anthropic);
  REQUIRE(a);
  REQUIRE((*a)["messages"].size() == 3);  // the empty last turn is gone
  CHECK((*a)["messages"][1]["content"] ==
        Json::parse(R"([{"type":"tool_use","id":"c1","name":"w","input":{}}])"));
  auto g = write_request(*req, WireFormat::gemini);
  REQUIRE(g);
  REQUIRE((*g)["contents"].size() == 3);
  CHECK((*g)["contents"][1]["parts"].size() == 1);
}
