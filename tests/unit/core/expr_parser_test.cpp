// The expression parser: precedence and associativity (checked through dump()), calls with
// keyword arguments, member chains, and the exact parse error messages.
#include <string>

#include <catch2/catch.hpp>

#include "sluice/core/expr/expr.hpp"

using namespace sluice;
using namespace sluice::expr;

namespace {

std::string tree(std::string_view src) {
  auto r = parse(src);
  INFO(src);
  if (!r.ok()) FAIL(r.error().message);
  return dump(r->root());
}

std::string parse_error(std::string_view src) {
  auto r = parse(src);
  INFO(src);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::config);
  return r.error().message;
}

}  // namespace

TEST_CASE("parser: the brief's examples", "[expr][parser]") {
  CHECK(tree("client.errors == 0") == "(== client.errors 0)");
  CHECK(tree("client.status(504) == client.requests") ==
        "(== (call client.status 504) client.requests)");
  CHECK(tree(R"(gateway.metric("sluice_requests_total", status_class="5xx") == 0)") ==
        R"((== (call gateway.metric "sluice_requests_total" status_class="5xx") 0))");
  CHECK(tree(R"(mock("b").requests >= 0.45 * client.requests)") ==
        R"((>= (. (call mock "b") requests) (* 0.45 client.requests)))");
  CHECK(tree("client.p99 < 50ms") == "(< client.p99 50ms)");
  CHECK(tree(R"(body contains "ok" and status in [200, 204])") ==
        R"((and (contains body "ok") (in status [200 204])))");
  CHECK(tree(R"(header("content-type") == "application/json")") ==
        R"((== (call header "content-type") "application/json"))");
}

TEST_CASE("parser: logical precedence is not > comparison > and > or", "[expr][parser]") {
  CHECK(tree("a or b and c") == "(or a (and b c))");
  CHECK(tree("a and b or c") == "(or (and a b) c)");
  CHECK(tree("a or b or c") == "(or (or a b) c)");
  CHECK(tree("a and b and c") == "(and (and a b) c)");
  CHECK(tree("a == 1 and b == 2 or c") == "(or (and (== a 1) (== b 2)) c)");
  CHECK(tree("not a and b") == "(and (not a) b)");
  CHECK(tree("not a == b") == "(== (not a) b)");
  CHECK(tree("not (a == b)") == "(not (== a b))");
  CHECK(tree("not not a") == "(not (not a))");
  CHECK(tree("(a or b) and c") == "(and (or a b) c)");
}

TEST_CASE("parser: arithmetic precedence and associativity", "[expr][parser]") {
  CHECK(tree("1 + 2 * 3") == "(+ 1 (* 2 3))");
  CHECK(tree("1 * 2 + 3") == "(+ (* 1 2) 3)");
  CHECK(tree("1 - 2 - 3") == "(- (- 1 2) 3)");
  CHECK(tree("8 / 4 / 2") == "(/ (/ 8 4) 2)");
  CHECK(tree("(1 + 2) * 3") == "(* (+ 1 2) 3)");
  CHECK(tree("-a * b") == "(* (- a) b)");
  CHECK(tree("- - 1") == "(- (- 1))");
  CHECK(tree("a + 1 < b * 2") == "(< (+ a 1) (* b 2))");
  CHECK(tree("2s * 3 >= 1m") == "(>= (* 2s 3) 1m)");
}

TEST_CASE("parser: every comparison operator", "[expr][parser]") {
  CHECK(tree("a == b") == "(== a b)");
  CHECK(tree("a != b") == "(!= a b)");
  CHECK(tree("a < b") == "(< a b)");
  CHECK(tree("a <= b") == "(<= a b)");
  CHECK(tree("a > b") == "(> a b)");
  CHECK(tree("a >= b") == "(>= a b)");
  CHECK(tree(R"(a contains "x")") == R"((contains a "x"))");
  CHECK(tree(R"(a matches "x+")") == R"((matches a "x+"))");
  CHECK(tree(R"(a ~ "x+")") == R"((matches a "x+"))");
  CHECK(tree("a in [1, 2]") == "(in a [1 2])");
  CHECK(tree("a not in [1, 2]") == "(not in a [1 2])");
  CHECK(tree("status in 200..299") == "(in status 200..299)");
  CHECK(tree("status in 200 + 0..299") == "(in status (+ 200 0)..299)");
}

