// Internal to scenario loading: the text-level pieces of scenario files. ${...} placeholders,
// positions inside TOML string values (toml++ only records where a value starts), and TOML
// tables as JSON for the fault and toxic parsers.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <toml++/toml.h>

namespace sluice::chaos::detail {

// A text cut at its placeholders: literal pieces and ${NAME} pieces, in order.
struct Piece {
  bool placeholder = false;
  std::string_view text;  // the literal text ("$${" already unescaped), or the NAME
  std::size_t begin = 0;  // where the piece starts in the text
};

struct PlaceholderScan {
  std::vector<Piece> pieces;
  std::optional<std::size_t> unterminated;  // where a "${" without "}" starts
};

PlaceholderScan scan_placeholders(std::string_view text);

// The raw scenario text, to find where a byte of a string value was written.
class SourceText {
 public:
  explicit SourceText(std::string_view text);

  // Where byte `offset` of `value` (the string at `n`) sits in the file. When escapes or line
  // continuations make the raw text differ from the value before that byte, the value's start.
  toml::source_position locate(const toml::node& n, std::string_view value,
                               std::size_t offset) const;

 private:
  std::string_view text_;
  std::vector<std::size_t> starts_;  // where each line starts
};

// The byte offset of a line and column (columns count code points, as toml++ does) in `text`.
std::size_t offset_of(std::string_view text, const toml::source_position& at);

// A TOML node as JSON; a table leaves out the key `skip`. Dates and times become strings.
nlohmann::json toml_to_json(const toml::node& n, std::string_view skip = {});

}  // namespace sluice::chaos::detail
