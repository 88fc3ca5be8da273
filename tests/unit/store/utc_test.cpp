// UTC day and month boundaries, dates, and RFC 3339 parsing.
#include "sluice/store/utc.hpp"

#include <catch2/catch.hpp>

using namespace sluice::store;

namespace {
constexpr std::int64_t kDay = 86'400'000;
// 2024-02-29T13:14:15.678Z (a leap day)
constexpr std::int64_t kLeap = 1709212455678;
}  // namespace

TEST_CASE("UTC day and month boundaries", "[store][utc]") {
  CHECK(utc_date(kLeap) == "2024-02-29");
  CHECK(utc_timestamp(kLeap) == "2024-02-29T13:14:15.678Z");
  CHECK(utc_timestamp(utc_day_start(kLeap)) == "2024-02-29T00:00:00Z");
  CHECK(utc_day_start(kLeap) == 1709164800000);
  CHECK(next_utc_day(kLeap) == 1709164800000 + kDay);
  CHECK(utc_date(next_utc_day(kLeap)) == "2024-03-01");
  CHECK(utc_month_start(kLeap) == 1706745600000);                  // 2024-02-01
  CHECK(next_utc_month(kLeap) == 1709251200000);                   // 2024-03-01
  CHECK(utc_date(next_utc_month(1703980800000)) == "2024-01-01");  // from 2023-12-31
  CHECK(utc_day_start(utc_day_start(kLeap)) == utc_day_start(kLeap));
  CHECK(utc_day_start(next_utc_day(kLeap) - 1) == utc_day_start(kLeap));
}

TEST_CASE("dates and RFC 3339 timestamps parse to unix ms", "[store][utc]") {
  CHECK(*parse_utc_time("2024-02-29") == 1709164800000);
  CHECK(*parse_utc_time("2024-02-29T13:14:15.678Z") == kLeap);
  CHECK(*parse_utc_time("2024-02-29T13:14:15Z") == kLeap - 678);
  CHECK(*parse_utc_time("2024-02-29T15:14:15.678+02:00") == kLeap);
  CHECK(*parse_utc_time("2024-02-29T12:44:15.678-00:30") == kLeap);
  for (const char* bad : {"2023-02-29", "2024-13-01", "24-02-01", "2024-02-29T25:00:00Z",
                          "2024-02-29T13:14:15", "2024-02-29T13:14:15+2", "yesterday", ""}) {
    INFO(bad);
    auto r = parse_utc_time(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("hint:") != std::string::npos);
  }
}
