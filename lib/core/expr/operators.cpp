#include "expr/operators.hpp"

#include <cmath>
#include <cstdint>
#include <fmt/format.h>

#include "expr/pattern.hpp"

namespace sluice::expr {
namespace {

Error type_error(std::string message) {
  return make_error(ErrorKind::config, ErrorSource::internal, std::move(message));
}

// "duration (73.2ms)"
std::string typed(const Value& v) {
  return fmt::format("{} ({})", type_name(v), to_display(v));
}

// A number next to a duration almost always lacks its unit.
std::string unit_hint(const Value& a, const Value& b) {
  const Value* plain = nullptr;
  if (a.is(Kind::duration) && b.is(Kind::number)) plain = &b;
  if (a.is(Kind::number) && b.is(Kind::duration)) plain = &a;
  if (!plain) return "";
  return fmt::format(" (hint: give the number a unit, e.g. {}ms)", to_display(*plain));
}

Result<Value> from_double_ns(double ns) {
  if (!std::isfinite(ns) || std::fabs(ns) > 9.2e18)
    return type_error("duration arithmetic is out of range");
  return Value::duration(Duration(static_cast<std::int64_t>(std::llround(ns))));
}

Result<Value> finite(double n) {
  if (!std::isfinite(n)) return type_error("arithmetic result is out of range");
  return Value::number(n);
}

}  // namespace

Result<bool> equals(const Value& a, const Value& b) {
  if (a.is(Kind::null) || b.is(Kind::null)) return a.kind() == b.kind();
  if (a.kind() != b.kind())
    return type_error(
        fmt::format("cannot compare {} with {}{}", typed(a), typed(b), unit_hint(a, b)));
  switch (a.kind()) {
    case Kind::null:
      return true;
    case Kind::boolean:
      return a.as_bool() == b.as_bool();
    case Kind::number:
      return a.as_number() == b.as_number();
    case Kind::duration:
      return a.as_duration() == b.as_duration();
    case Kind::string:
      return a.as_string() == b.as_string();
    case Kind::list: {
      const auto &x = a.as_list(), &y = b.as_list();
      if (x.size() != y.size()) return false;
      for (std::size_t i = 0; i < x.size(); ++i) {
        // Items of different types are simply unequal inside lists.
        if (x[i].kind() != y[i].kind()) return false;
        auto same = equals(x[i], y[i]);
        if (!same.ok() || !*same) return same;
      }
      return true;
    }
    case Kind::object:
      return a.as_object().type == b.as_object().type && a.as_object().id == b.as_object().id;
  }
  return false;
}

Result<bool> compare(Op op, const Value& a, const Value& b) {
  int order = 0;
  if (a.is(Kind::number) && b.is(Kind::number)) {
    double x = a.as_number(), y = b.as_number();
    order = x < y ? -1 : (x > y ? 1 : 0);
  } else if (a.is(Kind::duration) && b.is(Kind::duration)) {
    auto x = a.as_duration(), y = b.as_duration();
    order = x < y ? -1 : (x > y ? 1 : 0);
  } else if (a.is(Kind::string) && b.is(Kind::string)) {
    order = a.as_string().compare(b.as_string());
  } else {
    return type_error(
        fmt::format("cannot compare {} with {}{}", typed(a), typed(b), unit_hint(a, b)));
  }
  switch (op) {
    case Op::lt:
      return order < 0;
    case Op::le:
      return order <= 0;
    case Op::gt:
      return order > 0;
    default:
      return order >= 0;
  }
}

Result<Value> arithmetic(Op op, const Value& a, const Value& b) {
  const bool num_a = a.is(Kind::number), num_b = b.is(Kind::number);
  const bool dur_a = a.is(Kind::duration), dur_b = b.is(Kind::duration);
  auto ns = [](const Value& v) { return static_cast<double>(v.as_duration().count()); };
  if ((op == Op::div) && (num_b || dur_b) && (num_a || dur_a) &&
      (num_b ? b.as_number() == 0 : b.as_duration().count() == 0))
    return type_error(fmt::format("division by zero: {} / {}", to_display(a), to_display(b)));
  switch (op) {
    case Op::add:
    case Op::sub: {
      double sign = op == Op::add ? 1 : -1;
      if (num_a && num_b) return finite(a.as_number() + sign * b.as_number());
      if (dur_a && dur_b) return from_double_ns(ns(a) + sign * ns(b));
      if (op == Op::add && a.is(Kind::string) && b.is(Kind::string))
        return Value::string(a.as_string() + b.as_string());
      break;
    }
    case Op::mul:
      if (num_a && num_b) return finite(a.as_number() * b.as_number());
      if (dur_a && num_b) return from_double_ns(ns(a) * b.as_number());
      if (num_a && dur_b) return from_double_ns(a.as_number() * ns(b));
      break;
    case Op::div:
      if (num_a && num_b) return finite(a.as_number() / b.as_number());
      if (dur_a && num_b) return from_double_ns(ns(a) / b.as_number());
      if (dur_a && dur_b) return finite(ns(a) / ns(b));
      break;
    default:
      break;
  }
  std::string hint = (op == Op::add || op == Op::sub) ? unit_hint(a, b) : "";
  return type_error(
      fmt::format("cannot apply {} to {} and {}{}", op_spelling(op), typed(a), typed(b), hint));
}

Result<Value> negate(const Value& v) {
  if (v.is(Kind::number)) return Value::number(-v.as_number());
  if (v.is(Kind::duration) && v.as_duration() != Duration::min())
    return Value::duration(-v.as_duration());
  return type_error(fmt::format("cannot negate {}", typed(v)));
}

Result<bool> member_of(const Value& item, const Value& set) {
  if (set.is(Kind::string)) {
    if (!item.is(Kind::string))
      return type_error(fmt::format("a string can only contain a string, not {}", typed(item)));
    return set.as_string().find(item.as_string()) != std::string::npos;
  }
  if (!set.is(Kind::list))
    return type_error(fmt::format("in needs a list or a range on its right, not {}", typed(set)));
  for (const auto& candidate : set.as_list()) {
    // A list may mix types; only a number against a duration is a mistake worth reporting.
    bool unit_mixup = (item.is(Kind::number) && candidate.is(Kind::duration)) ||
                      (item.is(Kind::duration) && candidate.is(Kind::number));
    if (!unit_mixup && item.kind() != candidate.kind()) continue;
    auto same = equals(item, candidate);
    if (!same.ok() || *same) return same;
  }
  return false;
}

Result<bool> contains(const Value& haystack, const Value& needle) {
  if (haystack.is(Kind::string) || haystack.is(Kind::list)) return member_of(needle, haystack);
  return type_error(
      fmt::format("contains needs a string or a list on its left, not {}", typed(haystack)));
}

Result<bool> in_range(const Value& item, const Value& low, const Value& high) {
  auto above = compare(Op::ge, item, low);
  if (!above.ok()) return above;
  auto below = compare(Op::le, item, high);
  if (!below.ok()) return below;
  return *above && *below;
}

Result<bool> matches(const Value& subject, const Value& pattern, const Pattern* compiled) {
  if (!subject.is(Kind::string) || !pattern.is(Kind::string))
    return type_error(
        fmt::format("matches needs two strings, not {} and {}", typed(subject), typed(pattern)));
  if (compiled) return compiled->search(subject.as_string());
  auto dynamic = Pattern::compile(pattern.as_string());
  if (!dynamic.ok()) return dynamic.take_error();
  return (*dynamic)->search(subject.as_string());
}

}  // namespace sluice::expr
