// The pre-tokenizer: splits text into the pieces BPE merges within, with the encoding's regular
// expression (js-tiktoken's pat_str, made to mean in PCRE2 what it means in JavaScript).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

struct pcre2_real_code_8;

namespace sluice::llm {

// js-tiktoken's pattern rewritten for PCRE2 so that it matches what it matches in Node 20: `\s`
// and `\S` become the explicit class of ECMAScript's WhiteSpace and LineTerminator (PCRE2's \s
// lacks U+FEFF), and o200k's class [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}] also holds U+0295, which
// Unicode 16 moved from Ll to Lo. The rest is the same in both engines.
std::string pcre2_pattern_from_js(std::string_view js_pattern);

class PreTokenizer {
 public:
  explicit PreTokenizer(std::string_view js_pattern);
  ~PreTokenizer();
  PreTokenizer(const PreTokenizer&) = delete;
  PreTokenizer& operator=(const PreTokenizer&) = delete;

  // Finds the next piece in text (valid UTF-8) at or after `from`, as JavaScript's matchAll
  // does; false when there is none. Thread-safe (match data is per thread).
  bool next(std::string_view text, std::size_t from, std::size_t& begin, std::size_t& end) const;

 private:
  pcre2_real_code_8* code_ = nullptr;
  bool jit_ = false;
};

}  // namespace sluice::llm
