// explain(): the source as written, with the value of every lookup (name, call, member) written
// after it. Literals are left alone: 50ms already says what it is.
#include <fmt/format.h>

#include "expr/evaluator.hpp"
#include "sluice/core/expr/expr.hpp"

namespace sluice::expr {
namespace {

struct Note {
  std::size_t at;
  std::string text;
};

void collect(const Node& n, const Scope& scope, std::vector<Note>& notes) {
  switch (n.kind) {
    case NodeKind::name:
    case NodeKind::call:
    case NodeKind::member:
    case NodeKind::method: {
      // Each lookup is evaluated on its own, so one failing name does not hide the others.
      Evaluator ev(scope);
      auto v = ev.eval(n);
      notes.push_back({n.end, v.ok() ? fmt::format(" ({})", to_display(*v))
                                     : fmt::format(" (error: {})", v.error().message)});
      return;
    }
    default:
      for (const auto& c : n.children) collect(*c, scope, notes);
  }
}

}  // namespace

std::string explain(const Expr& expr, const Scope& scope) {
  std::vector<Note> notes;
  collect(expr.root(), scope, notes);
  const std::string& src = expr.source();
  std::string out;
  std::size_t from = 0;
  for (const auto& note : notes) {
    out.append(src, from, note.at - from);
    out += note.text;
    from = note.at;
  }
  out.append(src, from, std::string::npos);
  return out;
}

}  // namespace sluice::expr
