// Sessions in a SQLite file: one connection under a mutex, one transaction per call.
#include <mutex>

#include "sluice/store/session_store.hpp"
#include "sluice/store/sqlite_db.hpp"

namespace sluice::store {
namespace {

struct Header {
  std::string format;
  std::int64_t updated_ms = 0;
  std::int64_t messages = 0;
  std::int64_t bytes = 0;
  std::int64_t next_seq = 0;
};

// Runs a transaction: commits when body succeeds, rolls back otherwise.
template <class F>
auto in_transaction(Db& db, F&& body) -> decltype(body()) {
  if (auto r = db.exec("BEGIN IMMEDIATE"); !r) return r.take_error();
  auto result = body();
  if (!result) {
    (void)db.exec("ROLLBACK");
    return result;
  }
  if (auto r = db.exec("COMMIT"); !r) {
    (void)db.exec("ROLLBACK");
    return r.take_error();
  }
  return result;
}

class SqliteSessions final : public SessionStore {
 public:
  SqliteSessions(std::unique_ptr<Db> db, SessionLimits limits)
      : db_(std::move(db)), limits_(limits) {}

  Result<std::optional<StoredSession>> load(std::string_view id, std::int64_t now_ms) override {
    std::lock_guard lock(mu_);
    return in_transaction(*db_, [&]() -> Result<std::optional<StoredSession>> {
      auto h = header(id);
      if (!h) return h.take_error();
      if (!*h) return std::optional<StoredSession>{};
      if (expired((*h)->updated_ms, limits_.ttl, now_ms)) {
        if (auto r = erase(id); !r) return r.take_error();
        return std::optional<StoredSession>{};
      }
      StoredSession s{(*h)->format, {}, (*h)->updated_ms, static_cast<std::size_t>((*h)->bytes)};
      auto q = db_->prepare("SELECT body FROM session_messages WHERE session_id = ? ORDER BY seq");
      if (!q) return q.take_error();
      q->bind(1, id);
      Result<bool> row = q->step();
      for (; row && *row; row = q->step()) s.messages.push_back(q->text(0));
      if (!row) return row.take_error();
      return std::optional<StoredSession>{std::move(s)};
    });
  }

  Result<void> append(std::string_view id, std::string_view format,
                      std::span<const std::string> messages, std::int64_t now_ms) override {
    for (const auto& m : messages)
      if (m.size() > limits_.max_bytes) return message_too_large(m.size(), limits_.max_bytes);
    std::lock_guard lock(mu_);
    return in_transaction(*db_, [&]() -> Result<void> {
      auto found = header(id);
      if (!found) return found.take_error();
      Header h;
      if (*found && !expired((**found).updated_ms, limits_.ttl, now_ms) && (**found).messages > 0) {
        h = **found;
        if (h.format != format) return format_conflict(id, h.format, format);
      } else if (*found) {
        if (auto r = erase(id); !r) return r.take_error();
      }
      h.format = std::string(format);
      auto insert = db_->prepare(
          "INSERT INTO session_messages (session_id, seq, bytes, body) VALUES (?, ?, ?, ?)");
      if (!insert) return insert.take_error();
      for (const auto& m : messages) {
        auto size = static_cast<std::int64_t>(m.size());
        insert->bind(1, id).bind(2, h.next_seq++).bind(3, size).bind_blob(4, m);
        if (auto r = insert->run(); !r) return r;
        ++h.messages;
        h.bytes += size;
      }
      if (auto r = drop_oldest(id, h); !r) return r;
      auto upsert = db_->prepare(
          "INSERT INTO sessions (id, format, updated_ms, messages, bytes, next_seq) "
          "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(id) DO UPDATE SET format = ?2, "
          "updated_ms = ?3, messages = ?4, bytes = ?5, next_seq = ?6");
      if (!upsert) return upsert.take_error();
      upsert->bind(1, id).bind(2, h.format).bind(3, now_ms).bind(4, h.messages).bind(5, h.bytes);
      upsert->bind(6, h.next_seq);
      return upsert->run();
    });
  }

  Result<bool> remove(std::string_view id) override {
    std::lock_guard lock(mu_);
    return in_transaction(*db_, [&]() -> Result<bool> { return erase(id); });
  }

