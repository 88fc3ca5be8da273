// Server-side sessions (x-sluice-session, in memory and in SQLite across a restart, and
// /admin/sessions) and virtual keys (401, 403) of LLM routes through the binary, against a mock
// provider.
#include <string>

#include <catch2/catch.hpp>

#include "llm_policy_common.hpp"

using namespace sluice;
using namespace sluice::test;
using namespace sluice::test::llmpol;

namespace {

std::string sessions_config(const chaos::MockServer& main, std::string_view store = "") {
  return gateway_config(R"(sessions = { ttl = "10m" })", provider_toml(main) + R"(
[[models]]
name = "gpt"
targets = [{ provider = "main", model = "gpt-4o-mini" }]
)" + std::string(store));
}

const Json kSystem = msg("system", "SYS-SESSION-P4 answer briefly.");

// A turn of a session: the system prompt and one new user message.
Response turn(Connection& c, std::string_view session, std::string_view user) {
  Headers h;
  if (!session.empty()) h.push_back({"x-sluice-session", std::string(session)});
  return send(c, "/v1/chat/completions",
              chat_body("gpt", Json::array({kSystem, msg("user", user)})), h);
}

// The roles and texts of messages, "role: text" each, for comparisons that read well.
std::vector<std::string> texts(const Json& messages) {
  std::vector<std::string> out;
  for (const auto& m : messages) out.push_back(m["role"].get<std::string>() + ": " + content_of(m));
  return out;
}

// The stored message count of a session, per GET /admin/sessions/ID (-1: 404).
int stored_messages(const SluiceProcess& gw, std::string_view id) {
  auto r = http_get(gw.admin_port(), fmt::format("/admin/sessions/{}", id));
  REQUIRE(r);
  if (r->status == 404) return -1;
  REQUIRE(r->status == 200);
  return static_cast<int>(r->json()["messages"].size());
}

Response admin_delete(const SluiceProcess& gw, std::string_view path) {
  Connection c(gw.admin_port(), 10s);
  auto r = c.request(make_request("DELETE", path));
  REQUIRE(r);
  return *r;
}

}  // namespace

TEST_CASE("a session sends only new messages and the provider receives the whole history",
          "[llm][sessions]") {
  auto main = mock_provider("main");
  SluiceProcess gw(sessions_config(*main));
  Connection c(gw.port(), 30s);

  auto r1 = turn(c, "conv-1", "FIRST-Q about the harbor");
  REQUIRE(r1.status == 200);
  CHECK(texts(received_messages(*main, 1)) ==
        std::vector<std::string>{"system: SYS-SESSION-P4 answer briefly.",
                                 "user: FIRST-Q about the harbor"});
  // The turn is stored once the exchange is over: the user message and the reply.
  REQUIRE(eventually([&] { return stored_messages(gw, "conv-1") == 2; }, 5s));

  auto r2 = turn(c, "conv-1", "SECOND-Q about the orchard");
  REQUIRE(r2.status == 200);
  CHECK(texts(received_messages(*main, 2)) ==
        std::vector<std::string>{
            "system: SYS-SESSION-P4 answer briefly.", "user: FIRST-Q about the harbor",
            "assistant: echo: FIRST-Q about the harbor", "user: SECOND-Q about the orchard"});
  REQUIRE(eventually([&] { return stored_messages(gw, "conv-1") == 4; }, 5s));

  // Another session, and a request without one, start from nothing.
  REQUIRE(turn(c, "conv-2", "OTHER-Q").status == 200);
  CHECK(texts(received_messages(*main, 3)) ==
        std::vector<std::string>{"system: SYS-SESSION-P4 answer briefly.", "user: OTHER-Q"});
  REQUIRE(turn(c, "", "NO-SESSION-Q").status == 200);
  CHECK(received_messages(*main, 4).size() == 2);

  auto r3 = turn(c, "conv-1", "THIRD-Q");
  REQUIRE(r3.status == 200);
  auto third = texts(received_messages(*main, 5));
  REQUIRE(third.size() == 6);
  CHECK(third[3] == "user: SECOND-Q about the orchard");
  CHECK(third[4] == "assistant: echo: SECOND-Q about the orchard");
  CHECK(third[5] == "user: THIRD-Q");

  // A session keeps one API: an Anthropic request on an OpenAI session is a conflict.
  Headers h{{"x-sluice-session", "conv-1"}};
  auto other_api =
      send(c, "/v1/messages",
           R"({"model":"gpt","max_tokens":50,"messages":[{"role":"user","content":"x"}]})", h);
  CHECK(other_api.status == 409);
  CHECK(other_api.json()["type"] == "error");

  // An Anthropic session keeps Anthropic messages, the system prompt in its own field.
  auto anthropic = [&](std::string_view text) {
    Json body = {{"model", "gpt"},
                 {"max_tokens", 50},
                 {"system", "SYS-ANTHROPIC"},
                 {"messages", Json::array({msg("user", text)})}};
    return send(c, "/v1/messages", body.dump(), {{"x-sluice-session", "conv-anthropic"}});
  };
  REQUIRE(anthropic("A-FIRST").status == 200);
  REQUIRE(eventually([&] { return stored_messages(gw, "conv-anthropic") == 2; }, 5s));
  REQUIRE(anthropic("A-SECOND").status == 200);
  CHECK(texts(received_messages(*main, 7)) ==
        std::vector<std::string>{"system: SYS-ANTHROPIC", "user: A-FIRST",
                                 "assistant: echo: A-FIRST", "user: A-SECOND"});
  CHECK(main->requests() == 7);

  // A session id that is not 1 to 128 printable characters is the client's mistake: 400.
  for (std::string id : {std::string(200, 'a'), std::string("has space")}) {
    auto bad = send(c, "/v1/chat/completions", chat_body("gpt", Json::array({msg("user", "x")})),
                    {{"x-sluice-session", id}});
    INFO(bad.body);
    CHECK(bad.status == 400);
    CHECK(has_error_shape(bad, "invalid_request_error"));
  }
  CHECK(main->requests() == 7);
}

