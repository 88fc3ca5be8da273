#include "sluice/llm/redact.hpp"

#include <array>
#include <cctype>

#include <fmt/format.h>

namespace sluice::llm {

namespace {

bool word_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
}
bool email_local(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '%' ||
         c == '+' || c == '-';
}
bool domain_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-';
}
bool digit(char c) {
  return c >= '0' && c <= '9';
}

// Length of a key-looking token at s (a known prefix, then enough key characters), or 0.
std::size_t key_at(std::string_view s) {
  static constexpr std::array<std::pair<std::string_view, std::size_t>, 9> prefixes = {{
      {"sk-", 16},
      {"AIza", 30},
      {"AKIA", 16},
      {"ASIA", 16},
      {"ghp_", 20},
      {"gho_", 20},
      {"github_pat_", 20},
      {"xoxb-", 10},
      {"xoxp-", 10},
  }};
  for (const auto& [p, min] : prefixes) {
    if (!s.starts_with(p)) continue;
    std::size_t n = p.size();
    while (n < s.size() && word_char(s[n])) ++n;
    if (n - p.size() >= min) return n;
  }
  return 0;
}

// Length of a card-like digit run at s (13-19 digits, single spaces or dashes between), or 0.
std::size_t number_at(std::string_view s) {
  std::size_t digits = 0, n = 0, last_digit_end = 0;
  while (n < s.size()) {
    if (digit(s[n])) {
      ++digits;
      ++n;
      last_digit_end = n;
    } else if ((s[n] == ' ' || s[n] == '-') && n + 1 < s.size() && digit(s[n + 1]) && digits) {
      ++n;
    } else {
      break;
    }
    if (digits > 19) return 0;
  }
  if (digits >= 13) return last_digit_end;
  // ddd-dd-dddd
  if (s.size() >= 11 && digit(s[0]) && digit(s[1]) && digit(s[2]) && s[3] == '-' && digit(s[4]) &&
      digit(s[5]) && s[6] == '-' && digit(s[7]) && digit(s[8]) && digit(s[9]) && digit(s[10]) &&
      (s.size() == 11 || !digit(s[11])))
    return 11;
  return 0;
}

}  // namespace

std::string redact(std::string_view text, std::size_t max_bytes) {
  std::string out;
  out.reserve(std::min(text.size(), max_bytes) + 32);
  std::size_t i = 0;
  while (i < text.size() && out.size() < max_bytes) {
    std::string_view rest = text.substr(i);
    bool boundary = i == 0 || !word_char(text[i - 1]);
    if (boundary) {
      if (std::size_t k = key_at(rest)) {
        out += "[REDACTED:key]";
        i += k;
        continue;
      }
      if (rest.starts_with("Bearer ") && rest.size() > 7 && word_char(rest[7])) {
        std::size_t n = 7;
        while (n < rest.size() && (word_char(rest[n]) || rest[n] == '.')) ++n;
        out += "Bearer [REDACTED:key]";
        i += n;
        continue;
      }
      if (digit(rest[0]) && (i == 0 || !digit(text[i - 1]))) {
        if (std::size_t n = number_at(rest); n && (n == rest.size() || !digit(rest[n]))) {
          out += "[REDACTED:number]";
          i += n;
          continue;
        }
      }
    }
    if (text[i] == '@' && i > 0 && email_local(text[i - 1])) {
      // Back up over the local part already copied, then skip the domain.
      std::size_t local = 0;
      while (local < out.size() && email_local(out[out.size() - 1 - local])) ++local;
      std::size_t n = 1;
      while (i + n < text.size() && domain_char(text[i + n])) ++n;
      std::string_view domain = text.substr(i + 1, n - 1);
      if (local > 0 && domain.find('.') != std::string_view::npos && !domain.starts_with('.')) {
        out.resize(out.size() - local);
        out += "[REDACTED:email]";
        i += n;
        continue;
      }
    }
    out += text[i++];
  }
  if (i < text.size()) {
    // Cut on a UTF-8 boundary: drop continuation bytes of a character split at the limit.
    while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) {
      out.pop_back();
      --i;
    }
    if (!out.empty() && (static_cast<unsigned char>(out.back()) & 0x80)) {
      out.pop_back();
      --i;
    }
    out += fmt::format("...[{} more bytes]", text.size() - i);
  }
  return out;
}

}  // namespace sluice::llm
