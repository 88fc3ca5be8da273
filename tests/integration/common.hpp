// Shared helpers for the integration tests: config builders and bounded polling.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "harness.hpp"
#include "http_client.hpp"

namespace sluice::test {

struct ServerSettings {
  int workers = 2;
  std::string header_timeout = "500ms";
  std::string idle_timeout = "10s";
  std::string drain_timeout = "10s";
  std::string max_header_bytes = "8KiB";
  std::string max_body_bytes = "1GiB";
};

// ["127.0.0.1:1", "127.0.0.1:2"]
inline std::string toml_list(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += ", ";
    out += fmt::format("\"{}\"", items[i]);
  }
  return out + "]";
}

// The [server], [admin], [log] and one "main" listener, followed by `rest` (routes, clusters).
inline std::string config_with(std::string_view rest, const ServerSettings& s = {}) {
  return fmt::format(R"([server]
workers = {}
header_timeout = "{}"
idle_timeout = "{}"
drain_timeout = "{}"
max_header_bytes = "{}"
max_body_bytes = "{}"

[admin]
listen = "127.0.0.1:0"

[log]
access = "stdout"

[[listeners]]
name = "main"
listen = "127.0.0.1:0"

{})",
                     s.workers, s.header_timeout, s.idle_timeout, s.drain_timeout,
                     s.max_header_bytes, s.max_body_bytes, rest);
}

// One route "api" (every path) to one cluster "backend".
inline std::string proxy_config(const std::vector<std::string>& endpoints,
                                const ServerSettings& s = {}, std::string_view timeout = "5s") {
  return config_with(fmt::format(R"([[routes]]
name = "api"
path_prefix = "/"
cluster = "backend"
timeout = "{}"

[[clusters]]
name = "backend"
endpoints = {}
)",
                                 timeout, toml_list(endpoints)),
                     s);
}

// Polls pred every 10ms until it holds or timeout passes.
inline bool eventually(const std::function<bool()>& pred, Millis timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
}

// The error object of a gateway-generated error response, checked for the common shape.
inline bool has_error_shape(const Response& r, std::string_view type) {
  auto j = r.json();
  if (!j.is_object() || !j.contains("error") || !j["error"].is_object()) return false;
  const auto& e = j["error"];
  return e.value("type", "") == type && e.contains("message") && e["message"].is_string() &&
         e.contains("code") && e.contains("request_id") && e["request_id"].is_string() &&
         !e["request_id"].get<std::string>().empty();
}

}  // namespace sluice::test