TEST_CASE("a session capped at max_messages sends a history that starts with a user turn",
          "[llm][sessions]") {
  auto main = mock_provider("main");
  SluiceProcess gw(
      gateway_config(R"(sessions = { ttl = "10m", max_messages = 3 })", provider_toml(*main) + R"(
[[models]]
name = "gpt"
targets = [{ provider = "main", model = "gpt-4o-mini" }]
)"));
  Connection c(gw.port(), 30s);
  REQUIRE(turn(c, "capped", "Q-ONE").status == 200);
  REQUIRE(eventually([&] { return stored_messages(gw, "capped") == 2; }, 5s));
  REQUIRE(turn(c, "capped", "Q-TWO").status == 200);
  // Four messages over a cap of three: the store keeps the first reply without its question.
  REQUIRE(eventually([&] { return stored_messages(gw, "capped") == 3; }, 5s));
  auto r = turn(c, "capped", "Q-THREE");
  INFO(r.body);
  REQUIRE(r.status == 200);
  CHECK(texts(received_messages(*main, 3)) ==
        std::vector<std::string>{"system: SYS-SESSION-P4 answer briefly.", "user: Q-TWO",
                                 "assistant: echo: Q-TWO", "user: Q-THREE"});
}

TEST_CASE("a SQLite session survives a restart, is listed by the admin API and can be deleted",
          "[llm][sessions]") {
  auto main = mock_provider("main");
  const std::string db = temp_path("sessions", ".db");
  const std::string config =
      sessions_config(*main, fmt::format("\n[store]\nkind = \"sqlite\"\npath = \"{}\"\n", db));
  {
    SluiceProcess gw(config);
    Connection c(gw.port(), 30s);
    REQUIRE(turn(c, "persist-1", "BEFORE-RESTART-Q lantern").status == 200);
    REQUIRE(eventually([&] { return stored_messages(gw, "persist-1") == 2; }, 5s));
    stop(gw);
  }
  {
    SluiceProcess gw(config);
    Connection c(gw.port(), 30s);
    auto r = turn(c, "persist-1", "AFTER-RESTART-Q");
    REQUIRE(r.status == 200);
    CHECK(texts(received_messages(*main, 2)) ==
          std::vector<std::string>{
              "system: SYS-SESSION-P4 answer briefly.", "user: BEFORE-RESTART-Q lantern",
              "assistant: echo: BEFORE-RESTART-Q lantern", "user: AFTER-RESTART-Q"});
    REQUIRE(eventually([&] { return stored_messages(gw, "persist-1") == 4; }, 5s));
    REQUIRE(turn(c, "persist-2", "SECOND-SESSION-Q").status == 200);
    REQUIRE(eventually([&] { return stored_messages(gw, "persist-2") == 2; }, 5s));

    // The list: both sessions, the most recently used first.
    auto list = http_get(gw.admin_port(), "/admin/sessions");
    REQUIRE(list);
    REQUIRE(list->status == 200);
    auto j = list->json();
    INFO(list->body);
    REQUIRE(j["sessions"].size() == 2);
    CHECK(j["sessions"][0]["id"] == "persist-2");
    CHECK(j["sessions"][1]["id"] == "persist-1");
    CHECK(j["sessions"][1]["messages"] == 4);
    CHECK(j["sessions"][1]["format"] == "openai");
    auto limited = http_get(gw.admin_port(), "/admin/sessions?limit=1");
    REQUIRE(limited);
    REQUIRE(limited->json()["sessions"].size() == 1);
    CHECK(limited->json()["sessions"][0]["id"] == "persist-2");
    auto one = http_get(gw.admin_port(), "/admin/sessions/persist-1");
    REQUIRE(one);
    CHECK(one->json()["messages"][0]["content"] == "BEFORE-RESTART-Q lantern");

    // Deleting forgets it: not listed, 404, and the next turn has no history.
    auto del = admin_delete(gw, "/admin/sessions/persist-1");
    CHECK(del.status == 200);
    CHECK(stored_messages(gw, "persist-1") == -1);
    auto after = http_get(gw.admin_port(), "/admin/sessions");
    REQUIRE(after);
    REQUIRE(after->json()["sessions"].size() == 1);
    CHECK(after->json()["sessions"][0]["id"] == "persist-2");
    CHECK(admin_delete(gw, "/admin/sessions/persist-1").status == 404);
    REQUIRE(turn(c, "persist-1", "AFTER-DELETE-Q").status == 200);
    CHECK(
        texts(received_messages(*main, 4)) ==
        std::vector<std::string>{"system: SYS-SESSION-P4 answer briefly.", "user: AFTER-DELETE-Q"});
    stop(gw);
  }
  remove_db(db);
}

namespace {

// Two keys, alice (any model) and bob ("gpt" only), on a route whose [routes.llm] is route_llm.
std::string keys_config(const chaos::MockServer& main,
                        std::string_view route_llm = "require_key = true") {
  return gateway_config(route_llm, provider_toml(main) + fmt::format(R"(
[[models]]
name = "gpt"
targets = [{{ provider = "main", model = "gpt-4o-mini" }}]

[[models]]
name = "other"
targets = [{{ provider = "main", model = "gpt-4o-mini" }}]

[[keys]]
name = "alice"
sha256 = "{}"

[[keys]]
name = "bob"
sha256 = "{}"
models = ["gpt"]
)",
                                                                     sha256_hex("sk-alice-0001"),
                                                                     sha256_hex("sk-bob-0002")));
}

std::string user_chat(std::string_view model) {
  return chat_body(model, Json::array({msg("user", "KEYS-Q hello")}));
}

}  // namespace