  Result<std::size_t> purge_expired(std::int64_t now_ms) override {
    std::lock_guard lock(mu_);
    return in_transaction(*db_, [&]() -> Result<std::size_t> {
      std::int64_t before = now_ms - limits_.ttl.count();  // expired: updated_ms < before
      auto msgs = db_->prepare(
          "DELETE FROM session_messages WHERE session_id IN "
          "(SELECT id FROM sessions WHERE updated_ms < ?)");
      if (!msgs) return msgs.take_error();
      if (auto r = msgs->bind(1, before).run(); !r) return r.take_error();
      auto heads = db_->prepare("DELETE FROM sessions WHERE updated_ms < ?");
      if (!heads) return heads.take_error();
      if (auto r = heads->bind(1, before).run(); !r) return r.take_error();
      return static_cast<std::size_t>(db_->changes());
    });
  }

  Result<std::vector<SessionInfo>> list(std::int64_t now_ms, std::size_t limit) override {
    std::lock_guard lock(mu_);
    auto q = db_->prepare(
        "SELECT id, format, messages, bytes, updated_ms FROM sessions WHERE updated_ms >= ? "
        "ORDER BY updated_ms DESC, id LIMIT ?");
    if (!q) return q.take_error();
    q->bind(1, now_ms - limits_.ttl.count()).bind(2, static_cast<std::int64_t>(limit));
    std::vector<SessionInfo> out;
    Result<bool> row = q->step();
    for (; row && *row; row = q->step())
      out.push_back({q->text(0), q->text(1), static_cast<std::size_t>(q->int64(2)),
                     static_cast<std::size_t>(q->int64(3)), q->int64(4)});
    if (!row) return row.take_error();
    return out;
  }

 private:
  Result<std::optional<Header>> header(std::string_view id) {
    auto q = db_->prepare(
        "SELECT format, updated_ms, messages, bytes, next_seq FROM sessions WHERE id = ?");
    if (!q) return q.take_error();
    q->bind(1, id);
    auto row = q->step();
    if (!row) return row.take_error();
    if (!*row) return std::optional<Header>{};
    return std::optional<Header>{
        Header{q->text(0), q->int64(1), q->int64(2), q->int64(3), q->int64(4)}};
  }

  Result<bool> erase(std::string_view id) {
    auto msgs = db_->prepare("DELETE FROM session_messages WHERE session_id = ?");
    if (!msgs) return msgs.take_error();
    if (auto r = msgs->bind(1, id).run(); !r) return r.take_error();
    auto head = db_->prepare("DELETE FROM sessions WHERE id = ?");
    if (!head) return head.take_error();
    if (auto r = head->bind(1, id).run(); !r) return r.take_error();
    return db_->changes() > 0;
  }

  // Deletes the oldest messages until both caps hold; h is updated to match.
  Result<void> drop_oldest(std::string_view id, Header& h) {
    if (h.messages <= static_cast<std::int64_t>(limits_.max_messages) &&
        h.bytes <= static_cast<std::int64_t>(limits_.max_bytes))
      return {};
    auto q =
        db_->prepare("SELECT seq, bytes FROM session_messages WHERE session_id = ? ORDER BY seq");
    if (!q) return q.take_error();
    q->bind(1, id);
    std::int64_t keep_from = 0;
    Result<bool> row = q->step();
    for (; row && *row; row = q->step()) {
      if (h.messages <= static_cast<std::int64_t>(limits_.max_messages) &&
          h.bytes <= static_cast<std::int64_t>(limits_.max_bytes))
        break;
      keep_from = q->int64(0) + 1;
      --h.messages;
      h.bytes -= q->int64(1);
    }
    if (!row) return row.take_error();
    q->reset();
    auto del = db_->prepare("DELETE FROM session_messages WHERE session_id = ? AND seq < ?");
    if (!del) return del.take_error();
    return del->bind(1, id).bind(2, keep_from).run();
  }

  std::unique_ptr<Db> db_;
  const SessionLimits limits_;
  std::mutex mu_;
};

}  // namespace

Result<std::unique_ptr<SessionStore>> open_sqlite_sessions(const std::string& path,
                                                           SessionLimits limits) {
  auto db = Db::open(path, Db::Mode::read_write);
  if (!db) return db.take_error();
  return std::unique_ptr<SessionStore>(new SqliteSessions(std::move(*db), limits));
}

}  // namespace sluice::store
