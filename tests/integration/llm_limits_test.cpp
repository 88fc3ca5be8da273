// Token and request limits (429) and budgets (402) of LLM routes through the binary, against a
// mock provider, and `sluice usage` on the ledger the gateway wrote.
//
// The TPM bounds do not depend on timing: each bucket refills continuously at T/60 tokens a
// second, so the test measures the time it took and allows exactly that refill, no more.
#include <cmath>
#include <ctime>
#include <thread>
#include <string>

#include <catch2/catch.hpp>

#include "llm_policy_common.hpp"

using namespace sluice;
using namespace sluice::test;
using namespace sluice::test::llmpol;

namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr std::string_view kReply = "The north gate opens at dawn and the keeper is Ottoline.";
constexpr std::int64_t kTpm = 1500;

double seconds_since(SteadyClock::time_point t) {
  return std::chrono::duration<double>(SteadyClock::now() - t).count();
}

enum class Scope { key, alias, route };

std::string scope_name(Scope s) {
  switch (s) {
    case Scope::key:
      return "key:limited";
    case Scope::alias:
      return "model:gpt";
    case Scope::route:
      return "route:llm";
  }
  return "";
}

// A TPM (or RPM) limit at one scope. A context policy with a window far larger than the prompt
// changes nothing but reports the gateway's prompt count (x-sluice-context-tokens-after), which
// is what admission takes.
std::string limits_config(const chaos::MockServer& main, Scope scope, std::string_view limit) {
  std::string route_llm =
      R"(context = { strategy = "truncate_oldest", window = 100000, reserve_output = 0 })";
  std::string model_limits, key_limits;
  if (scope == Scope::route) route_llm += fmt::format("\nlimits = {}", limit);
  if (scope == Scope::alias) model_limits = fmt::format("limits = {}", limit);
  if (scope == Scope::key) key_limits = fmt::format("limits = {}", limit);
  return gateway_config(
      route_llm,
      provider_toml(main) + fmt::format(R"(
[[models]]
name = "gpt"
targets = [{{ provider = "main", model = "gpt-4o-mini" }}]
{}

[[keys]]
name = "limited"
sha256 = "{}"
{}
)",
                                        model_limits, sha256_hex("sk-limited-1"), key_limits));
}

// The usage of a streamed answer: the last data event with a usage object.
Json stream_usage(const std::string& sse) {
  Json usage;
  std::size_t pos = 0;
  while ((pos = sse.find("data: ", pos)) != std::string::npos) {
    std::size_t end = sse.find('\n', pos);
    auto j = Json::parse(sse.substr(pos + 6, end - pos - 6), nullptr, false);
    if (j.is_object() && j.contains("usage") && j["usage"].is_object()) usage = j["usage"];
    pos = end;
  }
  return usage;
}

