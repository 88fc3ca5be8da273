#include "sluice/core/expr/lexer.hpp"

#include <cctype>
#include <charconv>
#include <fmt/format.h>

#include "expr/diagnostics.hpp"

namespace sluice::expr {
namespace {

bool is_name_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
}
bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}
bool is_digit(char c) {
  return std::isdigit(static_cast<unsigned char>(c));
}

constexpr std::string_view kDurationUnits[] = {"us", "ms", "s", "m", "h", "d"};
constexpr std::string_view kSizeUnits[] = {"B", "KiB", "MiB", "GiB", "KB", "MB", "GB"};

bool is_one_of(std::string_view word, const auto& set) {
  for (auto u : set)
    if (word == u) return true;
  return false;
}

Tok keyword(std::string_view word) {
  struct Keyword {
    std::string_view word;
    Tok tok;
  };
  static constexpr Keyword keywords[] = {
      {"and", Tok::kw_and},           {"or", Tok::kw_or},
      {"not", Tok::kw_not},           {"in", Tok::kw_in},
      {"contains", Tok::kw_contains}, {"matches", Tok::kw_matches},
      {"true", Tok::kw_true},         {"false", Tok::kw_false},
      {"null", Tok::kw_null}};
  for (const auto& k : keywords)
    if (k.word == word) return k.tok;
  return Tok::name;
}

class Lexer {
 public:
  explicit Lexer(std::string_view src) : src_(src) {}

  Result<std::vector<Token>> run() {
    std::vector<Token> out;
    while (true) {
      while (i_ < src_.size() && std::isspace(static_cast<unsigned char>(src_[i_]))) ++i_;
      if (i_ >= src_.size()) break;
      auto t = next();
      if (!t.ok()) return t.take_error();
      out.push_back(std::move(*t));
    }
    Token end;
    end.pos = src_.size();
    out.push_back(std::move(end));
    return out;
  }

 private:
  Error fail(std::size_t pos, std::string_view message) {
    return located_error(src_, pos, message);
  }

  Token make(Tok kind, std::size_t start) {
    Token t;
    t.kind = kind;
    t.pos = start;
    t.text = src_.substr(start, i_ - start);
    return t;
  }

