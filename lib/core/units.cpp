#include "sluice/core/units.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <optional>
#include <fmt/format.h>

namespace sluice {
namespace {

struct Unit {
  std::string_view name;
  double factor;
};

// Splits "12.5ms" into 12.5 and "ms"; false when the number part is malformed.
bool split_number(std::string_view text, double& number, std::string_view& unit,
                  std::string_view& digits) {
  std::size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
    ++i;
  if (i == 0) return false;
  auto num = text.substr(0, i);
  if (num.front() == '.' || num.back() == '.' || num.find('.') != num.rfind('.')) return false;
  auto r = std::from_chars(num.data(), num.data() + num.size(), number);
  if (r.ec != std::errc{} || r.ptr != num.data() + num.size()) return false;
  unit = text.substr(i);
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  digits = num;
  return true;
}

// A whole number times an integer factor, computed exactly: through a double, values above 2^53
// would silently change. nullopt on overflow; not called for numbers with a fraction.
std::optional<std::uint64_t> exact_product(std::string_view digits, std::uint64_t factor) {
  std::uint64_t n = 0, product = 0;
  auto r = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (r.ec != std::errc{} || __builtin_mul_overflow(n, factor, &product)) return std::nullopt;
  return product;
}

Error bad(std::string_view what, std::string_view text, std::string_view hint) {
  return make_error(ErrorKind::config, ErrorSource::internal,
                    fmt::format("invalid {} \"{}\" ({})", what, text, hint));
}

}  // namespace

Result<Duration> parse_duration(std::string_view text) {
  static constexpr Unit units[] = {{"us", 1e3}, {"ms", 1e6},   {"s", 1e9},
                                   {"m", 60e9}, {"h", 3600e9}, {"d", 86400e9}};
  constexpr std::string_view hint = "use a number and a unit: us, ms, s, m, h or d, e.g. 250ms";
  double n = 0;
  std::string_view unit, digits;
  if (!split_number(text, n, unit, digits)) return bad("duration", text, hint);
  if (unit.empty()) {
    if (n == 0) return Duration{0};
    return bad("duration", text, "a unit is required: us, ms, s, m, h or d, e.g. 250ms");
  }
  for (const auto& u : units) {
    if (unit == u.name) {
      if (digits.find('.') == std::string_view::npos) {
        auto ns = exact_product(digits, static_cast<std::uint64_t>(u.factor));
        if (!ns || *ns > static_cast<std::uint64_t>(Duration::max().count()))
          return bad("duration", text, "too large");
        return Duration{static_cast<std::int64_t>(*ns)};
      }
      double ns = n * u.factor;
      if (ns > 9.2e18) return bad("duration", text, "too large");
      return Duration{static_cast<std::int64_t>(std::llround(ns))};
    }
  }
  return bad("duration", text, hint);
}

Result<std::uint64_t> parse_size(std::string_view text) {
  static constexpr Unit units[] = {
      {"B", 1},    {"KiB", 1024.0}, {"MiB", 1048576.0}, {"GiB", 1073741824.0},
      {"KB", 1e3}, {"MB", 1e6},     {"GB", 1e9}};
  constexpr std::string_view hint = "use a number and a unit: B, KiB, MiB or GiB, e.g. 64KiB";
  double n = 0;
  std::string_view unit, digits;
  if (!split_number(text, n, unit, digits)) return bad("size", text, hint);
  double factor = 0;
  if (unit.empty()) factor = 1;
  for (const auto& u : units)
    if (unit == u.name) factor = u.factor;
  if (factor == 0) return bad("size", text, hint);
  if (digits.find('.') == std::string_view::npos) {
    auto bytes = exact_product(digits, static_cast<std::uint64_t>(factor));
    if (!bytes) return bad("size", text, "too large");
    return *bytes;
  }
  double bytes = n * factor;
  if (bytes > 1.8e19) return bad("size", text, "too large");
  if (bytes != std::floor(bytes)) return bad("size", text, "not a whole number of bytes");
  return static_cast<std::uint64_t>(bytes);
}

std::string format_duration(Duration d) {
  auto ns = d.count();
  if (ns == 0) return "0s";
  struct {
    std::int64_t f;
    const char* n;
  } units[] = {{86400'000'000'000, "d"}, {3600'000'000'000, "h"}, {60'000'000'000, "m"},
               {1'000'000'000, "s"},     {1'000'000, "ms"},       {1'000, "us"}};
  for (auto& u : units)
    if (ns % u.f == 0) return fmt::format("{}{}", ns / u.f, u.n);
  return fmt::format("{}us", static_cast<double>(ns) / 1000.0);
}

std::string format_size(std::uint64_t b) {
  if (b != 0 && b % (1ull << 30) == 0) return fmt::format("{}GiB", b >> 30);
  if (b != 0 && b % (1ull << 20) == 0) return fmt::format("{}MiB", b >> 20);
  if (b != 0 && b % (1ull << 10) == 0) return fmt::format("{}KiB", b >> 10);
  return fmt::format("{}B", b);
}

}  // namespace sluice
