// Evaluating expressions against a Scope: the examples from the chaos and probe issues, every
// operator and type rule, holds(), explain(), and the exact evaluation error messages.
#include <string>

#include <catch2/catch.hpp>

#include "sluice/core/expr/expr.hpp"

using namespace sluice;
using namespace sluice::expr;
using namespace std::chrono_literals;

namespace {

Value num(double n) {
  return Value::number(n);
}
Value str(std::string s) {
  return Value::string(std::move(s));
}

// A scope shaped like what the chaos runner and the prober will provide.
MapScope test_scope() {
  MapScope s;
  s.set("client.errors", num(0))
      .set("client.requests", num(100))
      .set("client.p99", Value::duration(73200us))
      .set("client.p50", Value::duration(12ms))
      .set("status", num(200))
      .set("body", str("all ok here"))
      .set("flag", Value::boolean(true))
      .set("missing", Value::null())
      .set("codes", Value::list({num(200), num(204)}));
  s.define("client.status", [](const Arguments& a) -> Result<Value> {
    if (a.positional.size() != 1 || !a.positional[0].is(Kind::number))
      return make_error(ErrorKind::config, ErrorSource::internal,
                        "client.status takes one status code, e.g. client.status(504)");
    return num(a.positional[0].as_number() == 504 ? 100 : 0);
  });
  s.define("gateway.metric", [](const Arguments& a) -> Result<Value> {
    const Value* cls = a.find("status_class");
    if (a.positional.empty() || !a.positional[0].is(Kind::string))
      return make_error(ErrorKind::config, ErrorSource::internal, "metric takes a name");
    return num(cls && cls->is(Kind::string) && cls->as_string() == "5xx" ? 0 : 7);
  });
  s.define("mock", [](const Arguments& a) -> Result<Value> {
    return Value::object(Object{"mock", a.positional.at(0).as_string(), nullptr});
  });
  s.define("header", [](const Arguments& a) -> Result<Value> {
    if (a.positional.at(0).as_string() == "content-type") return str("application/json");
    return Value::null();
  });
  s.define("fail", [](const Arguments&) -> Result<Value> {
    return make_error(ErrorKind::io, ErrorSource::upstream, "cannot reach the admin API");
  });
  s.members("mock", [](const Object& o, std::string_view name) -> Result<Value> {
    if (name == "requests") return num(o.id == "b" ? 45 : 55);
    return unknown_member(Value::object(o), name, {"requests", "status"});
  });
  s.methods("mock", [](const Object&, std::string_view name, const Arguments& a) -> Result<Value> {
    if (name == "status") return num(a.positional.at(0).as_number() == 200 ? 40 : 5);
    return make_error(ErrorKind::config, ErrorSource::internal, "no such method");
  });
  return s;
}

Value eval(std::string_view src) {
  auto e = parse(src);
  INFO(src);
  if (!e.ok()) FAIL(e.error().message);
  auto v = evaluate(*e, test_scope());
  if (!v.ok()) FAIL(v.error().message);
  return *v;
}

bool check(std::string_view src) {
  auto e = parse(src);
  INFO(src);
  if (!e.ok()) FAIL(e.error().message);
  auto v = holds(*e, test_scope());
  if (!v.ok()) FAIL(v.error().message);
  return *v;
}

std::string eval_error(std::string_view src) {
  auto e = parse(src);
  INFO(src);
  if (!e.ok()) FAIL(e.error().message);
  auto v = evaluate(*e, test_scope());
  REQUIRE_FALSE(v.ok());
  return v.error().message;
}

std::string explained(std::string_view src) {
  auto e = parse(src);
  if (!e.ok()) FAIL(e.error().message);
  return explain(*e, test_scope());
}

}  // namespace

TEST_CASE("evaluate: the chaos and probe examples", "[expr][eval]") {
  CHECK(check("client.errors == 0"));
  CHECK(check("client.status(504) == client.requests"));
  CHECK(check(R"(gateway.metric("sluice_requests_total", status_class="5xx") == 0)"));
  CHECK_FALSE(check(R"(gateway.metric("sluice_requests_total", status_class="2xx") == 0)"));
  CHECK(check(R"(mock("b").requests >= 0.45 * client.requests)"));
  CHECK_FALSE(check(R"(mock("b").requests >= 0.46 * client.requests)"));
  CHECK_FALSE(check("client.p99 < 50ms"));
  CHECK(check("client.p50 < 50ms"));
  CHECK(check(R"(body contains "ok" and status in [200, 204])"));
  CHECK(check(R"(header("content-type") == "application/json")"));
  CHECK(check(R"(mock("a").status(200) == 40)"));
  CHECK(check("status in 200..299"));
  CHECK_FALSE(check("status in 300..399"));
}

