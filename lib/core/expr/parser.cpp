// Recursive descent, one function per precedence level, loosest first:
//   or < and < comparison (== != < <= > >= contains matches ~ in, not chaining)
//      < + - < * / < unary (not, -) < postfix (calls, .member) < primary
#include <algorithm>
#include <optional>
#include <fmt/format.h>

#include "expr/diagnostics.hpp"
#include "expr/pattern.hpp"
#include "sluice/core/expr/expr.hpp"
#include "sluice/core/expr/lexer.hpp"

namespace sluice::expr {
namespace {

using NodePtr = std::unique_ptr<Node>;
using Parsed = Result<NodePtr>;

#define EXPR_TRY(var, expr)                                 \
  auto var##_result = (expr);                               \
  if (!var##_result.ok()) return var##_result.take_error(); \
  auto var = std::move(*var##_result)

constexpr std::string_view kDurationUnits[] = {"us", "ms", "s", "m", "h", "d"};
constexpr std::string_view kSizeUnits[] = {"B", "KiB", "MiB", "GiB", "KB", "MB", "GB"};

// A token as quoted in a message; a long string literal is cut short.
std::string excerpt(std::string_view text) {
  constexpr std::size_t kLongest = 40;
  if (text.size() <= kLongest) return std::string(text);
  auto cut = kLongest;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return std::string(text.substr(0, cut)) + "...";
}

std::optional<Op> comparison(Tok t) {
  switch (t) {
    case Tok::eq:
      return Op::eq;
    case Tok::ne:
      return Op::ne;
    case Tok::lt:
      return Op::lt;
    case Tok::le:
      return Op::le;
    case Tok::gt:
      return Op::gt;
    case Tok::ge:
      return Op::ge;
    case Tok::kw_contains:
      return Op::contains;
    case Tok::kw_matches:
    case Tok::tilde:
      return Op::matches;
    case Tok::kw_in:
      return Op::in;
    default:
      return std::nullopt;
  }
}

class Parser {
 public:
  Parser(std::string_view src, std::vector<Token> toks) : src_(src), toks_(std::move(toks)) {}

  Parsed run() {
    if (cur().kind == Tok::end) return fail(cur().pos, "empty expression");
    EXPR_TRY(root, parse_or());
    if (cur().kind != Tok::end) return fail(cur().pos, trailing_message());
    return root;
  }

 private:
  // Counts nesting on the way down, so ((((... fails before the stack runs out.
  class DepthGuard {
   public:
    explicit DepthGuard(std::size_t& d) : d_(++d) {}
    ~DepthGuard() { --d_; }
    DepthGuard(const DepthGuard&) = delete;
    DepthGuard& operator=(const DepthGuard&) = delete;

   private:
    std::size_t& d_;
  };

  const Token& cur() const { return toks_[k_]; }
  const Token& peek() const { return toks_[std::min(k_ + 1, toks_.size() - 1)]; }
  const Token& prev() const { return toks_[k_ == 0 ? 0 : k_ - 1]; }
  const Token& advance() { return toks_[k_ < toks_.size() - 1 ? k_++ : k_]; }
  std::size_t prev_end() const { return prev().pos + prev().text.size(); }

  Error fail(std::size_t pos, std::string_view message) const {
    return located_error(src_, pos, message);
  }
  Error too_deep() const {
    return fail(cur().pos,
                fmt::format("expression is nested too deeply (the limit is {} levels)", kMaxDepth));
  }

  std::string trailing_message() const {
    auto msg =
        fmt::format("expected an operator or end of expression after {}", excerpt(prev().text));
    const auto& t = cur();
    bool spaced = prev().pos + prev().text.size() < t.pos;
    if (prev().kind == Tok::number && t.kind == Tok::name && spaced) {
      for (auto u : kDurationUnits)
        if (t.text == u)
          return msg +
                 fmt::format(" (hint: write durations without a space: {}{})", prev().text, u);
      for (auto u : kSizeUnits)
        if (t.text == u)
          return msg + fmt::format(" (hint: write sizes without a space: {}{})", prev().text, u);
    }
    if (t.kind == Tok::assign) return msg + " (hint: use == to compare)";
    if (t.kind == Tok::dotdot) return msg + " (hint: ranges follow in: status in 200..299)";
    if (comparison(t.kind))
      return msg + " (hint: comparisons do not chain; join them with and: a < b and b < c)";
    return msg;
  }

  Result<NodePtr> node(NodeKind kind, std::size_t begin) const {
    auto n = std::make_unique<Node>();
    n->kind = kind;
    n->begin = begin;
    n->end = prev_end();
    return n;
  }

  // Fills in end and depth once the children are attached; too deep a tree is an error, since
  // evaluating it recurses. Left-leaning chains (1+1+1+...) grow here, not on the stack.
  Parsed finish(NodePtr n) const {
    n->end = std::max(n->end, prev_end());
    std::size_t d = 0;
    for (const auto& c : n->children) d = std::max(d, c->depth);
    for (const auto& kv : n->kwargs) d = std::max(d, kv.second->depth);
    n->depth = d + 1;
    if (n->depth > kMaxDepth)
      return fail(n->begin, fmt::format("expression is nested too deeply (the limit is {} levels)",
                                        kMaxDepth));
    return n;
  }

  Parsed binary(Op op, std::size_t op_pos, NodePtr lhs, NodePtr rhs) const {
    auto n = std::make_unique<Node>();
    n->kind = NodeKind::binary;
    n->op = op;
    n->op_pos = op_pos;
    n->begin = lhs->begin;
    n->end = rhs->end;
    n->children.push_back(std::move(lhs));
    n->children.push_back(std::move(rhs));
    return finish(std::move(n));
  }

  Parsed parse_or() {
    DepthGuard guard(depth_);
    if (depth_ > kMaxDepth) return too_deep();
    EXPR_TRY(lhs, parse_and());
    while (cur().kind == Tok::kw_or) {
      auto op_pos = advance().pos;
      EXPR_TRY(rhs, parse_and());
      EXPR_TRY(joined, binary(Op::or_, op_pos, std::move(lhs), std::move(rhs)));
      lhs = std::move(joined);
    }
    return lhs;
  }

  Parsed parse_and() {
    EXPR_TRY(lhs, parse_comparison());
    while (cur().kind == Tok::kw_and) {
      auto op_pos = advance().pos;
      EXPR_TRY(rhs, parse_comparison());
      EXPR_TRY(joined, binary(Op::and_, op_pos, std::move(lhs), std::move(rhs)));
      lhs = std::move(joined);
    }
    return lhs;
  }

  Parsed parse_comparison() {
    EXPR_TRY(lhs, parse_additive());
    auto op = comparison(cur().kind);
    bool negated = cur().kind == Tok::kw_not && peek().kind == Tok::kw_in;
    if (!op && !negated) return lhs;
    auto op_pos = cur().pos;
    if (negated) {
      advance();
      op = Op::not_in;
    }
    advance();
    NodePtr rhs;
    if (*op == Op::in || *op == Op::not_in) {
      EXPR_TRY(set, parse_in_operand());
      rhs = std::move(set);
    } else {
      EXPR_TRY(operand, parse_additive());
      rhs = std::move(operand);
    }
    if (*op == Op::matches && rhs->kind == NodeKind::literal && rhs->literal.is(Kind::string)) {
      auto re = compile_regex(rhs->literal.as_string(), rhs->begin);
      if (!re.ok()) return re.take_error();
      rhs->regex = std::move(*re);
    }
    return binary(*op, op_pos, std::move(lhs), std::move(rhs));
  }

  Result<std::shared_ptr<const Pattern>> compile_regex(const std::string& pattern,
                                                       std::size_t pos) const {
    auto re = Pattern::compile(pattern);
    if (!re.ok()) return fail(pos, re.error().message);
    return re;
  }

  // `in` takes a list, a range (200..299) or anything that gives a list.
  Parsed parse_in_operand() {
    EXPR_TRY(low, parse_additive());
    if (cur().kind != Tok::dotdot) return low;
    auto begin = low->begin;
    advance();
    EXPR_TRY(high, parse_additive());
    EXPR_TRY(range, node(NodeKind::range, begin));
    range->children.push_back(std::move(low));
    range->children.push_back(std::move(high));
    return finish(std::move(range));
  }

  Parsed parse_additive() {
    EXPR_TRY(lhs, parse_multiplicative());
    while (cur().kind == Tok::plus || cur().kind == Tok::minus) {
      auto op = cur().kind == Tok::plus ? Op::add : Op::sub;
      auto op_pos = advance().pos;
      EXPR_TRY(rhs, parse_multiplicative());
      EXPR_TRY(joined, binary(op, op_pos, std::move(lhs), std::move(rhs)));
      lhs = std::move(joined);
    }
    return lhs;
  }

  Parsed parse_multiplicative() {
    EXPR_TRY(lhs, parse_unary());
    while (cur().kind == Tok::star || cur().kind == Tok::slash) {
      auto op = cur().kind == Tok::star ? Op::mul : Op::div;
      auto op_pos = advance().pos;
      EXPR_TRY(rhs, parse_unary());
      EXPR_TRY(joined, binary(op, op_pos, std::move(lhs), std::move(rhs)));
      lhs = std::move(joined);
    }
    return lhs;
  }

  Parsed parse_unary() {
    if (cur().kind != Tok::kw_not && cur().kind != Tok::minus) return parse_postfix();
    DepthGuard guard(depth_);
    if (depth_ > kMaxDepth) return too_deep();
    auto op = cur().kind == Tok::kw_not ? Op::not_ : Op::neg;
    auto begin = advance().pos;
    EXPR_TRY(operand, parse_unary());
    EXPR_TRY(n, node(NodeKind::unary, begin));
    n->op = op;
    n->op_pos = begin;
    n->children.push_back(std::move(operand));
    return finish(std::move(n));
  }

  Parsed parse_postfix() {
    EXPR_TRY(n, parse_primary());
    while (true) {
      if (cur().kind == Tok::lparen && (n->kind == NodeKind::name || n->kind == NodeKind::member)) {
        EXPR_TRY(called, parse_call(std::move(n)));
        n = std::move(called);
      } else if (cur().kind == Tok::dot) {
        advance();
        if (cur().kind != Tok::name)
          return fail(cur().pos, fmt::format("expected a name after ., found {}", describe(cur())));
        // A dotted name after the dot is a chain of members: x.a.b is (x.a).b.
        const auto& t = advance();
        std::size_t from = 0;
        while (from <= t.str.size()) {
          auto dot = std::min(t.str.find('.', from), t.str.size());
          EXPR_TRY(m, node(NodeKind::member, n->begin));
          m->name = t.str.substr(from, dot - from);
          m->op_pos = t.pos + from;
          m->children.push_back(std::move(n));
          EXPR_TRY(done, finish(std::move(m)));
          done->end = t.pos + dot;  // x.a.b: the inner member ends after a
          n = std::move(done);
          from = dot + 1;
        }
      } else {
        return n;
      }
    }
  }

  // f(1, key="v") for a name; obj.f(...) for a member becomes a method call.
  Parsed parse_call(NodePtr callee) {
    DepthGuard guard(depth_);
    if (depth_ > kMaxDepth) return too_deep();
    auto open = advance().pos;
    NodePtr n;
    if (callee->kind == NodeKind::name) {
      EXPR_TRY(c, node(NodeKind::call, callee->begin));
      c->name = callee->name;
      c->op_pos = callee->begin;
      n = std::move(c);
    } else {
      EXPR_TRY(m, node(NodeKind::method, callee->begin));
      m->name = callee->name;
      m->op_pos = callee->op_pos;
      m->children.push_back(std::move(callee->children[0]));
      n = std::move(m);
    }
    std::string callee_text(src_.substr(n->begin, open - n->begin));
    while (cur().kind != Tok::rparen) {
      if (cur().kind == Tok::name && peek().kind == Tok::assign) {
        const auto& key = advance();
        advance();
        for (const auto& kv : n->kwargs)
          if (kv.first == key.str)
            return fail(key.pos, fmt::format("argument {} is given twice", key.str));
        EXPR_TRY(value, parse_or());
        n->kwargs.emplace_back(key.str, std::move(value));
      } else {
        if (!n->kwargs.empty())
          return fail(cur().pos,
                      "a positional argument after a keyword argument (hint: put positional "
                      "arguments first)");
        EXPR_TRY(value, parse_or());
        n->children.push_back(std::move(value));
      }
      if (cur().kind == Tok::comma) {
        advance();
        continue;
      }
      if (cur().kind != Tok::rparen)
        return fail(cur().pos, fmt::format("expected , or ) after {} in the arguments of {}",
                                           excerpt(prev().text), excerpt(callee_text)));
    }
    advance();
    return finish(std::move(n));
  }

  static std::string describe(const Token& t) {
    if (t.kind == Tok::end) return "the end of the expression";
    return excerpt(t.text);
  }

  Error expected_value() const {
    const auto& t = cur();
    if (k_ == 0) return fail(t.pos, fmt::format("expected a value, found {}", describe(t)));
    if (t.kind == Tok::end)
      return fail(t.pos, fmt::format("expected a value after {}", excerpt(prev().text)));
    return fail(t.pos, fmt::format("expected a value after {}, found {}", excerpt(prev().text),
                                   excerpt(t.text)));
  }

  Parsed literal(Value v) {
    auto begin = advance().pos;
    EXPR_TRY(n, node(NodeKind::literal, begin));
    n->literal = std::move(v);
    return n;
  }

  Parsed parse_primary() {
    const auto& t = cur();
    switch (t.kind) {
      case Tok::number:
        return literal(Value::number(t.number));
      case Tok::duration:
        return literal(Value::duration(t.duration));
      case Tok::string:
        return literal(Value::string(t.str));
      case Tok::kw_true:
        return literal(Value::boolean(true));
      case Tok::kw_false:
        return literal(Value::boolean(false));
      case Tok::kw_null:
        return literal(Value::null());
      case Tok::name: {
        auto begin = advance().pos;
        EXPR_TRY(n, node(NodeKind::name, begin));
        n->name = t.str;
        return n;
      }
      case Tok::lparen:
        return parse_group();
      case Tok::lbracket:
        return parse_list();
      default:
        return expected_value();
    }
  }

  Parsed parse_group() {
    auto open = advance().pos;
    EXPR_TRY(inner, parse_or());
    if (cur().kind != Tok::rparen)
      return fail(cur().pos, fmt::format("expected ) after {} to close the ( at column {}",
                                         excerpt(prev().text), column(open)));
    advance();
    // The parentheses belong to the operand: explain() annotates after the closing one.
    inner->begin = open;
    inner->end = prev_end();
    return inner;
  }

  Parsed parse_list() {
    DepthGuard guard(depth_);
    if (depth_ > kMaxDepth) return too_deep();
    auto open = advance().pos;
    EXPR_TRY(n, node(NodeKind::list, open));
    while (cur().kind != Tok::rbracket) {
      EXPR_TRY(item, parse_or());
      n->children.push_back(std::move(item));
      if (cur().kind == Tok::comma) {
        advance();
        continue;
      }
      if (cur().kind != Tok::rbracket)
        return fail(cur().pos,
                    fmt::format("expected , or ] after {} in the list opened at column {}",
                                excerpt(prev().text), column(open)));
    }
    advance();
    return finish(std::move(n));
  }

  // 1-based, in characters, on the line holding pos.
  std::size_t column(std::size_t pos) const {
    std::size_t col = 1;
    for (std::size_t i = pos; i > 0 && src_[i - 1] != '\n'; --i)
      if ((static_cast<unsigned char>(src_[i - 1]) & 0xC0) != 0x80) ++col;
    return col;
  }

  std::string_view src_;
  std::vector<Token> toks_;
  std::size_t k_ = 0;
  std::size_t depth_ = 0;
};

#undef EXPR_TRY

}  // namespace

Result<Expr> parse(std::string_view source) {
  if (source.size() > kMaxSourceBytes)
    return make_error(ErrorKind::config, ErrorSource::internal,
                      fmt::format("expression is too long ({} bytes; the limit is {})",
                                  source.size(), kMaxSourceBytes));
  auto tokens = tokenize(source);
  if (!tokens.ok()) return tokens.take_error();
  auto root = Parser(source, std::move(*tokens)).run();
  if (!root.ok()) return root.take_error();
  return Expr(std::string(source), std::shared_ptr<const Node>(std::move(*root)));
}

}  // namespace sluice::expr
