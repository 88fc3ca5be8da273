// Sessions in memory: a map under one mutex. Lost on restart.
#include <algorithm>
#include <deque>
#include <mutex>
#include <unordered_map>

#include "sluice/store/session_store.hpp"

namespace sluice::store {
namespace {

struct Session {
  std::string format;
  std::deque<std::string> messages;
  std::int64_t updated_ms = 0;
  std::size_t bytes = 0;
};

class MemorySessions final : public SessionStore {
 public:
  explicit MemorySessions(SessionLimits limits) : limits_(limits) {}

  Result<std::optional<StoredSession>> load(std::string_view id, std::int64_t now_ms) override {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(std::string(id));
    if (it == sessions_.end()) return std::optional<StoredSession>{};
    if (expired(it->second.updated_ms, limits_.ttl, now_ms)) {
      sessions_.erase(it);
      return std::optional<StoredSession>{};
    }
    const Session& s = it->second;
    return std::optional<StoredSession>{
        StoredSession{s.format, {s.messages.begin(), s.messages.end()}, s.updated_ms, s.bytes}};
  }

  Result<void> append(std::string_view id, std::string_view format,
                      std::span<const std::string> messages, std::int64_t now_ms) override {
    for (const auto& m : messages)
      if (m.size() > limits_.max_bytes) return message_too_large(m.size(), limits_.max_bytes);
    std::lock_guard lock(mu_);
    auto [it, created] = sessions_.try_emplace(std::string(id));
    Session& s = it->second;
    if (!created && expired(s.updated_ms, limits_.ttl, now_ms)) s = Session{};
    if (s.messages.empty()) s.format = std::string(format);
    if (s.format != format) return format_conflict(id, s.format, format);
    for (const auto& m : messages) {
      s.messages.push_back(m);
      s.bytes += m.size();
    }
    while (s.messages.size() > limits_.max_messages || s.bytes > limits_.max_bytes) {
      s.bytes -= s.messages.front().size();
      s.messages.pop_front();
    }
    s.updated_ms = now_ms;
    return {};
  }

  Result<bool> remove(std::string_view id) override {
    std::lock_guard lock(mu_);
    return sessions_.erase(std::string(id)) > 0;
  }

  Result<std::size_t> purge_expired(std::int64_t now_ms) override {
    std::lock_guard lock(mu_);
    return static_cast<std::size_t>(std::erase_if(sessions_, [&](const auto& kv) {
      return expired(kv.second.updated_ms, limits_.ttl, now_ms);
    }));
  }

  Result<std::vector<SessionInfo>> list(std::int64_t now_ms, std::size_t limit) override {
    std::lock_guard lock(mu_);
    std::vector<SessionInfo> out;
    for (const auto& [id, s] : sessions_)
      if (!expired(s.updated_ms, limits_.ttl, now_ms))
        out.push_back({id, s.format, s.messages.size(), s.bytes, s.updated_ms});
    std::sort(out.begin(), out.end(), [](const SessionInfo& a, const SessionInfo& b) {
      return a.updated_ms != b.updated_ms ? a.updated_ms > b.updated_ms : a.id < b.id;
    });
    if (out.size() > limit) out.resize(limit);
    return out;
  }

 private:
  const SessionLimits limits_;
  std::mutex mu_;
  std::unordered_map<std::string, Session> sessions_;
};

}  // namespace

std::unique_ptr<SessionStore> make_memory_sessions(SessionLimits limits) {
  return std::make_unique<MemorySessions>(limits);
}

}  // namespace sluice::store
