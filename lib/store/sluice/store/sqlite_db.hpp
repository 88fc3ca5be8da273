// One SQLite connection and its prepared statements, errors as values. Opening checks the path
// first so that errors say how to fix it, and migrates the file's schema (PRAGMA user_version):
// sessions and the ledger may share one file, so the schema covers both.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "sluice/core/error.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace sluice::store {

inline constexpr int kSchemaVersion = 1;

class Stmt;

class Db {
 public:
  enum class Mode { read_write, read_only };
  // read_write creates the file and migrates it; read_only requires a migrated file.
  static Result<std::unique_ptr<Db>> open(const std::string& path, Mode mode);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  Result<void> exec(const char* sql);
  Result<Stmt> prepare(const char* sql);
  // An io error naming the file, what failed and SQLite's message.
  Error error(std::string_view what) const;
  // Rows changed by the last statement.
  std::int64_t changes() const;
  const std::string& path() const { return path_; }
  sqlite3* handle() { return db_; }

 private:
  Db(std::string path, sqlite3* db) : path_(std::move(path)), db_(db) {}
  Result<void> migrate();
  Result<void> check_schema();

  std::string path_;
  sqlite3* db_;
};

// A prepared statement; parameters are numbered from 1, columns from 0.
class Stmt {
 public:
  Stmt(Db& db, sqlite3_stmt* s) : db_(&db), s_(s) {}
  Stmt(Stmt&& o) noexcept : db_(o.db_), s_(o.s_), bind_rc_(o.bind_rc_) { o.s_ = nullptr; }
  Stmt& operator=(Stmt&&) = delete;
  ~Stmt();

  Stmt& bind(int i, std::string_view v);
  Stmt& bind(int i, std::int64_t v);
  Stmt& bind(int i, double v);
  Stmt& bind_blob(int i, std::string_view v);
  // true: a row is ready; false: done.
  Result<bool> step();
  // Runs to completion, then resets for reuse.
  Result<void> run();
  void reset();

  std::int64_t int64(int col) const;
  double real(int col) const;
  std::string text(int col) const;

 private:
  void note_bind(int rc);

  Db* db_;
  sqlite3_stmt* s_;
  int bind_rc_ = 0;  // the first failed bind (0 is SQLITE_OK); step() reports it
};

}  // namespace sluice::store
