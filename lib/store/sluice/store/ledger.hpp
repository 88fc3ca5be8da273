// The usage ledger: one row per LLM request (tokens, cost, status), summed by key, model, day,
// alias or provider for reports and budgets. In memory, or in a SQLite file written in batches by
// a background thread so that recording never waits on the disk.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/core/error.hpp"

namespace sluice::store {

struct UsageRow {
  std::int64_t ts_ms = 0;
  std::string request_id, key, route, alias, provider, model;
  std::int64_t input_tokens = 0, output_tokens = 0;
  double cost_usd = 0;
  int status = 0;
};

enum class UsageBy { key, model, day, alias, provider };
std::string_view to_string(UsageBy by);
std::optional<UsageBy> usage_by_named(std::string_view name);

struct UsageQuery {
  UsageBy by = UsageBy::key;
  std::optional<std::int64_t> since_ms;  // inclusive
  std::optional<std::int64_t> until_ms;  // exclusive
  std::string key;                       // only this key; empty: all
};

struct UsageGroup {
  std::string group;  // the key, model, alias, provider, or the UTC day as YYYY-MM-DD
  std::uint64_t requests = 0;
  std::int64_t input_tokens = 0, output_tokens = 0;
  double cost_usd = 0;
};

class Ledger {
 public:
  virtual ~Ledger();
  // Never waits on the disk. A full queue (kMaxQueued rows) makes it wait for the writer rather
  // than lose rows; rows that could not be written are counted by dropped().
  virtual void record(UsageRow row) = 0;
  // Returns once every row recorded before the call is written.
  virtual void flush() = 0;
  // Groups sorted by name. Includes every row recorded before the call.
  virtual Result<std::vector<UsageGroup>> query(const UsageQuery& q) = 0;
  // The key's spend from since_ms on.
  virtual Result<double> spent(std::string_view key, std::int64_t since_ms) = 0;
  // Rows lost: a failed batch write, or record() on a read-only ledger.
  virtual std::uint64_t dropped() const = 0;

  static constexpr std::size_t kMaxQueued = 100'000;
};

std::unique_ptr<Ledger> make_memory_ledger();
// May be the same file as the sessions' (other tables). Errors name the path and how to fix it.
Result<std::unique_ptr<Ledger>> open_sqlite_ledger(const std::string& path);
// For reports (`sluice usage`): reads a file the gateway wrote; record() drops.
Result<std::unique_ptr<Ledger>> open_sqlite_ledger_readonly(const std::string& path);

// Whether row passes q's filters, and its group name under q.by (shared by the implementations).
bool matches(const UsageQuery& q, const UsageRow& row);
std::string group_of(UsageBy by, const UsageRow& row);

}  // namespace sluice::store
