// Splits an expression into tokens. Numbers carry their unit: 250ms is one duration token and
// 64KiB one number token, so "50 ms" (with a space) is a number followed by a name.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/core/error.hpp"
#include "sluice/core/units.hpp"

namespace sluice::expr {

// clang-format off
enum class Tok {
  end, number, duration, string, name,
  kw_and, kw_or, kw_not, kw_in, kw_contains, kw_matches, kw_true, kw_false, kw_null,
  lparen, rparen, lbracket, rbracket, comma, dot, dotdot, assign,
  eq, ne, lt, le, gt, ge, plus, minus, star, slash, tilde,
};
// clang-format on

struct Token {
  Tok kind = Tok::end;
  std::size_t pos = 0;
  std::string_view text;  // as written, a view into the source
  double number = 0;      // number
  Duration duration{};    // duration
  std::string str;        // string (unescaped); name (the dotted name)
};

// The last token is always Tok::end. Errors carry the caret line.
Result<std::vector<Token>> tokenize(std::string_view source);

}  // namespace sluice::expr
