// The values an expression computes: numbers, durations, strings, bools, lists, null and opaque
// objects (handles a Scope hands out, such as mock("b"), whose members it resolves later).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "sluice/core/units.hpp"

namespace sluice::expr {

enum class Kind { null, boolean, number, duration, string, list, object };

// An opaque handle: `type` names it in messages ("mock"), `id` tells instances apart ("b"), and
// `data` is whatever the Scope that made it needs to answer member lookups.
struct Object {
  std::string type;
  std::string id;
  std::shared_ptr<const void> data;
};

class Value {
 public:
  Value() = default;  // null: absent, such as a header that was not sent
  static Value null() { return Value(); }
  static Value boolean(bool b) { return Value(Rep(b)); }
  static Value number(double n) { return Value(Rep(n)); }
  static Value duration(Duration d) { return Value(Rep(d)); }
  static Value string(std::string s) { return Value(Rep(std::move(s))); }
  static Value list(std::vector<Value> items);
  static Value object(Object o);

  Kind kind() const { return static_cast<Kind>(rep_.index()); }
  bool is(Kind k) const { return kind() == k; }
  bool as_bool() const { return std::get<bool>(rep_); }
  double as_number() const { return std::get<double>(rep_); }
  Duration as_duration() const { return std::get<Duration>(rep_); }
  const std::string& as_string() const { return std::get<std::string>(rep_); }
  const std::vector<Value>& as_list() const { return *std::get<ListPtr>(rep_); }
  const Object& as_object() const { return *std::get<ObjectPtr>(rep_); }

 private:
  using ListPtr = std::shared_ptr<const std::vector<Value>>;
  using ObjectPtr = std::shared_ptr<const Object>;
  // The order matches Kind.
  using Rep = std::variant<std::monostate, bool, double, Duration, std::string, ListPtr, ObjectPtr>;
  explicit Value(Rep r) : rep_(std::move(r)) {}
  Rep rep_;
};

// "number", "duration", ...; an object reports its own type ("mock").
std::string type_name(const Value& v);
std::string_view kind_name(Kind k);
// How a value is shown in messages and explain(): 42, 0.45, 73.2ms, "ok", [200, 204], mock("b").
std::string to_display(const Value& v);
// Shows a number the way a user writes it (42, not 42.0).
std::string format_number(double n);
// Durations with the largest unit that keeps them readable: 73.2ms, 1.5s, 2h.
std::string format_duration_short(Duration d);
// Quotes and escapes a string the way the language writes it.
std::string quote(std::string_view s);

}  // namespace sluice::expr