// Sends the same request until the first 429 and checks where it fell: request k is admitted
// while the bucket holds its prompt, T - (k-1)C + refill >= P, for a prompt of P tokens (the
// gateway's count, taken at admission) and a cost of C per answered request (the provider's
// prompt and output tokens, which settle the debit).
void tpm_case(Scope scope, bool stream) {
  INFO("scope " << scope_name(scope) << (stream ? ", streamed" : ""));
  auto main = mock_provider("main", {std::string(kReply)});
  SluiceProcess gw(limits_config(*main, scope, fmt::format("{{ tpm = {} }}", kTpm)));
  Headers auth{{"authorization", "Bearer sk-limited-1"}};
  Json extra = Json::object();
  if (stream) extra = {{"stream", true}, {"stream_options", {{"include_usage", true}}}};
  const std::string body =
      chat_body("gpt", Json::array({msg("user", words("TPM-PROMPT", 300))}), extra);

  Connection c(gw.port(), 30s);
  const auto t0 = SteadyClock::now();
  std::vector<std::int64_t> remaining, prompt;
  std::vector<double> at;  // seconds since t0 when each answer arrived
  std::optional<Response> refused;
  for (int k = 1; k <= 30 && !refused; ++k) {
    auto r = send(c, "/v1/chat/completions", body, auth);
    at.push_back(seconds_since(t0));
    if (r.status == 429) {
      refused = r;
      break;
    }
    INFO(r.body);
    REQUIRE(r.status == 200);
    CHECK(int_header(r, "x-ratelimit-limit-tokens") == kTpm);
    remaining.push_back(int_header(r, "x-ratelimit-remaining-tokens"));
    prompt.push_back(int_header(r, "x-sluice-context-tokens-after"));
    if (stream) {
      auto u = stream_usage(r.body);
      INFO(r.body);
      CHECK(u.is_object());
    }
  }
  REQUIRE(refused);
  const double elapsed = at.back();
  const auto n = static_cast<std::int64_t>(remaining.size());  // answered before the 429
  REQUIRE(n >= 2);

  // Every request cost the provider the same: read P and C.
  auto rec = recorded(*main, static_cast<std::size_t>(n));
  REQUIRE(static_cast<std::int64_t>(rec.size()) == n);  // the refused one never reached it
  std::int64_t cost = -1, output = 0;
  for (const auto& r : rec) {
    REQUIRE(r.note("llm.prompt_tokens"));
    REQUIRE(r.note("llm.completion_tokens"));
    output = std::stoll(*r.note("llm.completion_tokens"));
    std::int64_t c_i = std::stoll(*r.note("llm.prompt_tokens")) + output;
    if (cost < 0) cost = c_i;
    CHECK(c_i == cost);
  }
  const std::int64_t p = prompt.front();
  for (auto x : prompt) CHECK(x == p);
  INFO("P = " << p << ", C = " << cost << ", n = " << n << ", elapsed " << elapsed << " s");
  REQUIRE(p > 250);
  REQUIRE(cost > p);

  // The refill the measured time allows, rounded up, plus one for the bucket's rounding.
  auto refill = [](double s) { return static_cast<std::int64_t>(std::ceil(kTpm * s / 60.0)) + 1; };
  // The remaining tokens each answer reported: the earlier requests' costs and this prompt
  // taken. A streamed answer's head follows its first output, which the gateway takes event by
  // event as it counts it (pieces of a few characters count more tokens than the whole text; the
  // provider's count settles it at the end): up to twice the reply here.
  for (std::int64_t k = 1; k <= n; ++k) {
    INFO("answer " << k);
    const std::int64_t expect = kTpm - (k - 1) * cost - p;
    CHECK(remaining[k - 1] <= std::min(kTpm - p, expect + refill(at[k - 1])));
    CHECK(remaining[k - 1] >= expect - (stream ? 2 * output : 0) - 1);
  }
  // The first 429: within the window the refill allows.
  const std::int64_t n_lo = (kTpm - p) / cost + 1;
  const std::int64_t n_hi = (kTpm - p + refill(elapsed)) / cost + 1;
  CHECK(n >= n_lo);
  CHECK(n <= n_hi);

  const Response& r = *refused;
  INFO(r.body);
  CHECK(has_error_shape(r, "rate_limit_exceeded"));
  CHECK_THAT(r.json()["error"]["message"].get<std::string>(),
             Catch::Contains("tokens per minute") && Catch::Contains(scope_name(scope)));
  CHECK(int_header(r, "x-ratelimit-limit-tokens") == kTpm);
  const auto left = int_header(r, "x-ratelimit-remaining-tokens");
  CHECK(left < p);
  CHECK(left >= kTpm - n * cost - 1);
  CHECK_FALSE(r.header("x-ratelimit-reset-tokens").empty());
  // Retry-After: the seconds until the bucket holds the prompt again, rounded up.
  const auto retry = int_header(r, "retry-after");
  const double wait = static_cast<double>(p - left) * 60.0 / kTpm;
  CHECK(retry >= 1);
  CHECK(retry >= static_cast<std::int64_t>(std::ceil(wait)) - 1);
  CHECK(retry <= static_cast<std::int64_t>(std::ceil(wait)) + 1);

  auto m = http_get(gw.admin_port(), "/metrics");
  REQUIRE(m);
  CHECK(metric(m->body, fmt::format("sluice_llm_limited_total{{route=\"llm\",scope=\"{}\","
                                    "kind=\"tokens\"}}",
                                    scope_name(scope))) == 1);
  CHECK(main->requests() == static_cast<std::uint64_t>(n));
}

}  // namespace

TEST_CASE("a key's TPM limit refuses with 429 where the bucket runs out", "[llm][limits]") {
  tpm_case(Scope::key, false);
}

TEST_CASE("an alias's TPM limit refuses with 429 where the bucket runs out", "[llm][limits]") {
  tpm_case(Scope::alias, false);
}

TEST_CASE("a route's TPM limit refuses with 429 where the bucket runs out", "[llm][limits]") {
  tpm_case(Scope::route, false);
}

TEST_CASE("a TPM limit counts streamed answers the same way", "[llm][limits]") {
  tpm_case(Scope::key, true);
  tpm_case(Scope::alias, true);
}

