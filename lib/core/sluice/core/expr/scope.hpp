// The names an expression can use. The caller implements Scope (chaos assertions, probe
// conditions); MapScope is a ready-made one for tests and small tools.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sluice/core/error.hpp"
#include "sluice/core/expr/value.hpp"

namespace sluice::expr {

// The arguments of a call: f(1, "x", key="v").
struct Arguments {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;

  const Value* find(std::string_view key) const;
};

class Scope {
 public:
  virtual ~Scope() = default;
  // A (possibly dotted) name: client.errors. Unknown names should return unknown_name(...).
  virtual Result<Value> get(std::string_view name) const = 0;
  // A call of a (possibly dotted) name: client.status(504), mock("b").
  virtual Result<Value> call(std::string_view name, const Arguments& args) const;
  // A member of a value, usually an Object: mock("b").requests.
  virtual Result<Value> member(const Value& object, std::string_view name) const;
  // A method call on a value: mock("b").status(504).
  virtual Result<Value> method(const Value& object, std::string_view name,
                               const Arguments& args) const;
};

// Errors phrased the same way by every Scope; `known` feeds the "did you mean".
Error unknown_name(std::string_view name, const std::vector<std::string>& known);
Error unknown_function(std::string_view name, const std::vector<std::string>& known);
Error unknown_member(const Value& object, std::string_view name,
                     const std::vector<std::string>& known);
// The closest candidate within a couple of typos, if any.
std::optional<std::string> closest_name(std::string_view word,
                                        const std::vector<std::string>& candidates);

class MapScope : public Scope {
 public:
  using Function = std::function<Result<Value>(const Arguments&)>;
  using MemberFn = std::function<Result<Value>(const Object&, std::string_view name)>;
  using MethodFn =
      std::function<Result<Value>(const Object&, std::string_view name, const Arguments&)>;

  MapScope& set(std::string name, Value v);
  MapScope& define(std::string name, Function f);
  // Member and method lookups on objects whose type is `object_type`.
  MapScope& members(std::string object_type, MemberFn f);
  MapScope& methods(std::string object_type, MethodFn f);

  Result<Value> get(std::string_view name) const override;
  Result<Value> call(std::string_view name, const Arguments& args) const override;
  Result<Value> member(const Value& object, std::string_view name) const override;
  Result<Value> method(const Value& object, std::string_view name,
                       const Arguments& args) const override;

 private:
  std::map<std::string, Value, std::less<>> values_;
  std::map<std::string, Function, std::less<>> functions_;
  std::map<std::string, MemberFn, std::less<>> members_;
  std::map<std::string, MethodFn, std::less<>> methods_;
};

}  // namespace sluice::expr
