// Shared helpers for the LLM request-policy tests (llm_policy_test.cpp, llm_sessions_test.cpp,
// llm_limits_test.cpp): in-process mock providers, a gateway config around them, chat bodies,
// requests on one kept-alive connection, and the mock's view of what it received.
#pragma once

#include <openssl/evp.h>

#include <csignal>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common.hpp"
#include "sluice/chaos/llm_mock.hpp"
#include "sluice/chaos/mock_server.hpp"

namespace sluice::test::llmpol {

using Json = nlohmann::json;
using namespace std::chrono_literals;

// An OpenAI-format mock provider: echoes the last user message, or answers replies in turn.
inline std::unique_ptr<chaos::MockServer> mock_provider(
    const std::string& name, std::vector<std::string> replies = {},
    chaos::LlmProvider p = chaos::LlmProvider::openai) {
  chaos::LlmMockSpec spec;
  spec.provider = p;
  spec.context_window = 1000000;
  spec.replies = std::move(replies);
  return std::make_unique<chaos::MockServer>(name, chaos::llm_mock_routes(name, spec));
}

// One [[providers]] entry of kind openai for a mock.
inline std::string provider_toml(const chaos::MockServer& m) {
  return fmt::format(R"([[providers]]
name = "{}"
kind = "openai"
base_url = "http://{}/v1"
timeout = "5s"
)",
                     m.name(), m.address());
}

// The route "llm" on /v1/ with route_llm as its [routes.llm] body, then `rest` (providers,
// models, keys, store, prices).
inline std::string gateway_config(std::string_view route_llm, std::string_view rest) {
  return config_with(fmt::format(R"([[routes]]
name = "llm"
path_prefix = "/v1/"

[routes.llm]
{}

{})",
                                 route_llm, rest));
}

// The SHA-256 of a key in hex, as [[keys]] sha256 wants it.
inline std::string sha256_hex(std::string_view key) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(key.data(), key.size(), d, &len, EVP_sha256(), nullptr);
  std::string out;
  for (unsigned int i = 0; i < len; ++i) out += fmt::format("{:02x}", d[i]);
  return out;
}

inline Json msg(std::string_view role, std::string_view text) {
  return Json{{"role", std::string(role)}, {"content", std::string(text)}};
}

// An OpenAI chat completions body.
inline std::string chat_body(std::string_view model, const Json& messages,
                             Json extra = Json::object()) {
  Json j = {{"model", std::string(model)}, {"messages", messages}};
  for (auto& [k, v] : extra.items()) j[k] = v;
  return j.dump();
}

// Roughly n tokens of distinct words, tagged: "<tag> w1 w2 ...".
inline std::string words(std::string_view tag, int n) {
  static const char* kWords[] = {"river",  "stone",   "lantern", "meadow", "copper",  "harbor",
                                 "violet", "orchard", "falcon",  "marble", "thunder", "willow"};
  std::string out(tag);
  for (int i = 0; i < n; ++i) out += fmt::format(" {}", kWords[i % 12]);
  return out;
}

// A request on a kept-alive connection (one worker serves it, in order: the previous
// exchange is over, its tokens settled and its ledger row recorded, before the next begins).
inline Response send(Connection& c, std::string_view path, const std::string& body,
                     Headers headers = {}) {
  headers.insert(headers.begin(), {"content-type", "application/json"});
  auto r = c.request(make_request("POST", path, headers, body));
  INFO("connection error: " << c.error());
  REQUIRE(r);
  return *r;
}

inline Response post_once(std::uint16_t port, std::string_view path, const std::string& body,
                          Headers headers = {}) {
  Connection c(port, 30s);
  return send(c, path, body, std::move(headers));
}

// The completed requests a mock recorded, waiting (bounded) until there are `count`.
inline std::vector<chaos::RecordedRequest> recorded(const chaos::MockServer& m, std::size_t count) {
  std::vector<chaos::RecordedRequest> got;
  bool ok = eventually(
      [&] {
        got = m.recorded();
        if (got.size() < count) return false;
        for (const auto& r : got)
          if (!r.complete) return false;
        return true;
      },
      5s);
  INFO("mock " << m.name() << " recorded " << got.size() << ", wanted " << count);
  REQUIRE(ok);
  return got;
}

// The messages array of the newest request a mock received (of `count` so far).
inline Json received_messages(const chaos::MockServer& m, std::size_t count) {
  auto got = recorded(m, count);
  REQUIRE(got.size() == count);
  auto j = Json::parse(got.back().body, nullptr, false);
  REQUIRE(j.is_object());
  REQUIRE(j.contains("messages"));
  return j["messages"];
}

inline std::string content_of(const Json& m) {
  if (m.contains("content") && m["content"].is_string()) return m["content"].get<std::string>();
  return m.contains("content") ? m["content"].dump() : "";
}

inline std::int64_t int_header(const Response& r, std::string_view name) {
  std::string v = r.header(name);
  INFO("header " << name << " = \"" << v << "\"");
  REQUIRE(!v.empty());
  return std::stoll(v);
}

// The value of one sample line ("name{labels} value") in a Prometheus exposition; -1 when absent.
inline double metric(const std::string& exposition, std::string_view series) {
  std::size_t pos = 0;
  while ((pos = exposition.find(series, pos)) != std::string::npos) {
    bool line_start = pos == 0 || exposition[pos - 1] == '\n';
    std::size_t after = pos + series.size();
    if (line_start && after < exposition.size() && exposition[after] == ' ')
      return std::stod(exposition.substr(after + 1, exposition.find('\n', after) - after - 1));
    pos = after;
  }
  return -1;
}

// Removes a SQLite file and its journal files.
inline void remove_db(const std::string& path) {
  std::error_code ec;
  for (const char* s : {"", "-wal", "-shm", "-journal"}) std::filesystem::remove(path + s, ec);
}

// A graceful stop: SIGTERM, then the exit code.
inline void stop(SluiceProcess& gw) {
  gw.send_signal(SIGTERM);
  auto code = gw.wait_exit(20s);
  INFO(gw.stderr_text());
  REQUIRE(code);
  CHECK(*code == 0);
}

}  // namespace sluice::test::llmpol
