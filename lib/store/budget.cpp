// Budgets keep their period starts next to the sums, so a rollover is a comparison, not a timer.
#include "sluice/store/budget.hpp"

#include "sluice/store/utc.hpp"

namespace sluice::store {

BudgetBook::Spend BudgetBook::rolled(Spend s, std::int64_t now_ms) {
  std::int64_t day = utc_day_start(now_ms), month = utc_month_start(now_ms);
  // A clock that steps back keeps the later period rather than resetting it.
  if (day > s.day_start) s = Spend{day, s.month_start, 0, s.month};
  if (month > s.month_start) s = Spend{s.day_start, month, s.day, 0};
  return s;
}

void BudgetBook::seed(std::string_view key, double day_spent, double month_spent,
                      std::int64_t now_ms) {
  std::lock_guard lock(mu_);
  spend_[std::string(key)] =
      Spend{utc_day_start(now_ms), utc_month_start(now_ms), day_spent, month_spent};
}

void BudgetBook::add(std::string_view key, double usd, std::int64_t now_ms) {
  std::lock_guard lock(mu_);
  auto& s = spend_[std::string(key)];
  s = rolled(s, now_ms);
  s.day += usd;
  s.month += usd;
}

BudgetState BudgetBook::state(std::string_view key, std::int64_t now_ms) const {
  std::lock_guard lock(mu_);
  auto it = spend_.find(std::string(key));
  if (it == spend_.end()) return {};
  Spend s = rolled(it->second, now_ms);
  return {s.day, s.month};
}

BudgetVerdict BudgetBook::check(std::string_view key, std::optional<double> daily_limit,
                                std::optional<double> monthly_limit, std::int64_t now_ms) const {
  BudgetState s = state(key, now_ms);
  if (monthly_limit && s.month_spent >= *monthly_limit)
    return {Exhausted::month, next_utc_month(now_ms)};
  if (daily_limit && s.day_spent >= *daily_limit) return {Exhausted::day, next_utc_day(now_ms)};
  return {};
}

}  // namespace sluice::store
