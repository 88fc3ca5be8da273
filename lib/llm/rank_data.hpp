// The embedded rank files and the pre-tokenizer patterns, verbatim from js-tiktoken.
#pragma once

#include <string_view>

#include "sluice/llm/tokenizer.hpp"

namespace sluice::llm {

// The bytes of data/tokenizers/<encoding>.ranks, embedded in the binary.
std::string_view rank_file(Encoding e);

// js-tiktoken 1.0.21's pat_str for each encoding (data/tokenizers/<encoding>.pattern; a unit test
// checks they agree). JavaScript syntax: PreTokenizer translates `\s`.
inline constexpr std::string_view kCl100kPattern =
    R"(('s|'S|'t|'T|'re|'rE|'Re|'RE|'ve|'vE|'Ve|'VE|'m|'M|'ll|'lL|'Ll|'LL|'d|'D)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
inline constexpr std::string_view kO200kPattern =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+('s|'S|'t|'T|'re|'rE|'Re|'RE|'ve|'vE|'Ve|'VE|'m|'M|'ll|'lL|'Ll|'LL|'d|'D)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*('s|'S|'t|'T|'re|'rE|'Re|'RE|'ve|'vE|'Ve|'VE|'m|'M|'ll|'lL|'Ll|'LL|'d|'D)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

inline std::string_view js_pattern(Encoding e) {
  return e == Encoding::o200k_base ? kO200kPattern : kCl100kPattern;
}

}  // namespace sluice::llm
