// The expression lexer: token kinds, literals with units, and its errors.
#include <catch2/catch.hpp>

#include "sluice/core/expr/lexer.hpp"

using namespace sluice;
using namespace sluice::expr;
using namespace std::chrono_literals;

namespace {

std::vector<Tok> kinds(std::string_view src) {
  auto r = tokenize(src);
  REQUIRE(r.ok());
  std::vector<Tok> out;
  for (const auto& t : *r) out.push_back(t.kind);
  return out;
}

std::string lex_error(std::string_view src) {
  auto r = tokenize(src);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::config);
  return r.error().message;
}

}  // namespace

TEST_CASE("lexer: operators, punctuation and keywords", "[expr][lexer]") {
  CHECK(kinds("== != < <= > >= + - * / ~ ( ) , . .. =") ==
        std::vector<Tok>{Tok::eq, Tok::ne, Tok::lt, Tok::le, Tok::gt, Tok::ge, Tok::plus,
                         Tok::minus, Tok::star, Tok::slash, Tok::tilde, Tok::lparen, Tok::rparen,
                         Tok::comma, Tok::dot, Tok::dotdot, Tok::assign, Tok::end});
  CHECK(kinds("[]") == std::vector<Tok>{Tok::lbracket, Tok::rbracket, Tok::end});
  CHECK(kinds("and or not in contains matches true false null") ==
        std::vector<Tok>{Tok::kw_and, Tok::kw_or, Tok::kw_not, Tok::kw_in, Tok::kw_contains,
                         Tok::kw_matches, Tok::kw_true, Tok::kw_false, Tok::kw_null, Tok::end});
  CHECK(kinds("") == std::vector<Tok>{Tok::end});
  CHECK(kinds(" \t\n ") == std::vector<Tok>{Tok::end});
}

TEST_CASE("lexer: dotted names and member access", "[expr][lexer]") {
  auto r = tokenize("client.errors mock(\"b\").requests android orange not_a_keyword client.in");
  REQUIRE(r.ok());
  const auto& t = *r;
  REQUIRE(t.size() == 12);  // with the end token
  CHECK(t[0].kind == Tok::name);
  CHECK(t[0].str == "client.errors");
  CHECK(t[1].str == "mock");
  CHECK(t[2].kind == Tok::lparen);
  CHECK(t[3].kind == Tok::string);
  CHECK(t[4].kind == Tok::rparen);
  CHECK(t[5].kind == Tok::dot);
  CHECK(t[6].str == "requests");
  // Keywords are whole words only.
  CHECK(t[7].kind == Tok::name);
  CHECK(t[8].kind == Tok::name);
  CHECK(t[9].kind == Tok::name);
  CHECK(t[10].kind == Tok::name);
  CHECK(t[10].str == "client.in");
}

TEST_CASE("lexer: numbers, durations and sizes", "[expr][lexer]") {
  auto r = tokenize("42 0.45 250ms 2s 1.5m 14d 3h 10us 64KiB 1MiB 2GiB 512B 1KB");
  REQUIRE(r.ok());
  const auto& t = *r;
  CHECK(t[0].kind == Tok::number);
  CHECK(t[0].number == 42);
  CHECK(t[1].number == 0.45);
  CHECK(t[2].kind == Tok::duration);
  CHECK(t[2].duration == 250ms);
  CHECK(t[3].duration == 2s);
  CHECK(t[4].duration == 90s);
  CHECK(t[5].duration == 14 * 24h);
  CHECK(t[6].duration == 3h);
  CHECK(t[7].duration == 10us);
  CHECK(t[8].kind == Tok::number);
  CHECK(t[8].number == 65536);
  CHECK(t[9].number == 1048576);
  CHECK(t[10].number == 2147483648.0);
  CHECK(t[11].number == 512);
  CHECK(t[12].number == 1000);
  CHECK(t[8].text == "64KiB");
}

TEST_CASE("lexer: a range is not a fraction", "[expr][lexer]") {
  auto r = tokenize("200..299");
  REQUIRE(r.ok());
  REQUIRE(r->size() == 4);
  CHECK((*r)[0].number == 200);
  CHECK((*r)[1].kind == Tok::dotdot);
  CHECK((*r)[2].number == 299);
}

TEST_CASE("lexer: strings and escapes", "[expr][lexer]") {
  auto r = tokenize(R"("plain" "a \"quoted\" word" "back\\slash" "tab\there" "" "new\nline")");
  REQUIRE(r.ok());
  CHECK((*r)[0].str == "plain");
  CHECK((*r)[1].str == "a \"quoted\" word");
  CHECK((*r)[2].str == "back\\slash");
  CHECK((*r)[3].str == "tab\there");
  CHECK((*r)[4].str.empty());
  CHECK((*r)[5].str == "new\nline");
  CHECK((*r)[1].text == R"("a \"quoted\" word")");
}

TEST_CASE("lexer: errors point at the offending character", "[expr][lexer]") {
  CHECK(lex_error(R"(body contains "ok)") ==
        "body contains \"ok\n"
        "              ^ unterminated string (hint: close it with \")");
  CHECK(lex_error(R"("a\qb")") ==
        "\"a\\qb\"\n"
        "  ^ unknown escape \\q in string (hint: the escapes are \\\", \\\\, \\n and \\t; for a "
        "backslash and q write \\\\q)");
  CHECK(lex_error("latency < 50sec") ==
        "latency < 50sec\n"
        "            ^ unknown unit \"sec\" in 50sec (hint: durations take us, ms, s, m, h or d; "
        "sizes take B, KiB, MiB or GiB)");
  CHECK(lex_error("a && b") ==
        "a && b\n  ^ unexpected character '&' (hint: write and instead of &&)");
  CHECK(lex_error("a || b") ==
        "a || b\n  ^ unexpected character '|' (hint: write or instead of ||)");
  CHECK(lex_error("!a") == "!a\n^ unexpected character '!' (hint: write not instead of !)");
  CHECK(lex_error("a == 'x'") ==
        "a == 'x'\n     ^ unexpected character ' (hint: strings use double quotes: \"text\")");
  CHECK(lex_error("a $ b") == "a $ b\n  ^ unexpected character '$'");
  CHECK(lex_error("a \x01") == "a \x01\n  ^ unexpected byte 0x01");
  CHECK(lex_error("1.5B") == "1.5B\n^ size 1.5B is not a whole number of bytes or is too large");
  CHECK(lex_error("999999999999d") == "999999999999d\n^ duration 999999999999d is too large");
}

TEST_CASE("lexer: the caret counts characters on the error's own line", "[expr][lexer]") {
  CHECK(lex_error("name == \"é\" and\nx == $") == "x == $\n     ^ unexpected character '$'");
  CHECK(lex_error("\"é\" $") == "\"é\" $\n    ^ unexpected character '$'");
}
