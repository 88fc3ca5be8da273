// Router: matching on listener, host, path, method and headers (first match wins), and the
// prefix rewrite of the upstream target.
#include "sluice/gateway/router.hpp"

#include <optional>
#include <regex>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

using sluice::gateway::RequestFacts;
using sluice::gateway::Router;
using sluice::gateway::target_path;
namespace config = sluice::config;

namespace {

config::Route route(std::string name, config::PathMatch match = config::PathMatch::any,
                    std::string path = "") {
  config::Route r;
  r.name = std::move(name);
  r.path_match = match;
  r.path = std::move(path);
  r.cluster = "c";
  return r;
}

Router build(const std::vector<config::Route>& routes) {
  auto r = Router::build(routes);
  REQUIRE(r.ok());
  return std::move(r).value();
}

RequestFacts facts(std::string_view target, std::string_view host = "example.com",
                   std::string_view method = "GET", std::string_view listener = "main",
                   const std::vector<sluice::net::HeaderField>* headers = nullptr) {
  RequestFacts f;
  f.listener = listener;
  f.host = host;
  f.method = method;
  f.target = target;
  f.headers = headers;
  return f;
}

std::string rewritten(const Router& router, std::size_t i, std::string_view target) {
  std::string out = "garbage from before";
  router.rewrite_target(i, target, out);
  return out;
}

}  // namespace

TEST_CASE("target_path drops the query", "[gateway][router]") {
  CHECK(target_path("/a/b?x=1") == "/a/b");
  CHECK(target_path("/a/b") == "/a/b");
  CHECK(target_path("/?") == "/");
  CHECK(target_path("/a?b?c") == "/a");
}

TEST_CASE("Router: exact path match", "[gateway][router]") {
  auto router = build({route("health", config::PathMatch::exact, "/health")});
  CHECK(router.size() == 1);
  CHECK(router.match(facts("/health")) == std::optional<std::size_t>(0));
  CHECK(router.match(facts("/health?verbose=1")) == std::optional<std::size_t>(0));
  CHECK_FALSE(router.match(facts("/health/")));
  CHECK_FALSE(router.match(facts("/healthz")));
  CHECK_FALSE(router.match(facts("/Health")));
  CHECK_FALSE(router.match(facts("/")));
}

TEST_CASE("Router: prefix path match", "[gateway][router]") {
  auto router = build({route("api", config::PathMatch::prefix, "/api")});
  CHECK(router.match(facts("/api")));
  CHECK(router.match(facts("/api/users")));
  CHECK(router.match(facts("/api?x=1")));
  CHECK(router.match(facts("/api/users/7?expand=true")));
  CHECK_FALSE(router.match(facts("/ap")));
  CHECK_FALSE(router.match(facts("/v1/api")));
  CHECK_FALSE(router.match(facts("/API/users")));
}

TEST_CASE("Router: query strings are not part of the matched path", "[gateway][router]") {
  auto router = build({route("exact", config::PathMatch::exact, "/a"),
                       route("regex", config::PathMatch::regex, "^/b$")});
  CHECK(router.match(facts("/a?/b")) == std::optional<std::size_t>(0));
  CHECK(router.match(facts("/b?q=1")) == std::optional<std::size_t>(1));
  // A prefix that only appears in the query does not match.
  auto prefix = build({route("p", config::PathMatch::prefix, "/x")});
  CHECK_FALSE(prefix.match(facts("/?/x")));
}

TEST_CASE("Router: regex path match", "[gateway][router]") {
  auto router = build({route("versioned", config::PathMatch::regex, "^/v[0-9]+/items/[0-9]+$")});
  CHECK(router.match(facts("/v1/items/42")));
  CHECK(router.match(facts("/v22/items/7?x=y")));
  CHECK_FALSE(router.match(facts("/v1/items/abc")));
  CHECK_FALSE(router.match(facts("/vx/items/1")));
  CHECK_FALSE(router.match(facts("/v1/items/1/more")));
}

TEST_CASE("Router: a regex that does not compile is a config error with its position",
          "[gateway][router]") {
  auto bad = route("broken", config::PathMatch::regex, "^/(unclosed");
  bad.pos = {"gw.toml", 12, 3};
  auto r = Router::build({route("ok"), bad});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == sluice::ErrorKind::config);
  const std::string& msg = r.error().message;
  INFO(msg);
  // FILE:LINE:COL: key: what (hint: ...), the one config error format. The key names the route
  // by its index in routes (or, in older messages, by its name).
  CHECK(std::regex_match(msg, std::regex(R"(gw\.toml:12:3: routes(\[1\]|\.broken)\.path_regex: )"
                                         R"(\S.* \(hint: use ECMAScript regex syntax\))")));
}

