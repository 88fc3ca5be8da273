// Spend per key for the current UTC day and month, in memory, for budget checks on the request
// path. Seeded from the ledger at start; rolls over exactly at UTC midnight and on the first of
// the month.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace sluice::store {

struct BudgetState {
  double day_spent = 0;
  double month_spent = 0;
};

enum class Exhausted { none, day, month };

struct BudgetVerdict {
  Exhausted exhausted = Exhausted::none;
  std::int64_t resets_at_ms = 0;  // when the request may be retried; 0 when none is exhausted
};

class BudgetBook {
 public:
  // Sets the key's spend so far today and this month (from the ledger, at start).
  void seed(std::string_view key, double day_spent, double month_spent, std::int64_t now_ms);
  void add(std::string_view key, double usd, std::int64_t now_ms);
  BudgetState state(std::string_view key, std::int64_t now_ms) const;

  // A key is over a budget once its spend is >= the limit: the request that crosses the limit is
  // allowed (its cost is known only afterwards), the next one is refused. With both exhausted,
  // the month is reported (it resets last). A limit given as nullopt is not checked.
  BudgetVerdict check(std::string_view key, std::optional<double> daily_limit,
                      std::optional<double> monthly_limit, std::int64_t now_ms) const;

 private:
  struct Spend {
    std::int64_t day_start = 0, month_start = 0;
    double day = 0, month = 0;
  };
  // The key's spend as of now_ms: zeroed where a day or month has passed since it was recorded.
  static Spend rolled(Spend s, std::int64_t now_ms);

  mutable std::mutex mu_;
  std::unordered_map<std::string, Spend> spend_;
};

}  // namespace sluice::store
