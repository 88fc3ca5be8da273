// What the ledger implementations share: names of the groupings, filters.
#include "sluice/store/ledger.hpp"

#include "sluice/store/utc.hpp"

namespace sluice::store {

Ledger::~Ledger() = default;

std::string_view to_string(UsageBy by) {
  switch (by) {
    case UsageBy::key:
      return "key";
    case UsageBy::model:
      return "model";
    case UsageBy::day:
      return "day";
    case UsageBy::alias:
      return "alias";
    case UsageBy::provider:
      return "provider";
  }
  return "key";
}

std::optional<UsageBy> usage_by_named(std::string_view name) {
  for (auto by : {UsageBy::key, UsageBy::model, UsageBy::day, UsageBy::alias, UsageBy::provider})
    if (to_string(by) == name) return by;
  return std::nullopt;
}

bool matches(const UsageQuery& q, const UsageRow& row) {
  return (!q.since_ms || row.ts_ms >= *q.since_ms) && (!q.until_ms || row.ts_ms < *q.until_ms) &&
         (q.key.empty() || row.key == q.key);
}

std::string group_of(UsageBy by, const UsageRow& row) {
  switch (by) {
    case UsageBy::key:
      return row.key;
    case UsageBy::model:
      return row.model;
    case UsageBy::day:
      return utc_date(row.ts_ms);
    case UsageBy::alias:
      return row.alias;
    case UsageBy::provider:
      return row.provider;
  }
  return row.key;
}

}  // namespace sluice::store