TEST_CASE("evaluate: literals", "[expr][eval]") {
  CHECK(eval("42").as_number() == 42);
  CHECK(eval("0.5").as_number() == 0.5);
  CHECK(eval("250ms").as_duration() == 250ms);
  CHECK(eval("1.5m").as_duration() == 90s);
  CHECK(eval("64KiB").as_number() == 65536);
  CHECK(eval("\"a\\\"b\"").as_string() == "a\"b");
  CHECK(eval("true").as_bool());
  CHECK_FALSE(eval("false").as_bool());
  CHECK(eval("null").is(Kind::null));
  auto list = eval("[1, \"x\", 2s]");
  REQUIRE(list.is(Kind::list));
  REQUIRE(list.as_list().size() == 3);
  CHECK(list.as_list()[2].as_duration() == 2s);
}

TEST_CASE("evaluate: arithmetic on numbers and durations", "[expr][eval]") {
  CHECK(eval("1 + 2 * 3").as_number() == 7);
  CHECK(eval("(1 + 2) * 3").as_number() == 9);
  CHECK(eval("10 - 4 - 3").as_number() == 3);
  CHECK(eval("12 / 4 / 3").as_number() == 1);
  CHECK(eval("-client.requests").as_number() == -100);
  CHECK(eval("1s + 500ms").as_duration() == 1500ms);
  CHECK(eval("1s - 1500ms").as_duration() == -500ms);
  CHECK(eval("2s * 3").as_duration() == 6s);
  CHECK(eval("3 * 2s").as_duration() == 6s);
  CHECK(eval("1.5 * 1m").as_duration() == 90s);
  CHECK(eval("1s / 4").as_duration() == 250ms);
  CHECK(eval("1s / 250ms").as_number() == 4);
  CHECK(eval("-1s").as_duration() == -1s);
  CHECK(eval("\"ab\" + \"cd\"").as_string() == "abcd");
  CHECK(check("client.p99 < 2 * client.p50 + 50ms"));
}

TEST_CASE("evaluate: comparisons of each type", "[expr][eval]") {
  CHECK(check("1 < 2"));
  CHECK(check("2 <= 2"));
  CHECK(check("3 > 2"));
  CHECK(check("2 >= 2"));
  CHECK(check("2 != 3"));
  CHECK(check("1s == 1000ms"));
  CHECK(check("999us < 1ms"));
  CHECK(check("1d > 23h"));
  CHECK(check("\"abc\" < \"abd\""));
  CHECK(check("\"x\" == \"x\""));
  CHECK(check("true == true"));
  CHECK(check("true != false"));
  CHECK(check("[1, 2] == [1, 2]"));
  CHECK(check("[1, 2] != [2, 1]"));
  CHECK(check("[1, \"a\"] != [1, 2]"));
  CHECK(check("mock(\"b\") == mock(\"b\")"));
  CHECK(check("mock(\"a\") != mock(\"b\")"));
  // null is absent: equal only to null, and comparing with it is never an error.
  CHECK(check("missing == null"));
  CHECK(check("header(\"x-none\") == null"));
  CHECK(check("header(\"x-none\") != \"text/html\""));
  CHECK_FALSE(check("status == null"));
}

TEST_CASE("evaluate: contains, matches and in", "[expr][eval]") {
  CHECK(check("body contains \"ok\""));
  CHECK_FALSE(check("body contains \"OK\""));
  CHECK(check("codes contains 204"));
  CHECK_FALSE(check("codes contains \"204\""));
  CHECK(check("body matches \"^all o+k\""));
  CHECK(check("body ~ \"here$\""));
  CHECK_FALSE(check("body matches \"^ok\""));
  CHECK(check("body matches \"a\" + \"ll\""));  // a pattern computed at run time
  CHECK(check("status in [200, 204]"));
  CHECK(check("status in codes"));
  CHECK(check("status not in [500, 502]"));
  CHECK_FALSE(check("status not in codes"));
  CHECK(check("\"ok\" in body"));
  CHECK(check("status in [\"200\", 200]"));
  CHECK(check("status in 200..200"));
  CHECK(check("status not in 300..399"));
  CHECK(check("client.p99 in 50ms..100ms"));
  CHECK(check("\"m\" in \"a\"..\"z\""));
}

