#include "report_util.hpp"

#include <ctime>

#include <fmt/format.h>

#include "sluice/probe/grpc_wire.hpp"

namespace sluice::probe::detail {
namespace {

// Decodes one UTF-8 code point at s[i] and advances i; an invalid sequence gives U+FFFD and
// advances one byte.
char32_t decode(std::string_view s, std::size_t& i) {
  auto b = static_cast<unsigned char>(s[i]);
  auto cont = [&](std::size_t k) {
    return i + k < s.size() && (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
  };
  auto low6 = [&](std::size_t k) { return static_cast<char32_t>(s[i + k] & 0x3F); };
  std::size_t len = 0;
  char32_t cp = 0xFFFD;
  if (b < 0x80) {
    len = 1;
    cp = b;
  } else if (b >= 0xC2 && b <= 0xDF && cont(1)) {
    len = 2;
    cp = (static_cast<char32_t>(b & 0x1F) << 6) | low6(1);
  } else if (b >= 0xE0 && b <= 0xEF && cont(1) && cont(2)) {
    cp = (static_cast<char32_t>(b & 0x0F) << 12) | (low6(1) << 6) | low6(2);
    len = cp >= 0x800 && (cp < 0xD800 || cp > 0xDFFF) ? 3 : 0;
  } else if (b >= 0xF0 && b <= 0xF4 && cont(1) && cont(2) && cont(3)) {
    cp = (static_cast<char32_t>(b & 0x07) << 18) | (low6(1) << 12) | (low6(2) << 6) | low6(3);
    len = cp >= 0x10000 && cp <= 0x10FFFF ? 4 : 0;
  }
  if (len == 0) {
    ++i;
    return 0xFFFD;
  }
  i += len;
  return cp;
}

void encode(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

}  // namespace

double seconds(Duration d) {
  return std::chrono::duration<double>(d).count();
}

double millis(Duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

std::string format_ms(Duration d) {
  double ms = millis(d);
  if (ms >= 10000) return fmt::format("{:.2f}s", ms / 1000);
  if (ms >= 100) return fmt::format("{:.0f}ms", ms);
  if (ms >= 10) return fmt::format("{:.1f}ms", ms);
  return fmt::format("{:.2f}ms", ms);
}

std::string valid_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) encode(out, decode(s, i));
  return out;
}

std::string printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    auto b = static_cast<unsigned char>(c);
    if ((b < 0x20 && c != '\n' && c != '\t') || b == 0x7f)
      out += fmt::format("\\x{:02x}", b);
    else
      out += c;
  }
  return out;
}

std::string xml_escape(std::string_view s, bool attribute) {
  std::string out;
  out.reserve(s.size() + 16);
  for (std::size_t i = 0; i < s.size();) {
    char32_t cp = decode(s, i);
    // XML 1.0 Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].
    bool allowed = cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) ||
                   (cp >= 0xE000 && cp <= 0xFFFD) || cp >= 0x10000;
    if (!allowed) continue;
    switch (cp) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      case '\r':
        out += "&#13;";
        break;
      case '\n':
        out += attribute ? "&#10;" : "\n";
        break;
      case '\t':
        out += attribute ? "&#9;" : "\t";
        break;
      default:
        encode(out, cp);
    }
  }
  return out;
}

std::string iso8601(std::chrono::system_clock::time_point t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string status_text(const TargetReport& rep) {
  const auto& r = rep.attempt.result;
  if (r.error) return "-";
  switch (rep.target.kind) {
    case Kind::http:
      return r.status ? std::to_string(r.status) : "-";
    case Kind::grpc:
      if (r.serving_status) return grpc::serving_status_name(*r.serving_status);
      if (r.grpc_code) return grpc::code_name(*r.grpc_code);
      return r.status ? fmt::format("http {}", r.status) : "-";
    case Kind::tcp:
      return r.connected ? "connected" : "-";
    case Kind::dns:
      return fmt::format("{} address{}", r.addresses.size(), r.addresses.size() == 1 ? "" : "es");
  }
  return "-";
}

}  // namespace sluice::probe::detail
