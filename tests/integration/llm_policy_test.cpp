// The context window of LLM routes through the binary, against mock providers: truncate_oldest
// trims to the window and says so in headers, reject and an unfittable prompt answer 400, and
// summarize has a second mock write the summary once per dropped prefix.
#include <string>

#include <catch2/catch.hpp>

#include "llm_policy_common.hpp"

using namespace sluice;
using namespace sluice::test;
using namespace sluice::test::llmpol;

namespace {

// A system prompt, `pairs` user/assistant exchanges of about 40 tokens each (TURN-NN, REPLY-NN),
// and the newest user turn.
Json long_conversation(int pairs, std::string_view newest) {
  Json m = Json::array();
  m.push_back(msg("system", "SYSTEM-PROMPT-A1 answer briefly and plainly."));
  for (int i = 0; i < pairs; ++i) {
    m.push_back(msg("user", words(fmt::format("TURN-{:02}", i), 40)));
    m.push_back(msg("assistant", words(fmt::format("REPLY-{:02}", i), 40)));
  }
  m.push_back(msg("user", newest));
  return m;
}

std::string context_config(const chaos::MockServer& main) {
  return gateway_config(
      R"(context = { strategy = "truncate_oldest", window = 400, reserve_output = 50 })",
      provider_toml(main) + R"(
[[models]]
name = "gpt"
targets = [{ provider = "main", model = "gpt-4o-mini" }]

[[models]]
name = "strict"
targets = [{ provider = "main", model = "gpt-4o-mini" }]
context = { strategy = "reject", window = 400, reserve_output = 50 }
)");
}

}  // namespace

TEST_CASE("truncate_oldest keeps the system prompt and the newest turns inside the window",
          "[llm][context]") {
  auto main = mock_provider("main");
  SluiceProcess gw(context_config(*main));
  const Json sent = long_conversation(10, "NEWEST-QUESTION-Z9 what comes next?");
  auto r = post_once(gw.port(), "/v1/chat/completions", chat_body("gpt", sent));
  INFO(r.body);
  REQUIRE(r.status == 200);
  const auto before = int_header(r, "x-sluice-context-tokens-before");
  const auto after = int_header(r, "x-sluice-context-tokens-after");
  const auto dropped = int_header(r, "x-sluice-context-dropped-turns");
  CHECK(before > 800);  // 20 turns of about 40 tokens
  CHECK(before > after);
  CHECK(after <= 400 - 50);
  CHECK(after > 200);  // as much as fits is kept, not just the newest turn
  CHECK(dropped > 0);
  CHECK_FALSE(r.has_header("x-sluice-context-summary"));

  auto got = received_messages(*main, 1);
  INFO(got.dump());
  // The system prompt, then the newest messages in order: a suffix of what was sent.
  REQUIRE(got.size() == sent.size() - static_cast<std::size_t>(dropped));
  CHECK(got[0] == sent[0]);
  for (std::size_t i = 1; i < got.size(); ++i) CHECK(got[got.size() - i] == sent[sent.size() - i]);
  CHECK(content_of(got.back()) == "NEWEST-QUESTION-Z9 what comes next?");
  CHECK(got.dump().find("TURN-00") == std::string::npos);
  // The provider never saw more than the window less the reserved output.
  auto rec = recorded(*main, 1);
  const std::string* prompt = rec[0].note("llm.prompt_tokens");
  REQUIRE(prompt);
  CHECK(std::stoll(*prompt) <= 400 - 50);
  CHECK(std::stoll(*prompt) >= after - 10);

  auto m = http_get(gw.admin_port(), "/metrics");
  REQUIRE(m);
  CHECK(metric(m->body, "sluice_llm_context_trimmed_total{route=\"llm\",alias=\"gpt\"}") == 1);
  CHECK(metric(m->body, "sluice_llm_context_dropped_turns_total{route=\"llm\",alias=\"gpt\"}") ==
        static_cast<double>(dropped));

  // The same conversation on Anthropic's messages API (the system prompt in its own field).
  Json anthropic = {{"model", "gpt"},
                    {"max_tokens", 50},
                    {"system", content_of(sent[0])},
                    {"messages", Json(sent.begin() + 1, sent.end())}};
  auto a = post_once(gw.port(), "/v1/messages", anthropic.dump());
  INFO(a.body);
  REQUIRE(a.status == 200);
  CHECK(a.json()["type"] == "message");
  const auto a_dropped = int_header(a, "x-sluice-context-dropped-turns");
  CHECK(a_dropped > 0);
  CHECK(int_header(a, "x-sluice-context-tokens-before") >
        int_header(a, "x-sluice-context-tokens-after"));
  CHECK(int_header(a, "x-sluice-context-tokens-after") <= 400 - 50);
  auto a_got = received_messages(*main, 2);
  INFO(a_got.dump());
  CHECK(content_of(a_got[0]).find("SYSTEM-PROMPT-A1") != std::string::npos);
  CHECK(content_of(a_got.back()) == "NEWEST-QUESTION-Z9 what comes next?");
  CHECK(a_got.dump().find("TURN-00") == std::string::npos);
  CHECK(a_got.size() == sent.size() - static_cast<std::size_t>(a_dropped));

  // Anthropic refuses a conversation whose first message is not the user's: whatever the
  // newest turn's length (which moves the cut by about one message), the kept tail starts with
  // a user turn.
  std::size_t seen = 2;
  for (int n : {4, 24, 44, 64}) {
    Json msgs(sent.begin() + 1, sent.end() - 1);
    msgs.push_back(msg("user", words("NEWEST-LONG", n)));
    Json body = {{"model", "gpt"}, {"max_tokens", 50}, {"messages", msgs}};
    auto t = post_once(gw.port(), "/v1/messages", body.dump());
    INFO(n << " words: " << t.body);
    REQUIRE(t.status == 200);
    CHECK(int_header(t, "x-sluice-context-dropped-turns") > 0);
    auto first = received_messages(*main, ++seen).at(0);
    INFO(first.dump());
    CHECK(first["role"] == "user");
  }
}