TEST_CASE("an RPM limit of R refuses request R+1 with 429", "[llm][limits]") {
  constexpr std::int64_t kRpm = 5;
  auto main = mock_provider("main", {std::string(kReply)});
  SluiceProcess gw(limits_config(*main, Scope::key, fmt::format("{{ rpm = {} }}", kRpm)));
  Headers auth{{"authorization", "Bearer sk-limited-1"}};
  const std::string body = chat_body("gpt", Json::array({msg("user", "RPM-Q")}));
  Connection c(gw.port(), 30s);
  const auto t0 = SteadyClock::now();
  std::int64_t answered = 0;
  std::optional<Response> refused;
  for (int k = 1; k <= 20; ++k) {
    auto r = send(c, "/v1/chat/completions", body, auth);
    if (r.status == 429) {
      refused = r;
      break;
    }
    REQUIRE(r.status == 200);
    ++answered;
    CHECK(int_header(r, "x-ratelimit-limit-requests") == kRpm);
    // One request refills every 12 s; within that, each answer leaves one fewer.
    if (seconds_since(t0) < 12) CHECK(int_header(r, "x-ratelimit-remaining-requests") == kRpm - k);
  }
  const double elapsed = seconds_since(t0);
  REQUIRE(refused);
  CHECK(answered >= kRpm);
  CHECK(answered <= kRpm + static_cast<std::int64_t>(elapsed * kRpm / 60.0));
  CHECK(has_error_shape(*refused, "rate_limit_exceeded"));
  CHECK_THAT(refused->json()["error"]["message"].get<std::string>(),
             Catch::Contains("requests per minute") && Catch::Contains("key:limited"));
  CHECK(int_header(*refused, "x-ratelimit-limit-requests") == kRpm);
  CHECK(int_header(*refused, "x-ratelimit-remaining-requests") == 0);
  CHECK_FALSE(refused->header("x-ratelimit-reset-requests").empty());
  const auto retry = int_header(*refused, "retry-after");
  CHECK(retry >= 1);
  CHECK(retry <= 12);
  // Another key (none here: anonymous) is not limited by this key's bucket.
  auto anon = send(c, "/v1/chat/completions", body);
  CHECK(anon.status == 200);
  CHECK(main->requests() == static_cast<std::uint64_t>(answered) + 1);
  auto m = http_get(gw.admin_port(), "/metrics");
  REQUIRE(m);
  CHECK(metric(m->body,
               "sluice_llm_limited_total{route=\"llm\",scope=\"key:limited\",kind=\"requests\"}") ==
        1);
}

TEST_CASE("concurrent requests over both workers share an RPM limit exactly", "[llm][limits]") {
  constexpr int kRpm = 8, kSent = 20;
  auto main = mock_provider("main", {std::string(kReply)});
  SluiceProcess gw(limits_config(*main, Scope::alias, fmt::format("{{ rpm = {} }}", kRpm)));
  const std::string body = chat_body("gpt", Json::array({msg("user", "RPM-BURST")}));
  // Connected first, then released together.
  std::vector<Connection> conns;
  for (int i = 0; i < kSent; ++i) conns.emplace_back(gw.port(), 30s);
  std::vector<int> status(kSent, 0);
  std::vector<std::thread> threads;
  const auto t0 = SteadyClock::now();
  for (int i = 0; i < kSent; ++i)
    threads.emplace_back([&, i] {
      auto r = conns[i].request(make_request("POST", "/v1/chat/completions",
                                             {{"content-type", "application/json"}}, body));
      status[i] = r ? r->status : -1;
    });
  for (auto& t : threads) t.join();
  const double elapsed = seconds_since(t0);
  const auto ok = std::count(status.begin(), status.end(), 200);
  const auto limited = std::count(status.begin(), status.end(), 429);
  INFO("200: " << ok << ", 429: " << limited << ", elapsed " << elapsed << " s");
  CHECK(ok + limited == kSent);
  CHECK(ok >= kRpm);
  CHECK(ok <= kRpm + static_cast<std::int64_t>(elapsed * kRpm / 60.0));
  CHECK(main->requests() == static_cast<std::uint64_t>(ok));
  auto m = http_get(gw.admin_port(), "/metrics");
  REQUIRE(m);
  CHECK(metric(m->body,
               "sluice_llm_limited_total{route=\"llm\",scope=\"model:gpt\",kind=\"requests\"}") ==
        static_cast<double>(limited));
}

namespace {

std::string budget_config(const chaos::MockServer& main, std::string_view key_extra,
                          std::string_view store) {
  return gateway_config(
      "require_key = true",
      provider_toml(main) + fmt::format(R"(
[[models]]
name = "gpt"
targets = [{{ provider = "main", model = "gpt-4o-mini" }}]

[[prices]]
model = "gpt-4o-mini"
input = 1000.0
output = 2000.0

[[keys]]
name = "spender"
sha256 = "{}"
{}
{}
)",
                                        sha256_hex("sk-spender-7"), key_extra, store));
}

std::string utc_day() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

}  // namespace

