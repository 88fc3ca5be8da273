// Header rewriting between client and upstream: hop-by-hop removal, X-Forwarded-*, Host,
// request ids, Expect and re-framing. Heads are built by parsing raw text with HttpParser.
#include "sluice/gateway/forward.hpp"

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "sluice/net/headers.hpp"
#include "sluice/net/http_parser.hpp"

using sluice::gateway::ClientFraming;
using sluice::gateway::ClientResponseContext;
using sluice::gateway::UpstreamRequestContext;
using sluice::gateway::write_client_response_head;
using sluice::gateway::write_upstream_request_head;
using sluice::net::HttpParser;
using sluice::net::ParseError;

namespace {

// Owns the raw text the head's views point into.
struct Parsed {
  std::string raw;
  std::unique_ptr<HttpParser> parser;
  const sluice::net::MessageHead& head() const { return parser->head(); }
};

std::unique_ptr<Parsed> parse(HttpParser::Kind kind, std::string raw) {
  auto p = std::make_unique<Parsed>();
  p->raw = std::move(raw);
  p->parser = std::make_unique<HttpParser>(kind);
  p->parser->reset(64 * 1024, 1 << 20);
  ParseError err = ParseError::none;
  p->parser->feed(p->raw.data(), p->raw.size(), err);
  REQUIRE(err == ParseError::none);
  REQUIRE(p->parser->header_done());
  return p;
}

std::unique_ptr<Parsed> request(std::string raw) {
  return parse(HttpParser::Kind::request, std::move(raw));
}
std::unique_ptr<Parsed> response(std::string raw) {
  return parse(HttpParser::Kind::response, std::move(raw));
}

// A written head split into its first line and its fields.
struct Written {
  std::string first_line;
  std::vector<std::pair<std::string, std::string>> fields;

  std::vector<std::string> all(std::string_view name) const {
    std::vector<std::string> out;
    for (const auto& [n, v] : fields)
      if (sluice::net::iequals(n, name)) out.push_back(v);
    return out;
  }
  bool has(std::string_view name) const { return !all(name).empty(); }
  // The one value of name; fails the test when there are zero or several.
  std::string one(std::string_view name) const {
    auto v = all(name);
    INFO("header " << name);
    REQUIRE(v.size() == 1);
    return v[0];
  }
};

Written split(const std::string& head) {
  INFO(head);
  REQUIRE(head.size() >= 4);
  REQUIRE(head.substr(head.size() - 4) == "\r\n\r\n");
  Written w;
  std::size_t pos = head.find("\r\n");
  w.first_line = head.substr(0, pos);
  pos += 2;
  while (pos < head.size() - 2) {
    std::size_t end = head.find("\r\n", pos);
    std::string line = head.substr(pos, end - pos);
    std::size_t colon = line.find(": ");
    REQUIRE(colon != std::string::npos);
    w.fields.emplace_back(line.substr(0, colon), line.substr(colon + 2));
    pos = end + 2;
  }
  return w;
}

// The written head must itself parse as a valid message.
void check_parses(HttpParser::Kind kind, const std::string& head) {
  INFO(head);
  HttpParser p(kind);
  p.reset(64 * 1024, 1 << 20);
  ParseError err = ParseError::none;
  std::size_t n = p.feed(head.data(), head.size(), err);
  CHECK(err == ParseError::none);
  CHECK(n == head.size());
}

UpstreamRequestContext upstream_ctx() {
  UpstreamRequestContext ctx;
  ctx.target = "/rewritten?q=1";
  ctx.default_host = "default.internal:8080";
  ctx.client_address = "192.0.2.7";
  ctx.client_tls = false;
  ctx.request_id = "rid-1";
  return ctx;
}

}  // namespace

TEST_CASE("upstream head: request line uses the context target and HTTP/1.1",
          "[gateway][forward]") {
  auto req = request("PATCH /original?x HTTP/1.0\r\nHost: a.test\r\nContent-Length: 0\r\n\r\n");
  std::string out = "stale contents";
  write_upstream_request_head(out, req->head(), upstream_ctx());
  auto w = split(out);
  CHECK(w.first_line == "PATCH /rewritten?q=1 HTTP/1.1");
  CHECK(w.one("content-length") == "0");
  check_parses(HttpParser::Kind::request, out);
}

