// HttpParser: request and response heads, framing (length, chunked, EOF), limits, and the
// smuggling defences (conflicting or unsupported framing headers).
#include "sluice/net/http_parser.hpp"

#include <cstddef>
#include <string>
#include <string_view>

#include <catch2/catch.hpp>

using sluice::net::HttpParser;
using sluice::net::MessageHead;
using sluice::net::ParseError;

namespace {

constexpr std::uint32_t kHeaderLimit = 8 * 1024;
constexpr std::uint64_t kBodyLimit = 1 << 20;

struct Fed {
  std::size_t n;
  ParseError err;
};

Fed feed(HttpParser& p, std::string_view data) {
  ParseError err = ParseError::none;
  std::size_t n = p.feed(data.data(), data.size(), err);
  return {n, err};
}

std::string joined(const std::vector<std::string_view>& pieces) {
  std::string out;
  for (auto p : pieces) out += p;
  return out;
}

bool inside(std::string_view view, std::string_view buffer) {
  return view.data() >= buffer.data() && view.data() + view.size() <= buffer.data() + buffer.size();
}

// Feeds `data` the way a session does: offers what is unconsumed, keeps the rest, and stops at
// the end of the message. Returns the bytes consumed in total and the decoded body.
struct Drained {
  std::size_t consumed = 0;
  std::string body;
  ParseError err = ParseError::none;
};

Drained drain(HttpParser& p, std::string_view data) {
  Drained d;
  while (!p.done()) {
    std::string_view rest = data.substr(d.consumed);
    if (rest.empty()) break;
    p.body_pieces().clear();
    auto [n, err] = feed(p, rest);
    d.body += joined(p.body_pieces());
    d.consumed += n;
    d.err = err;
    if (err != ParseError::none) break;
  }
  return d;
}

// Offers a growing buffer one byte at a time (the worst case for a parser fed by a socket).
Drained drip(HttpParser& p, std::string_view data) {
  Drained d;
  std::size_t avail = 0;
  while (!p.done() && avail < data.size()) {
    ++avail;
    p.body_pieces().clear();
    auto [n, err] = feed(p, data.substr(d.consumed, avail - d.consumed));
    d.body += joined(p.body_pieces());
    d.consumed += n;
    d.err = err;
    if (err != ParseError::none && err != ParseError::need_more) break;
  }
  return d;
}

}  // namespace

TEST_CASE("HttpParser: a GET head exposes method, target, version and fields as views",
          "[net][http_parser]") {
  HttpParser p(HttpParser::Kind::request);
  p.reset(kHeaderLimit, kBodyLimit);
  const std::string buf =
      "GET /a/b?x=1&y=2 HTTP/1.1\r\nHost: example.com\r\nX-Thing: padded  \r\n"
      "Accept: */*\r\n\r\n";
  auto [n, err] = feed(p, buf);
  CHECK(err == ParseError::none);
  CHECK(n == buf.size());
  REQUIRE(p.header_done());
  CHECK(p.done());  // no Content-Length, no chunking: a request without body
  const MessageHead& h = p.head();
  CHECK(h.method == "GET");
  CHECK(h.target == "/a/b?x=1&y=2");
  CHECK(h.version == 11);
  CHECK(h.keep_alive);
  CHECK_FALSE(h.chunked);
  CHECK_FALSE(h.content_length.has_value());
  CHECK_FALSE(h.expect_continue);
  REQUIRE(h.fields.size() == 3);
  CHECK(h.fields[0].name == "Host");
  CHECK(h.fields[0].value == "example.com");
  CHECK(h.fields[1].name == "X-Thing");
  CHECK(h.fields[1].value == "padded");  // trailing whitespace is not part of the value
  CHECK(h.fields[2].name == "Accept");
  for (const auto& f : h.fields) {
    CHECK(inside(f.name, buf));
    CHECK(inside(f.value, buf));
  }
  CHECK(inside(h.method, buf));
  CHECK(inside(h.target, buf));
}