TEST_CASE("a daily budget answers 402 once spent, and sluice usage sums the ledger",
          "[llm][budget][usage]") {
  auto main = mock_provider("main", {std::string(kReply)});
  Headers auth{{"authorization", "Bearer sk-spender-7"}};
  const std::string body = chat_body("gpt", Json::array({msg("user", words("BUDGET-PROMPT", 60))}));
  const std::string day = utc_day();

  // What one request costs: its usage times the [[prices]] entry ($1000 and $2000 a million).
  std::int64_t in = 0, out = 0;
  {
    SluiceProcess probe(budget_config(*main, "", ""));
    auto r = post_once(probe.port(), "/v1/chat/completions", body, auth);
    REQUIRE(r.status == 200);
    in = r.json()["usage"]["prompt_tokens"].get<std::int64_t>();
    out = r.json()["usage"]["completion_tokens"].get<std::int64_t>();
  }
  REQUIRE(in > 0);
  REQUIRE(out > 0);
  const double cost = (static_cast<double>(in) * 1000.0 + static_cast<double>(out) * 2000.0) / 1e6;
  // Two and a half requests' worth: the third crosses the line and is still served.
  const double budget = 2.5 * cost;
  INFO("in " << in << ", out " << out << ", cost " << cost << ", budget " << budget);

  const std::string db = temp_path("ledger", ".db");
  const std::string config =
      budget_config(*main, fmt::format("budget = {{ daily_usd = {:.9f} }}", budget),
                    fmt::format("\n[store]\nkind = \"sqlite\"\npath = \"{}\"\n", db));
  int served = 0, refused = 0;
  {
    SluiceProcess gw(config);
    Connection c(gw.port(), 30s);
    // Every other request streamed, without asking for usage: it costs the same.
    const std::string streamed = chat_body(
        "gpt", Json::array({msg("user", words("BUDGET-PROMPT", 60))}), {{"stream", true}});
    for (int k = 0; k < 10 && refused < 2; ++k) {
      auto r = send(c, "/v1/chat/completions", k % 2 ? streamed : body, auth);
      if (r.status == 200) {
        CHECK(refused == 0);
        ++served;
        if (k % 2)
          CHECK_THAT(r.body, Catch::Contains("data: [DONE]"));
        else
          CHECK(r.json()["usage"]["prompt_tokens"] == in);
        continue;
      }
      INFO(r.body);
      REQUIRE(r.status == 402);
      ++refused;
      CHECK(has_error_shape(r, "budget_exceeded"));
      CHECK_THAT(r.json()["error"]["message"].get<std::string>(),
                 Catch::Contains("\"spender\"") && Catch::Contains("daily budget") &&
                     Catch::Contains("resets in"));
      const auto retry = int_header(r, "retry-after");
      CHECK(retry >= 1);
      CHECK(retry <= 86400);
    }
    CHECK(served == 3);
    CHECK(refused == 2);
    stop(gw);
  }
  // Spend is read back from the ledger at start: still over budget.
  {
    SluiceProcess gw(config);
    auto r = post_once(gw.port(), "/v1/chat/completions", body, auth);
    CHECK(r.status == 402);
    ++refused;
    stop(gw);
  }
  CHECK(main->requests() == 1 + 3);  // the probe and the three served
  if (utc_day() != day) {
    WARN("the UTC day changed during the test; the daily budget reset, skipping the rest");
    remove_db(db);
    return;
  }

  // The ledger: one row per request, the refused included (no tokens, no cost).
  auto json = run_sluice({"usage", "--db", db, "--by", "key", "--format", "json"});
  INFO(json.err);
  REQUIRE(json.exit_code == 0);
  auto j = Json::parse(json.out, nullptr, false);
  INFO(json.out);
  REQUIRE(j.is_object());
  REQUIRE(j["groups"].size() == 1);
  const auto& g = j["groups"][0];
  CHECK(g["group"] == "spender");
  CHECK(g["requests"] == served + refused);
  CHECK(g["input_tokens"] == 3 * in);
  CHECK(g["output_tokens"] == 3 * out);
  CHECK(g["cost_usd"].get<double>() == Approx(3 * cost));
  CHECK(j["total"]["requests"] == served + refused);
  CHECK(j["total"]["cost_usd"].get<double>() == Approx(3 * cost));

  const std::string usage_config = temp_path("usage", ".toml");
  write_file(usage_config, config);
  auto csv = run_sluice({"usage", "--config", usage_config, "--format", "csv"});
  INFO(csv.err);
  REQUIRE(csv.exit_code == 0);
  CHECK(csv.out == fmt::format("key,requests,input_tokens,output_tokens,cost_usd\r\n"
                               "spender,{},{},{},{:.6f}\r\n",
                               served + refused, 3 * in, 3 * out, 3 * cost));
  auto by_model = run_sluice({"usage", "--db", db, "--by", "model", "--format", "json"});
  REQUIRE(by_model.exit_code == 0);
  auto bm = Json::parse(by_model.out, nullptr, false);
  INFO(by_model.out);
  REQUIRE(bm.is_object());
  CHECK(bm["total"]["input_tokens"] == 3 * in);
  std::filesystem::remove(usage_config);
  remove_db(db);
}
