// Durations ("250ms", "14d") and sizes ("64KiB") as written in config files and flags.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "sluice/core/error.hpp"

namespace sluice {

using Duration = std::chrono::nanoseconds;

// Units: us, ms, s, m, h, d. Fractions allowed ("1.5s"). "0" alone means zero.
Result<Duration> parse_duration(std::string_view text);
// Units: B, KiB, MiB, GiB (also KB/MB/GB as powers of 1000). A bare number is bytes.
Result<std::uint64_t> parse_size(std::string_view text);

std::string format_duration(Duration d);
std::string format_size(std::uint64_t bytes);

}  // namespace sluice
