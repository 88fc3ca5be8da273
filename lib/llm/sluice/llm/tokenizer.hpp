// Exact BPE tokenizers for OpenAI's cl100k_base and o200k_base: the same token ids as
// js-tiktoken's encode(text, [], []), so text that looks like a special token is ordinary text.
//
// Pre-tokenizing uses PCRE2 (Debian 12: 10.42, Unicode 14.0.0 tables). Parity with js-tiktoken is
// exact for text whose characters were assigned by Unicode 14; a character assigned later may
// split differently, because Node's regex engine knows a newer Unicode (see lib/llm/README.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::llm {

enum class Encoding { cl100k_base, o200k_base };

// "cl100k_base" or "o200k_base"; anything else gives nullopt.
std::optional<Encoding> encoding_named(std::string_view name);
std::string_view to_string(Encoding e);

class RankTable;
class PreTokenizer;

class Tokenizer {
 public:
  // The process-wide tokenizer of e, built on first use (thread-safe); never fails (the rank data
  // is embedded in the binary).
  static const Tokenizer& get(Encoding e);

  Encoding encoding() const { return encoding_; }
  // Token ids of text as js-tiktoken encode(text, [], []) gives them; invalid UTF-8 is first
  // decoded as TextDecoder does (each maximal invalid subpart becomes one U+FFFD).
  std::vector<std::uint32_t> encode(std::string_view text) const;
  // The number of tokens of encode(text), without building the vector.
  std::size_t count(std::string_view text) const;
  // The bytes of the tokens (for --ids output checks and tests). Special-token ids give their
  // text; ids outside the vocabulary are skipped, as js-tiktoken's decode skips them.
  std::string decode(const std::vector<std::uint32_t>& ids) const;

  // The number of ordinary (mergeable) ranks: ids below it are BPE tokens.
  std::uint32_t vocabulary_size() const;

  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;
  ~Tokenizer();

 private:
  explicit Tokenizer(Encoding e);
  template <typename Sink>
  void for_each_piece(std::string_view text, Sink&& sink) const;

  Encoding encoding_;
  std::unique_ptr<RankTable> ranks_;
  std::unique_ptr<PreTokenizer> pre_;
};

}  // namespace sluice::llm
