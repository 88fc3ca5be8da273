// Placeholders, positions inside TOML strings, and TOML as JSON: the text-level side of
// scenario files, and substitute(), which the runner calls once the addresses are known.
#include "scenario_text.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <utility>
#include <sstream>

#include <fmt/format.h>

#include "config/reader.hpp"
#include "sluice/chaos/scenario.hpp"

namespace sluice::chaos {
namespace detail {
namespace {

bool continuation(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

// The bytes an escape takes in the file and in the value: \" is {2, 1}, \u00e9 is {6, 2}. None for
// a line-ending backslash (it swallows whitespace) or an invalid escape.
std::optional<std::pair<std::size_t, std::size_t>> escape_size(std::string_view raw) {
  if (raw.size() < 2) return std::nullopt;
  const char e = raw[1];
  if (std::string_view("\"\\btnfre").find(e) != std::string_view::npos) return {{2, 1}};
  if (e != 'u' && e != 'U') return std::nullopt;
  const std::size_t digits = e == 'u' ? 4 : 8;
  if (raw.size() < 2 + digits) return std::nullopt;
  std::uint32_t cp = 0;
  for (std::size_t i = 2; i < 2 + digits; ++i) {
    const char c = raw[i];
    if (!std::isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
    cp = cp * 16 +
         static_cast<std::uint32_t>(std::isdigit(static_cast<unsigned char>(c))
                                        ? c - '0'
                                        : std::tolower(static_cast<unsigned char>(c)) - 'a' + 10);
  }
  return {{2 + digits, cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4}};
}

}  // namespace

PlaceholderScan scan_placeholders(std::string_view text) {
  PlaceholderScan scan;
  std::size_t i = 0, literal = 0;
  auto flush = [&](std::size_t upto) {
    if (upto > literal)
      scan.pieces.push_back({false, text.substr(literal, upto - literal), literal});
  };
  while (i < text.size()) {
    if (text.compare(i, 3, "$${") == 0) {
      flush(i);
      scan.pieces.push_back({false, "${", i});
      i = literal = i + 3;
      continue;
    }
    if (text.compare(i, 2, "${") != 0) {
      ++i;
      continue;
    }
    auto close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      scan.unterminated = i;
      break;
    }
    flush(i);
    scan.pieces.push_back({true, text.substr(i + 2, close - i - 2), i});
    i = literal = close + 1;
  }
  if (!scan.unterminated) flush(text.size());
  return scan;
}

SourceText::SourceText(std::string_view text) : text_(text) {
  starts_.push_back(0);
  for (std::size_t i = 0; i < text.size(); ++i)
    if (text[i] == '\n') starts_.push_back(i + 1);
}

toml::source_position SourceText::locate(const toml::node& n, std::string_view value,
                                         std::size_t offset) const {
  const toml::source_position begin = n.source().begin;
  if (begin.line == 0 || begin.line > starts_.size()) return begin;
  std::size_t p = starts_[begin.line - 1];
  for (std::uint32_t col = 1; col < begin.column && p < text_.size(); ++col) {
    ++p;
    while (p < text_.size() && continuation(text_[p])) ++p;
  }
  auto raw = text_.substr(std::min(p, text_.size()));
  if (raw.empty() || (raw[0] != '"' && raw[0] != '\'')) return begin;
  const std::size_t delim = raw.starts_with("\"\"\"") || raw.starts_with("\'\'\'") ? 3 : 1;
  const bool literal = raw[0] == '\'';
  toml::source_position at{begin.line, static_cast<toml::source_index>(begin.column + delim)};
  std::size_t r = delim;
  // A newline right after a multi-line opener is not part of the value.
  if (delim == 3 && raw.substr(r).starts_with("\n")) r += 1, at = {at.line + 1, 1};
  if (delim == 3 && raw.substr(r).starts_with("\r\n")) r += 2, at = {at.line + 1, 1};
  std::size_t v = 0;
  while (v < offset && v < value.size()) {
    if (r >= raw.size()) return begin;
    if (!literal && raw[r] == '\\') {
      auto esc = escape_size(raw.substr(r));
      if (!esc) return begin;
      if (v + esc->second > offset) break;  // the byte is part of what this escape stands for
      v += esc->second;
      r += esc->first;
      at.column += static_cast<toml::source_index>(esc->first);
      continue;
    }
    if (raw[r] != value[v]) return begin;
    if (raw[r] == '\n') {
      at = {at.line + 1, 1};
    } else if (!continuation(raw[r])) {
      ++at.column;
    }
    ++v, ++r;
  }
  return at;
}

std::size_t offset_of(std::string_view text, const toml::source_position& at) {
  std::size_t off = 0;
  for (std::uint32_t line = 1; line < at.line && off < text.size(); ++line) {
    auto nl = text.find('\n', off);
    off = nl == std::string_view::npos ? text.size() : nl + 1;
  }
  for (std::uint32_t col = 1; col < at.column && off < text.size(); ++col) {
    ++off;
    while (off < text.size() && continuation(text[off])) ++off;
  }
  return off;
}

nlohmann::json toml_to_json(const toml::node& n, std::string_view skip) {
  switch (n.type()) {
    case toml::node_type::table: {
      auto out = nlohmann::json::object();
      for (auto&& [k, v] : *n.as_table())
        if (k.str() != skip) out[std::string(k.str())] = toml_to_json(v);
      return out;
    }
    case toml::node_type::array: {
      auto out = nlohmann::json::array();
      for (auto&& v : *n.as_array()) out.push_back(toml_to_json(v));
      return out;
    }
    case toml::node_type::string:
      return n.as_string()->get();
    case toml::node_type::integer:
      return n.as_integer()->get();
    case toml::node_type::floating_point:
      return n.as_floating_point()->get();
    case toml::node_type::boolean:
      return n.as_boolean()->get();
    case toml::node_type::date:
    case toml::node_type::time:
    case toml::node_type::date_time: {
      std::ostringstream text;
      n.visit([&](auto&& v) {
        if constexpr (toml::is_date<decltype(v)> || toml::is_time<decltype(v)> ||
                      toml::is_date_time<decltype(v)>)
          text << v;
      });
      return text.str();
    }
    case toml::node_type::none:
      break;
  }
  return nullptr;
}

}  // namespace detail

Result<std::string> substitute(std::string_view text,
                               const std::map<std::string, std::string>& addresses) {
  auto scan = detail::scan_placeholders(text);
  if (scan.unterminated) {
    auto rest = text.substr(*scan.unterminated, 24);
    return make_error(
        ErrorKind::config, ErrorSource::internal,
        fmt::format(
            "unterminated placeholder \"{}{}\" (hint: close it with '}}', e.g. ${{mock.a}}; write "
            "$${{ for a literal ${{)",
            rest, rest.size() < text.size() - *scan.unterminated ? "..." : ""));
  }
  std::string out;
  for (const auto& piece : scan.pieces) {
    if (!piece.placeholder) {
      out += piece.text;
      continue;
    }
    if (auto it = addresses.find(std::string(piece.text)); it != addresses.end()) {
      out += it->second;
      continue;
    }
    std::vector<std::string_view> known;
    for (const auto& [k, v] : addresses) known.push_back(k);
    std::string hint;
    if (auto near = config::detail::closest(piece.text, known))
      hint = fmt::format("did you mean ${{{}}}?", *near);
    else if (known.empty())
      hint = "there are no mocks or proxies to refer to";
    else
      hint = fmt::format("the placeholders are {}", [&] {
        std::string list;
        for (auto k : known) list += fmt::format("{}${{{}}}", list.empty() ? "" : ", ", k);
        return list;
      }());
    return make_error(ErrorKind::config, ErrorSource::internal,
                      fmt::format("unknown placeholder ${{{}}} (hint: {})", piece.text, hint));
  }
  return out;
}

}  // namespace sluice::chaos