TEST_CASE("Router: exact host match ignores case and port", "[gateway][router]") {
  auto r = route("h");
  r.hosts = {"api.example.com"};
  auto router = build({r});
  CHECK(router.match(facts("/", "api.example.com")));
  CHECK(router.match(facts("/", "API.Example.COM")));
  CHECK(router.match(facts("/", "api.example.com:8080")));
  CHECK_FALSE(router.match(facts("/", "example.com")));
  CHECK_FALSE(router.match(facts("/", "www.api.example.com")));
  CHECK_FALSE(router.match(facts("/", "api.example.com.evil")));
  CHECK_FALSE(router.match(facts("/", "")));
  CHECK_FALSE(router.match(facts("/", "[::1]:8080")));
}

TEST_CASE("Router: wildcard host matches subdomains only", "[gateway][router]") {
  auto r = route("w");
  r.hosts = {"*.example.com"};
  auto router = build({r});
  CHECK(router.match(facts("/", "a.example.com")));
  CHECK(router.match(facts("/", "a.b.example.com")));
  CHECK(router.match(facts("/", "A.Example.COM:8443")));
  CHECK_FALSE(router.match(facts("/", "example.com")));
  CHECK_FALSE(router.match(facts("/", "example.com:80")));
  CHECK_FALSE(router.match(facts("/", ".example.com")));
  CHECK_FALSE(router.match(facts("/", "badexample.com")));
  CHECK_FALSE(router.match(facts("/", "a.example.org")));
  CHECK_FALSE(router.match(facts("/", "")));
}

TEST_CASE("Router: several hosts, any of them matches", "[gateway][router]") {
  auto r = route("m");
  r.hosts = {"one.test", "*.two.test"};
  auto router = build({r});
  CHECK(router.match(facts("/", "one.test")));
  CHECK(router.match(facts("/", "x.two.test")));
  CHECK_FALSE(router.match(facts("/", "two.test")));
  CHECK_FALSE(router.match(facts("/", "x.one.test")));
}

TEST_CASE("Router: IPv6 literal hosts keep their brackets, lose their port", "[gateway][router]") {
  auto r = route("v6");
  r.hosts = {"[::1]"};
  auto any = route("any");
  auto router = build({r, any});
  CHECK(router.match(facts("/", "[::1]:8080")) == std::optional<std::size_t>(0));
  CHECK(router.match(facts("/", "[::1]")) == std::optional<std::size_t>(0));
  CHECK(router.match(facts("/", "[::2]:8080")) == std::optional<std::size_t>(1));
  CHECK(router.match(facts("/", "127.0.0.1")) == std::optional<std::size_t>(1));
}

TEST_CASE("Router: methods restrict a route", "[gateway][router]") {
  auto r = route("writes");
  r.methods = {"POST", "PUT"};
  auto router = build({r});
  CHECK(router.match(facts("/", "h", "POST")));
  CHECK(router.match(facts("/", "h", "PUT")));
  CHECK_FALSE(router.match(facts("/", "h", "GET")));
  CHECK_FALSE(router.match(facts("/", "h", "post")));  // methods are case-sensitive
  CHECK_FALSE(router.match(facts("/", "h", "")));
}

TEST_CASE("Router: header conditions need every header with its exact value", "[gateway][router]") {
  auto r = route("tenant");
  r.headers = {{"x-tenant", "blue"}, {"x-env", "prod"}};
  auto router = build({r});
  using Fields = std::vector<sluice::net::HeaderField>;
  Fields both{{"Host", "h"}, {"X-Tenant", "blue"}, {"X-ENV", "prod"}};
  Fields padded{{"x-tenant", "  blue "}, {"x-env", "prod"}};
  Fields one{{"x-tenant", "blue"}};
  Fields wrong_case{{"x-tenant", "Blue"}, {"x-env", "prod"}};
  Fields second_value{{"x-tenant", "red"}, {"x-tenant", "blue"}, {"x-env", "prod"}};
  CHECK(router.match(facts("/", "h", "GET", "main", &both)));
  CHECK(router.match(facts("/", "h", "GET", "main", &padded)));
  CHECK(router.match(facts("/", "h", "GET", "main", &second_value)));
  CHECK_FALSE(router.match(facts("/", "h", "GET", "main", &one)));
  CHECK_FALSE(router.match(facts("/", "h", "GET", "main", &wrong_case)));
  CHECK_FALSE(router.match(facts("/", "h", "GET", "main", nullptr)));

  auto open = build({route("open")});
  CHECK(open.match(facts("/", "h", "GET", "main", nullptr)));  // no conditions, no headers needed
}

