// core/text: UTF-8 repair and XML escaping for the JUnit reporters.
#include "sluice/core/text.hpp"

#include <catch2/catch.hpp>

using namespace sluice::text;

TEST_CASE("text: invalid UTF-8 becomes U+FFFD, valid text is kept", "[core][text]") {
  CHECK(valid_utf8("plain ascii") == "plain ascii");
  CHECK(valid_utf8("caf\xc3\xa9 \xf0\x9f\x98\x80") == "caf\xc3\xa9 \xf0\x9f\x98\x80");
  CHECK(valid_utf8("a\xff"
                   "b") ==
        "a\xef\xbf\xbd"
        "b");
  CHECK(valid_utf8("\xc0\xaf") == "\xef\xbf\xbd\xef\xbf\xbd");                  // overlong '/'
  CHECK(valid_utf8("\xed\xa0\x80") == "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");  // a surrogate
  CHECK(valid_utf8("\xe2\x82") == "\xef\xbf\xbd\xef\xbf\xbd");                  // truncated
}

TEST_CASE("text: XML escaping for content and attributes", "[core][text]") {
  CHECK(xml_escape("a<b & \"c\" 'd'>", false) == "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;");
  CHECK(xml_escape("line\nnext\tcol", false) == "line\nnext\tcol");
  CHECK(xml_escape("line\nnext\tcol", true) == "line&#10;next&#9;col");
  CHECK(xml_escape("cr\r", false) == "cr&#13;");
  CHECK(xml_escape(std::string_view("nul\0bell\x07", 9), false) == "nulbell");  // not XML chars
  CHECK(xml_escape("bad\xff", false) == "bad\xef\xbf\xbd");
}
