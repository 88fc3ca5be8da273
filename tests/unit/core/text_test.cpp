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

namespace {

const std::string kFffd = "\xef\xbf\xbd";

std::string fffd(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += kFffd;
  return s;
}

}  // namespace

TEST_CASE("text: WHATWG decoding keeps well-formed UTF-8", "[core][text]") {
  CHECK(decode_utf8_whatwg("") == "");
  CHECK(decode_utf8_whatwg("plain ascii, long enough for the 8-byte path") ==
        "plain ascii, long enough for the 8-byte path");
  std::string all =
      "\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf"
      "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf";  // the boundaries of every row of Table 3-7
  CHECK(decode_utf8_whatwg(all) == all);
  CHECK(valid_utf8_prefix(all) == all.size());
  CHECK(decode_utf8_whatwg(std::string_view("a\0b", 3)) == std::string_view("a\0b", 3));
}

TEST_CASE("text: WHATWG decoding gives one U+FFFD per maximal subpart", "[core][text]") {
  // Truncated sequences: the lead and its valid continuations are one subpart.
  CHECK(decode_utf8_whatwg("\xe2\x82") == fffd(1));
  CHECK(decode_utf8_whatwg("a\xe2\x82z") == "a" + fffd(1) + "z");
  CHECK(decode_utf8_whatwg("\xf0\x9f\x98") == fffd(1));
  CHECK(decode_utf8_whatwg("\xf0\x9f") == fffd(1));
  CHECK(decode_utf8_whatwg("\xf0") == fffd(1));
  CHECK(decode_utf8_whatwg("\xc3") == fffd(1));
  CHECK(decode_utf8_whatwg("\xf0\x9f\x98 ") == fffd(1) + " ");
  CHECK(decode_utf8_whatwg("\xe2\x82\xf0\x9f\x98\x80") == fffd(1) + "\xf0\x9f\x98\x80");
  // Overlongs: C0/C1 are never leads; E0 and F0 reject their too-small second bytes.
  CHECK(decode_utf8_whatwg("\xc0\xaf") == fffd(2));
  CHECK(decode_utf8_whatwg("\xc1\xbf") == fffd(2));
  CHECK(decode_utf8_whatwg("\xe0\x80\xaf") == fffd(3));
  CHECK(decode_utf8_whatwg("\xf0\x80\x80\xaf") == fffd(4));
  CHECK(decode_utf8_whatwg("\xf0\x8f\xbf\xbf") == fffd(4));
  // Surrogates (ED A0..BF) are three subparts.
  CHECK(decode_utf8_whatwg("\xed\xa0\x80") == fffd(3));
  CHECK(decode_utf8_whatwg("\xed\xbf\xbf") == fffd(3));
  CHECK(decode_utf8_whatwg("\xed\xa0\x80\xed\xb0\x80") == fffd(6));
  // Beyond U+10FFFF: F4 90.. and F5..FF.
  CHECK(decode_utf8_whatwg("\xf4\x90\x80\x80") == fffd(4));
  CHECK(decode_utf8_whatwg("\xf5\x80\x80\x80") == fffd(4));
  CHECK(decode_utf8_whatwg("\xf8\x88\x80\x80\x80") == fffd(5));
  CHECK(decode_utf8_whatwg("\xff\xfe") == fffd(2));
  // Lone continuation bytes, each its own subpart.
  CHECK(decode_utf8_whatwg("\x80") == fffd(1));
  CHECK(decode_utf8_whatwg("a\x80\xbf"
                           "b") == "a" + fffd(2) + "b");
  // A lead cut short by a non-continuation keeps that byte.
  CHECK(decode_utf8_whatwg("\xe2(") == fffd(1) + "(");
  CHECK(decode_utf8_whatwg("\xe2\x82("
                           "\xc3\xa9") == fffd(1) + "(\xc3\xa9");
  // The example of Unicode's chapter 3 (U+FFFD substitution of maximal subparts).
  CHECK(decode_utf8_whatwg("\x61\xf1\x80\x80\xe1\x80\xc2\x62\x80\x63\x80\xbf\x64") ==
        "a" + fffd(3) + "b" + fffd(1) + "c" + fffd(2) + "d");
  CHECK(valid_utf8_prefix("abcdefghij\xe2\x82") == 10);
}
