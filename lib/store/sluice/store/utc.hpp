// UTC calendar arithmetic on unix milliseconds, for budgets and usage reports: day and month
// boundaries, "YYYY-MM-DD", and parsing dates and RFC 3339 timestamps. No locale, no timegm.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "sluice/core/error.hpp"

namespace sluice::store {

std::int64_t utc_day_start(std::int64_t ms);
std::int64_t utc_month_start(std::int64_t ms);
std::int64_t next_utc_day(std::int64_t ms);    // the next UTC midnight after ms's day starts
std::int64_t next_utc_month(std::int64_t ms);  // 00:00 UTC on the first of the next month

// "2025-03-07"
std::string utc_date(std::int64_t ms);
// "2025-03-07T12:30:00Z", with ".250" when the milliseconds are not zero.
std::string utc_timestamp(std::int64_t ms);

// "2025-03-07" (UTC midnight) or an RFC 3339 timestamp ("2025-03-07T12:30:00Z",
// "2025-03-07T12:30:00.250+02:00"), as unix ms.
Result<std::int64_t> parse_utc_time(std::string_view text);

}  // namespace sluice::store
