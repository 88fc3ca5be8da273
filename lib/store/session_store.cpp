// What the session store implementations share: the errors they give and the expiry rule.
#include "sluice/store/session_store.hpp"

#include <fmt/format.h>

namespace sluice::store {

SessionStore::~SessionStore() = default;

Error format_conflict(std::string_view id, std::string_view stored, std::string_view asked) {
  return make_error(ErrorKind::usage, ErrorSource::downstream,
                    fmt::format("session \"{}\" holds {} messages, not {} (hint: continue it "
                                "with the same API, or start a new session)",
                                id, stored, asked));
}

Error message_too_large(std::size_t bytes, std::size_t max_bytes) {
  return make_error(
      ErrorKind::usage, ErrorSource::downstream,
      fmt::format("a message of {} bytes exceeds the session limit of {} bytes", bytes, max_bytes));
}

bool expired(std::int64_t updated_ms, std::chrono::milliseconds ttl, std::int64_t now_ms) {
  return updated_ms + ttl.count() < now_ms;
}

}  // namespace sluice::store
