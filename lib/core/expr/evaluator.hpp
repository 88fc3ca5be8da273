// Walks the tree against a Scope. Messages stay bare here; evaluate() adds the caret line
// at error_pos, and explain() shows them inline.
#pragma once

#include <cstddef>

#include "sluice/core/expr/ast.hpp"
#include "sluice/core/expr/scope.hpp"

namespace sluice::expr {

class Evaluator {
 public:
  explicit Evaluator(const Scope& scope) : scope_(scope) {}
  Result<Value> eval(const Node& n);
  // Where the first error came from, in the source.
  std::size_t error_pos() const { return error_pos_; }

 private:
  Result<Value> eval_binary(const Node& n);
  Result<Value> eval_logic(const Node& n);
  Result<Value> eval_unary(const Node& n);
  Result<Value> eval_list(const Node& n);
  Result<Arguments> eval_args(const Node& n, std::size_t first);
  Result<Value> at(std::size_t pos, Result<Value> r);
  Error fail(std::size_t pos, Error e);

  const Scope& scope_;
  std::size_t error_pos_ = 0;
  bool failed_ = false;
};

}  // namespace sluice::expr
