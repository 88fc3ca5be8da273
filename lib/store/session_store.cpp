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

Result<std::size_t> SessionStore::purge_due(std::int64_t now_ms) {
  constexpr std::int64_t kEvery = 60'000;
  std::int64_t last = last_purge_ms_.load(std::memory_order_relaxed);
  if (now_ms - last < kEvery) return std::size_t{0};
  // One caller wins the minute; the others go on.
  if (!last_purge_ms_.compare_exchange_strong(last, now_ms, std::memory_order_relaxed))
    return std::size_t{0};
  return purge_expired(now_ms);
}

bool expired(std::int64_t updated_ms, std::chrono::milliseconds ttl, std::int64_t now_ms) {
  return updated_ms + ttl.count() < now_ms;
}

}  // namespace sluice::store