TEST_CASE("a route that requires a virtual key refuses none or a wrong one and checks its models",
          "[llm][keys]") {
  auto main = mock_provider("main");
  SluiceProcess gw(keys_config(*main));
  const auto port = gw.port();

  auto none = post_once(port, "/v1/chat/completions", user_chat("gpt"));
  CHECK(none.status == 401);
  CHECK(has_error_shape(none, "invalid_api_key"));
  CHECK_THAT(none.json()["error"]["message"].get<std::string>(),
             Catch::Contains("requires a virtual key"));
  auto wrong = post_once(port, "/v1/chat/completions", user_chat("gpt"),
                         {{"authorization", "Bearer sk-nobody-9999"}});
  CHECK(wrong.status == 401);
  CHECK(has_error_shape(wrong, "invalid_api_key"));
  CHECK_THAT(wrong.json()["error"]["message"].get<std::string>(),
             Catch::Contains("not a virtual key"));
  // A key's hash is not the key.
  auto hash = post_once(port, "/v1/chat/completions", user_chat("gpt"),
                        {{"authorization", "Bearer " + sha256_hex("sk-alice-0001")}});
  CHECK(hash.status == 401);
  CHECK(main->requests() == 0);

  auto alice = post_once(port, "/v1/chat/completions", user_chat("gpt"),
                         {{"authorization", "Bearer sk-alice-0001"}});
  CHECK(alice.status == 200);
  CHECK(alice.json()["choices"][0]["message"]["content"] == "echo: KEYS-Q hello");
  auto alice_other = post_once(port, "/v1/chat/completions", user_chat("other"),
                               {{"authorization", "Bearer sk-alice-0001"}});
  CHECK(alice_other.status == 200);

  // Anthropic's messages API with x-api-key, and without a key (in Anthropic's error shape).
  const std::string anthropic =
      R"({"model":"gpt","max_tokens":50,"messages":[{"role":"user","content":"KEYS-Q anthropic"}]})";
  auto by_header = post_once(port, "/v1/messages", anthropic, {{"x-api-key", "sk-alice-0001"}});
  CHECK(by_header.status == 200);
  CHECK(by_header.json()["type"] == "message");
  auto anon = post_once(port, "/v1/messages", anthropic);
  CHECK(anon.status == 401);
  CHECK(anon.json()["type"] == "error");
  auto wrong_header = post_once(port, "/v1/messages", anthropic, {{"x-api-key", "sk-wrong"}});
  CHECK(wrong_header.status == 401);

  // bob may use "gpt" only.
  auto bob_other = post_once(port, "/v1/chat/completions", user_chat("other"),
                             {{"authorization", "Bearer sk-bob-0002"}});
  CHECK(bob_other.status == 403);
  CHECK(has_error_shape(bob_other, "model_not_allowed"));
  CHECK_THAT(bob_other.json()["error"]["message"].get<std::string>(),
             Catch::Contains("\"bob\"") && Catch::Contains("\"other\"") && Catch::Contains("gpt"));
  auto bob_anthropic =
      post_once(port, "/v1/messages",
                R"({"model":"other","max_tokens":50,"messages":[{"role":"user","content":"x"}]})",
                {{"x-api-key", "sk-bob-0002"}});
  CHECK(bob_anthropic.status == 403);
  auto bob_gpt = post_once(port, "/v1/chat/completions", user_chat("gpt"),
                           {{"authorization", "Bearer sk-bob-0002"}});
  CHECK(bob_gpt.status == 200);

  // Only the four admitted requests reached the provider; the access log names the key.
  CHECK(main->requests() == 4);
  std::vector<std::string> keys;
  REQUIRE(eventually(
      [&] {
        keys.clear();
        for (const auto& l : gw.stdout_lines()) {
          auto j = Json::parse(l, nullptr, false);
          if (j.is_object() && j.contains("llm_key") && j.value("status", 0) == 200)
            keys.push_back(j["llm_key"].get<std::string>());
        }
        return keys.size() == 4;
      },
      5s));
  std::sort(keys.begin(), keys.end());
  CHECK(keys == std::vector<std::string>{"alice", "alice", "alice", "bob"});
}

