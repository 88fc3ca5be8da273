// Internal to config loading: typed, path-tracking reads from toml++ tables that collect every
// problem as a "FILE:LINE:COL: key.path: what (hint: how)" line instead of stopping at the first.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "sluice/core/config/schema.hpp"
#include "sluice/core/error.hpp"

namespace sluice::config::detail {

// The problems of one load, kept with their positions so they can be reported in file order
// (toml++ tables iterate in key order, not file order).
class Problems {
 public:
  explicit Problems(std::string file) : file_(std::move(file)) {}

  void add(const toml::source_position& at, std::string_view path, std::string_view what,
           std::string_view hint);
  // `body` is already "what (hint: how)", e.g. a message from parse_endpoint.
  void add_body(const toml::source_position& at, std::string_view path, std::string_view body);

  bool empty() const { return list_.empty(); }
  const std::string& file() const { return file_; }
  SourcePos pos(const toml::source_position& at) const { return {file_, at.line, at.column}; }
  Error error() const;

 private:
  struct Problem {
    toml::source_position at;
    std::string text;
  };
  std::string file_;
  std::vector<Problem> list_;
};

// The toml position of a SourcePos (Problems::pos the other way), for problems found after
// parsing, in cross-checks of what was read.
inline toml::source_position at_of(const SourcePos& p) {
  toml::source_position at;
  at.line = p.line;
  at.column = p.column;
  return at;
}

// The candidate closest to `word` (sluice::closest), or one it shortens or lengthens.
std::optional<std::string_view> closest(std::string_view word,
                                        const std::vector<std::string_view>& candidates);
// A key as written in a key path: bare when TOML allows it, quoted otherwise.
std::string key_segment(std::string_view key);
// "\"a\", \"b\", \"c\""
std::string quoted_list(const std::vector<std::string_view>& items);
// Splits a units.cpp style message "invalid duration \"x\" (use ...)" into what and hint.
std::pair<std::string, std::string> split_hint(std::string_view message);
// Why `path` cannot be read, or nullopt when it is a readable regular file.
std::optional<std::string> unreadable(const std::string& path);
// "a string", "an integer", ... for "expected X, got Y" messages.
std::string_view type_phrase(const toml::node& n);

// Reads one TOML table. Construction reports unknown keys (with a "did you mean") and inline
// secrets; the typed getters report wrong types and values and leave `out` untouched on any
// problem, so defaults survive and later checks do not cascade.
class TableReader {
 public:
  // `label` names the table in hints, e.g. "[server]" or "[[routes]]".
  TableReader(const toml::table& table, std::string path, std::string label,
              std::vector<std::string_view> keys, Problems& problems);

  const toml::table& table() const { return table_; }
  const std::string& path() const { return path_; }
  std::string path_of(std::string_view key) const;
  const toml::source_position& where() const { return table_.source().begin; }
  const toml::node* find(std::string_view key) const { return table_.get(key); }
  bool has(std::string_view key) const { return table_.contains(key); }
  Problems& problems() const { return problems_; }

  // The problem lies with `key`'s value (or with the table itself when the key is absent).
  void fail(std::string_view key, std::string_view what, std::string_view hint) const;
  void fail_body(std::string_view key, std::string_view body) const;
  void missing(std::string_view key, std::string_view hint) const;

  // The getters return true when the key is present and its value valid.
  bool string(std::string_view key, std::string& out, std::string_view example) const;
  bool boolean(std::string_view key, bool& out) const;
  bool duration(std::string_view key, Duration& out, bool allow_zero = false) const;
  bool size(std::string_view key, std::uint64_t& out) const;
  // An integer or a float in [min, max].
  bool number(std::string_view key, double& out, double min, double max) const;
  // Every element must be a string; the nodes keep their positions for later cross-checks.
  bool strings(std::string_view key, std::vector<const toml::value<std::string>*>& out,
               std::string_view example) const;
  const toml::table* table(std::string_view key) const;
  const toml::array* array_of_tables(std::string_view key) const;

  template <class T>
  bool integer(std::string_view key, T& out, std::int64_t min,
               std::int64_t max = std::numeric_limits<T>::max()) const {
    std::int64_t v = 0;
    if (!integer_in(key, v, min, max, static_cast<std::int64_t>(out))) return false;
    out = static_cast<T>(v);
    return true;
  }

 private:
  bool integer_in(std::string_view key, std::int64_t& out, std::int64_t min, std::int64_t max,
                  std::int64_t example) const;
  void check_keys() const;

  const toml::table& table_;
  std::string path_;
  std::string label_;
  std::vector<std::string_view> keys_;
  Problems& problems_;
};

}  // namespace sluice::config::detail