  Result<Token> next() {
    const std::size_t start = i_;
    const char c = src_[i_];
    if (is_digit(c)) return number();
    if (c == '"') return string();
    if (is_name_start(c)) return name();
    auto peek = [&](char want) { return i_ + 1 < src_.size() && src_[i_ + 1] == want; };
    auto one = [&](Tok kind) {
      ++i_;
      return make(kind, start);
    };
    auto two = [&](Tok kind) {
      i_ += 2;
      return make(kind, start);
    };
    switch (c) {
      case '(':
        return one(Tok::lparen);
      case ')':
        return one(Tok::rparen);
      case '[':
        return one(Tok::lbracket);
      case ']':
        return one(Tok::rbracket);
      case ',':
        return one(Tok::comma);
      case '+':
        return one(Tok::plus);
      case '-':
        return one(Tok::minus);
      case '*':
        return one(Tok::star);
      case '/':
        return one(Tok::slash);
      case '~':
        return one(Tok::tilde);
      case '.':
        return peek('.') ? two(Tok::dotdot) : one(Tok::dot);
      case '=':
        return peek('=') ? two(Tok::eq) : one(Tok::assign);
      case '<':
        return peek('=') ? two(Tok::le) : one(Tok::lt);
      case '>':
        return peek('=') ? two(Tok::ge) : one(Tok::gt);
      case '!':
        if (peek('=')) return two(Tok::ne);
        return fail(start, "unexpected character '!' (hint: write not instead of !)");
      case '&':
        return fail(start, "unexpected character '&' (hint: write and instead of &&)");
      case '|':
        return fail(start, "unexpected character '|' (hint: write or instead of ||)");
      case '\'':
        return fail(start, "unexpected character ' (hint: strings use double quotes: \"text\")");
      default:
        break;
    }
    auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x21 && byte < 0x7F)
      return fail(start, fmt::format("unexpected character '{}'", c));
    return fail(start, fmt::format("unexpected byte 0x{:02X}", byte));
  }

  Result<Token> number() {
    const std::size_t start = i_;
    while (i_ < src_.size() && is_digit(src_[i_])) ++i_;
    // A fraction needs a digit after the dot, so 200..299 is a range, not 200. then .299.
    if (i_ + 1 < src_.size() && src_[i_] == '.' && is_digit(src_[i_ + 1])) {
      ++i_;
      while (i_ < src_.size() && is_digit(src_[i_])) ++i_;
    }
    const std::size_t digits_end = i_;
    while (i_ < src_.size() && is_name_char(src_[i_])) ++i_;
    auto digits = src_.substr(start, digits_end - start);
    auto unit = src_.substr(digits_end, i_ - digits_end);
    auto text = src_.substr(start, i_ - start);

    Token t = make(Tok::number, start);
    if (unit.empty()) {
      auto r = std::from_chars(digits.data(), digits.data() + digits.size(), t.number);
      if (r.ec != std::errc{}) return fail(start, fmt::format("number {} is too large", digits));
      return t;
    }
    if (is_one_of(unit, kDurationUnits)) {
      auto d = parse_duration(text);
      if (!d.ok()) return fail(start, fmt::format("duration {} is too large", text));
      t.kind = Tok::duration;
      t.duration = *d;
      return t;
    }
    if (is_one_of(unit, kSizeUnits)) {
      auto s = parse_size(text);
      if (!s.ok())
        return fail(start,
                    fmt::format("size {} is not a whole number of bytes or is too large", text));
      t.number = static_cast<double>(*s);
      return t;
    }
    return fail(digits_end,
                fmt::format("unknown unit \"{}\" in {} (hint: durations take us, ms, s, m, h or d; "
                            "sizes take B, KiB, MiB or GiB)",
                            unit, text));
  }

  Result<Token> string() {
    const std::size_t start = i_;
    ++i_;  // the opening quote
    std::string value;
    while (i_ < src_.size() && src_[i_] != '"') {
      char c = src_[i_];
      if (c == '\n') break;
      if (c != '\\') {
        value += c;
        ++i_;
        continue;
      }
      if (i_ + 1 >= src_.size()) break;
      switch (char e = src_[i_ + 1]) {
        case '"':
        case '\\':
          value += e;
          break;
        case 'n':
          value += '\n';
          break;
        case 't':
          value += '\t';
          break;
        default:
          return fail(i_, fmt::format("unknown escape \\{} in string (hint: the escapes are "
                                      "\\\", \\\\, \\n and \\t; for a backslash and {} "
                                      "write \\\\{})",
                                      e, e, e));
      }
      i_ += 2;
    }
    if (i_ >= src_.size() || src_[i_] != '"')
      return fail(start, "unterminated string (hint: close it with \")");
    ++i_;
    Token t = make(Tok::string, start);
    t.str = std::move(value);
    return t;
  }

  // A name may be dotted: client.errors, cert.expires_in. A dot not followed by a name
  // character ends it, so mock("b").requests lexes as a call, a dot and a name.
  // The last segment of a dotted name may hold hyphens between letters, so header names read as
  // written (header.content-type). Anywhere else a hyphen is a minus: a-b, client.p99-client.p50
  // and client.requests-client.errors stay arithmetic.
  Result<Token> name() {
    const std::size_t start = i_;
    bool dotted = false;
    std::size_t hyphen = std::string_view::npos;  // the first hyphen taken into this segment
    while (true) {
      while (i_ < src_.size() && is_name_char(src_[i_])) ++i_;
      if (dotted && hyphen_joins(i_)) {
        if (hyphen == std::string_view::npos) hyphen = i_;
        ++i_;
        continue;
      }
      if (i_ + 1 < src_.size() && src_[i_] == '.' && is_name_start(src_[i_ + 1])) {
        if (hyphen != std::string_view::npos) {
          i_ = hyphen;  // not the last segment after all: the hyphen is a minus
          break;
        }
        dotted = true;
        ++i_;
        continue;
      }
      break;
    }
    Token t = make(Tok::name, start);
    t.kind = keyword(t.text);
    t.str = std::string(t.text);
    return t;
  }

  bool hyphen_joins(std::size_t at) const {
    auto letter = [&](std::size_t k) {
      return std::isalpha(static_cast<unsigned char>(src_[k])) != 0;
    };
    return at > 0 && at + 1 < src_.size() && src_[at] == '-' && letter(at - 1) && letter(at + 1);
  }

  std::string_view src_;
  std::size_t i_ = 0;
};

}  // namespace

Result<std::vector<Token>> tokenize(std::string_view source) {
  return Lexer(source).run();
}

}  // namespace sluice::expr
