// The syntax tree parse() builds. Every node remembers where it starts and ends in the source,
// so errors can point at it and explain() can annotate it.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sluice/core/expr/value.hpp"

namespace sluice::expr {

class Pattern;  // a compiled regular expression (lib/core/expr/pattern.hpp)

// clang-format off
enum class Op {
  eq, ne, lt, le, gt, ge, contains, matches, in, not_in,  // comparisons
  add, sub, mul, div,                                     // arithmetic
  and_, or_, not_, neg,                                   // logic and negation
};
// clang-format on

std::string_view op_spelling(Op op);

enum class NodeKind {
  literal,  // 50ms, "ok", true, null
  list,     // [a, b]: children are the items
  range,    // a..b after `in`: children are the bounds
  name,     // client.errors
  call,     // client.status(504): name, children are positional args, kwargs
  member,   // mock("b").requests: children[0] is the object, name the member
  method,   // mock("b").status(504): children[0] is the object, then the args
  unary,    // not x, -x
  binary,   // a op b
};

struct Node {
  NodeKind kind = NodeKind::literal;
  std::size_t begin = 0;  // byte offsets in the source: [begin, end)
  std::size_t end = 0;
  std::size_t op_pos = 0;  // where the operator is written, for binary and unary nodes
  std::size_t depth = 1;   // height of this subtree, bounded by the parser
  Op op = Op::eq;
  Value literal;
  std::string name;
  std::vector<std::unique_ptr<Node>> children;
  std::vector<std::pair<std::string, std::unique_ptr<Node>>> kwargs;
  // `x matches "literal"` compiles its pattern once, at parse time.
  std::shared_ptr<const Pattern> regex;
};

// A compact prefix rendering for tests and debugging: (< client.p99 50ms).
std::string dump(const Node& node);

}  // namespace sluice::expr
