// The type rules of the operators, on values alone. Messages name both operand types; the
// evaluator adds where in the source the operator is.
#pragma once

#include "sluice/core/error.hpp"
#include "sluice/core/expr/ast.hpp"
#include "sluice/core/expr/value.hpp"
#include "expr/pattern.hpp"

namespace sluice::expr {

// == and != (null equals only null; other mixed types are an error).
Result<bool> equals(const Value& a, const Value& b);
// < <= > >= on two numbers, two durations or two strings.
Result<bool> compare(Op op, const Value& a, const Value& b);
// + - * / on numbers and durations (and + on strings).
Result<Value> arithmetic(Op op, const Value& a, const Value& b);
// -x
Result<Value> negate(const Value& v);
// a contains b: substring, or list membership.
Result<bool> contains(const Value& haystack, const Value& needle);
// a in b, where b is a list or a string.
Result<bool> member_of(const Value& item, const Value& set);
// a in low..high, inclusive.
Result<bool> in_range(const Value& item, const Value& low, const Value& high);
// a matches b; `compiled` is used when the pattern was a literal.
Result<bool> matches(const Value& subject, const Value& pattern, const Pattern* compiled);

}  // namespace sluice::expr
