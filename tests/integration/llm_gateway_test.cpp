// LLM routes through the binary, against the chaos mock providers: large prompts, chunked
// bodies, the exact cache, the access log's LLM fields, GenAI metrics, and errors in the
// client's format. (Client libraries: tests/sdk; failure drills: scenarios/llm-*.toml.)
#include <string>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common.hpp"
#include "sluice/chaos/llm_mock.hpp"
#include "sluice/chaos/mock_server.hpp"

using namespace sluice;
using namespace sluice::test;
using namespace std::chrono_literals;

namespace {

std::unique_ptr<chaos::MockServer> provider(const std::string& name, chaos::LlmProvider p) {
  chaos::LlmMockSpec spec;
  spec.provider = p;
  spec.context_window = 1000000;
  return std::make_unique<chaos::MockServer>(name, chaos::llm_mock_routes(name, spec));
}

std::string llm_config(const chaos::MockServer& openai, const chaos::MockServer& anthropic,
                       std::string_view route_llm = "[routes.llm]") {
  return config_with(fmt::format(R"([[routes]]
name = "llm"
path_prefix = "/v1/"
{}

[[providers]]
name = "openai"
kind = "openai"
base_url = "http://{}/v1"

[[providers]]
name = "anthropic"
kind = "anthropic"
base_url = "http://{}/v1"

[[models]]
name = "gpt"
targets = [{{ provider = "openai", model = "gpt-4o-mini" }}]

[[models]]
name = "claude"
targets = [{{ provider = "anthropic", model = "claude-3-5-haiku-latest" }}]
)",
                                 route_llm, openai.address(), anthropic.address()));
}

std::optional<Response> post(std::uint16_t port, std::string_view path, const std::string& body) {
  Connection c(port, 30s);
  return c.request(make_request("POST", path, {{"content-type", "application/json"}}, body));
}

std::string chat(std::string_view model, std::string_view user, std::string_view extra = "") {
  return fmt::format(R"({{"model":"{}",{}"messages":[{{"role":"user","content":{}}}]}})", model,
                     extra, nlohmann::json(std::string(user)).dump());
}

}  // namespace

TEST_CASE("a 400 KiB prompt passes through whole, sized or chunked, and its usage is counted",
          "[llm]") {
  auto openai = provider("openai", chaos::LlmProvider::openai);
  auto anthropic = provider("anthropic", chaos::LlmProvider::anthropic);
  SluiceProcess gw(llm_config(*openai, *anthropic));
  std::string user;
  while (user.size() < 400 * 1024) user += "the quick brown fox jumps over the lazy dog ";
  user += "END";
  std::string body = chat("gpt", user);

  auto r = post(gw.port(), "/v1/chat/completions", body);
  REQUIRE(r);
  REQUIRE(r->status == 200);
  CHECK(r->header("x-sluice-provider") == "openai");
  auto j = r->json();
  CHECK(j["choices"][0]["message"]["content"].get<std::string>().ends_with("dog END"));
  // A mock completes its record when the exchange ends, which may follow the answer.
  std::vector<chaos::RecordedRequest> recorded;
  REQUIRE(eventually(
      [&] {
        recorded = openai->recorded();
        return recorded.size() == 1 && recorded[0].complete;
      },
      5s));
  // The body as sent, not re-serialised: only the alias was swapped for the target's model.
  CHECK(recorded[0].body_bytes == body.size() + std::string_view("gpt-4o-mini").size() - 3);
  std::int64_t prompt_tokens = j["usage"]["prompt_tokens"].get<std::int64_t>();
  CHECK(prompt_tokens > 80000);

  // The same body with chunked transfer encoding, to the Anthropic provider (translated).
  std::string to_claude = chat("claude", user);
  Connection c(gw.port(), 30s);
  std::string raw =
      "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\ncontent-type: "
      "application/json\r\ntransfer-encoding: chunked\r\n\r\n";
  for (std::size_t i = 0; i < to_claude.size(); i += 10000) {
    auto piece = std::string_view(to_claude).substr(i, 10000);
    raw += fmt::format("{:x}\r\n{}\r\n", piece.size(), piece);
  }
  raw += "0\r\n\r\n";
  auto r2 = c.request(raw);
  REQUIRE(r2);
  REQUIRE(r2->status == 200);
  CHECK(r2->header("x-sluice-provider") == "anthropic");
  // The echo is cut at Anthropic's default max_tokens (4096): finish_reason length.
  auto claude = r2->json()["choices"][0];
  CHECK(claude["message"]["content"].get<std::string>().starts_with("echo: the quick brown"));
  CHECK(claude["finish_reason"] == "length");
  std::vector<chaos::RecordedRequest> got;
  REQUIRE(eventually(
      [&] {
        got = anthropic->recorded();
        return got.size() == 1 && got[0].complete;
      },
      5s));
  CHECK(got[0].body_bytes > 400 * 1024);

  auto m = http_get(gw.admin_port(), "/metrics");
  REQUIRE(m);
  CHECK_THAT(m->body, Catch::Contains("gen_ai_client_token_usage_bucket{route=\"llm\","
                                      "gen_ai_operation_name=\"chat\",gen_ai_request_model="
                                      "\"gpt\",gen_ai_provider_name=\"openai\""));
  CHECK_THAT(m->body, Catch::Contains("gen_ai_server_request_duration_seconds_count"));
  CHECK_THAT(m->body, Catch::Contains("sluice_llm_cost_usd_total{route=\"llm\""));
  CHECK_THAT(m->body,
             Catch::Contains("sluice_llm_attempts_total{route=\"llm\",gen_ai_provider_name="
                             "\"anthropic\",gen_ai_response_model=\"claude-3-5-haiku-latest\","
                             "outcome=\"ok\"} 1"));
  // The exposition parses (promtool, when installed).
  if (std::system("command -v promtool >/dev/null 2>&1") == 0) {
    std::string path = temp_path("metrics", ".txt");
    write_file(path, m->body);
    CHECK(std::system(fmt::format("promtool check metrics < {} >/dev/null 2>&1", path).c_str()) ==
          0);
  }
}

