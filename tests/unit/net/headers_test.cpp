// Header helpers: case-insensitive comparison, trimming, hop-by-hop names, Connection tokens.
#include "sluice/net/headers.hpp"

#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

using namespace sluice::net;

TEST_CASE("iequals compares ASCII case-insensitively", "[net][headers]") {
  CHECK(iequals("Content-Length", "content-length"));
  CHECK(iequals("HOST", "host"));
  CHECK(iequals("", ""));
  CHECK_FALSE(iequals("host", "hosts"));
  CHECK_FALSE(iequals("abc", "abd"));
  CHECK_FALSE(iequals("a", ""));
  // Only letters fold: '@' (0x40) and '`' (0x60), '[' and '{' differ by 0x20 but are not letters.
  CHECK_FALSE(iequals("@", "`"));
  CHECK_FALSE(iequals("[", "{"));
  CHECK(ascii_lower('Z') == 'z');
  CHECK(ascii_lower('z') == 'z');
  CHECK(ascii_lower('-') == '-');
}

TEST_CASE("istarts_with checks a case-insensitive prefix", "[net][headers]") {
  CHECK(istarts_with("Keep-Alive: x", "keep-alive"));
  CHECK(istarts_with("abc", ""));
  CHECK_FALSE(istarts_with("ab", "abc"));
  CHECK_FALSE(istarts_with("xabc", "abc"));
}

TEST_CASE("trim removes spaces and tabs at both ends only", "[net][headers]") {
  CHECK(trim(" \t a b \t ") == "a b");
  CHECK(trim("value") == "value");
  CHECK(trim("") == "");
  CHECK(trim(" \t\t ") == "");
  CHECK(trim("a\t") == "a");
  CHECK(trim("\r\na\r\n") == "\r\na\r\n");  // CR and LF are not whitespace here
  std::string s = "  mid  ";
  auto t = trim(s);
  CHECK(t.data() == s.data() + 2);  // a view into the input, no copy
}

TEST_CASE("is_hop_by_hop knows every connection-specific field", "[net][headers]") {
  for (std::string_view name :
       {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
        "upgrade", "proxy-authenticate", "proxy-authorization", "Connection", "KEEP-ALIVE",
        "Proxy-Connection", "TE", "Trailer", "Transfer-Encoding", "Upgrade", "Proxy-Authenticate",
        "Proxy-Authorization"}) {
    INFO(name);
    CHECK(is_hop_by_hop(name));
  }
  for (std::string_view name :
       {"content-length", "host", "content-type", "authorization", "x-forwarded-for", "cookie",
        "accept", "tea", "t", "", "connections", "upgrade-insecure-requests", "x-connection",
        "proxy-authorizations", "keep-alive2", "transfer-encodings"}) {
    INFO(name);
    CHECK_FALSE(is_hop_by_hop(name));
  }
}

TEST_CASE("connection_lists finds a token in a Connection value", "[net][headers]") {
  CHECK(connection_lists("close", "close"));
  CHECK(connection_lists("close, X-Foo", "x-foo"));
  CHECK(connection_lists("keep-alive ,  Upgrade", "upgrade"));
  CHECK(connection_lists("a,b,c", "B"));
  CHECK_FALSE(connection_lists("close,x-foox", "x-foo"));
  CHECK_FALSE(connection_lists("x-fo", "x-foo"));
  CHECK_FALSE(connection_lists("", "close"));
  CHECK_FALSE(connection_lists(" , ,", "close"));
}

TEST_CASE("for_each_token yields trimmed, non-empty tokens in order", "[net][headers]") {
  auto tokens = [](std::string_view list) {
    std::vector<std::string> out;
    for_each_token(list, [&](std::string_view t) { out.emplace_back(t); });
    return out;
  };
  using V = std::vector<std::string>;
  CHECK(tokens(" a, ,b ,, c ,") == V{"a", "b", "c"});
  CHECK(tokens("single") == V{"single"});
  CHECK(tokens("") == V{});
  CHECK(tokens(",,,") == V{});
  CHECK(tokens("\tx y ,z") == V{"x y", "z"});
}
