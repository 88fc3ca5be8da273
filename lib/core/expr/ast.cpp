#include "sluice/core/expr/ast.hpp"

namespace sluice::expr {

std::string_view op_spelling(Op op) {
  switch (op) {
    case Op::eq:
      return "==";
    case Op::ne:
      return "!=";
    case Op::lt:
      return "<";
    case Op::le:
      return "<=";
    case Op::gt:
      return ">";
    case Op::ge:
      return ">=";
    case Op::contains:
      return "contains";
    case Op::matches:
      return "matches";
    case Op::in:
      return "in";
    case Op::not_in:
      return "not in";
    case Op::add:
      return "+";
    case Op::sub:
    case Op::neg:
      return "-";
    case Op::mul:
      return "*";
    case Op::div:
      return "/";
    case Op::and_:
      return "and";
    case Op::or_:
      return "or";
    case Op::not_:
      return "not";
  }
  return "?";
}

std::string dump(const Node& n) {
  std::string out;
  auto args = [&]() {
    for (const auto& c : n.children) out += " " + dump(*c);
    for (const auto& [key, c] : n.kwargs) out += " " + key + "=" + dump(*c);
  };
  switch (n.kind) {
    case NodeKind::literal:
      return to_display(n.literal);
    case NodeKind::name:
      return n.name;
    case NodeKind::list:
      out = "[";
      for (const auto& c : n.children) out += (out.size() > 1 ? " " : "") + dump(*c);
      return out + "]";
    case NodeKind::range:
      return dump(*n.children[0]) + ".." + dump(*n.children[1]);
    case NodeKind::call:
      out = "(call " + n.name;
      args();
      return out + ")";
    case NodeKind::member:
      return "(. " + dump(*n.children[0]) + " " + n.name + ")";
    case NodeKind::method: {
      out = "(call (. " + dump(*n.children[0]) + " " + n.name + ")";
      for (std::size_t i = 1; i < n.children.size(); ++i) out += " " + dump(*n.children[i]);
      for (const auto& [key, c] : n.kwargs) out += " " + key + "=" + dump(*c);
      return out + ")";
    }
    case NodeKind::unary:
      return "(" + std::string(op_spelling(n.op)) + " " + dump(*n.children[0]) + ")";
    case NodeKind::binary:
      return "(" + std::string(op_spelling(n.op)) + " " + dump(*n.children[0]) + " " +
             dump(*n.children[1]) + ")";
  }
  return out;
}

}  // namespace sluice::expr
