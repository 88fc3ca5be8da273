#include "expr/evaluator.hpp"

#include <fmt/format.h>

#include "expr/diagnostics.hpp"
#include "expr/operators.hpp"
#include "sluice/core/expr/expr.hpp"

namespace sluice::expr {
namespace {

Result<Value> as_value(Result<bool> r) {
  if (!r.ok()) return r.take_error();
  return Value::boolean(*r);
}

}  // namespace

Error Evaluator::fail(std::size_t pos, Error e) {
  // The innermost failure is the one to point at; callers only pass it up.
  if (!failed_) error_pos_ = pos, failed_ = true;
  return e;
}

Result<Value> Evaluator::at(std::size_t pos, Result<Value> r) {
  if (!r.ok()) return fail(pos, r.take_error());
  return r;
}

Result<Value> Evaluator::eval(const Node& n) {
  switch (n.kind) {
    case NodeKind::literal:
      return n.literal;
    case NodeKind::name:
      return at(n.begin, scope_.get(n.name));
    case NodeKind::list:
      return eval_list(n);
    case NodeKind::range:
      return fail(n.begin, make_error(ErrorKind::config, ErrorSource::internal,
                                      "a range can only follow in"));
    case NodeKind::call: {
      auto args = eval_args(n, 0);
      if (!args.ok()) return args.take_error();
      return at(n.begin, scope_.call(n.name, *args));
    }
    case NodeKind::member: {
      auto object = eval(*n.children[0]);
      if (!object.ok()) return object;
      return at(n.op_pos, scope_.member(*object, n.name));
    }
    case NodeKind::method: {
      auto object = eval(*n.children[0]);
      if (!object.ok()) return object;
      auto args = eval_args(n, 1);
      if (!args.ok()) return args.take_error();
      return at(n.op_pos, scope_.method(*object, n.name, *args));
    }
    case NodeKind::unary:
      return eval_unary(n);
    case NodeKind::binary:
      return n.op == Op::and_ || n.op == Op::or_ ? eval_logic(n) : eval_binary(n);
  }
  return Value();
}

Result<Value> Evaluator::eval_list(const Node& n) {
  std::vector<Value> items;
  items.reserve(n.children.size());
  for (const auto& c : n.children) {
    auto v = eval(*c);
    if (!v.ok()) return v;
    items.push_back(std::move(*v));
  }
  return Value::list(std::move(items));
}

Result<Arguments> Evaluator::eval_args(const Node& n, std::size_t first) {
  Arguments args;
  for (std::size_t i = first; i < n.children.size(); ++i) {
    auto v = eval(*n.children[i]);
    if (!v.ok()) return v.take_error();
    args.positional.push_back(std::move(*v));
  }
  for (const auto& [key, node] : n.kwargs) {
    auto v = eval(*node);
    if (!v.ok()) return v.take_error();
    args.keyword.emplace_back(key, std::move(*v));
  }
  return args;
}

Result<Value> Evaluator::eval_unary(const Node& n) {
  auto v = eval(*n.children[0]);
  if (!v.ok()) return v;
  if (n.op == Op::neg) return at(n.op_pos, negate(*v));
  if (!v->is(Kind::boolean))
    return fail(n.op_pos,
                make_error(ErrorKind::config, ErrorSource::internal,
                           fmt::format("not needs true or false, not {} ({}) (hint: not applies "
                                       "to what follows it; write not (a == b))",
                                       type_name(*v), to_display(*v))));
  return Value::boolean(!v->as_bool());
}

// and/or stop early, so `x != null and x > 3` never evaluates x > 3 on a null.
Result<Value> Evaluator::eval_logic(const Node& n) {
  const bool is_and = n.op == Op::and_;
  for (const auto& side : n.children) {
    auto v = eval(*side);
    if (!v.ok()) return v;
    if (!v->is(Kind::boolean))
      return fail(side->begin,
                  make_error(ErrorKind::config, ErrorSource::internal,
                             fmt::format("{} needs true or false on both sides, "
                                         "not {} ({})",
                                         op_spelling(n.op), type_name(*v), to_display(*v))));
    if (v->as_bool() != is_and) return v;
  }
  return Value::boolean(is_and);
}

Result<Value> Evaluator::eval_binary(const Node& n) {
  auto lhs = eval(*n.children[0]);
  if (!lhs.ok()) return lhs;
  const Node& right = *n.children[1];
  if ((n.op == Op::in || n.op == Op::not_in) && right.kind == NodeKind::range) {
    auto low = eval(*right.children[0]);
    if (!low.ok()) return low;
    auto high = eval(*right.children[1]);
    if (!high.ok()) return high;
    auto r = in_range(*lhs, *low, *high);
    if (r.ok() && n.op == Op::not_in) r = !*r;
    return at(n.op_pos, as_value(std::move(r)));
  }
  auto rhs = eval(right);
  if (!rhs.ok()) return rhs;
  const Value &a = *lhs, &b = *rhs;
  switch (n.op) {
    case Op::eq:
    case Op::ne: {
      auto r = equals(a, b);
      if (r.ok() && n.op == Op::ne) r = !*r;
      return at(n.op_pos, as_value(std::move(r)));
    }
    case Op::lt:
    case Op::le:
    case Op::gt:
    case Op::ge:
      return at(n.op_pos, as_value(compare(n.op, a, b)));
    case Op::contains:
      return at(n.op_pos, as_value(contains(a, b)));
    case Op::in:
    case Op::not_in: {
      auto r = member_of(a, b);
      if (r.ok() && n.op == Op::not_in) r = !*r;
      return at(n.op_pos, as_value(std::move(r)));
    }
    case Op::matches:
      return at(n.op_pos, as_value(matches(a, b, right.regex.get())));
    default:
      return at(n.op_pos, arithmetic(n.op, a, b));
  }
}

Result<Value> evaluate(const Expr& expr, const Scope& scope) {
  Evaluator ev(scope);
  auto v = ev.eval(expr.root());
  if (v.ok()) return v;
  auto e = v.take_error();
  e.message = point_at(expr.source(), ev.error_pos(), e.message);
  return e;
}

Result<bool> holds(const Expr& expr, const Scope& scope) {
  auto v = evaluate(expr, scope);
  if (!v.ok()) return v.take_error();
  if (v->is(Kind::boolean)) return v->as_bool();
  const auto& root = expr.root();
  auto text = std::string_view(expr.source()).substr(root.begin, root.end - root.begin);
  auto hint = v->is(Kind::number) ? fmt::format(" (hint: compare it, e.g. {} == 0)", text) : "";
  return located_error(expr.source(), root.begin,
                       fmt::format("the expression gives {} ({}), not true or false{}",
                                   type_name(*v), to_display(*v), hint));
}

}  // namespace sluice::expr
