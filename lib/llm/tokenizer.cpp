// Tokenizer: WHATWG UTF-8 decoding, the pre-tokenizer, then BPE per piece with a whole-piece
// fast path (most pieces are one token).
#include "sluice/llm/tokenizer.hpp"

#include "pretokenizer.hpp"
#include "rank_data.hpp"
#include "sluice/core/text.hpp"
#include "sluice/llm/bpe.hpp"

namespace sluice::llm {

std::optional<Encoding> encoding_named(std::string_view name) {
  if (name == "cl100k_base") return Encoding::cl100k_base;
  if (name == "o200k_base") return Encoding::o200k_base;
  return std::nullopt;
}

std::string_view to_string(Encoding e) {
  switch (e) {
    case Encoding::cl100k_base:
      return "cl100k_base";
    case Encoding::o200k_base:
      return "o200k_base";
  }
  return "unknown";
}

Tokenizer::Tokenizer(Encoding e)
    : encoding_(e),
      ranks_(std::make_unique<RankTable>(rank_file(e))),
      pre_(std::make_unique<PreTokenizer>(js_pattern(e))) {}

Tokenizer::~Tokenizer() = default;

const Tokenizer& Tokenizer::get(Encoding e) {
  // Function-local statics: built once, on first use, thread-safe.
  if (e == Encoding::o200k_base) {
    static const Tokenizer o200k(Encoding::o200k_base);
    return o200k;
  }
  static const Tokenizer cl100k(Encoding::cl100k_base);
  return cl100k;
}

std::uint32_t Tokenizer::vocabulary_size() const {
  return ranks_->size();
}

namespace {

MergeScratch& scratch() {
  thread_local MergeScratch s;
  return s;
}

}  // namespace

template <typename Sink>
void Tokenizer::for_each_piece(std::string_view text, Sink&& sink) const {
  // js-tiktoken tokenizes a JavaScript string: bytes were decoded by TextDecoder first. Valid
  // UTF-8 (nearly all input) is used in place.
  std::string repaired;
  if (text::valid_utf8_prefix(text) != text.size()) {
    repaired = text::decode_utf8_whatwg(text);
    text = repaired;
  }
  std::size_t at = 0, begin = 0, end = 0;
  while (at < text.size() && pre_->next(text, at, begin, end)) {
    if (end <= begin) {
      // An empty match cannot come from these patterns; step over one character regardless.
      end = begin + 1;
      while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) ++end;
      at = end;
      continue;
    }
    sink(text.substr(begin, end - begin));
    at = end;
  }
}

std::vector<std::uint32_t> Tokenizer::encode(std::string_view text) const {
  std::vector<std::uint32_t> ids;
  ids.reserve(text.size() / 3 + 4);
  MergeScratch& s = scratch();
  for_each_piece(text, [&](std::string_view piece) {
    std::uint32_t whole = ranks_->rank(piece);
    if (whole != kNoRank) {
      ids.push_back(whole);
    } else {
      byte_pair_encode(*ranks_, piece, s, ids);
    }
  });
  return ids;
}

std::size_t Tokenizer::count(std::string_view text) const {
  std::size_t n = 0;
  MergeScratch& s = scratch();
  for_each_piece(text, [&](std::string_view piece) {
    if (ranks_->rank(piece) != kNoRank) {
      ++n;
    } else {
      n += byte_pair_count(*ranks_, piece, s);
    }
  });
  return n;
}

std::string Tokenizer::decode(const std::vector<std::uint32_t>& ids) const {
  std::string out;
  for (std::uint32_t id : ids) out += ranks_->bytes(id);
  return out;
}

}  // namespace sluice::llm