TEST_CASE("upstream head: hop-by-hop fields and fields named in Connection are removed",
          "[gateway][forward]") {
  auto req = request(
      "POST /x HTTP/1.1\r\nHost: a.test\r\nConnection: keep-alive, X-Secret, x-other\r\n"
      "Keep-Alive: timeout=5\r\nX-Secret: s\r\nX-Other: o\r\nProxy-Connection: keep-alive\r\n"
      "TE: trailers\r\nTrailer: X-Checksum\r\nUpgrade: websocket\r\n"
      "Proxy-Authorization: Basic Zm9vOmJhcg==\r\nProxy-Authenticate: Basic\r\n"
      "Content-Length: 5\r\nX-Keep: yes\r\nAuthorization: Bearer t\r\n\r\n");
  std::string out;
  write_upstream_request_head(out, req->head(), upstream_ctx());
  auto w = split(out);
  for (std::string_view gone :
       {"connection", "keep-alive", "x-secret", "x-other", "proxy-connection", "te", "trailer",
        "upgrade", "proxy-authorization", "proxy-authenticate"}) {
    INFO(gone);
    CHECK_FALSE(w.has(gone));
  }
  CHECK(w.one("content-length") == "5");
  CHECK(w.one("x-keep") == "yes");
  CHECK(w.one("authorization") == "Bearer t");
  CHECK_FALSE(w.has("transfer-encoding"));
  check_parses(HttpParser::Kind::request, out);
}

TEST_CASE("upstream head: fields named in a second Connection header are removed too",
          "[gateway][forward]") {
  // Connection may be sent as several field lines (RFC 9110 5.3); each names hop-by-hop fields.
  auto req = request(
      "GET / HTTP/1.1\r\nHost: a.test\r\nConnection: keep-alive\r\nConnection: X-Secret\r\n"
      "X-Secret: s\r\n\r\n");
  std::string out;
  write_upstream_request_head(out, req->head(), upstream_ctx());
  CHECK_FALSE(split(out).has("x-secret"));
}

TEST_CASE("upstream head: X-Forwarded-For appends the client address", "[gateway][forward]") {
  auto ctx = upstream_ctx();
  SECTION("none before") {
    auto req = request("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n");
    std::string out;
    write_upstream_request_head(out, req->head(), ctx);
    CHECK(split(out).one("x-forwarded-for") == "192.0.2.7");
  }
  SECTION("appended to an existing list") {
    auto req =
        request("GET / HTTP/1.1\r\nHost: a.test\r\nx-forwarded-for: 10.0.0.1, 10.0.0.2\r\n\r\n");
    std::string out;
    write_upstream_request_head(out, req->head(), ctx);
    CHECK(split(out).one("x-forwarded-for") == "10.0.0.1, 10.0.0.2, 192.0.2.7");
  }
}

TEST_CASE("upstream head: X-Forwarded-For sent as several field lines keeps every hop",
          "[gateway][forward]") {
  // Field lines with the same name combine in order (RFC 9110 5.3); dropping one loses a hop.
  auto req = request(
      "GET / HTTP/1.1\r\nHost: a.test\r\nX-Forwarded-For: 10.0.0.1\r\n"
      "X-Forwarded-For: 10.0.0.2\r\n\r\n");
  std::string out;
  write_upstream_request_head(out, req->head(), upstream_ctx());
  CHECK(split(out).one("x-forwarded-for") == "10.0.0.1, 10.0.0.2, 192.0.2.7");
}

TEST_CASE("upstream head: X-Forwarded-Proto is overwritten", "[gateway][forward]") {
  auto req = request("GET / HTTP/1.1\r\nHost: a.test\r\nX-Forwarded-Proto: https\r\n\r\n");
  auto ctx = upstream_ctx();
  std::string out;
  ctx.client_tls = false;
  write_upstream_request_head(out, req->head(), ctx);
  CHECK(split(out).one("x-forwarded-proto") == "http");
  ctx.client_tls = true;
  write_upstream_request_head(out, req->head(), ctx);
  CHECK(split(out).one("x-forwarded-proto") == "https");

  auto plain = request("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n");
  write_upstream_request_head(out, plain->head(), ctx);
  CHECK(split(out).one("x-forwarded-proto") == "https");
}