TEST_CASE("reject answers 400 with the counts, and so does a prompt that cannot fit at all",
          "[llm][context]") {
  auto main = mock_provider("main");
  SluiceProcess gw(context_config(*main));
  const Json sent = long_conversation(10, "NEWEST-QUESTION-Z9 what comes next?");

  // The same conversation to the alias whose policy is reject.
  auto r = post_once(gw.port(), "/v1/chat/completions", chat_body("strict", sent));
  INFO(r.body);
  REQUIRE(r.status == 400);
  CHECK(has_error_shape(r, "context_length_exceeded"));
  std::string message = r.json()["error"]["message"].get<std::string>();
  // "the conversation (N tokens) and the reserved output (50) need N+50 tokens; the window is 400"
  CHECK_THAT(message, Catch::Contains("the conversation (") &&
                          Catch::Contains("the reserved output (50)") &&
                          Catch::Contains("the window is 400"));
  // The counts agree with what truncate_oldest reports for the same conversation.
  auto trimmed = post_once(gw.port(), "/v1/chat/completions", chat_body("gpt", sent));
  REQUIRE(trimmed.status == 200);
  const auto before = int_header(trimmed, "x-sluice-context-tokens-before");
  CHECK_THAT(message, Catch::Contains(fmt::format("the conversation ({} tokens)", before)) &&
                          Catch::Contains(fmt::format("need {} tokens", before + 50)));

  // A short conversation fits and passes reject untouched.
  Json small = Json::array({msg("system", "SYSTEM-PROMPT-A1"), msg("user", "hello there")});
  auto fits = post_once(gw.port(), "/v1/chat/completions", chat_body("strict", small));
  REQUIRE(fits.status == 200);
  CHECK(int_header(fits, "x-sluice-context-dropped-turns") == 0);
  CHECK(int_header(fits, "x-sluice-context-tokens-before") ==
        int_header(fits, "x-sluice-context-tokens-after"));

  // A system prompt of about 500 tokens can never fit a window of 400, whatever is dropped:
  // truncate_oldest answers reject's 400 too, naming what would have to shrink.
  Json huge = long_conversation(2, "NEWEST-QUESTION-Z9 what comes next?");
  huge[0] = msg("system", words("SYSTEM-HUGE", 500));
  auto no_fit = post_once(gw.port(), "/v1/chat/completions", chat_body("gpt", huge));
  INFO(no_fit.body);
  REQUIRE(no_fit.status == 400);
  CHECK(has_error_shape(no_fit, "context_length_exceeded"));
  CHECK_THAT(no_fit.json()["error"]["message"].get<std::string>(),
             Catch::Contains("the system prompt (") && Catch::Contains("the newest user turn") &&
                 Catch::Contains("the window is 400"));
  // The same with a max_tokens that alone exceeds the window.
  auto big_max =
      post_once(gw.port(), "/v1/chat/completions", chat_body("gpt", small, {{"max_tokens", 1000}}));
  REQUIRE(big_max.status == 400);
  CHECK_THAT(big_max.json()["error"]["message"].get<std::string>(),
             Catch::Contains("the reserved output (1000)"));
  // Only the two answered requests reached the provider.
  CHECK(main->requests() == 2);
}

