#include "sluice/core/expr/scope.hpp"

#include "sluice/core/suggest.hpp"

#include <algorithm>
#include <cctype>
#include <fmt/format.h>

namespace sluice::expr {
namespace {

Error name_error(std::string message) {
  return make_error(ErrorKind::config, ErrorSource::internal, std::move(message));
}

// Optimal string alignment distance, case-insensitive: a transposition counts as one typo.
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
  return sluice::closest(word, candidates);
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
