// Text helpers shared by the reporters: UTF-8 decoding and repair, XML escaping (JUnit) and
// JSON string escaping (bodies spliced without a JSON tree).
#pragma once

#include <string>
#include <string_view>

namespace sluice::text {

// ASCII case-insensitive equality (header names, methods, tokens).
inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

// Decodes one UTF-8 code point at s[i], advancing i; an invalid sequence (overlong, surrogate,
// truncated, out of range) gives U+FFFD and advances one byte.
char32_t next_code_point(std::string_view s, std::size_t& i);
void append_utf8(std::string& out, char32_t cp);
// s with every invalid UTF-8 sequence replaced by U+FFFD.
std::string valid_utf8(std::string_view s);
// The length of the longest prefix of s that is well-formed UTF-8 (s.size() when all of it is).
std::size_t valid_utf8_prefix(std::string_view s);
// s decoded the way the WHATWG Encoding Standard's UTF-8 decoder (browsers' and Node's
// TextDecoder) does it, and encoded back: each maximal subpart of an ill-formed sequence
// becomes one U+FFFD (Unicode's "U+FFFD substitution of maximal subparts"). So "\xe2\x82"
// (truncated) gives one U+FFFD, and "\xc0\xaf" (overlong) or "\xed\xa0\x80" (a surrogate) give one
// per byte. Well-formed input comes back unchanged.
std::string decode_utf8_whatwg(std::string_view s);
// Escapes text for XML content or a double-quoted attribute. Characters XML 1.0 forbids (most
// C0 controls, surrogates, U+FFFE/U+FFFF) are dropped and invalid UTF-8 becomes U+FFFD. In an
// attribute, tabs and line breaks are written as character references so parsers keep them.
std::string xml_escape(std::string_view s, bool attribute);
// s as a quoted JSON string literal ("..."), escaped as nlohmann's dump escapes it (quote,
// backslash, C0 controls); invalid UTF-8 becomes U+FFFD, as dump's error_handler_t::replace does.
std::string json_escape_string(std::string_view s);

}  // namespace sluice::text