TEST_CASE("evaluate: and, or, not", "[expr][eval]") {
  CHECK(check("true and true"));
  CHECK_FALSE(check("true and false"));
  CHECK(check("false or true"));
  CHECK_FALSE(check("false or false"));
  CHECK(check("not false"));
  CHECK(check("not (status == 500)"));
  CHECK_FALSE(check("false and nosuchname"));  // short-circuit: the right side is never looked up
  CHECK(check("true or nosuchname"));
  CHECK(check("missing == null or missing > 3"));
  CHECK(check("true or false and false"));  // and binds tighter: true or (false and false)
  CHECK_FALSE(check("(true or false) and false"));
}

TEST_CASE("evaluate: type errors name both types", "[expr][eval]") {
  CHECK(eval_error("client.p99 < 50") ==
        "client.p99 < 50\n"
        "           ^ cannot compare duration (73.2ms) with number (50) (hint: give the number a "
        "unit, e.g. 50ms)");
  CHECK(eval_error("client.p99 == 50") ==
        "client.p99 == 50\n"
        "           ^ cannot compare duration (73.2ms) with number (50) (hint: give the number "
        "a unit, e.g. 50ms)");
  CHECK(eval_error("status == \"200\"") ==
        "status == \"200\"\n"
        "       ^ cannot compare number (200) with string (\"200\")");
  CHECK(eval_error("body < 3") ==
        "body < 3\n"
        "     ^ cannot compare string (\"all ok here\") with number (3)");
  CHECK(eval_error("client.p99 + 1") ==
        "client.p99 + 1\n"
        "           ^ cannot apply + to duration (73.2ms) and number (1) (hint: give the number "
        "a unit, e.g. 1ms)");
  CHECK(eval_error("2s * 3s") == "2s * 3s\n   ^ cannot apply * to duration (2s) and duration (3s)");
  CHECK(eval_error("3 / 2s") == "3 / 2s\n  ^ cannot apply / to number (3) and duration (2s)");
  CHECK(eval_error("true + 1") == "true + 1\n     ^ cannot apply + to bool (true) and number (1)");
  CHECK(eval_error("1 / 0") == "1 / 0\n  ^ division by zero: 1 / 0");
  CHECK(eval_error("1s / 0s") == "1s / 0s\n   ^ division by zero: 1s / 0s");
  CHECK(eval_error("-\"x\"") == "-\"x\"\n^ cannot negate string (\"x\")");
  CHECK(eval_error("status and true") ==
        "status and true\n"
        "^ and needs true or false on both sides, not number (200)");
  CHECK(eval_error("false or body") ==
        "false or body\n"
        "         ^ or needs true or false on both sides, not string (\"all ok here\")");
  CHECK(eval_error("not status == 200") ==
        "not status == 200\n"
        "^ not needs true or false, not number (200) (hint: not applies to what follows it; "
        "write not (a == b))");
  CHECK(eval_error("status contains 2") ==
        "status contains 2\n"
        "       ^ contains needs a string or a list on its left, not number (200)");
  CHECK(eval_error("body contains 2") ==
        "body contains 2\n     ^ a string can only contain a string, not number (2)");
  CHECK(eval_error("status in 200") ==
        "status in 200\n       ^ in needs a list or a range on its right, not number (200)");
  CHECK(eval_error("status in 1s..2s") ==
        "status in 1s..2s\n"
        "       ^ cannot compare number (200) with duration (1s) (hint: give the number a unit, "
        "e.g. 200ms)");
  CHECK(eval_error("client.p99 in [50, 100]") ==
        "client.p99 in [50, 100]\n"
        "           ^ cannot compare duration (73.2ms) with number (50) (hint: give the number "
        "a unit, e.g. 50ms)");
  CHECK(eval_error("status matches \"2\"") ==
        "status matches \"2\"\n       ^ matches needs two strings, not number (200) and string "
        "(\"2\")");
  CHECK(eval_error("body matches \"(\" + \"\"") ==
        "body matches \"(\" + \"\"\n"
        "     ^ invalid regular expression \"(\": Unmatched ( or \\(");
}