TEST_CASE("a virtual key's sessions are its own: another key naming the same id starts afresh",
          "[llm][sessions][keys]") {
  auto main = mock_provider("main");
  SluiceProcess gw(keys_config(*main, R"(sessions = { ttl = "10m" })"));
  Connection c(gw.port(), 30s);
  auto as = [&](std::string_view key, std::string_view text) {
    Headers h{{"x-sluice-session", "shared-7"}};
    if (!key.empty()) h.push_back({"authorization", "Bearer " + std::string(key)});
    return send(c, "/v1/chat/completions", chat_body("gpt", Json::array({msg("user", text)})), h);
  };
  REQUIRE(as("sk-alice-0001", "ALICE-SECRET plans").status == 200);
  REQUIRE(eventually([&] { return stored_messages(gw, "alice%20shared-7") == 2; }, 5s));
  CHECK(stored_messages(gw, "shared-7") == -1);

  // bob, and a client without a key, name the same id: neither sees alice's turn.
  REQUIRE(as("sk-bob-0002", "BOB-Q").status == 200);
  CHECK(texts(received_messages(*main, 2)) == std::vector<std::string>{"user: BOB-Q"});
  REQUIRE(as("", "ANON-Q").status == 200);
  CHECK(texts(received_messages(*main, 3)) == std::vector<std::string>{"user: ANON-Q"});

  // alice's session goes on with her history.
  REQUIRE(as("sk-alice-0001", "ALICE-NEXT").status == 200);
  CHECK(texts(received_messages(*main, 4)) ==
        std::vector<std::string>{"user: ALICE-SECRET plans", "assistant: echo: ALICE-SECRET plans",
                                 "user: ALICE-NEXT"});
}