TEST_CASE("summarize has the summarizer alias write the summary once and reuses it next turn",
          "[llm][context]") {
  auto main = mock_provider("main");
  auto summ = mock_provider("summ", {"SUMMARY-K7 the traveller asked about the river gates."});
  SluiceProcess gw(gateway_config("", provider_toml(*main) + provider_toml(*summ) + R"(
[[models]]
name = "gpt"
targets = [{ provider = "main", model = "gpt-4o-mini" }]
context = { strategy = "summarize", window = 800, reserve_output = 50, summarizer = "small" }

[[models]]
name = "small"
targets = [{ provider = "summ", model = "gpt-4o-mini" }]
)"));
  Json convo = long_conversation(12, "NEWEST-1 where does the river go?");
  Connection c(gw.port(), 30s);
  auto first = send(c, "/v1/chat/completions", chat_body("gpt", convo));
  INFO(first.body);
  REQUIRE(first.status == 200);
  CHECK(first.header("x-sluice-context-summary") == "miss");
  const auto dropped1 = int_header(first, "x-sluice-context-dropped-turns");
  CHECK(dropped1 > 0);
  CHECK(int_header(first, "x-sluice-context-tokens-after") <= 800 - 50);
  CHECK(int_header(first, "x-sluice-context-tokens-before") >
        int_header(first, "x-sluice-context-tokens-after"));

  // The summarizer got one call: the dropped turns, not the newest one.
  auto s = recorded(*summ, 1);
  REQUIRE(s.size() == 1);
  CHECK_THAT(s[0].body, Catch::Contains("TURN-00") && !Catch::Contains("NEWEST-1"));
  auto sreq = Json::parse(s[0].body);
  // The summary is capped at a quarter of the window (OpenAI's name for max_tokens).
  REQUIRE(sreq["max_completion_tokens"].is_number());
  CHECK(sreq["max_completion_tokens"].get<int>() <= 800 / 4);
  CHECK(sreq["temperature"] == 0);

  // The main provider got the system prompt, the summary as a system note, the newest turns.
  auto got = received_messages(*main, 1);
  INFO(got.dump());
  CHECK(got[0] == convo[0]);
  bool note = false;
  for (const auto& m : got)
    if (m["role"] == "system" && content_of(m).find("SUMMARY-K7 the traveller asked about the "
                                                    "river gates.") != std::string::npos)
      note = true;
  CHECK(note);
  CHECK(got.dump().find("TURN-00") == std::string::npos);
  CHECK(content_of(got.back()) == "NEWEST-1 where does the river go?");
  CHECK(got.size() + static_cast<std::size_t>(dropped1) == convo.size() + 1);  // + the note

  // The next turn: the same conversation, the answer and a new question. The dropped prefix is
  // the one already summarised: the cached summary is used, the summarizer is not called.
  std::string reply = first.json()["choices"][0]["message"]["content"].get<std::string>();
  convo.push_back(msg("assistant", reply));
  convo.push_back(msg("user", "NEWEST-2 and after that?"));
  auto second = send(c, "/v1/chat/completions", chat_body("gpt", convo));
  INFO(second.body);
  REQUIRE(second.status == 200);
  CHECK(second.header("x-sluice-context-summary") == "hit");
  CHECK(int_header(second, "x-sluice-context-dropped-turns") > 0);
  auto got2 = received_messages(*main, 2);
  INFO(got2.dump());
  CHECK(got2.dump().find("SUMMARY-K7") != std::string::npos);
  CHECK(content_of(got2.back()) == "NEWEST-2 and after that?");
  CHECK(summ->requests() == 1);

  auto m = http_get(gw.admin_port(), "/metrics");
  REQUIRE(m);
  CHECK(metric(m->body, "sluice_llm_summaries_total{route=\"llm\",outcome=\"written\"}") == 1);
}

TEST_CASE("a failed summary truncates instead, or answers 400 with on_summary_failure reject",
          "[llm][context]") {
  auto main = mock_provider("main");
  // The summarizer's provider refuses connections.
  SluiceProcess gw(gateway_config("", provider_toml(*main) + fmt::format(R"(
[[providers]]
name = "down"
kind = "openai"
base_url = "http://127.0.0.1:{}/v1"
timeout = "2s"

[[models]]
name = "gpt"
targets = [{{ provider = "main", model = "gpt-4o-mini" }}]
context = {{ strategy = "summarize", window = 800, reserve_output = 50, summarizer = "small" }}

[[models]]
name = "strict"
targets = [{{ provider = "main", model = "gpt-4o-mini" }}]
context = {{ strategy = "summarize", window = 800, reserve_output = 50, summarizer = "small", on_summary_failure = "reject" }}

[[models]]
name = "small"
targets = [{{ provider = "down", model = "gpt-4o-mini" }}]
)",
                                                                         unused_port())));
  const Json convo = long_conversation(12, "NEWEST-1 where does the river go?");
  auto r = post_once(gw.port(), "/v1/chat/completions", chat_body("gpt", convo));
  INFO(r.body);
  REQUIRE(r.status == 200);
  CHECK(r.header("x-sluice-context-summary") == "failed");
  const auto dropped = int_header(r, "x-sluice-context-dropped-turns");
  CHECK(dropped > 0);
  CHECK(int_header(r, "x-sluice-context-tokens-after") <= 800 - 50);
  auto got = received_messages(*main, 1);
  INFO(got.dump());
  CHECK(got.size() + static_cast<std::size_t>(dropped) == convo.size());  // no note
  CHECK(got.dump().find("Summary of the earlier conversation") == std::string::npos);
  CHECK(got[0] == convo[0]);
  CHECK(content_of(got.back()) == "NEWEST-1 where does the river go?");

  auto refused = post_once(gw.port(), "/v1/chat/completions", chat_body("strict", convo));
  INFO(refused.body);
  REQUIRE(refused.status == 400);
  CHECK(has_error_shape(refused, "context_length_exceeded"));
  CHECK_THAT(refused.json()["error"]["message"].get<std::string>(),
             Catch::Contains("its summary failed") && Catch::Contains("small"));
  CHECK(main->requests() == 1);

  auto m = http_get(gw.admin_port(), "/metrics");
  REQUIRE(m);
  CHECK(metric(m->body, "sluice_llm_summaries_total{route=\"llm\",outcome=\"failed\"}") == 2);
}
