// The expression language shared by chaos assertions and probe conditions:
//   client.p99 < 50ms    mock("b").requests >= 0.45 * client.requests
//   body contains "ok" and status in [200, 204]
// The reference is man/sluice-expressions.7.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "sluice/core/error.hpp"
#include "sluice/core/expr/ast.hpp"
#include "sluice/core/expr/scope.hpp"
#include "sluice/core/expr/value.hpp"

namespace sluice::expr {

// Longest source accepted, and deepest nesting: input beyond these is an error, never a crash.
inline constexpr std::size_t kMaxSourceBytes = 64 * 1024;
inline constexpr std::size_t kMaxDepth = 100;

// A parsed expression: its source text and its syntax tree. Cheap to copy, immutable.
class Expr {
 public:
  Expr(std::string source, std::shared_ptr<const Node> root)
      : source_(std::move(source)), root_(std::move(root)) {}
  const std::string& source() const { return source_; }
  const Node& root() const { return *root_; }

 private:
  std::string source_;
  std::shared_ptr<const Node> root_;
};

// Errors are ErrorKind::config, with the source line and a caret under the problem.
Result<Expr> parse(std::string_view source);
// Errors from the Scope keep their kind; the message gains the caret line.
Result<Value> evaluate(const Expr& expr, const Scope& scope);
// The verdict: the expression must give true or false.
Result<bool> holds(const Expr& expr, const Scope& scope);
// The source with the value of every name, call and member written after it, for failure
// messages: `client.p99 < 50ms` -> `client.p99 (73.2ms) < 50ms`.
std::string explain(const Expr& expr, const Scope& scope);

}  // namespace sluice::expr
