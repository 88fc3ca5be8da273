// The SQLite file: opening with clear errors, pragmas, and the versioned schema.
#include "sluice/store/sqlite_db.hpp"

#include <unistd.h>

#include <filesystem>

#include <fmt/format.h>
#include <sqlite3.h>

namespace sluice::store {

namespace fs = std::filesystem;

namespace {

Error open_error(const std::string& path, std::string_view what, std::string_view hint) {
  return make_error(ErrorKind::io, ErrorSource::internal,
                    fmt::format("{}: {} (hint: {})", path, what, hint));
}

// Schema version 1: sessions, their messages, and the usage ledger.
constexpr const char* kSchemaV1 = R"(
CREATE TABLE IF NOT EXISTS sessions (
  id TEXT PRIMARY KEY,
  format TEXT NOT NULL,
  updated_ms INTEGER NOT NULL,
  messages INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  next_seq INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_by_update ON sessions(updated_ms);
CREATE TABLE IF NOT EXISTS session_messages (
  session_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  body BLOB NOT NULL,
  PRIMARY KEY (session_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS usage (
  ts_ms INTEGER NOT NULL,
  request_id TEXT NOT NULL,
  key TEXT NOT NULL,
  route TEXT NOT NULL,
  alias TEXT NOT NULL,
  provider TEXT NOT NULL,
  model TEXT NOT NULL,
  input_tokens INTEGER NOT NULL,
  output_tokens INTEGER NOT NULL,
  cost_usd REAL NOT NULL,
  status INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS usage_by_time ON usage(ts_ms);
CREATE INDEX IF NOT EXISTS usage_by_key ON usage(key, ts_ms);
)";

}  // namespace

Result<std::unique_ptr<Db>> Db::open(const std::string& path, Mode mode) {
  std::error_code ec;
  bool exists = fs::exists(path, ec);
  if (mode == Mode::read_only && !exists)
    return open_error(path, "no such file",
                      "check the path; the gateway creates it with [store] kind = \"sqlite\"");
  if (exists && fs::is_directory(path, ec))
    return open_error(path, "is a directory", "give the path of a file");
  if (!exists) {
    fs::path dir = fs::path(path).parent_path();
    if (dir.empty()) dir = ".";
    if (!fs::is_directory(dir, ec))
      return open_error(path, fmt::format("directory {} does not exist", dir.string()),
                        "create it, or choose a path in an existing directory");
    if (::access(dir.c_str(), W_OK) != 0)
      return open_error(path, fmt::format("directory {} is not writable", dir.string()),
                        "make it writable for this user, or choose another directory");
  } else if (mode == Mode::read_write && ::access(path.c_str(), R_OK | W_OK) != 0) {
    return open_error(path, "not readable and writable",
                      "fix its permissions for this user, or choose another path");
  }

  sqlite3* raw = nullptr;
  int flags =
      mode == Mode::read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  std::unique_ptr<Db> db(new Db(path, raw));  // closes raw even when opening failed
  if (rc != SQLITE_OK) return db->error("cannot open");
  sqlite3_busy_timeout(raw, 5000);
  // The first read finds out whether this is a database at all.
  auto probe = db->exec("PRAGMA schema_version");
  if (!probe) {
    if (sqlite3_errcode(raw) == SQLITE_NOTADB)
      return open_error(path, "not a SQLite database",
                        "point [store] path at a new file or at one sluice created");
    return probe.take_error();
  }
  if (mode == Mode::read_only) {
    if (auto r = db->check_schema(); !r) return r.take_error();
    return db;
  }
  if (auto r = db->exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL"); !r)
    return r.take_error();
  if (auto r = db->migrate(); !r) return r.take_error();
  return db;
}

Db::~Db() {
  sqlite3_close_v2(db_);
}

Result<void> Db::exec(const char* sql) {
  char* msg = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
    sqlite3_free(msg);
    return error("query failed");
  }
  return {};
}

Result<Stmt> Db::prepare(const char* sql) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db_, sql, -1, &s, nullptr) != SQLITE_OK)
    return error("cannot prepare a query");
  return Stmt(*this, s);
}

Error Db::error(std::string_view what) const {
  return make_error(
      ErrorKind::io, ErrorSource::internal,
      fmt::format("{}: {}: {}", path_, what, db_ ? sqlite3_errmsg(db_) : "no memory"));
}

std::int64_t Db::changes() const {
  return sqlite3_changes64(db_);
}

Result<void> Db::migrate() {
  if (auto r = exec("BEGIN IMMEDIATE"); !r) return r;
  auto version = prepare("PRAGMA user_version");
  if (!version) return version.take_error();
  auto row = version->step();
  if (!row) return row.take_error();
  std::int64_t v = *row ? version->int64(0) : 0;
  version->reset();
  Result<void> r;
  if (v > kSchemaVersion) {
    r = open_error(
        path_,
        fmt::format("schema version {} is newer than this sluice knows ({})", v, kSchemaVersion),
        "upgrade sluice, or use another file");
  } else if (v < 1) {
    r = exec(kSchemaV1);
    if (r) r = exec("PRAGMA user_version = 1");
  }
  // Later versions migrate here, one step at a time.
  if (!r) {
    (void)exec("ROLLBACK");
    return r;
  }
  return exec("COMMIT");
}

Result<void> Db::check_schema() {
  auto version = prepare("PRAGMA user_version");
  if (!version) return version.take_error();
  auto row = version->step();
  if (!row) return row.take_error();
  std::int64_t v = *row ? version->int64(0) : 0;
  if (v < 1)
    return open_error(path_, "holds no sluice data",
                      "give the [store] path of a gateway with [store] kind = \"sqlite\"");
  if (v > kSchemaVersion)
    return open_error(
        path_,
        fmt::format("schema version {} is newer than this sluice knows ({})", v, kSchemaVersion),
        "use a newer sluice");
  return {};
}

Stmt::~Stmt() {
  if (s_) sqlite3_finalize(s_);
}

Stmt& Stmt::bind(int i, std::string_view v) {
  note_bind(sqlite3_bind_text64(s_, i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
  return *this;
}

Stmt& Stmt::bind(int i, std::int64_t v) {
  note_bind(sqlite3_bind_int64(s_, i, v));
  return *this;
}

Stmt& Stmt::bind_blob(int i, std::string_view v) {
  note_bind(sqlite3_bind_blob64(s_, i, v.data(), v.size(), SQLITE_TRANSIENT));
  return *this;
}

Stmt& Stmt::bind(int i, double v) {
  note_bind(sqlite3_bind_double(s_, i, v));
  return *this;
}

void Stmt::note_bind(int rc) {
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
}

Result<bool> Stmt::step() {
  if (bind_rc_ != SQLITE_OK) {
    // The connection's own message is not about the bind: name the bind's code instead.
    Error e = make_error(
        ErrorKind::io, ErrorSource::internal,
        fmt::format("{}: a value could not be bound: {}", db_->path(), sqlite3_errstr(bind_rc_)));
    reset();
    return e;
  }
  int rc = sqlite3_step(s_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  Error e = db_->error("query failed");
  sqlite3_reset(s_);
  return e;
}

Result<void> Stmt::run() {
  Result<bool> r = step();
  while (r && *r) r = step();
  reset();
  if (!r) return r.take_error();
  return {};
}

void Stmt::reset() {
  bind_rc_ = SQLITE_OK;
  sqlite3_reset(s_);
  sqlite3_clear_bindings(s_);
}

std::int64_t Stmt::int64(int col) const {
  return sqlite3_column_int64(s_, col);
}

double Stmt::real(int col) const {
  return sqlite3_column_double(s_, col);
}

std::string Stmt::text(int col) const {
  const auto* p = static_cast<const char*>(sqlite3_column_blob(s_, col));
  return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, col)))
           : std::string();
}

}  // namespace sluice::store