TEST_CASE("evaluate: unknown names, functions and members", "[expr][eval]") {
  CHECK(eval_error("clinet.errors == 0") ==
        "clinet.errors == 0\n^ unknown name \"clinet.errors\" (did you mean \"client.errors\"?)");
  CHECK(eval_error("client.reqests > 0") ==
        "client.reqests > 0\n"
        "^ unknown name \"client.reqests\" (did you mean \"client.requests\"?)");
  CHECK(eval_error("1 + xyzzy") ==
        "1 + xyzzy\n"
        "    ^ unknown name \"xyzzy\"");
  CHECK(eval_error("mok(\"b\").requests") ==
        "mok(\"b\").requests\n^ unknown function \"mok\" (did you mean \"mock\"?)");
  CHECK(eval_error("mock(\"b\").reqests") ==
        "mock(\"b\").reqests\n"
        "          ^ mock(\"b\") has no member \"reqests\" (did you mean \"requests\"?)");
  CHECK(eval_error("client.requests.x") ==
        "client.requests.x\n"
        "^ unknown name \"client.requests.x\" (did you mean \"client.requests\"?)");
  CHECK(eval_error("(client.requests).x") ==
        "(client.requests).x\n"
        "                  ^ number (100) has no members, so .x does not apply");
  CHECK(eval_error("header") == "header\n^ \"header\" is a function (hint: call it: header(...))");
  CHECK(eval_error("body(1)") ==
        "body(1)\n^ \"body\" is not a function (hint: drop the parentheses)");
  CHECK(eval_error("client.status(\"x\") == 0") ==
        "client.status(\"x\") == 0\n"
        "^ client.status takes one status code, e.g. client.status(504)");
}

TEST_CASE("evaluate: a Scope's own errors keep their kind", "[expr][eval]") {
  auto e = parse("fail() == 0");
  REQUIRE(e.ok());
  auto v = evaluate(*e, test_scope());
  REQUIRE_FALSE(v.ok());
  CHECK(v.error().kind == ErrorKind::io);
  CHECK(v.error().message == "fail() == 0\n^ cannot reach the admin API");
}

TEST_CASE("evaluate: a plain Scope rejects calls and members clearly", "[expr][eval]") {
  struct Empty : Scope {
    Result<Value> get(std::string_view name) const override { return unknown_name(name, {}); }
  } empty;
  auto call = parse("f(1)");
  REQUIRE(call.ok());
  CHECK(evaluate(*call, empty).error().message == "f(1)\n^ unknown function \"f\"");
  auto known = parse("x");
  REQUIRE(known.ok());
  CHECK(evaluate(*known, empty).error().message == "x\n^ unknown name \"x\"");
}

TEST_CASE("evaluate: short unknown-name lists are spelled out", "[expr][eval]") {
  MapScope s;
  s.set("status", num(200)).set("latency", Value::duration(5ms));
  auto e = parse("zzz > 1");
  REQUIRE(e.ok());
  CHECK(evaluate(*e, s).error().message ==
        "zzz > 1\n^ unknown name \"zzz\" (known names: latency, status)");
}

TEST_CASE("holds: the verdict must be a bool", "[expr][eval]") {
  auto e = parse("client.requests");
  REQUIRE(e.ok());
  auto v = holds(*e, test_scope());
  REQUIRE_FALSE(v.ok());
  CHECK(v.error().message ==
        "client.requests\n"
        "^ the expression gives number (100), not true or false (hint: compare it, e.g. "
        "client.requests == 0)");
  auto s = parse("body");
  REQUIRE(s.ok());
  CHECK(holds(*s, test_scope()).error().message ==
        "body\n^ the expression gives string (\"all ok here\"), not true or false");
}

TEST_CASE("explain: operands are shown with their values", "[expr][explain]") {
  CHECK(explained("client.p99 < 50ms") == "client.p99 (73.2ms) < 50ms");
  CHECK(explained("client.errors == 0") == "client.errors (0) == 0");
  CHECK(explained("client.status(504) == client.requests") ==
        "client.status(504) (100) == client.requests (100)");
  CHECK(explained(R"(mock("b").requests >= 0.46 * client.requests)") ==
        R"(mock("b").requests (45) >= 0.46 * client.requests (100))");
  CHECK(explained(R"(body contains "ok" and status in [200, 204])") ==
        R"(body ("all ok here") contains "ok" and status (200) in [200, 204])");
  CHECK(explained(R"(header("x") == "a")") == R"(header("x") (null) == "a")");
  CHECK(explained("(client.errors) == 0") == "(client.errors) (0) == 0");
  CHECK(explained("codes contains 3") == "codes ([200, 204]) contains 3");
  CHECK(explained("nope == 0 or client.errors == 0") ==
        "nope (error: unknown name \"nope\") == 0 or client.errors (0) == 0");
  CHECK(explained("1 + 2 == 3") == "1 + 2 == 3");
}