TEST_CASE("MessageHead::get: first value, case-insensitive, empty when absent",
          "[net][http_parser]") {
  HttpParser p(HttpParser::Kind::request);
  p.reset(kHeaderLimit, kBodyLimit);
  const std::string buf = "GET / HTTP/1.1\r\nHost: a\r\nX-Dup: one\r\nx-dup: two\r\n\r\n";
  REQUIRE(feed(p, buf).err == ParseError::none);
  CHECK(p.head().get("x-dup") == "one");
  CHECK(p.head().get("X-DUP") == "one");
  CHECK(p.head().get("HOST") == "a");
  CHECK(p.head().get("x-missing").empty());
}

TEST_CASE("HttpParser: keep_alive follows the version and the Connection header",
          "[net][http_parser]") {
  struct Case {
    std::string text;
    int version;
    bool keep_alive;
  };
  for (const auto& c : {
           Case{"GET / HTTP/1.1\r\nHost: a\r\n\r\n", 11, true},
           Case{"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 11, false},
           Case{"GET / HTTP/1.1\r\nHost: a\r\nConnection: Close\r\n\r\n", 11, false},
           Case{"GET / HTTP/1.1\r\nHost: a\r\nConnection: x-foo, close\r\n\r\n", 11, false},
           Case{"GET / HTTP/1.0\r\n\r\n", 10, false},
           Case{"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 10, true},
           Case{"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", 10, true},
       }) {
    INFO(c.text);
    HttpParser p(HttpParser::Kind::request);
    p.reset(kHeaderLimit, kBodyLimit);
    auto [n, err] = feed(p, c.text);
    REQUIRE(err == ParseError::none);
    CHECK(n == c.text.size());
    CHECK(p.head().version == c.version);
    CHECK(p.head().keep_alive == c.keep_alive);
  }
}

TEST_CASE("HttpParser: a head split across feeds is consumed only when complete",
          "[net][http_parser]") {
  HttpParser p(HttpParser::Kind::request);
  p.reset(kHeaderLimit, kBodyLimit);
  const std::string full =
      "POST /upload HTTP/1.1\r\nHost: example.com\r\nContent-Length: 4\r\n\r\nbody";
  const std::size_t head_size = full.find("\r\n\r\n") + 4;
  std::string buf;
  buf.reserve(full.size());  // views stay valid: the buffer never moves

  for (std::size_t cut : {std::size_t{3}, std::size_t{17}, std::size_t{30}, head_size - 1}) {
    buf.assign(full, 0, cut);
    INFO("offered " << cut << " bytes");
    auto [n, err] = feed(p, buf);
    CHECK(err == ParseError::need_more);
    CHECK(n == 0);
    CHECK_FALSE(p.header_done());
  }
  buf.assign(full, 0, head_size + 1);  // the head and one body byte
  auto [n, err] = feed(p, buf);
  CHECK(err == ParseError::none);
  CHECK(n == head_size);  // stops after the head so the caller learns where the body starts
  REQUIRE(p.header_done());
  CHECK_FALSE(p.done());
  CHECK(p.head().method == "POST");
  CHECK(p.head().target == "/upload");
  CHECK(p.head().get("host") == "example.com");
  REQUIRE(p.head().content_length);
  CHECK(*p.head().content_length == 4);

  p.body_pieces().clear();
  auto first = feed(p, std::string_view(buf).substr(head_size));
  CHECK(first.err == ParseError::none);
  CHECK(first.n == 1);
  CHECK(joined(p.body_pieces()) == "b");
  CHECK_FALSE(p.done());

  buf.assign(full);
  p.body_pieces().clear();
  auto rest = feed(p, std::string_view(buf).substr(head_size + 1));
  CHECK(rest.err == ParseError::none);
  CHECK(rest.n == 3);
  CHECK(joined(p.body_pieces()) == "ody");
  CHECK(p.done());
}

TEST_CASE("HttpParser: pipelined requests are consumed one message at a time",
          "[net][http_parser]") {
  const std::string r1 = "GET /one HTTP/1.1\r\nHost: a\r\n\r\n";
  const std::string r2_head = "POST /two HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n";
  const std::string r3 = "DELETE /three HTTP/1.1\r\nHost: a\r\n\r\n";
  const std::string buf = r1 + r2_head + "abc" + r3;
  std::string_view rest(buf);

  HttpParser p(HttpParser::Kind::request);
  p.reset(kHeaderLimit, kBodyLimit);
  auto a = feed(p, rest);
  CHECK(a.err == ParseError::none);
  CHECK(a.n == r1.size());
  CHECK(p.done());
  CHECK(p.head().target == "/one");
  rest.remove_prefix(a.n);

  p.reset(kHeaderLimit, kBodyLimit);
  auto b = feed(p, rest);
  CHECK(b.err == ParseError::none);
  CHECK(b.n == r2_head.size());
  CHECK(p.head().method == "POST");
  CHECK(p.head().target == "/two");
  rest.remove_prefix(b.n);
  auto body = feed(p, rest);
  CHECK(body.err == ParseError::none);
  CHECK(body.n == 3);  // the body ends at Content-Length, not at the end of the buffer
  CHECK(joined(p.body_pieces()) == "abc");
  CHECK(p.done());
  rest.remove_prefix(body.n);

  p.reset(kHeaderLimit, kBodyLimit);
  CHECK(p.body_pieces().empty());  // reset forgets the previous message's body
  auto c = feed(p, rest);
  CHECK(c.err == ParseError::none);
  CHECK(c.n == r3.size());
  CHECK(p.head().method == "DELETE");
  CHECK(p.head().target == "/three");
  CHECK_FALSE(p.head().content_length.has_value());
  CHECK(p.done());
}

TEST_CASE("HttpParser: reset forgets the previous head", "[net][http_parser]") {
  HttpParser p(HttpParser::Kind::request);
  p.reset(kHeaderLimit, kBodyLimit);
  const std::string first =
      "POST /x HTTP/1.0\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n"
      "Connection: keep-alive\r\n\r\n";
  REQUIRE(feed(p, first).err == ParseError::none);
  CHECK(p.head().chunked);
  CHECK(p.head().expect_continue);
  CHECK(p.head().version == 10);

  p.reset(kHeaderLimit, kBodyLimit);
  CHECK_FALSE(p.header_done());
  CHECK(p.head().fields.empty());
  CHECK(p.head().method.empty());
  CHECK_FALSE(p.head().chunked);
  CHECK_FALSE(p.head().expect_continue);
  CHECK_FALSE(p.head().content_length.has_value());
  const std::string second = "GET /y HTTP/1.1\r\nHost: b\r\n\r\n";
  REQUIRE(feed(p, second).err == ParseError::none);
  CHECK(p.head().target == "/y");
  CHECK(p.head().version == 11);
  CHECK(p.head().fields.size() == 1);
  CHECK_FALSE(p.head().chunked);
  CHECK_FALSE(p.head().expect_continue);
}

TEST_CASE("HttpParser: Content-Length body is consumed exactly", "[net][http_parser]") {
  HttpParser p(HttpParser::Kind::request);
  p.reset(kHeaderLimit, kBodyLimit);
  const std::string head = "PUT /k HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n";
  const std::string msg = head + "hello world" + "GET / HTTP/1.1\r\n\r\n";
  auto d = drain(p, msg);
  CHECK(d.err == ParseError::none);
  CHECK(p.done());
  CHECK(d.consumed == head.size() + 11);
  CHECK(d.body == "hello world");
  REQUIRE(p.head().content_length);
  CHECK(*p.head().content_length == 11);
}

TEST_CASE("HttpParser: Content-Length body fed one byte at a time", "[net][http_parser]") {
  HttpParser p(HttpParser::Kind::request);
  p.reset(kHeaderLimit, kBodyLimit);
  const std::string head = "PUT /k HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n";
  const std::string msg = head + "12345" + "extra";
  auto d = drip(p, msg);
  CHECK(d.err == ParseError::none);
  CHECK(p.done());
  CHECK(d.consumed == head.size() + 5);
  CHECK(d.body == "12345");
}

TEST_CASE("HttpParser: Content-Length: 0 completes with the head", "[net][http_parser]") {
  HttpParser p(HttpParser::Kind::request);
  p.reset(kHeaderLimit, kBodyLimit);
  const std::string head = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n";
  auto [n, err] = feed(p, head + "GET");
  CHECK(err == ParseError::none);
  CHECK(n == head.size());
  CHECK(p.done());
  REQUIRE(p.head().content_length);
  CHECK(*p.head().content_length == 0);
}

TEST_CASE("HttpParser: body limit 0 means unlimited for Content-Length bodies",
          "[net][http_parser]") {
  // Beast 1.74 compares `len_ > body_limit_` with body_limit_ == boost::none, which is true for
  // any length, so reset(.., 0) must not pass boost::none through.
  for (auto kind : {HttpParser::Kind::request, HttpParser::Kind::response}) {
    HttpParser p(kind);
    p.reset(kHeaderLimit, 0);
    const std::string head = kind == HttpParser::Kind::request
                                 ? "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n"
                                 : "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n";
    auto d = drain(p, head + "hello");
    CHECK(d.err == ParseError::none);
    CHECK(p.done());
    CHECK(d.body == "hello");
    CHECK(d.consumed == head.size() + 5);
  }
}

TEST_CASE("HttpParser: body limit 0 means unlimited for chunked bodies", "[net][http_parser]") {
  HttpParser p(HttpParser::Kind::response);
  p.reset(kHeaderLimit, 0);
  const std::string msg =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
  auto d = drain(p, msg);
  CHECK(d.err == ParseError::none);
  CHECK(p.done());
  CHECK(d.body == "abc");
  CHECK(d.consumed == msg.size());
}

TEST_CASE("HttpParser: chunked body: raw bytes consumed, decoded pieces", "[net][http_parser]") {
  const std::string head = "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
  const std::string chunks =
      "5\r\nhello\r\n6;ext=1\r\n world\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n";
  const std::string next = "GET /next HTTP/1.1\r\nHost: a\r\n\r\n";
  const std::string msg = head + chunks + next;

  SECTION("one buffer") {
    HttpParser p(HttpParser::Kind::request);
    p.reset(kHeaderLimit, kBodyLimit);
    auto h = feed(p, msg);
    REQUIRE(h.err == ParseError::none);
    CHECK(h.n == head.size());
    CHECK(p.head().chunked);
    CHECK_FALSE(p.head().content_length.has_value());
    CHECK_FALSE(p.done());
    auto d = drain(p, std::string_view(msg).substr(head.size()));
    CHECK(d.err == ParseError::none);
    CHECK(p.done());
    CHECK(d.consumed == chunks.size());  // stops before the pipelined request
    CHECK(d.body == "hello world0123456789abcdef");
  }
  SECTION("one byte at a time") {
    HttpParser p(HttpParser::Kind::request);
    p.reset(kHeaderLimit, kBodyLimit);
    auto d = drip(p, msg);
    CHECK(d.err == ParseError::none);
    CHECK(p.done());
    CHECK(d.consumed == head.size() + chunks.size());
    CHECK(d.body == "hello world0123456789abcdef");
  }
}

TEST_CASE("HttpParser: Transfer-Encoding: chunked is matched case-insensitively",
          "[net][http_parser]") {
  HttpParser p(HttpParser::Kind::request);
  p.reset(kHeaderLimit, kBodyLimit);
  const std::string msg =
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n";
  auto d = drain(p, msg);
  CHECK(d.err == ParseError::none);
  CHECK(p.head().chunked);
  CHECK(p.done());
  CHECK(d.consumed == msg.size());
}

TEST_CASE("HttpParser: a head over the header limit is header_too_large", "[net][http_parser]") {
  const std::string big =
      "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(300, 'v') + "\r\n\r\n";
  SECTION("complete head over the limit") {
    HttpParser p(HttpParser::Kind::request);
    p.reset(128, kBodyLimit);
    CHECK(feed(p, big).err == ParseError::header_too_large);
    CHECK_FALSE(p.header_done());
  }
  SECTION("incomplete head already over the limit") {
    HttpParser p(HttpParser::Kind::request);
    p.reset(128, kBodyLimit);
    CHECK(feed(p, std::string_view(big).substr(0, 250)).err == ParseError::header_too_large);
  }
  SECTION("the same head under a larger limit") {
    HttpParser p(HttpParser::Kind::request);
    p.reset(1024, kBodyLimit);
    auto [n, err] = feed(p, big);
    CHECK(err == ParseError::none);
    CHECK(n == big.size());
  }
  SECTION("responses too") {
    HttpParser p(HttpParser::Kind::response);
    p.reset(64, kBodyLimit);
    const std::string res = "HTTP/1.1 200 OK\r\nX-Big: " + std::string(100, 'v') + "\r\n\r\n";
    CHECK(feed(p, res).err == ParseError::header_too_large);
  }
}

TEST_CASE("HttpParser: bodies over the body limit are body_too_large", "[net][http_parser]") {
  SECTION("Content-Length above the limit is refused at the head") {
    HttpParser p(HttpParser::Kind::request);
    p.reset(kHeaderLimit, 10);
    CHECK(feed(p, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n").err ==
          ParseError::body_too_large);
  }
  SECTION("Content-Length at the limit is accepted") {
    HttpParser p(HttpParser::Kind::request);
    p.reset(kHeaderLimit, 10);
    auto d = drain(p, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123456789");
    CHECK(d.err == ParseError::none);
    CHECK(p.done());
    CHECK(d.body == "0123456789");
  }
  SECTION("a single chunk over the limit") {
    HttpParser p(HttpParser::Kind::request);
    p.reset(kHeaderLimit, 10);
    auto d = drain(p,
                   "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "b\r\n0123456789a\r\n0\r\n\r\n");
    CHECK(d.err == ParseError::body_too_large);
    CHECK_FALSE(p.done());
  }
  SECTION("chunks that add up to more than the limit") {
    HttpParser p(HttpParser::Kind::request);
    p.reset(kHeaderLimit, 10);
    auto d = drain(p,
                   "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "6\r\n012345\r\n6\r\n678901\r\n0\r\n\r\n");
    CHECK(d.err == ParseError::body_too_large);
    CHECK_FALSE(p.done());
  }
  SECTION("chunks that add up to the limit") {
    HttpParser p(HttpParser::Kind::request);
    p.reset(kHeaderLimit, 10);
    auto d = drain(p,
                   "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "5\r\n01234\r\n5\r\n56789\r\n0\r\n\r\n");
    CHECK(d.err == ParseError::none);
    CHECK(p.done());
    CHECK(d.body == "0123456789");
  }
}

TEST_CASE("HttpParser: conflicting or unsupported framing is bad_request", "[net][http_parser]") {
  for (std::string text : {
           // Content-Length with Transfer-Encoding, in both orders (request smuggling).
           std::string("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
                       "Transfer-Encoding: chunked\r\n\r\n"),
           std::string("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                       "Content-Length: 5\r\n\r\n"),
           // Transfer codings other than chunked.
           std::string("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n"),
           std::string("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"),
           std::string("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n"),
           std::string("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                       "Transfer-Encoding: chunked\r\n\r\n"),
           // Duplicate, differing Content-Length.
           std::string(
               "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"),
           std::string("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\n"),
           // Malformed.
           std::string("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n"),
           std::string("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5x\r\n\r\n"),
           std::string("GET\r\n\r\n"),
           std::string("GET / HTTP/9\r\n\r\n"),
           std::string("GET / HTTP/1.1\r\nNo colon here\r\n\r\n"),
       }) {
    INFO(text);
    HttpParser p(HttpParser::Kind::request);
    p.reset(kHeaderLimit, kBodyLimit);
    CHECK(feed(p, text).err == ParseError::bad_request);
  }
}

TEST_CASE("HttpParser: unsupported transfer coding is refused in responses too",
          "[net][http_parser]") {
  HttpParser p(HttpParser::Kind::response);
  p.reset(kHeaderLimit, kBodyLimit);
  CHECK(feed(p, "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n").err ==
        ParseError::bad_request);
}

TEST_CASE("HttpParser: identical duplicate Content-Length is one length", "[net][http_parser]") {
  HttpParser p(HttpParser::Kind::request);
  p.reset(kHeaderLimit, kBodyLimit);
  auto d =
      drain(p, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc");
  CHECK(d.err == ParseError::none);
  REQUIRE(p.head().content_length);
  CHECK(*p.head().content_length == 3);
  CHECK(d.body == "abc");
}

TEST_CASE("HttpParser: Expect: 100-continue sets expect_continue", "[net][http_parser]") {
  struct Case {
    std::string expect_line;
    bool flag;
  };
  for (const auto& c :
       {Case{"Expect: 100-continue\r\n", true}, Case{"Expect: 100-Continue\r\n", true},
        Case{"", false}, Case{"Expect: something-else\r\n", false}}) {
    INFO(c.expect_line);
    HttpParser p(HttpParser::Kind::request);
    p.reset(kHeaderLimit, kBodyLimit);
    const std::string text =
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n" + c.expect_line + "\r\n";
    auto [n, err] = feed(p, text);
    REQUIRE(err == ParseError::none);
    CHECK(n == text.size());
    CHECK(p.head().expect_continue == c.flag);
  }
}

TEST_CASE("HttpParser: response status, reason and Content-Length body", "[net][http_parser]") {
  HttpParser p(HttpParser::Kind::response);
  p.reset(kHeaderLimit, kBodyLimit);
  const std::string head = "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\nX-A: b\r\n\r\n";
  const std::string msg = head + "abcHTTP/1.1 200 OK\r\n";
  auto h = feed(p, msg);
  CHECK(h.err == ParseError::none);
  CHECK(h.n == head.size());
  CHECK(p.head().status == 404);
  CHECK(p.head().reason == "Not Found");
  CHECK(p.head().version == 11);
  CHECK(p.head().keep_alive);
  CHECK(p.head().get("x-a") == "b");
  CHECK_FALSE(p.needs_eof());
  auto d = drain(p, std::string_view(msg).substr(head.size()));
  CHECK(d.err == ParseError::none);
  CHECK(d.consumed == 3);
  CHECK(d.body == "abc");
  CHECK(p.done());
}

TEST_CASE("HttpParser: HTTP/1.0 response version and keep-alive", "[net][http_parser]") {
  HttpParser p(HttpParser::Kind::response);
  p.reset(kHeaderLimit, kBodyLimit);
  REQUIRE(feed(p, "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n").err == ParseError::none);
  CHECK(p.head().version == 10);
  CHECK_FALSE(p.head().keep_alive);
  CHECK(p.done());
}

TEST_CASE("HttpParser: skip_body makes the head the whole response (HEAD)", "[net][http_parser]") {
  HttpParser p(HttpParser::Kind::response);
  p.reset(kHeaderLimit, kBodyLimit);
  p.skip_body();
  const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n";
  const std::string next = "HTTP/1.1 204 No Content\r\n\r\n";
  auto [n, err] = feed(p, head + next);
  CHECK(err == ParseError::none);
  CHECK(n == head.size());
  CHECK(p.done());
  CHECK_FALSE(p.needs_eof());
  REQUIRE(p.head().content_length);
  CHECK(*p.head().content_length == 1000);  // the length of the body a GET would get

  // skip_body lasts for one message only.
  p.reset(kHeaderLimit, kBodyLimit);
  auto again = feed(p, head);
  CHECK(again.err == ParseError::none);
  CHECK_FALSE(p.done());
}

TEST_CASE("HttpParser: 204 and 304 responses have no body", "[net][http_parser]") {
  for (std::string head : {std::string("HTTP/1.1 204 No Content\r\n\r\n"),
                           std::string("HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n"),
                           std::string("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n"),
                           std::string("HTTP/1.1 100 Continue\r\n\r\n")}) {
    INFO(head);
    HttpParser p(HttpParser::Kind::response);
    p.reset(kHeaderLimit, kBodyLimit);
    auto [n, err] = feed(p, head + "HTTP/1.1 200 OK\r\n");
    CHECK(err == ParseError::none);
    CHECK(n == head.size());
    CHECK(p.done());
    CHECK_FALSE(p.needs_eof());
  }
}

TEST_CASE("HttpParser: a response without length is delimited by EOF", "[net][http_parser]") {
  HttpParser p(HttpParser::Kind::response);
  p.reset(kHeaderLimit, kBodyLimit);
  const std::string head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n";
  auto h = feed(p, head);
  REQUIRE(h.err == ParseError::none);
  CHECK(h.n == head.size());
  CHECK(p.needs_eof());
  CHECK_FALSE(p.head().keep_alive);
  CHECK_FALSE(p.done());

  p.body_pieces().clear();
  auto a = feed(p, "first part, ");
  CHECK(a.err == ParseError::none);
  CHECK(a.n == 12);
  auto b = feed(p, "second part");
  CHECK(b.err == ParseError::none);
  CHECK(b.n == 11);
  CHECK(joined(p.body_pieces()) == "first part, second part");
  CHECK_FALSE(p.done());

  ParseError err = ParseError::need_more;
  p.feed_eof(err);
  CHECK(err == ParseError::none);
  CHECK(p.done());
}

TEST_CASE("HttpParser: EOF before the message ends is partial_message", "[net][http_parser]") {
  SECTION("inside a Content-Length body") {
    HttpParser p(HttpParser::Kind::response);
    p.reset(kHeaderLimit, kBodyLimit);
    auto d = drain(p, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123");
    REQUIRE(d.err == ParseError::none);
    CHECK_FALSE(p.done());
    ParseError err = ParseError::none;
    p.feed_eof(err);
    CHECK(err == ParseError::partial_message);
    CHECK_FALSE(p.done());
  }
  SECTION("inside a chunked body") {
    HttpParser p(HttpParser::Kind::response);
    p.reset(kHeaderLimit, kBodyLimit);
    auto d = drain(p, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel");
    REQUIRE(d.err == ParseError::none);
    ParseError err = ParseError::none;
    p.feed_eof(err);
    CHECK(err == ParseError::partial_message);
  }
  SECTION("inside the head") {
    HttpParser p(HttpParser::Kind::request);
    p.reset(kHeaderLimit, kBodyLimit);
    CHECK(feed(p, "GET / HTTP/1.1\r\nHost:").err == ParseError::need_more);
    ParseError err = ParseError::none;
    p.feed_eof(err);
    CHECK(err == ParseError::partial_message);
  }
}

TEST_CASE("HttpParser: swap exchanges parse states, each continues where the other was",
          "[net][parser]") {
  HttpParser a(HttpParser::Kind::response), b(HttpParser::Kind::response);
  a.reset(8192, 0);
  b.reset(8192, 0);
  const std::string ra = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nabc";
  const std::string rb = "HTTP/1.1 503 Busy\r\nContent-Length: 2\r\n\r\n";
  auto [na, ea] = feed(a, ra);
  CHECK(ea == ParseError::none);
  feed(b, rb);
  REQUIRE(a.header_done());
  REQUIRE(b.header_done());
  a.swap(b);
  CHECK(a.head().status == 503);
  CHECK(b.head().status == 200);
  CHECK(b.head().get("content-length") == "6");
  // b was a's parser: it still expects the rest of a's body, and a the whole of b's.
  std::string rest_b = ra.substr(na) + "def";
  CHECK(feed(b, rest_b).n == 6);
  CHECK(b.done());
  CHECK(feed(a, "xy").n == 2);
  CHECK(a.done());
  CHECK(a.head().status == 503);
}
