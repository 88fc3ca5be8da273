// Budgets roll over exactly at UTC midnight and on the first of the month; the request that
// crosses a limit passes, the next is refused.
#include "sluice/store/budget.hpp"

#include <catch2/catch.hpp>

#include "sluice/store/utc.hpp"

using namespace sluice::store;

namespace {
constexpr std::int64_t kFeb29 = 1709164800000;  // 2024-02-29T00:00:00Z
constexpr std::int64_t kMar1 = kFeb29 + 86'400'000;
}  // namespace

TEST_CASE("budgets roll over at UTC midnight and at the month boundary", "[store][budget]") {
  BudgetBook book;
  book.seed("k", 1.0, 10.0, kFeb29 + 5000);
  book.add("k", 0.5, kMar1 - 1);
  CHECK(book.state("k", kMar1 - 1).day_spent == 1.5);
  CHECK(book.state("k", kMar1 - 1).month_spent == 10.5);
  // Midnight, and the first of March: both periods reset.
  CHECK(book.state("k", kMar1).day_spent == 0.0);
  CHECK(book.state("k", kMar1).month_spent == 0.0);
  book.add("k", 2.0, kMar1 + 10);
  book.add("k", 1.0, kMar1 + 86'400'000);  // March 2: the day resets, the month goes on
  auto s = book.state("k", kMar1 + 86'400'000);
  CHECK(s.day_spent == 1.0);
  CHECK(s.month_spent == 3.0);
  CHECK(book.state("unknown", kMar1).month_spent == 0.0);
}

TEST_CASE("a budget is exhausted once spend reaches the limit", "[store][budget]") {
  BudgetBook book;
  std::int64_t now = kFeb29 + 1000;
  CHECK(book.check("k", 1.0, 5.0, now).exhausted == Exhausted::none);
  book.add("k", 0.75, now);
  CHECK(book.check("k", 1.0, 5.0, now).exhausted == Exhausted::none);
  book.add("k", 0.5, now);  // crosses the daily limit: this one was allowed
  auto v = book.check("k", 1.0, 5.0, now);
  CHECK(v.exhausted == Exhausted::day);
  CHECK(v.resets_at_ms == kMar1);
  CHECK(book.check("k", std::nullopt, 5.0, now).exhausted == Exhausted::none);
  CHECK(book.check("k", 1.0, 5.0, kMar1).exhausted == Exhausted::none);

  BudgetBook exact;
  exact.add("k", 2.0, now);
  CHECK(exact.check("k", 2.0, std::nullopt, now).exhausted == Exhausted::day);  // >= limit
  auto month = exact.check("k", 2.0, 2.0, now);
  CHECK(month.exhausted == Exhausted::month);  // both: the month resets last
  CHECK(month.resets_at_ms == next_utc_month(now));
  CHECK(utc_date(month.resets_at_ms) == "2024-03-01");
}
