#include "sluice/core/expr/value.hpp"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fmt/format.h>

namespace sluice::expr {

Value Value::list(std::vector<Value> items) {
  return Value(Rep(std::make_shared<const std::vector<Value>>(std::move(items))));
}

Value Value::object(Object o) {
  return Value(Rep(std::make_shared<const Object>(std::move(o))));
}

std::string_view kind_name(Kind k) {
  switch (k) {
    case Kind::null:
      return "null";
    case Kind::boolean:
      return "bool";
    case Kind::number:
      return "number";
    case Kind::duration:
      return "duration";
    case Kind::string:
      return "string";
    case Kind::list:
      return "list";
    case Kind::object:
      return "object";
  }
  return "null";
}

std::string type_name(const Value& v) {
  if (v.is(Kind::object) && !v.as_object().type.empty()) return v.as_object().type;
  return std::string(kind_name(v.kind()));
}

std::string format_number(double n) {
  if (std::isfinite(n) && n == std::trunc(n) && std::fabs(n) < 1e15)
    return fmt::format("{}", static_cast<std::int64_t>(n));
  return fmt::format("{}", n);
}

std::string format_duration_short(Duration d) {
  struct Unit {
    std::int64_t ns;
    const char* name;
  };
  static constexpr Unit units[] = {{86400'000'000'000, "d"}, {3600'000'000'000, "h"},
                                   {60'000'000'000, "m"},    {1'000'000'000, "s"},
                                   {1'000'000, "ms"},        {1'000, "us"}};
  auto ns = d.count();
  if (ns == 0) return "0s";
  // Magnitude as unsigned so that the most negative duration does not overflow.
  auto mag = ns < 0 ? 0 - static_cast<std::uint64_t>(ns) : static_cast<std::uint64_t>(ns);
  const char* sign = ns < 0 ? "-" : "";
  for (const auto& u : units) {
    if (mag < static_cast<std::uint64_t>(u.ns)) continue;
    auto text = fmt::format("{:.3f}", static_cast<double>(mag) / static_cast<double>(u.ns));
    while (text.back() == '0') text.pop_back();
    if (text.back() == '.') text.pop_back();
    return fmt::format("{}{}{}", sign, text, u.name);
  }
  return fmt::format("{}{}ns", sign, mag);
}

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += c;
    }
  }
  out += '"';
  return out;
}

std::string to_display(const Value& v) {
  switch (v.kind()) {
    case Kind::null:
      return "null";
    case Kind::boolean:
      return v.as_bool() ? "true" : "false";
    case Kind::number:
      return format_number(v.as_number());
    case Kind::duration:
      return format_duration_short(v.as_duration());
    case Kind::string: {
      // A whole response body would drown the message; the start and the size tell enough.
      constexpr std::size_t kShown = 100;
      const auto& text = v.as_string();
      if (text.size() <= kShown + 20) return quote(text);
      auto cut = kShown;
      while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
      auto shown = quote(std::string_view(text).substr(0, cut));
      shown.pop_back();
      return fmt::format("{}...\" ({} bytes)", shown, text.size());
    }
    case Kind::list: {
      std::string out = "[";
      for (const auto& item : v.as_list()) {
        if (out.size() > 1) out += ", ";
        out += to_display(item);
      }
      return out + "]";
    }
    case Kind::object: {
      const auto& o = v.as_object();
      return o.id.empty() ? o.type : fmt::format("{}({})", o.type, quote(o.id));
    }
  }
  return "null";
}

}  // namespace sluice::expr