TEST_CASE("explain: long strings are shortened", "[expr][explain]") {
  MapScope s;
  s.set("body", str(std::string(5000, 'x')));
  auto e = parse("body contains \"y\"");
  REQUIRE(e.ok());
  CHECK(explain(*e, s) ==
        "body (\"" + std::string(100, 'x') + "...\" (5000 bytes)) contains \"y\"");
}

TEST_CASE("values: display", "[expr][value]") {
  CHECK(to_display(num(42)) == "42");
  CHECK(to_display(num(0.45)) == "0.45");
  CHECK(to_display(num(-3)) == "-3");
  CHECK(to_display(num(1e20)) == "1e+20");
  CHECK(to_display(Value::duration(73200us)) == "73.2ms");
  CHECK(to_display(Value::duration(90s)) == "1.5m");
  CHECK(to_display(Value::duration(0s)) == "0s");
  CHECK(to_display(Value::duration(-250ms)) == "-250ms");
  CHECK(to_display(Value::duration(500ns)) == "500ns");
  CHECK(to_display(Value::duration(Duration::min())) == "-106751.991d");
  CHECK(to_display(Value::duration(48h)) == "2d");
  CHECK(to_display(str("a\"b\\c\n")) == R"("a\"b\\c\n")");
  CHECK(to_display(Value::list({num(1), str("x"), Value()})) == R"([1, "x", null])");
  CHECK(to_display(Value::object(Object{"mock", "b", nullptr})) == R"(mock("b"))");
  CHECK(type_name(Value::object(Object{"mock", "b", nullptr})) == "mock");
  CHECK(type_name(Value::boolean(true)) == "bool");
}

TEST_CASE("expr: an Expr keeps its source and can be copied", "[expr]") {
  auto e = parse("client.errors == 0");
  REQUIRE(e.ok());
  Expr copy = *e;
  CHECK(copy.source() == "client.errors == 0");
  CHECK(holds(copy, test_scope()).value());
}

TEST_CASE("matches: POSIX extended syntax, digit classes and large subjects", "[expr][eval]") {
  MapScope s;
  s.set("body", str(std::string(1'000'000, 'a') + "42"))
      .set("version", str("HTTP/1.1"))
      .set("nul", str(std::string("a\0b", 3)));
  auto run = [&](std::string_view src) {
    auto e = parse(src);
    INFO(src);
    if (!e.ok()) FAIL(e.error().message);
    auto v = holds(*e, s);
    if (!v.ok()) FAIL(v.error().message);
    return *v;
  };
  // A megabyte of body does not exhaust the stack, whatever the pattern.
  CHECK(run(R"(body matches "^(a|b)*[0-9]+$")"));
  CHECK(run(R"(body matches "(a*)*42")"));
  CHECK(run(R"(body matches "\\d\\d$")"));
  CHECK_FALSE(run(R"(body matches "\\D$")"));
  CHECK(run(R"(version matches "^HTTP/1\\.[01]$")"));
  CHECK(run(R"(version matches "[[:upper:]]+/\\w")"));
  CHECK(run(R"(version matches "[]d]" or true)"));
  CHECK(run(R"(nul matches "b$")"));  // NUL bytes in the subject are data

  auto long_pattern = parse("body matches \"" + std::string(5000, 'a') + "\"");
  REQUIRE_FALSE(long_pattern.ok());
  CHECK_THAT(long_pattern.error().message, Catch::Contains("longer than 4096 bytes"));
  auto nested = parse("body matches \"" + std::string(40, '(') + std::string(40, ')') + "\"");
  REQUIRE_FALSE(nested.ok());
  CHECK_THAT(nested.error().message, Catch::Contains("nested more than 32 levels"));
}

TEST_CASE("evaluate: expressions just inside the nesting limit work", "[expr][eval]") {
  std::string src = std::string(90, '(') + "client.errors == 0" + std::string(90, ')');
  CHECK(check(src));
  std::string nots;
  for (int i = 0; i < 90; ++i) nots += "not ";
  CHECK(check(nots + "true"));
  CHECK(explained(nots + "flag") == nots + "flag (true)");
}

TEST_CASE("explain: members and methods of objects", "[expr][explain]") {
  CHECK(explained(R"(mock("a").status(200) > mock("b").requests)") ==
        R"(mock("a").status(200) (40) > mock("b").requests (45))");
  CHECK(explained(R"(mock("b") == mock("b"))") ==
        R"(mock("b") (mock("b")) == mock("b") (mock("b")))");
}
