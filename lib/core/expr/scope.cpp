#include "sluice/core/expr/scope.hpp"

#include <algorithm>
#include <cctype>
#include <fmt/format.h>

namespace sluice::expr {
namespace {

Error name_error(std::string message) {
  return make_error(ErrorKind::config, ErrorSource::internal, std::move(message));
}

// Optimal string alignment distance, case-insensitive: a transposition counts as one typo.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  auto low = [](char c) { return std::tolower(static_cast<unsigned char>(c)); };
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t cost = low(a[i - 1]) == low(b[j - 1]) ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && low(a[i - 1]) == low(b[j - 2]) && low(a[i - 2]) == low(b[j - 1]))
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

// " (did you mean "x"?)", or the whole list when it is short, or nothing.
std::string suggestion(std::string_view word, const std::vector<std::string>& known,
                       std::string_view what) {
  if (auto near = closest_name(word, known)) return fmt::format(" (did you mean \"{}\"?)", *near);
  if (!known.empty() && known.size() <= 8)
    return fmt::format(" (known {}: {})", what, fmt::join(known, ", "));
  return "";
}

template <class Map>
std::vector<std::string> keys(const Map& m) {
  std::vector<std::string> out;
  for (const auto& kv : m) out.push_back(kv.first);
  return out;
}

}  // namespace

const Value* Arguments::find(std::string_view key) const {
  for (const auto& [k, v] : keyword)
    if (k == key) return &v;
  return nullptr;
}

std::optional<std::string> closest_name(std::string_view word,
                                        const std::vector<std::string>& candidates) {
  // On very short words two edits can turn anything into anything.
  const std::size_t limit = word.size() <= 3 ? 1 : 2;
  if (word.size() > 256) return std::nullopt;  // not a typo; and keeps the table small
  std::optional<std::string> best;
  std::size_t best_distance = limit + 1;
  for (const auto& c : candidates) {
    if (c.size() > 256) continue;
    auto d = edit_distance(word, c);
    if (d < best_distance) best = c, best_distance = d;
  }
  return best;
}

Error unknown_name(std::string_view name, const std::vector<std::string>& known) {
  return name_error(fmt::format("unknown name \"{}\"{}", name, suggestion(name, known, "names")));
}

Error unknown_function(std::string_view name, const std::vector<std::string>& known) {
  return name_error(
      fmt::format("unknown function \"{}\"{}", name, suggestion(name, known, "functions")));
}

Error unknown_member(const Value& object, std::string_view name,
                     const std::vector<std::string>& known) {
  return name_error(fmt::format("{} has no member \"{}\"{}", to_display(object), name,
                                suggestion(name, known, "members")));
}

Result<Value> Scope::call(std::string_view name, const Arguments&) const {
  return unknown_function(name, {});
}

Result<Value> Scope::member(const Value& object, std::string_view name) const {
  if (!object.is(Kind::object))
    return name_error(fmt::format("{} ({}) has no members, so .{} does not apply",
                                  type_name(object), to_display(object), name));
  return unknown_member(object, name, {});
}

Result<Value> Scope::method(const Value& object, std::string_view name, const Arguments&) const {
  if (!object.is(Kind::object))
    return name_error(fmt::format("{} ({}) has no methods, so .{}(...) does not apply",
                                  type_name(object), to_display(object), name));
  return name_error(fmt::format("{} has no method \"{}\"", to_display(object), name));
}

MapScope& MapScope::set(std::string name, Value v) {
  values_.insert_or_assign(std::move(name), std::move(v));
  return *this;
}

MapScope& MapScope::define(std::string name, Function f) {
  functions_.insert_or_assign(std::move(name), std::move(f));
  return *this;
}

MapScope& MapScope::members(std::string object_type, MemberFn f) {
  members_.insert_or_assign(std::move(object_type), std::move(f));
  return *this;
}

MapScope& MapScope::methods(std::string object_type, MethodFn f) {
  methods_.insert_or_assign(std::move(object_type), std::move(f));
  return *this;
}

Result<Value> MapScope::get(std::string_view name) const {
  if (auto it = values_.find(name); it != values_.end()) return it->second;
  if (functions_.contains(name))
    return name_error(fmt::format("\"{}\" is a function (hint: call it: {}(...))", name, name));
  return unknown_name(name, keys(values_));
}

Result<Value> MapScope::call(std::string_view name, const Arguments& args) const {
  if (auto it = functions_.find(name); it != functions_.end()) return it->second(args);
  if (values_.contains(name))
    return name_error(fmt::format("\"{}\" is not a function (hint: drop the parentheses)", name));
  return unknown_function(name, keys(functions_));
}

Result<Value> MapScope::member(const Value& object, std::string_view name) const {
  if (object.is(Kind::object))
    if (auto it = members_.find(object.as_object().type); it != members_.end())
      return it->second(object.as_object(), name);
  return Scope::member(object, name);
}

Result<Value> MapScope::method(const Value& object, std::string_view name,
                               const Arguments& args) const {
  if (object.is(Kind::object))
    if (auto it = methods_.find(object.as_object().type); it != methods_.end())
      return it->second(object.as_object(), name, args);
  return Scope::method(object, name, args);
}

}  // namespace sluice::expr
