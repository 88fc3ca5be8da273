// Routing, load balancing and the headers the proxy adds and removes.
#include <catch2/catch.hpp>

#include "common.hpp"
#include "sluice/chaos/mock_server.hpp"

using namespace sluice::test;
using sluice::chaos::MockServer;

namespace {

std::string cluster(std::string_view name, const MockServer& m) {
  return fmt::format("[[clusters]]\nname = \"{}\"\nendpoints = [\"{}\"]\n\n", name, m.address());
}

// The upstream that answered and the target it saw (the mocks' /echo route answers every path
// under /echo; the catch-all answers the rest with {"upstream","path"}).
struct Seen {
  int status = 0;
  std::string upstream;
  std::string target;
  nlohmann::json body;
};

Seen send(std::uint16_t port, std::string_view method, std::string_view target,
          const Headers& headers = {}, std::string_view host = "localhost") {
  Connection c(port);
  auto r = c.request(make_request(method, target, headers, {}, host));
  Seen s;
  if (!r) return s;
  s.status = r->status;
  s.body = r->json();
  if (s.body.is_object()) {
    s.upstream = s.body.value("upstream", "");
    s.target = s.body.value("target", s.body.value("path", ""));
  }
  return s;
}

}  // namespace

TEST_CASE("routes match on path, host, method and headers, and rewrite prefixes",
          "[integration][routing]") {
  MockServer exact("exact"), regex("regex"), host("host"), method("method"), header("header"),
      prefix("prefix");
  std::string rest = R"([[routes]]
name = "exact"
path = "/exact"
cluster = "exact"

[[routes]]
name = "regex"
path_regex = "^/v[0-9]+/"
cluster = "regex"

[[routes]]
name = "host"
hosts = ["api.example.com"]
path_prefix = "/"
cluster = "host"

[[routes]]
name = "method"
methods = ["POST"]
path_prefix = "/m"
cluster = "method"

[[routes]]
name = "header"
path_prefix = "/h"
headers = {"x-env" = "prod"}
cluster = "header"

[[routes]]
name = "prefix"
path_prefix = "/api"
rewrite_prefix = "/echo/internal"
cluster = "prefix"

)";
  rest += cluster("exact", exact) + cluster("regex", regex) + cluster("host", host) +
          cluster("method", method) + cluster("header", header) + cluster("prefix", prefix);
  SluiceProcess proc(config_with(rest));
  const auto port = proc.port();

  auto s = send(port, "GET", "/exact");
  CHECK(s.status == 200);
  CHECK(s.upstream == "exact");
  CHECK(send(port, "GET", "/exact/more").status == 404);

  s = send(port, "GET", "/v2/things");
  CHECK(s.upstream == "regex");
  CHECK(s.target == "/v2/things");
  CHECK(send(port, "GET", "/vx/things").status == 404);

  s = send(port, "GET", "/anything", {}, "api.example.com");
  CHECK(s.upstream == "host");
  s = send(port, "GET", "/anything", {}, "api.example.com:8080");
  CHECK(s.upstream == "host");

  s = send(port, "POST", "/m/1");
  CHECK(s.upstream == "method");
  CHECK(send(port, "GET", "/m/1").status == 404);

  s = send(port, "GET", "/h", {{"X-Env", "prod"}});
  CHECK(s.upstream == "header");
  CHECK(send(port, "GET", "/h", {{"X-Env", "dev"}}).status == 404);
  CHECK(send(port, "GET", "/h").status == 404);

  s = send(port, "GET", "/api/users?id=7");
  CHECK(s.upstream == "prefix");
  CHECK(s.target == "/echo/internal/users?id=7");

  Connection c(port);
  auto r = c.request(make_request("GET", "/nowhere"));
  REQUIRE(r);
  CHECK(r->status == 404);
  INFO(r->body);
  CHECK(has_error_shape(*r, "no_route"));
}

