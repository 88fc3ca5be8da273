// Provider errors: classification (fixtures/llm/errors/cases.json, kinds written by hand from
// the providers' documented and reported bodies) and rendering in each ingress format
// (errors/expected.json).
#include "sluice/llm/provider_error.hpp"

#include <catch2/catch.hpp>

#include "golden.hpp"

using namespace sluice::llm;
using golden::Json;

namespace {

WireFormat format_named(const std::string& s) {
  if (s == "anthropic") return WireFormat::anthropic;
  if (s == "gemini") return WireFormat::gemini;
  if (s == "openai_compatible") return WireFormat::openai_compatible;
  return WireFormat::openai;
}

}  // namespace

TEST_CASE("provider errors are classified, context length above all", "[llm][errors]") {
  Json cases = golden::load("errors/cases.json");
  REQUIRE(cases.size() >= 10);
  Json rendered = Json::array();
  for (const auto& c : cases) {
    auto name = c["name"].get<std::string>();
    INFO(name);
    std::string body = c["body"].is_string() ? c["body"].get<std::string>() : c["body"].dump();
    std::string retry_after = c.value("retry_after", "");
    int status = c["status"].get<int>();
    auto err = parse_provider_error(format_named(c["provider"]), status, body, retry_after);
    CHECK(to_string(err.kind) == c["kind"].get<std::string>());
    CHECK(err.type == c["type"].get<std::string>());
    CHECK(err.status == status);
    CHECK(!err.message.empty());
    if (c.contains("retry_after_s")) {
      REQUIRE(err.retry_after_s);
      CHECK(*err.retry_after_s == c["retry_after_s"].get<std::int64_t>());
    }
    CHECK(client_status(err) == status);
    rendered.push_back({{"name", name},
                        {"openai", write_error(err, WireFormat::openai)},
                        {"anthropic", write_error(err, WireFormat::anthropic)}});
  }
  golden::check_json("errors/expected.json", rendered);
}

TEST_CASE("context-length errors render as OpenAI's code and keep the message", "[llm][errors]") {
  auto err = parse_provider_error(
      WireFormat::gemini, 400,
      R"({"error":{"code":400,"message":"The input token count (3475108) exceeds the maximum number of tokens allowed (1048576).","status":"INVALID_ARGUMENT"}})");
  CHECK(err.kind == ProviderErrorKind::context_length);
  auto o = write_error(err, WireFormat::openai);
  CHECK(o["error"]["code"] == "context_length_exceeded");
  CHECK(o["error"]["type"] == "INVALID_ARGUMENT");
  CHECK(o["error"]["message"] == err.message);
  auto a = write_error(err, WireFormat::anthropic);
  CHECK(a["type"] == "error");
  CHECK(a["error"]["type"] == "invalid_request_error");

  CHECK(is_context_length_message("prompt is too long: 208310 tokens > 200000 maximum"));
  CHECK(is_context_length_message("This model's maximum context length is 4097 tokens"));
  CHECK_FALSE(is_context_length_message("messages: text content blocks must be non-empty"));
}

TEST_CASE("error bodies of any shape never fail to parse", "[llm][errors]") {
  for (std::string_view body :
       {"", "null", "[]", "{\"error\":5}", "{\"error\":{\"message\":7}}", "\x01\xff"}) {
    auto err = parse_provider_error(WireFormat::openai, 500, body);
    CHECK(err.kind == ProviderErrorKind::server);
  }
  auto no_status = parse_provider_error(WireFormat::anthropic, 0, "garbage");
  CHECK(client_status(no_status) == 502);
  auto retry = parse_provider_error(WireFormat::anthropic, 429, "{}", "7");
  CHECK(retry.kind == ProviderErrorKind::rate_limit);
  CHECK(*retry.retry_after_s == 7);
}