TEST_CASE("upstream head: X-Forwarded-Host is added only when absent", "[gateway][forward]") {
  std::string out;
  auto fresh = request("GET / HTTP/1.1\r\nHost: shop.example.com:8443\r\n\r\n");
  write_upstream_request_head(out, fresh->head(), upstream_ctx());
  CHECK(split(out).one("x-forwarded-host") == "shop.example.com:8443");

  auto forwarded =
      request("GET / HTTP/1.1\r\nHost: inner.test\r\nX-Forwarded-Host: outer.example.com\r\n\r\n");
  write_upstream_request_head(out, forwarded->head(), upstream_ctx());
  CHECK(split(out).one("x-forwarded-host") == "outer.example.com");
}

TEST_CASE("upstream head: Host passthrough, override and default", "[gateway][forward]") {
  std::string out;
  SECTION("passthrough") {
    auto req = request("GET / HTTP/1.1\r\nhost: Client.Example:81\r\n\r\n");
    write_upstream_request_head(out, req->head(), upstream_ctx());
    CHECK(split(out).one("host") == "Client.Example:81");
  }
  SECTION("host_override replaces it; X-Forwarded-Host keeps the original") {
    auto req = request("GET / HTTP/1.1\r\nHost: client.example\r\n\r\n");
    auto ctx = upstream_ctx();
    ctx.host_override = "backend.internal:9000";
    write_upstream_request_head(out, req->head(), ctx);
    auto w = split(out);
    CHECK(w.one("host") == "backend.internal:9000");
    CHECK(w.one("x-forwarded-host") == "client.example");
  }
  SECTION("HTTP/1.0 without Host gets the default") {
    auto req = request("GET /old HTTP/1.0\r\nUser-Agent: ancient\r\n\r\n");
    write_upstream_request_head(out, req->head(), upstream_ctx());
    auto w = split(out);
    CHECK(w.first_line == "GET /rewritten?q=1 HTTP/1.1");
    CHECK(w.one("host") == "default.internal:8080");
    CHECK(w.one("user-agent") == "ancient");
    check_parses(HttpParser::Kind::request, out);
  }
}

