// Robustness: random bytes, random token soup and mutated valid expressions, from fixed seeds,
// must always give a value or an error, never a crash, a hang or an exception.
#include <random>
#include <string>

#include <catch2/catch.hpp>

#include "sluice/core/expr/expr.hpp"

using namespace sluice;
using namespace sluice::expr;
using namespace std::chrono_literals;

namespace {

MapScope fuzz_scope() {
  MapScope s;
  s.set("a", Value::number(1))
      .set("b", Value::boolean(true))
      .set("c", Value::string("text"))
      .set("d", Value::duration(5ms))
      .set("client.p99", Value::duration(73ms))
      .set("l", Value::list({Value::number(1), Value::string("x")}))
      .set("n", Value());
  s.define("f", [](const Arguments& args) -> Result<Value> {
    return Value::number(static_cast<double>(args.positional.size() + args.keyword.size()));
  });
  s.define("mock", [](const Arguments&) -> Result<Value> {
    return Value::object(Object{"mock", "x", nullptr});
  });
  s.members("mock", [](const Object&, std::string_view name) -> Result<Value> {
    if (name == "requests") return Value::number(3);
    return unknown_member(Value::object(Object{"mock", "x", nullptr}), name, {"requests"});
  });
  return s;
}

// Parses and, when that works, evaluates, checks and explains; every outcome must be well formed.
void exercise(const std::string& src, const Scope& scope, int& parsed, int& evaluated) {
  auto e = parse(src);
  if (!e.ok()) {
    CHECK_FALSE(e.error().message.empty());
    return;
  }
  ++parsed;
  auto v = evaluate(*e, scope);
  if (v.ok())
    ++evaluated;
  else
    CHECK_FALSE(v.error().message.empty());
  auto verdict = holds(*e, scope);
  CHECK((verdict.ok() || !verdict.error().message.empty()));
  CHECK_FALSE(explain(*e, scope).empty());
}

}  // namespace

TEST_CASE("fuzz: random bytes never crash", "[expr][fuzz]") {
  std::mt19937 rng(20261125);
  auto scope = fuzz_scope();
  int parsed = 0, evaluated = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string src(rng() % 40, '\0');
    for (auto& ch : src) ch = static_cast<char>(rng() % 256);
    exercise(src, scope, parsed, evaluated);
  }
  CHECK(parsed >= 0);  // random bytes rarely parse; surviving them is the point
}

TEST_CASE("fuzz: token soup never crashes", "[expr][fuzz]") {
  static const char* const pieces[] = {
      "a",         "b",       "c",          "d",
      "l",         "n",       "f",          "mock(\"x\")",
      ".requests", "(",       ")",          "[",
      "]",         ",",       ".",          "..",
      "=",         "==",      "!=",         "<",
      "<=",        ">",       ">=",         "+",
      "-",         "*",       "/",          "~",
      "and",       "or",      "not",        "in",
      "contains",  "matches", "true",       "false",
      "null",      "0",       "1.5",        "50ms",
      "64KiB",     "\"s\"",   "\"(\"",      "\"[a-z]+\"",
      "x=",        " ",       "client.p99", "1e",
      "\"",        "\\",      "1s",         "99999999999999999999999"};
  std::mt19937 rng(7);
  auto scope = fuzz_scope();
  int parsed = 0, evaluated = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string src;
    auto n = rng() % 12;
    for (std::uint32_t k = 0; k < n; ++k) {
      src += pieces[rng() % std::size(pieces)];
      if (rng() % 2) src += ' ';
    }
    exercise(src, scope, parsed, evaluated);
  }
  // The soup must reach the evaluator often enough to mean something.
  CHECK(parsed > 1000);
  CHECK(evaluated > 200);
}

TEST_CASE("fuzz: mutated valid expressions never crash", "[expr][fuzz]") {
  static const std::string seeds[] = {
      "client.p99 < 50ms and a == 1",
      "mock(\"x\").requests >= 0.45 * a",
      "c contains \"ex\" and a in [1, 2] or not b",
      "f(1, k=\"v\") == 2",
      "c matches \"^t.*t$\"",
      "a in 0..10 and d not in 1ms..2ms",
  };
  std::mt19937 rng(99);
  auto scope = fuzz_scope();
  int parsed = 0, evaluated = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string src = seeds[rng() % std::size(seeds)];
    for (int m = 0, count = 1 + static_cast<int>(rng() % 4); m < count && !src.empty(); ++m) {
      auto at = rng() % src.size();
      switch (rng() % 3) {
        case 0:
          src.erase(at, 1);
          break;
        case 1:
          src.insert(at, 1, static_cast<char>(32 + rng() % 95));
          break;
        default:
          src[at] = static_cast<char>(32 + rng() % 95);
      }
    }
    exercise(src, scope, parsed, evaluated);
  }
  CHECK(parsed > 1000);
}

TEST_CASE("fuzz: every prefix of a valid expression parses or fails cleanly", "[expr][fuzz]") {
  const std::string src = R"(gateway.metric("x", status_class="5xx") == 0 and not (a in [1, 2]))";
  for (std::size_t i = 0; i <= src.size(); ++i) {
    auto r = parse(src.substr(0, i));
    if (!r.ok()) CHECK(r.error().message.find('^') != std::string::npos);
  }
}
