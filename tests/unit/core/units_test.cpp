// Durations and sizes: parsing, the exact error texts config messages build on, and
// format -> parse round trips.
#include <cstdint>
#include <random>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "sluice/core/units.hpp"

using namespace sluice;
using namespace std::chrono_literals;

TEST_CASE("parse_duration: units and fractions", "[units]") {
  struct Case {
    std::string_view text;
    Duration want;
  };
  for (const auto& c :
       {Case{"250ms", 250ms}, Case{"1.5s", 1500ms}, Case{"14d", 14 * 24h}, Case{"0", 0s},
        Case{"0s", 0s}, Case{"0.0", 0s}, Case{"1us", 1us}, Case{"2m", 2min}, Case{"3h", 3h},
        Case{"0.5ms", 500us}, Case{"0.001us", 1ns}, Case{"10s", 10s}, Case{"1.25h", 75min},
        Case{"106751d", 106751 * 24h}}) {
    INFO(c.text);
    auto r = parse_duration(c.text);
    REQUIRE(r.ok());
    CHECK(*r == c.want);
  }
}

TEST_CASE("parse_duration: errors", "[units]") {
  constexpr std::string_view hint = "use a number and a unit: us, ms, s, m, h or d, e.g. 250ms";
  for (std::string_view text : {"", "s", "10x", "-1s", ".5s", "1.s", "1..5s", "1.2.3s", "10 sec",
                                "1e3s", "10S", "ten seconds"}) {
    INFO(text);
    auto r = parse_duration(text);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::config);
    CHECK(r.error().message == fmt::format("invalid duration \"{}\" ({})", text, hint));
  }
  auto bare = parse_duration("10");
  REQUIRE_FALSE(bare.ok());
  CHECK(bare.error().message ==
        "invalid duration \"10\" (a unit is required: us, ms, s, m, h or d, e.g. 250ms)");
  for (std::string_view text : {"106752d", "99999999999999999999s", "1000000000000000000.5h"}) {
    INFO(text);
    auto big = parse_duration(text);
    REQUIRE_FALSE(big.ok());
    CHECK(big.error().message == fmt::format("invalid duration \"{}\" (too large)", text));
  }
}

TEST_CASE("parse_size: units, fractions and bare bytes", "[units]") {
  struct Case {
    std::string_view text;
    std::uint64_t want;
  };
  for (const auto& c :
       {Case{"64KiB", 65536}, Case{"1MiB", 1ull << 20}, Case{"1GiB", 1ull << 30}, Case{"1KB", 1000},
        Case{"1MB", 1000000}, Case{"2GB", 2000000000}, Case{"512B", 512}, Case{"512", 512},
        Case{"0", 0}, Case{"0B", 0}, Case{"1.5KiB", 1536}, Case{"0.5MiB", 512 * 1024},
        // Whole numbers stay exact above 2^53, where a double would round.
        Case{"9007199254740993", 9007199254740993ull}, Case{"18446744073709551615", UINT64_MAX},
        Case{"17179869183GiB", 17179869183ull << 30}}) {
    INFO(c.text);
    auto r = parse_size(c.text);
    REQUIRE(r.ok());
    CHECK(*r == c.want);
  }
}

TEST_CASE("parse_size: errors", "[units]") {
  constexpr std::string_view hint = "use a number and a unit: B, KiB, MiB or GiB, e.g. 64KiB";
  for (std::string_view text : {"", "KiB", "64kib", "64 parsecs", "-1", "1.5.5KiB", "1TiB", "x"}) {
    INFO(text);
    auto r = parse_size(text);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == fmt::format("invalid size \"{}\" ({})", text, hint));
  }
  auto frac = parse_size("1.5");
  REQUIRE_FALSE(frac.ok());
  CHECK(frac.error().message == "invalid size \"1.5\" (not a whole number of bytes)");
  for (std::string_view text : {"18446744073709551616", "17179869184GiB", "20000000000.5GiB"}) {
    INFO(text);
    auto big = parse_size(text);
    REQUIRE_FALSE(big.ok());
    CHECK(big.error().message == fmt::format("invalid size \"{}\" (too large)", text));
  }
}

TEST_CASE("format_duration picks the largest exact unit", "[units]") {
  CHECK(format_duration(0s) == "0s");
  CHECK(format_duration(10s) == "10s");
  CHECK(format_duration(90s) == "90s");
  CHECK(format_duration(60s) == "1m");
  CHECK(format_duration(2h) == "2h");
  CHECK(format_duration(48h) == "2d");
  CHECK(format_duration(1500ms) == "1500ms");
  CHECK(format_duration(250us) == "250us");
  CHECK(format_duration(1500ns) == "1.5us");
  CHECK(format_duration(1ns) == "0.001us");
}

TEST_CASE("format_size picks the largest exact binary unit", "[units]") {
  CHECK(format_size(0) == "0B");
  CHECK(format_size(1) == "1B");
  CHECK(format_size(1024) == "1KiB");
  CHECK(format_size(1536) == "1536B");
  CHECK(format_size(64 * 1024) == "64KiB");
  CHECK(format_size(3ull << 20) == "3MiB");
  CHECK(format_size(1ull << 30) == "1GiB");
  CHECK(format_size(1000) == "1000B");
}

TEST_CASE("durations and sizes survive format then parse", "[units]") {
  std::mt19937_64 rng(42);  // fixed seed: the same values every run
  for (int i = 0; i < 2000; ++i) {
    // Whole microseconds up to about 100 years, and whole sizes of every magnitude.
    Duration d = std::chrono::microseconds(rng() % 3'000'000'000'000'000ull);
    auto pd = parse_duration(format_duration(d));
    INFO(format_duration(d));
    REQUIRE(pd.ok());
    CHECK(*pd == d);

    std::uint64_t bytes = rng() >> (rng() % 64);
    if (i % 2 == 0) bytes <<= 10 * (1 + (i / 2) % 3);  // often a whole KiB, MiB or GiB
    auto ps = parse_size(format_size(bytes));
    INFO(format_size(bytes));
    REQUIRE(ps.ok());
    CHECK(*ps == bytes);
  }
  for (Duration d : {Duration{0}, Duration{1}, Duration{999}, Duration{1500}, Duration{123456789},
                     Duration{999'999'999'999}}) {
    auto pd = parse_duration(format_duration(d));
    REQUIRE(pd.ok());
    CHECK(*pd == d);
  }
  for (std::uint64_t bytes : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{1023}, UINT64_MAX,
                              std::uint64_t{1} << 63, (std::uint64_t{1} << 34) * 3}) {
    auto ps = parse_size(format_size(bytes));
    REQUIRE(ps.ok());
    CHECK(*ps == bytes);
  }
}
