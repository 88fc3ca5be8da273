// Logging helpers: level names and the RFC 3339 timestamp format.
#include "sluice/core/log.hpp"

#include <chrono>
#include <ctime>
#include <regex>
#include <string>

#include <catch2/catch.hpp>

namespace slog = sluice::log;

TEST_CASE("parse_level accepts the four level names", "[core][log]") {
  struct Case {
    const char* text;
    slog::Level level;
  };
  for (const auto& c : {Case{"error", slog::Level::error}, Case{"warn", slog::Level::warn},
                        Case{"info", slog::Level::info}, Case{"debug", slog::Level::debug}}) {
    INFO(c.text);
    slog::Level out = c.level == slog::Level::debug ? slog::Level::error : slog::Level::debug;
    CHECK(slog::parse_level(c.text, out));
    CHECK(out == c.level);
  }
}

TEST_CASE("parse_level rejects anything else and leaves the output alone", "[core][log]") {
  for (const char* text : {"", "INFO", "Info", "warning", "err", "trace", " info", "info "}) {
    INFO(text);
    slog::Level out = slog::Level::warn;
    CHECK_FALSE(slog::parse_level(text, out));
    CHECK(out == slog::Level::warn);
  }
}

TEST_CASE("set_level and enabled", "[core][log]") {
  slog::set_level(slog::Level::warn);
  CHECK(slog::enabled(slog::Level::error));
  CHECK(slog::enabled(slog::Level::warn));
  CHECK_FALSE(slog::enabled(slog::Level::info));
  CHECK_FALSE(slog::enabled(slog::Level::debug));
  slog::set_level(slog::Level::debug);
  CHECK(slog::enabled(slog::Level::debug));
  slog::set_level(slog::Level::info);  // the default, for the other tests
  CHECK(slog::enabled(slog::Level::info));
  CHECK_FALSE(slog::enabled(slog::Level::debug));
}

TEST_CASE("rfc3339_now is UTC with milliseconds", "[core][log]") {
  const std::string before_year = [] {
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    return std::to_string(tm.tm_year + 1900);
  }();
  const std::string s = slog::rfc3339_now();
  INFO(s);
  std::smatch m;
  REQUIRE(std::regex_match(
      s, m, std::regex(R"((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{3})Z)")));
  const std::string after_year = [] {
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    return std::to_string(tm.tm_year + 1900);
  }();
  CHECK((m[1] == before_year || m[1] == after_year));
  int month = std::stoi(m[2]), day = std::stoi(m[3]), hour = std::stoi(m[4]);
  int minute = std::stoi(m[5]), second = std::stoi(m[6]);
  CHECK((month >= 1 && month <= 12));
  CHECK((day >= 1 && day <= 31));
  CHECK(hour <= 23);
  CHECK(minute <= 59);
  CHECK(second <= 60);
}
