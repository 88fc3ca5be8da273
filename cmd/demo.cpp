#include "demo.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "sluice/chaos/llm_mock.hpp"

namespace sluice::cmd {

namespace {

// SHA-256 of "sk-sluice-demo", the demo's virtual key.
constexpr std::string_view kDemoKeySha256 =
    "1c590839af894cf25f9a5fe06929af05b377f60efbe55508ef93d251887b9213";

std::unique_ptr<chaos::MockServer> llm_mock(const std::string& name, chaos::LlmProvider p) {
  chaos::LlmMockSpec spec;
  spec.provider = p;
  spec.context_window = 16384;
  spec.chunk_delay = std::chrono::milliseconds(20);
  return std::make_unique<chaos::MockServer>(name, chaos::llm_mock_routes(name, spec));
}

}  // namespace

Demo::Demo() {
  for (const char* name : {"api-1", "api-2"})
    mocks_.push_back(std::make_unique<chaos::MockServer>(name));
  mocks_.push_back(llm_mock("mock-openai", chaos::LlmProvider::openai));
  mocks_.push_back(llm_mock("mock-anthropic", chaos::LlmProvider::anthropic));
  mocks_.push_back(llm_mock("mock-gemini", chaos::LlmProvider::gemini));
  // demo-fallback's first target: every request is rate limited, with a Retry-After.
  mocks_.push_back(llm_mock("mock-limited", chaos::LlmProvider::openai));
  auto faults = chaos::faults_from_json(
      nlohmann::json::parse(R"([{"type": "status", "status": 429, "retry_after": 2}])"));
  if (faults) mocks_.back()->set_faults(std::make_shared<chaos::FaultPlan>(std::move(*faults)));
}

std::string Demo::config_toml() const {
  return fmt::format(R"(# The --demo gateway: two mock upstreams behind one route, round robin.
[server]
workers = 2
header_timeout = "10s"

[admin]
listen = "127.0.0.1:9901"

[log]
access = "stdout"

[[listeners]]
name = "main"
listen = "127.0.0.1:8080"

# LLM routes: OpenAI and Anthropic clients, any provider behind them.
[[routes]]
name = "llm"
path_prefix = "/v1/"
[routes.llm]
cache = {{ ttl = "5m", max_entries = 1000 }}
# Conversations kept by the gateway (x-sluice-session: ID), in memory.
sessions = {{ ttl = "1h" }}
# A conversation too long for its model's window loses its oldest turns, never the system
# prompt, the newest user turn or half of a tool call.
context = {{ strategy = "truncate_oldest", reserve_output = 256 }}

[[routes]]
name = "demo"
path_prefix = "/"
cluster = "demo"
timeout = "10s"

[[clusters]]
name = "demo"
endpoints = ["{0}", "{1}"]

[[providers]]
name = "openai"
kind = "openai"
base_url = "http://{2}/v1"

[[providers]]
name = "anthropic"
kind = "anthropic"
base_url = "http://{3}/v1"

[[providers]]
name = "gemini"
kind = "gemini"
base_url = "http://{4}/v1beta"

[[providers]]
name = "limited"
kind = "openai"
base_url = "http://{5}/v1"

# A small window, so that truncation shows after a few turns of a session.
[[models]]
name = "demo-openai"
targets = [{{ provider = "openai", model = "gpt-4o-mini", context_window = 16384 }}]
context = {{ strategy = "truncate_oldest", window = 300, reserve_output = 100 }}

[[models]]
name = "demo-anthropic"
targets = [{{ provider = "anthropic", model = "claude-3-5-haiku-latest", context_window = 16384 }}]

[[models]]
name = "demo-gemini"
targets = [{{ provider = "gemini", model = "gemini-2.0-flash", context_window = 16384 }}]

# The first target always answers 429 with Retry-After: 2, so it cools down and the second
# (Anthropic, translated) answers.
[[models]]
name = "demo-fallback"
strategy = "weighted"
targets = [{{ provider = "limited", model = "gpt-4o-mini", weight = 1 }}]
fallbacks = ["demo-anthropic"]

# The demo virtual key: "sk-sluice-demo" (only its SHA-256 is written here). Requests that
# present it are limited to 60 requests and 20,000 tokens a minute and $1 a day, on demo-openai.
[[keys]]
name = "demo"
sha256 = "{6}"
models = ["demo-openai"]
metadata = {{ team = "demo" }}
limits = {{ rpm = 60, tpm = 20000 }}
budget = {{ daily_usd = 1.0 }}
inject = [{{ role = "system", text = "You are talking to the {{{{key.team}}}} team on {{{{date}}}}." }}]
)",
                     mocks_[0]->address(), mocks_[1]->address(), mocks_[2]->address(),
                     mocks_[3]->address(), mocks_[4]->address(), mocks_[5]->address(),
                     kDemoKeySha256);
}

void Demo::print_banner(const std::string& gw, const std::string& admin) const {
  fmt::print(
      stderr,
      "\nsluice demo: gateway on http://{0} in front of mock upstreams {1} and {2}.\n"
      "Try:\n"
      "  curl -s http://{0}/echo                 # round robin: run it twice\n"
      "  curl -sN http://{0}/sse                 # server-sent events, relayed as they come\n"
      "  curl -s http://{0}/delay/300            # a slow upstream\n"
      "  curl -s -o /dev/null -w '%{{http_code}}\\n' http://{0}/bytes/10000000\n"
      "  curl -s -H 'x-request-id: demo-1' -i http://{0}/status/503\n"
      "LLM routes (mock OpenAI, Anthropic and Gemini providers; models demo-openai,\n"
      "demo-anthropic, demo-gemini and demo-fallback):\n"
      "  curl -s http://{0}/v1/models\n"
      "  curl -s http://{0}/v1/chat/completions -H 'content-type: application/json' \\\n"
      "    -d "
      "'{{\"model\":\"demo-anthropic\",\"messages\":[{{\"role\":\"user\",\"content\":\"hi\"}}]}}'\n"
      "  curl -sN http://{0}/v1/chat/completions -H 'content-type: application/json' \\\n"
      "    -d "
      "'{{\"model\":\"demo-gemini\",\"stream\":true,\"messages\":[{{\"role\":\"user\",\"content\":"
      "\"hello there\"}}]}}'\n"
      "  curl -si http://{0}/v1/messages -H 'content-type: application/json' \\\n"
      "    -d "
      "'{{\"model\":\"demo-fallback\",\"max_tokens\":100,\"messages\":[{{\"role\":\"user\","
      "\"content\":\"hi\"}}]}}'"
      "   # x-sluice-fallbacks: 1\n"
      "A server-side conversation (send only the new turn; the gateway keeps the history and\n"
      "trims it to demo-openai's 300-token window), with the demo virtual key:\n"
      "  curl -si http://{0}/v1/chat/completions -H 'content-type: application/json' \\\n"
      "    -H 'authorization: Bearer sk-sluice-demo' -H 'x-sluice-session: tour' \\\n"
      "    -d "
      "'{{\"model\":\"demo-openai\",\"messages\":[{{\"role\":\"user\",\"content\":\"hi\"}}]}}'"
      "   # x-sluice-context-*, x-ratelimit-*\n",
      gw, mocks_[0]->address(), mocks_[1]->address());
  if (!admin.empty())
    fmt::print(stderr,
               "  curl -s http://{0}/metrics | grep sluice_requests_total\n"
               "  curl -s http://{0}/admin/config\n",
               admin);
  fmt::print(stderr, "Ctrl-C drains and stops.\n\n");
}

}  // namespace sluice::cmd