TEST_CASE("the exact cache answers a repeated deterministic request without the provider",
          "[llm]") {
  auto openai = provider("openai", chaos::LlmProvider::openai);
  auto anthropic = provider("anthropic", chaos::LlmProvider::anthropic);
  SluiceProcess gw(
      llm_config(*openai, *anthropic, "[routes.llm]\ncache = { ttl = \"1m\", max_entries = 10 }"));
  auto a =
      post(gw.port(), "/v1/chat/completions",
           R"({"model":"claude","temperature":0,"messages":[{"role":"user","content":"hi"}]})");
  // The same request, keys in another order and spaced differently.
  auto b = post(
      gw.port(), "/v1/chat/completions",
      R"({ "messages": [ {"content":"hi", "role":"user"} ], "temperature": 0, "model": "claude" })");
  // Not deterministic: never cached.
  auto c1 = post(gw.port(), "/v1/chat/completions", chat("claude", "hi"));
  auto c2 = post(gw.port(), "/v1/chat/completions", chat("claude", "hi"));
  REQUIRE((a && b && c1 && c2));
  CHECK(a->header("x-sluice-cache") == "miss");
  CHECK(b->header("x-sluice-cache") == "hit");
  CHECK(b->header("x-sluice-provider") == "anthropic");
  CHECK(a->body == b->body);
  CHECK(c1->header("x-sluice-cache").empty());
  CHECK(anthropic->requests() == 3);
}

TEST_CASE("the access log line has the LLM fields, and prompts only when asked, redacted",
          "[llm]") {
  auto openai = provider("openai", chaos::LlmProvider::openai);
  auto anthropic = provider("anthropic", chaos::LlmProvider::anthropic);
  SluiceProcess gw(llm_config(*openai, *anthropic, "[routes.llm]\nlog_bodies = true"));
  auto r = post(gw.port(), "/v1/chat/completions",
                chat("gpt", "write to jane@example.com with key sk-abcdefghijklmnopqrstu"));
  REQUIRE(r);
  REQUIRE(r->status == 200);
  std::string line;
  REQUIRE(eventually(
      [&] {
        for (const auto& l : gw.stdout_lines())
          if (l.find("\"llm_alias\"") != std::string::npos) line = l;
        return !line.empty();
      },
      5s));
  auto j = nlohmann::json::parse(line);
  CHECK(j["llm_alias"] == "gpt");
  CHECK(j["llm_provider"] == "openai");
  CHECK(j["llm_model"] == "gpt-4o-mini");
  CHECK(j["llm_tokens_in"].get<int>() > 5);
  CHECK(j["llm_tokens_out"].get<int>() > 5);
  CHECK(j["llm_fallbacks"] == 0);
  CHECK(j["attempts"] == 1);
  CHECK(j["cluster"] == "openai");
  CHECK(j["llm_cost_usd"].get<double>() > 0);
  std::string prompt = j["llm_prompt"].get<std::string>();
  CHECK_THAT(prompt, Catch::Contains("[REDACTED:email]") && Catch::Contains("[REDACTED:key]"));
  CHECK(prompt.find("jane@") == std::string::npos);
  CHECK(line.find("sk-abcdefghijklmnopqrstu") == std::string::npos);
}

TEST_CASE("bad requests get errors in the client's format and the gateway keeps serving", "[llm]") {
  auto openai = provider("openai", chaos::LlmProvider::openai);
  auto anthropic = provider("anthropic", chaos::LlmProvider::anthropic);
  SluiceProcess gw(llm_config(*openai, *anthropic));
  auto bad_json = post(gw.port(), "/v1/chat/completions", "{\"model\": ");
  REQUIRE(bad_json);
  CHECK(bad_json->status == 400);
  CHECK(bad_json->json()["error"]["type"] == "invalid_request_error");
  auto unknown =
      post(gw.port(), "/v1/messages",
           R"({"model":"nope","max_tokens":5,"messages":[{"role":"user","content":"x"}]})");
  REQUIRE(unknown);
  CHECK(unknown->status == 404);
  CHECK(unknown->json()["type"] == "error");
  CHECK(unknown->json()["error"]["type"] == "not_found_error");
  CHECK_THAT(unknown->json()["error"]["message"].get<std::string>(),
             Catch::Contains("claude") && Catch::Contains("gpt"));
  auto get = http_get(gw.port(), "/v1/chat/completions");
  REQUIRE(get);
  CHECK(get->status == 405);
  auto models = http_get(gw.port(), "/v1/models");
  REQUIRE(models);
  CHECK(models->json()["data"].size() == 2);
  auto ok = post(gw.port(), "/v1/messages",
                 R"({"model":"gpt","max_tokens":50,"messages":[{"role":"user","content":"x"}]})");
  REQUIRE(ok);
  CHECK(ok->status == 200);
  CHECK(ok->json()["type"] == "message");
  CHECK(gw.running());
}