TEST_CASE("round robin spreads requests across endpoints", "[integration][routing][lb]") {
  MockServer a("A"), b("B");
  SluiceProcess proc(proxy_config({a.address(), b.address()}));
  Connection c(proc.port());
  std::map<std::string, int> seen;
  for (int i = 0; i < 10; ++i) {
    auto r = c.request(make_request("GET", "/rr"));
    REQUIRE(r);
    REQUIRE(r->status == 200);
    ++seen[r->json().value("upstream", "?")];
  }
  CHECK(seen["A"] == 5);
  CHECK(seen["B"] == 5);
  CHECK(a.requests() == 5);
  CHECK(b.requests() == 5);
}

TEST_CASE("hop-by-hop headers are removed and X-Forwarded-* added", "[integration][headers]") {
  MockServer up("up");
  SluiceProcess proc(proxy_config({up.address()}));
  Connection c(proc.port());
  auto r = c.request(make_request("GET", "/echo/h",
                                  {{"Connection", "keep-alive, X-Drop-Me"},
                                   {"X-Drop-Me", "1"},
                                   {"Keep-Alive", "timeout=5"},
                                   {"Proxy-Connection", "keep-alive"},
                                   {"X-Keep-Me", "2"}},
                                  {}, "public.example.com"));
  REQUIRE(r);
  REQUIRE(r->status == 200);
  auto j = r->json();
  REQUIRE(j.is_object());
  auto headers = j["headers"];
  INFO(headers.dump());
  CHECK_FALSE(headers.contains("x-drop-me"));
  CHECK_FALSE(headers.contains("keep-alive"));
  CHECK_FALSE(headers.contains("proxy-connection"));
  if (headers.contains("connection")) {
    CHECK(headers["connection"].dump().find("X-Drop-Me") == std::string::npos);
  }
  REQUIRE(headers.contains("x-keep-me"));
  CHECK(headers["x-keep-me"][0] == "2");
  REQUIRE(headers.contains("x-forwarded-for"));
  CHECK(headers["x-forwarded-for"][0] == "127.0.0.1");
  REQUIRE(headers.contains("x-forwarded-proto"));
  CHECK(headers["x-forwarded-proto"][0] == "http");
  REQUIRE(headers.contains("x-forwarded-host"));
  CHECK(headers["x-forwarded-host"][0] == "public.example.com");

  SECTION("an existing X-Forwarded-For is appended to") {
    Connection c2(proc.port());
    auto r2 = c2.request(make_request("GET", "/echo/xff", {{"X-Forwarded-For", "10.0.0.1"}}));
    REQUIRE(r2);
    auto h2 = r2->json()["headers"];
    REQUIRE(h2.contains("x-forwarded-for"));
    CHECK(h2["x-forwarded-for"].back() == "10.0.0.1, 127.0.0.1");
  }
}

TEST_CASE("x-request-id is generated or propagated", "[integration][headers][request-id]") {
  MockServer up("up");
  SluiceProcess proc(proxy_config({up.address()}));

  Connection c(proc.port());
  auto r = c.request(make_request("GET", "/echo/id"));
  REQUIRE(r);
  std::string generated = r->header("x-request-id");
  CHECK(!generated.empty());
  auto h = r->json()["headers"];
  REQUIRE(h.contains("x-request-id"));
  CHECK(h["x-request-id"][0] == generated);

  auto r2 = c.request(make_request("GET", "/echo/id", {{"X-Request-Id", "abc-123"}}));
  REQUIRE(r2);
  CHECK(r2->header("x-request-id") == "abc-123");
  auto h2 = r2->json()["headers"];
  REQUIRE(h2.contains("x-request-id"));
  CHECK(h2["x-request-id"].size() == 1);
  CHECK(h2["x-request-id"][0] == "abc-123");

  // Two generated ids differ.
  auto r3 = c.request(make_request("GET", "/echo/id"));
  REQUIRE(r3);
  CHECK(r3->header("x-request-id") != generated);

  // Gateway errors carry the id too, in the header and the body.
  Connection c4(proc.port());
  auto r4 = c4.request(make_request(
      "GET", "/x", {{"X-Request-Id", "err-42"}, {"X-Big", std::string(16 * 1024, 'h')}}));
  REQUIRE(r4);
  CHECK(r4->status == 431);
  auto e = r4->json();
  if (e.is_object() && e.contains("error")) {
    CHECK(e["error"].value("request_id", "") == r4->header("x-request-id"));
  }
}