TEST_CASE("Router: listener restriction", "[gateway][router]") {
  auto internal = route("internal");
  internal.listeners = {"admin", "internal"};
  auto router = build({internal, route("public")});
  CHECK(router.match(facts("/", "h", "GET", "internal")) == std::optional<std::size_t>(0));
  CHECK(router.match(facts("/", "h", "GET", "admin")) == std::optional<std::size_t>(0));
  CHECK(router.match(facts("/", "h", "GET", "main")) == std::optional<std::size_t>(1));
  CHECK(router.match(facts("/", "h", "GET", "")) == std::optional<std::size_t>(1));
}

TEST_CASE("Router: the first matching route wins", "[gateway][router]") {
  auto specific = route("users", config::PathMatch::prefix, "/api/users");
  specific.methods = {"GET"};
  auto router =
      build({specific, route("api", config::PathMatch::prefix, "/api"), route("catch-all")});
  CHECK(router.match(facts("/api/users/1")) == std::optional<std::size_t>(0));
  CHECK(router.match(facts("/api/users/1", "h", "POST")) == std::optional<std::size_t>(1));
  CHECK(router.match(facts("/api/orders")) == std::optional<std::size_t>(1));
  CHECK(router.match(facts("/other")) == std::optional<std::size_t>(2));

  auto reversed = build({route("catch-all"), specific});
  CHECK(reversed.match(facts("/api/users/1")) == std::optional<std::size_t>(0));
}

TEST_CASE("Router: no match is nullopt", "[gateway][router]") {
  auto r = route("only", config::PathMatch::exact, "/only");
  r.hosts = {"a.test"};
  auto router = build({r});
  CHECK(router.match(facts("/only", "b.test")) == std::nullopt);
  CHECK(router.match(facts("/other", "a.test")) == std::nullopt);
  auto none = build({});
  CHECK(none.size() == 0);
  CHECK(none.match(facts("/")) == std::nullopt);
}

TEST_CASE("Router: rewrite_target replaces the matched prefix", "[gateway][router]") {
  auto to_root = route("root", config::PathMatch::prefix, "/api");
  to_root.rewrite_prefix = "/";
  auto to_v2 = route("v2", config::PathMatch::prefix, "/api");
  to_v2.rewrite_prefix = "/v2";
  auto to_empty = route("empty", config::PathMatch::prefix, "/api");
  to_empty.rewrite_prefix = "";
  auto router = build({to_root, to_v2, to_empty});

  CHECK(rewritten(router, 0, "/api/users") == "/users");
  CHECK(rewritten(router, 0, "/api/users?page=2&x=%2F") == "/users?page=2&x=%2F");
  CHECK(rewritten(router, 0, "/api") == "/");
  CHECK(rewritten(router, 0, "/api?x=1") == "/?x=1");

  CHECK(rewritten(router, 1, "/api/users") == "/v2/users");
  CHECK(rewritten(router, 1, "/api/users?q=a") == "/v2/users?q=a");
  CHECK(rewritten(router, 1, "/api") == "/v2");

  CHECK(rewritten(router, 2, "/api/users") == "/users");
  CHECK(rewritten(router, 2, "/api") == "/");
}

TEST_CASE("Router: rewrite_target leaves other targets alone", "[gateway][router]") {
  auto plain = route("plain", config::PathMatch::prefix, "/api");
  // A rewrite on a non-prefix route has no prefix to replace.
  auto exact = route("exact", config::PathMatch::exact, "/api/x");
  exact.rewrite_prefix = "/other";
  auto router = build({plain, exact});
  CHECK(rewritten(router, 0, "/api/users?x=1") == "/api/users?x=1");
  CHECK(rewritten(router, 1, "/api/x?y") == "/api/x?y");
}

TEST_CASE("Router: a moved router keeps working", "[gateway][router]") {
  auto r = route("v", config::PathMatch::regex, "^/v[0-9]$");
  r.rewrite_prefix = "/ignored";
  auto built = Router::build({r, route("p", config::PathMatch::prefix, "/p")});
  REQUIRE(built.ok());
  Router moved = std::move(*built);
  Router again = std::move(moved);
  CHECK(again.match(facts("/v1")) == std::optional<std::size_t>(0));
  CHECK(again.match(facts("/p/x")) == std::optional<std::size_t>(1));
  CHECK(again.match(facts("/q")) == std::nullopt);
}
