// The admin API's view of a route's server-side sessions:
//   GET    /admin/sessions[?limit=N]  the live sessions, most recent first
//   GET    /admin/sessions/ID         one session's stored messages
//   DELETE /admin/sessions/ID         forget it
#include <charconv>

#include <fmt/format.h>

#include "llm_route.hpp"
#include "sluice/core/clock.hpp"
#include "sluice/store/session_store.hpp"

namespace sluice::llmgw {

namespace {

std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      unsigned v = 0;
      auto r = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
      if (r.ec == std::errc() && r.ptr == s.data() + i + 3) {
        out += static_cast<char>(v);
        i += 2;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

gateway::AdminResponse json_response(int status, const nlohmann::json& j) {
  return {status, "application/json",
          j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n"};
}

gateway::AdminResponse store_error(const Error& e) {
  return json_response(500, {{"error", e.message}});
}

}  // namespace

std::optional<gateway::AdminResponse> LlmRoute::admin(std::string_view method,
                                                      std::string_view path,
                                                      std::string_view query) const {
  store::SessionStore* store = sessions();
  if (!store) return std::nullopt;
  std::string_view rest = path.substr(std::string_view("/admin/sessions").size());
  while (rest.starts_with('/')) rest.remove_prefix(1);
  const std::int64_t now = unix_ms(SystemClock::instance().wall());
  if (rest.empty()) {
    if (method != "GET" && method != "HEAD")
      return gateway::AdminResponse{405, "text/plain; charset=utf-8",
                                    "GET /admin/sessions lists them; DELETE takes an id\n"};
    std::size_t limit = 100;
    if (auto p = query.find("limit="); p != std::string_view::npos) {
      std::string_view v = query.substr(p + 6);
      v = v.substr(0, v.find('&'));
      std::from_chars(v.data(), v.data() + v.size(), limit);
    }
    auto list = store->list(now, limit);
    if (!list) return store_error(list.error());
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& s : *list)
      arr.push_back({{"id", s.id},
                     {"format", s.format},
                     {"messages", s.messages},
                     {"bytes", s.bytes},
                     {"updated_ms", s.updated_ms}});
    return json_response(200, {{"route", route_->name}, {"sessions", std::move(arr)}});
  }
  std::string id = percent_decode(rest);
  if (method == "DELETE") {
    auto removed = store->remove(id);
    if (!removed) return store_error(removed.error());
    if (!*removed) return json_response(404, {{"error", fmt::format("no session \"{}\"", id)}});
    return json_response(200, {{"route", route_->name}, {"deleted", id}});
  }
  if (method != "GET" && method != "HEAD")
    return gateway::AdminResponse{405, "text/plain; charset=utf-8",
                                  "GET or DELETE /admin/sessions/ID\n"};
  auto s = store->load(id, now);
  if (!s) return store_error(s.error());
  if (!*s) return json_response(404, {{"error", fmt::format("no session \"{}\"", id)}});
  nlohmann::json messages = nlohmann::json::array();
  for (const auto& m : (*s)->messages) {
    auto j = nlohmann::json::parse(m, nullptr, false);
    messages.push_back(j.is_discarded() ? nlohmann::json(m) : std::move(j));
  }
  return json_response(200, {{"route", route_->name},
                             {"id", id},
                             {"format", (*s)->format},
                             {"updated_ms", (*s)->updated_ms},
                             {"messages", std::move(messages)}});
}

}  // namespace sluice::llmgw