TEST_CASE("a session stores a cached answer as its turn, and no turn from a broken stream",
          "[llm][sessions]") {
  auto main = mock_provider("main");
  SluiceProcess gw(gateway_config(R"(sessions = { ttl = "10m" }
cache = { ttl = "1m", max_entries = 10 })",
                                  provider_toml(*main) + R"(
[[models]]
name = "gpt"
targets = [{ provider = "main", model = "gpt-4o-mini" }]
)"));
  Connection c(gw.port(), 30s);
  // Two new sessions send the same deterministic first turn: the second is a cache hit, and its
  // session keeps the turn all the same.
  const std::string first =
      R"({"model":"gpt","temperature":0,"messages":[{"role":"user","content":"CACHED-Q"}]})";
  auto a = send(c, "/v1/chat/completions", first, {{"x-sluice-session", "cache-a"}});
  auto b = send(c, "/v1/chat/completions", first, {{"x-sluice-session", "cache-b"}});
  REQUIRE(a.status == 200);
  REQUIRE(b.status == 200);
  CHECK(a.header("x-sluice-cache") == "miss");
  CHECK(b.header("x-sluice-cache") == "hit");
  CHECK(main->requests() == 1);
  REQUIRE(eventually([&] { return stored_messages(gw, "cache-b") == 2; }, 5s));
  auto next =
      send(c, "/v1/chat/completions", chat_body("gpt", Json::array({msg("user", "AFTER-CACHE")})),
           {{"x-sluice-session", "cache-b"}});
  REQUIRE(next.status == 200);
  CHECK(texts(received_messages(*main, 2)) == std::vector<std::string>{"user: CACHED-Q",
                                                                       "assistant: echo: CACHED-Q",
                                                                       "user: AFTER-CACHE"});

  // A stream the provider cuts mid-way: the client gets the error event, and the session keeps
  // nothing of the turn (a half reply would be sent back as history forever).
  auto faults = chaos::faults_from_json(Json::parse(R"([{"type":"stream_cut","after_events":2}])"));
  REQUIRE(faults.ok());
  main->set_faults(std::make_shared<const chaos::FaultPlan>(std::move(*faults), 1));
  Json streamed = {{"model", "gpt"},
                   {"stream", true},
                   {"messages", Json::array({msg("user",
                                                 "CUT-Q a longer question so that the "
                                                 "echo takes several events")})}};
  auto cut = send(c, "/v1/chat/completions", streamed.dump(), {{"x-sluice-session", "cut-1"}});
  CHECK(cut.status == 200);
  CHECK_THAT(cut.body, Catch::Contains("error"));
  main->set_faults(nullptr);
  CHECK(stored_messages(gw, "cut-1") == -1);
  // The same turn again, whole this time: the provider gets no half reply as history, and the
  // turn is stored.
  auto whole = send(c, "/v1/chat/completions", streamed.dump(), {{"x-sluice-session", "cut-1"}});
  REQUIRE(whole.status == 200);
  auto got = received_messages(*main, 4);
  REQUIRE(got.size() == 1);
  CHECK(content_of(got[0]).rfind("CUT-Q", 0) == 0);
  REQUIRE(eventually([&] { return stored_messages(gw, "cut-1") == 2; }, 5s));
}
