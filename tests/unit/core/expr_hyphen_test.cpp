// Hyphens in the last segment of a dotted name (header.content-type), and the arithmetic that
// must keep lexing as a minus.
#include <catch2/catch.hpp>

#include "sluice/core/expr/expr.hpp"
#include "sluice/core/expr/lexer.hpp"

using namespace sluice;
using namespace sluice::expr;

namespace {

// The texts of the tokens, without the end token.
std::vector<std::string> texts(std::string_view src) {
  auto r = tokenize(src);
  REQUIRE(r.ok());
  std::vector<std::string> out;
  for (const auto& t : *r)
    if (t.kind != Tok::end) out.emplace_back(t.text);
  return out;
}

using Texts = std::vector<std::string>;

}  // namespace

TEST_CASE("lexer: a hyphen between letters in the last segment belongs to the name",
          "[expr][lexer]") {
  CHECK(texts("header.content-type") == Texts{"header.content-type"});
  CHECK(texts("header.x-request-id ~ \"a\"") == Texts{"header.x-request-id", "~", "\"a\""});
  auto r = tokenize("header.content-type");
  REQUIRE(r.ok());
  CHECK((*r)[0].kind == Tok::name);
  CHECK((*r)[0].str == "header.content-type");
}

TEST_CASE("lexer: a hyphen stays a minus everywhere else", "[expr][lexer]") {
  // Not dotted: the first segment never takes a hyphen.
  CHECK(texts("a-b") == Texts{"a", "-", "b"});
  CHECK(texts("a - b") == Texts{"a", "-", "b"});
  // A digit before the hyphen.
  CHECK(texts("client.p99-client.p50") == Texts{"client.p99", "-", "client.p50"});
  // A hyphenated segment followed by another segment is not the last one.
  CHECK(texts("client.requests-client.errors") == Texts{"client.requests", "-", "client.errors"});
  // Not between two letters.
  CHECK(texts("a.b-1") == Texts{"a.b", "-", "1"});
  CHECK(texts("a.b -c") == Texts{"a.b", "-", "c"});
  CHECK(texts("a.b- c") == Texts{"a.b", "-", "c"});
  CHECK(texts("a.b-") == Texts{"a.b", "-"});
  CHECK(texts("a.b--c") == Texts{"a.b", "-", "-", "c"});
  // A call's member starts a new name, whose first segment takes no hyphen.
  CHECK(texts("mock(\"b\").requests-x") ==
        Texts{"mock", "(", "\"b\"", ")", ".", "requests", "-", "x"});
}

TEST_CASE("expr: hyphenated header names evaluate, arithmetic still computes", "[expr]") {
  MapScope scope;
  scope.set("header.content-type", Value::string("application/json"))
      .set("client.p99", Value::number(30))
      .set("client.p50", Value::number(10))
      .set("client.requests", Value::number(100))
      .set("client.errors", Value::number(3));
  auto holds_text = [&](std::string_view src) {
    auto e = parse(src);
    REQUIRE(e.ok());
    auto r = holds(*e, scope);
    REQUIRE(r.ok());
    return *r;
  };
  CHECK(holds_text("header.content-type ~ \"json\""));
  CHECK(holds_text("client.p99-client.p50 == 20"));
  CHECK(holds_text("client.requests-client.errors == 97"));
  CHECK(holds_text("client.requests - client.errors == 97"));
}

TEST_CASE("expr: explain annotates a hyphenated name", "[expr]") {
  MapScope scope;
  scope.set("header.content-type", Value::string("text/plain"));
  auto e = parse("header.content-type ~ \"json\"");
  REQUIRE(e.ok());
  CHECK(explain(*e, scope) == "header.content-type (\"text/plain\") ~ \"json\"");
}
