#include "expr/diagnostics.hpp"

#include <algorithm>

namespace sluice::expr {

std::string point_at(std::string_view source, std::size_t pos, std::string_view message) {
  pos = std::min(pos, source.size());
  std::size_t line_begin = 0;
  if (pos > 0) {
    auto newline = source.rfind('\n', pos - 1);
    if (newline != std::string_view::npos) line_begin = newline + 1;
  }
  auto line_end = source.find('\n', pos);
  if (line_end == std::string_view::npos) line_end = source.size();
  auto line = source.substr(line_begin, line_end - line_begin);

  std::string out(line);
  out += '\n';
  for (auto i = line_begin; i < pos; ++i) {
    auto c = static_cast<unsigned char>(source[i]);
    if ((c & 0xC0) == 0x80) continue;  // a UTF-8 continuation byte
    out += c == '\t' ? '\t' : ' ';
  }
  out += "^ ";
  out += message;
  return out;
}

}  // namespace sluice::expr
