// The routes of a demo upstream (see mock_server.hpp).
#include "sluice/chaos/mock_server.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <map>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace sluice::chaos {

namespace {

std::string_view path_of(std::string_view target) {
  std::size_t q = target.find('?');
  return q == std::string_view::npos ? target : target.substr(0, q);
}

// Parses the path segment after prefix as a non-negative integer.
bool parse_tail(std::string_view target, std::string_view prefix, std::uint64_t& out) {
  std::string_view path = path_of(target);
  if (path.substr(0, prefix.size()) != prefix) return false;
  std::string_view tail = path.substr(prefix.size());
  if (tail.empty()) return false;
  auto [ptr, ec] = std::from_chars(tail.data(), tail.data() + tail.size(), out);
  return ec == std::errc() && ptr == tail.data() + tail.size();
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

const std::vector<std::pair<std::string, std::string>> kJson = {
    {"content-type", "application/json"}};

void bad_request(MockExchange& ex, std::string_view why) {
  nlohmann::json j = {{"error", std::string(why)}};
  ex.respond(400, j.dump(), kJson);
}

}  // namespace

std::vector<MockRoute> demo_routes(const std::string& name) {
  std::vector<MockRoute> routes;

  routes.push_back({"GET", "/health", [](MockExchange& ex) {
                      ex.respond(200, "ok", {{"content-type", "text/plain"}});
                    }});

  routes.push_back({"", "/echo*", [name](MockExchange& ex) {
                      const MockRequest& req = ex.request();
                      std::int64_t body_bytes = ex.read_body(nullptr);
                      nlohmann::ordered_json headers = nlohmann::ordered_json::object();
                      for (const auto& [k, v] : req.headers) headers[lower(k)].push_back(v);
                      nlohmann::ordered_json j = {{"name", name},
                                                  {"upstream", name},
                                                  {"method", req.method},
                                                  {"target", req.target},
                                                  {"version", req.version},
                                                  {"headers", headers},
                                                  {"body_bytes", body_bytes}};
                      ex.respond(200, j.dump(), kJson);
                    }});

  routes.push_back(
      {"GET", "/sse", [](MockExchange& ex) {
         if (!ex.begin(200, {{"content-type", "text/event-stream"}, {"cache-control", "no-cache"}}))
           return;
         for (int i = 1; i <= 5; ++i) {
           if (i > 1) std::this_thread::sleep_for(std::chrono::milliseconds(200));
           if (!ex.write(fmt::format("data: tick {}\n\n", i))) return;
         }
         ex.end();
       }});

  routes.push_back({"GET", "/delay/*", [name](MockExchange& ex) {
                      std::uint64_t ms = 0;
                      if (!parse_tail(ex.request().target, "/delay/", ms)) {
                        return bad_request(ex, "expected /delay/<ms>");
                      }
                      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
                      nlohmann::ordered_json j = {{"upstream", name}, {"delayed_ms", ms}};
                      ex.respond(200, j.dump(), kJson);
                    }});

  routes.push_back({"GET", "/status/*", [name](MockExchange& ex) {
                      std::uint64_t code = 0;
                      if (!parse_tail(ex.request().target, "/status/", code) || code < 100 ||
                          code > 999) {
                        return bad_request(ex, "expected /status/<code>");
                      }
                      nlohmann::ordered_json j = {{"upstream", name}, {"status", code}};
                      ex.respond(static_cast<int>(code), j.dump(), kJson);
                    }});

  routes.push_back({"GET", "/bytes/*", [](MockExchange& ex) {
                      std::uint64_t n = 0;
                      if (!parse_tail(ex.request().target, "/bytes/", n)) {
                        return bad_request(ex, "expected /bytes/<n>");
                      }
                      static const std::string kPiece(64 * 1024, 'x');
                      if (!ex.begin(200, {{"content-type", "application/octet-stream"}},
                                    static_cast<std::int64_t>(n)))
                        return;
                      while (n > 0) {
                        std::size_t len =
                            static_cast<std::size_t>(std::min<std::uint64_t>(n, kPiece.size()));
                        if (!ex.write(std::string_view(kPiece.data(), len))) return;
                        n -= len;
                      }
                      ex.end();
                    }});

  routes.push_back({"", "*", [name](MockExchange& ex) {
                      nlohmann::ordered_json j = {
                          {"upstream", name}, {"path", std::string(path_of(ex.request().target))}};
                      ex.respond(200, j.dump(), kJson);
                    }});
  return routes;
}

}  // namespace sluice::chaos