TEST_CASE("parser: literals", "[expr][parser]") {
  CHECK(tree("true") == "true");
  CHECK(tree("false") == "false");
  CHECK(tree("null") == "null");
  CHECK(tree("64KiB") == "65536");
  CHECK(tree("1.5m") == "1.5m");
  CHECK(tree("250ms") == "250ms");
  CHECK(tree(R"("a \"b\" \\ c")") == R"("a \"b\" \\ c")");
  CHECK(tree("[]") == "[]");
  CHECK(tree("[1, [2, 3], \"x\",]") == "[1 [2 3] \"x\"]");
}

TEST_CASE("parser: calls, keyword arguments and member chains", "[expr][parser]") {
  CHECK(tree("f()") == "(call f)");
  CHECK(tree("f(1, 2,)") == "(call f 1 2)");
  CHECK(tree("f(x=1, y=\"v\")") == "(call f x=1 y=\"v\")");
  CHECK(tree("f(g(1), k=h(2))") == "(call f (call g 1) k=(call h 2))");
  CHECK(tree("f(a or b)") == "(call f (or a b))");
  CHECK(tree("mock(\"b\").requests") == "(. (call mock \"b\") requests)");
  CHECK(tree("mock(\"b\").stats.p99") == "(. (. (call mock \"b\") stats) p99)");
  CHECK(tree("mock(\"b\").status(504)") == "(call (. (call mock \"b\") status) 504)");
  CHECK(tree("mock(\"b\").recorded(1).path") == "(. (call (. (call mock \"b\") recorded) 1) path)");
  CHECK(tree("(a).b") == "(. a b)");
}

TEST_CASE("parser: error messages", "[expr][parser]") {
  CHECK(parse_error("client.p99 < 50 ms") ==
        "client.p99 < 50 ms\n"
        "                ^ expected an operator or end of expression after 50 (hint: write "
        "durations without a space: 50ms)");
  CHECK(parse_error("body.size < 64 KiB") ==
        "body.size < 64 KiB\n"
        "               ^ expected an operator or end of expression after 64 (hint: write sizes "
        "without a space: 64KiB)");
  CHECK(parse_error("client.errors = 0") ==
        "client.errors = 0\n"
        "              ^ expected an operator or end of expression after client.errors (hint: use "
        "== to compare)");
  CHECK(parse_error("client.errors ==") ==
        "client.errors ==\n"
        "                ^ expected a value after ==");
  CHECK(parse_error("client.errors == )") ==
        "client.errors == )\n"
        "                 ^ expected a value after ==, found )");
  CHECK(parse_error("") == "\n^ empty expression");
  CHECK(parse_error("   ") == "   \n   ^ empty expression");
  CHECK(parse_error("== 1") == "== 1\n^ expected a value, found ==");
  CHECK(parse_error("0 < a < 10") ==
        "0 < a < 10\n"
        "      ^ expected an operator or end of expression after a (hint: comparisons do not "
        "chain; join them with and: a < b and b < c)");
  CHECK(parse_error("(a or b") ==
        "(a or b\n"
        "       ^ expected ) after b to close the ( at column 1");
  CHECK(parse_error("status in [200, 204") ==
        "status in [200, 204\n"
        "                   ^ expected , or ] after 204 in the list opened at column 11");
  CHECK(parse_error("f(1 2)") == "f(1 2)\n    ^ expected , or ) after 1 in the arguments of f");
  CHECK(parse_error("f(k=1, 2)") ==
        "f(k=1, 2)\n"
        "       ^ a positional argument after a keyword argument (hint: put positional "
        "arguments first)");
  CHECK(parse_error("f(k=1, k=2)") == "f(k=1, k=2)\n       ^ argument k is given twice");
  CHECK(parse_error("mock(\"b\").") ==
        "mock(\"b\").\n"
        "          ^ expected a name after ., found the end of the expression");
  CHECK(parse_error("status == 200..299") ==
        "status == 200..299\n"
        "             ^ expected an operator or end of expression after 200 (hint: ranges "
        "follow in: status in 200..299)");
  CHECK(parse_error("body matches \"(\"") ==
        "body matches \"(\"\n"
        "             ^ invalid regular expression \"(\": Unmatched ( or \\(");
  CHECK(parse_error("status is 200") ==
        "status is 200\n"
        "       ^ expected an operator or end of expression after status");
  CHECK(parse_error("\"x\"(1)") ==
        "\"x\"(1)\n"
        "   ^ expected an operator or end of expression after \"x\"");
}

TEST_CASE("parser: the error line is the line holding the error", "[expr][parser]") {
  CHECK(parse_error("client.errors == 0 and\nclient.p99 < 50 ms") ==
        "client.p99 < 50 ms\n"
        "                ^ expected an operator or end of expression after 50 (hint: write "
        "durations without a space: 50ms)");
}

TEST_CASE("parser: nesting and length are bounded", "[expr][parser]") {
  auto deep = std::string(10000, '(') + "1" + std::string(10000, ')');
  auto r = parse(deep);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message,
             Catch::Contains("expression is nested too deeply (the limit is 100 levels)"));

  std::string nots;
  for (int i = 0; i < 5000; ++i) nots += "not ";
  CHECK_FALSE(parse(nots + "true").ok());
  CHECK_FALSE(parse(std::string(5000, '-') + "1").ok());
  std::string lists = std::string(5000, '[') + std::string(5000, ']');
  CHECK_FALSE(parse(lists).ok());
  std::string calls;
  for (int i = 0; i < 5000; ++i) calls += "f(";
  CHECK_FALSE(parse(calls + std::string(5000, ')')).ok());

  // A long flat chain builds a deep tree without deep recursion; it is refused all the same.
  std::string sum = "1";
  for (int i = 0; i < 3000; ++i) sum += " + 1";
  auto chain = parse(sum);
  REQUIRE_FALSE(chain.ok());
  CHECK_THAT(chain.error().message, Catch::Contains("nested too deeply"));

  std::string ok = "1";
  for (int i = 0; i < 90; ++i) ok += " + 1";
  CHECK(parse(ok).ok());

  auto huge = parse(std::string(kMaxSourceBytes + 1, ' '));
  REQUIRE_FALSE(huge.ok());
  CHECK(huge.error().message == "expression is too long (65537 bytes; the limit is 65536)");
}

TEST_CASE("parser: long tokens are cut short in messages", "[expr][parser]") {
  auto src = "\"" + std::string(100, 'x') + "\" 1";
  CHECK(parse_error(src) == src + "\n" + std::string(103, ' ') +
                                "^ expected an operator or end of expression after \"" +
                                std::string(39, 'x') + "...");
}
