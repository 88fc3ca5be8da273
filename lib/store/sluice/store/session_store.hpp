// Server-side conversation history: a session id -> the ordered messages (each the raw JSON of one
// chat message, opaque here), the wire format they are in, and the last update time. Two
// implementations: in memory, and in a SQLite file that survives restarts. Thread safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/core/error.hpp"

namespace sluice::store {

struct SessionLimits {
  std::chrono::milliseconds ttl{std::chrono::hours(24)};
  std::size_t max_messages = 200;
  std::size_t max_bytes = 1 << 20;  // sum of the messages' sizes
};

struct StoredSession {
  std::string format;  // "openai" or "anthropic"
  std::vector<std::string> messages;
  std::int64_t updated_ms = 0;
  std::size_t bytes = 0;
};

struct SessionInfo {
  std::string id;
  std::string format;
  std::size_t messages = 0;
  std::size_t bytes = 0;
  std::int64_t updated_ms = 0;
};

// Errors: ErrorKind::usage with ErrorSource::downstream when the client asked for something the
// session cannot take (another wire format: a 409; one message larger than max_bytes: a 413 or a
// 400); ErrorKind::io for storage failures.
class SessionStore {
 public:
  virtual ~SessionStore();

  // nullopt for an unknown session, and for an expired one (updated_ms + ttl < now), which is
  // removed.
  virtual Result<std::optional<StoredSession>> load(std::string_view id, std::int64_t now_ms) = 0;

  // Creates or extends the session and refreshes its update time. An expired session starts
  // afresh. The caps are kept by dropping the OLDEST messages: this may drop an assistant's tool
  // call while its result stays (the gateway sends a history from its oldest user turn on).
  virtual Result<void> append(std::string_view id, std::string_view format,
                              std::span<const std::string> messages, std::int64_t now_ms) = 0;

  // Whether the session existed.
  virtual Result<bool> remove(std::string_view id) = 0;

  // Removes the expired sessions; returns how many.
  virtual Result<std::size_t> purge_expired(std::int64_t now_ms) = 0;

  // purge_expired at most once a minute, whoever calls: the request path calls it after each
  // append, so sessions nobody loads again do not pile up. 0 when it was not due.
  Result<std::size_t> purge_due(std::int64_t now_ms);

  // Live sessions, most recently updated first, at most `limit` of them (the admin API).
  virtual Result<std::vector<SessionInfo>> list(std::int64_t now_ms, std::size_t limit) = 0;

 private:
  std::atomic<std::int64_t> last_purge_ms_{0};
};

std::unique_ptr<SessionStore> make_memory_sessions(SessionLimits limits);

// Opens (or creates) the SQLite file at path. Errors name the path and say how to fix it.
Result<std::unique_ptr<SessionStore>> open_sqlite_sessions(const std::string& path,
                                                           SessionLimits limits);

// Shared by both implementations.
Error format_conflict(std::string_view id, std::string_view stored, std::string_view asked);
Error message_too_large(std::size_t bytes, std::size_t max_bytes);
bool expired(std::int64_t updated_ms, std::chrono::milliseconds ttl, std::int64_t now_ms);

}  // namespace sluice::store