TEST_CASE("upstream head: x-request-id is added once", "[gateway][forward]") {
  std::string out;
  auto plain = request("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  write_upstream_request_head(out, plain->head(), upstream_ctx());
  CHECK(split(out).one("x-request-id") == "rid-1");

  // The session adopts a usable client id as ctx.request_id: it is forwarded once, as sent.
  auto with_id = request("GET / HTTP/1.1\r\nHost: a\r\nX-Request-ID: from-client\r\n\r\n");
  auto adopted = upstream_ctx();
  adopted.request_id = "from-client";
  write_upstream_request_head(out, with_id->head(), adopted);
  CHECK(split(out).one("x-request-id") == "from-client");

  // An id the session did not adopt (e.g. too long) is replaced, so upstream and log agree.
  write_upstream_request_head(out, with_id->head(), upstream_ctx());
  CHECK(split(out).one("x-request-id") == "rid-1");

  auto ctx = upstream_ctx();
  ctx.request_id = "";
  write_upstream_request_head(out, plain->head(), ctx);
  CHECK_FALSE(split(out).has("x-request-id"));
}

TEST_CASE("upstream head: Expect is removed (the gateway answers 100-continue)",
          "[gateway][forward]") {
  auto req =
      request("PUT /f HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n");
  REQUIRE(req->head().expect_continue);
  std::string out;
  write_upstream_request_head(out, req->head(), upstream_ctx());
  auto w = split(out);
  CHECK_FALSE(w.has("expect"));
  CHECK(w.one("content-length") == "10");
}

TEST_CASE("upstream head: chunked requests keep exactly one Transfer-Encoding: chunked",
          "[gateway][forward]") {
  auto req = request("POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
  std::string out;
  write_upstream_request_head(out, req->head(), upstream_ctx());
  auto w = split(out);
  CHECK(w.one("transfer-encoding") == "chunked");
  CHECK_FALSE(w.has("content-length"));
  check_parses(HttpParser::Kind::request, out);
}

TEST_CASE("upstream head: output is replaced, not appended", "[gateway][forward]") {
  auto req = request("GET /a HTTP/1.1\r\nHost: a\r\n\r\n");
  std::string out = "GET /junk HTTP/1.1\r\n";
  write_upstream_request_head(out, req->head(), upstream_ctx());
  CHECK(out.rfind("GET /rewritten?q=1 HTTP/1.1\r\n", 0) == 0);
  CHECK(out.find("/junk") == std::string::npos);
}

TEST_CASE("client head: status line and hop-by-hop removal", "[gateway][forward]") {
  auto res = response(
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\n"
      "Keep-Alive: timeout=5\r\nProxy-Authenticate: Basic\r\nTrailer: X-T\r\nUpgrade: h2c\r\n"
      "Content-Type: text/plain\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n");
  std::string out = "old";
  ClientResponseContext ctx;
  ctx.request_id = "rid-9";
  write_client_response_head(out, res->head(), ctx);
  auto w = split(out);
  CHECK(w.first_line == "HTTP/1.1 200 OK");
  for (std::string_view gone : {"connection", "keep-alive", "x-hop", "proxy-authenticate",
                                "trailer", "upgrade", "transfer-encoding"}) {
    INFO(gone);
    CHECK_FALSE(w.has(gone));
  }
  CHECK(w.one("content-length") == "5");
  CHECK(w.one("content-type") == "text/plain");
  CHECK(w.all("set-cookie") == std::vector<std::string>{"a=1", "b=2"});
  CHECK(w.one("x-request-id") == "rid-9");
  check_parses(HttpParser::Kind::response, out);
}

TEST_CASE("client head: the upstream reason phrase is kept", "[gateway][forward]") {
  auto res = response("HTTP/1.0 404 Nothing Here\r\nContent-Length: 0\r\n\r\n");
  std::string out;
  write_client_response_head(out, res->head(), {});
  CHECK(split(out).first_line == "HTTP/1.1 404 Nothing Here");
}

TEST_CASE("client head: x-request-id is not added when the upstream sent one",
          "[gateway][forward]") {
  auto res = response("HTTP/1.1 200 OK\r\nX-Request-Id: upstream-id\r\nContent-Length: 0\r\n\r\n");
  ClientResponseContext ctx;
  ctx.request_id = "rid-9";
  std::string out;
  write_client_response_head(out, res->head(), ctx);
  CHECK(split(out).one("x-request-id") == "upstream-id");
}

TEST_CASE("client head: Connection reflects close and HTTP/1.0 keep-alive", "[gateway][forward]") {
  auto res = response("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n");
  std::string out;
  ClientResponseContext ctx;

  write_client_response_head(out, res->head(), ctx);
  CHECK_FALSE(split(out).has("connection"));  // HTTP/1.1 keep-alive is the default

  ctx.close = true;
  write_client_response_head(out, res->head(), ctx);
  CHECK(split(out).one("connection") == "close");

  ctx.close = false;
  ctx.keep_alive_10 = true;
  write_client_response_head(out, res->head(), ctx);
  CHECK(split(out).one("connection") == "keep-alive");

  ctx.close = true;  // closing wins over keep-alive
  write_client_response_head(out, res->head(), ctx);
  CHECK(split(out).one("connection") == "close");
}

TEST_CASE("client head: until_close framing drops length and chunking", "[gateway][forward]") {
  ClientResponseContext ctx;
  ctx.framing = ClientFraming::until_close;
  std::string out;
  SECTION("Content-Length") {
    auto res = response("HTTP/1.1 200 OK\r\nContent-Length: 100\r\nX-A: b\r\n\r\n");
    write_client_response_head(out, res->head(), ctx);
    auto w = split(out);
    CHECK_FALSE(w.has("content-length"));
    CHECK_FALSE(w.has("transfer-encoding"));
    CHECK(w.one("connection") == "close");
    CHECK(w.one("x-a") == "b");
  }
  SECTION("chunked, for an HTTP/1.0 client") {
    auto res = response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    ctx.keep_alive_10 = true;
    write_client_response_head(out, res->head(), ctx);
    auto w = split(out);
    CHECK_FALSE(w.has("content-length"));
    CHECK_FALSE(w.has("transfer-encoding"));
    CHECK(w.one("connection") == "close");
  }
}

TEST_CASE("client head: chunked passthrough keeps one Transfer-Encoding: chunked",
          "[gateway][forward]") {
  auto res = response("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nContent-Type: x\r\n\r\n");
  std::string out;
  write_client_response_head(out, res->head(), {});
  auto w = split(out);
  CHECK(w.one("transfer-encoding") == "chunked");
  CHECK_FALSE(w.has("connection"));
  check_parses(HttpParser::Kind::response, out);
}
