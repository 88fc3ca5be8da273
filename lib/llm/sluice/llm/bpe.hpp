// The byte-pair-encoding core of the tokenizers: a rank table (token bytes <-> rank, an
// open-addressing hash map over the embedded rank file) and tiktoken's merge of one piece.
// Tokenizer (tokenizer.hpp) is the API to use; this is public for tests and benchmarks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace sluice::llm {

inline constexpr std::uint32_t kNoRank = 0xFFFFFFFFu;

class RankTable {
 public:
  // Reads a rank file (format in data/tokenizers/README.md). The bytes must outlive the table.
  // A malformed file gives an empty table (valid() is false); the embedded files are checked by
  // the unit tests, so that never happens in a built binary.
  explicit RankTable(std::string_view file);

  bool valid() const { return !offsets_.empty(); }
  std::uint32_t size() const { return static_cast<std::uint32_t>(lengths_.size()); }
  // The rank of these bytes, or kNoRank.
  std::uint32_t rank(const unsigned char* p, std::size_t n) const {
    // Two-byte keys (every merge starts with all the piece's byte pairs) come from a direct
    // table that stays in cache; the rest from the hash map.
    if (n == 2 && !pairs_.empty()) return pairs_[p[0] | (p[1] << 8)];
    if (n == 1 && !pairs_.empty()) return pairs_[65536 + p[0]];
    return lookup(p, n);
  }
  std::uint32_t rank(std::string_view s) const {
    return rank(reinterpret_cast<const unsigned char*>(s.data()), s.size());
  }
  // The bytes of a rank (ordinary or special); empty for an unknown id.
  std::string_view bytes(std::uint32_t id) const;

 private:
  std::uint32_t lookup(const unsigned char* p, std::size_t n) const;

  struct Slot {
    std::uint64_t head;  // the key's first bytes (see bpe.cpp)
    std::uint32_t rank;  // kNoRank: empty
    std::uint32_t length;
  };
  const char* data_ = nullptr;
  std::vector<std::uint32_t> offsets_;  // into data_, per rank
  std::vector<std::uint8_t> lengths_;
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> pairs_;  // rank of bytes (a, b) at a | b << 8; of (a) at 65536 + a
  std::uint64_t mask_ = 0;
  std::vector<std::pair<std::uint32_t, std::string_view>> specials_;
};

// Scratch space for merges, reused between pieces (one per thread).
struct MergeScratch {
  std::vector<std::uint32_t> starts, ranks;        // the linear merge
  std::vector<std::uint32_t> next, prev, version;  // the heap merge
  struct Entry {
    std::uint32_t rank, pos, version;
  };
  std::vector<Entry> heap;
};

// tiktoken's byte-pair merge of one piece (at least one byte): repeatedly joins the adjacent
// pair whose bytes have the lowest rank, leftmost first on a tie, until no pair has a rank.
// Appends the ranks of the resulting parts to out. Short pieces use tiktoken's linear scan, long
// ones (long runs of whitespace or of letters) a heap, which gives the same merges in
// O(n log n).
void byte_pair_encode(const RankTable& table, std::string_view piece, MergeScratch& scratch,
                      std::vector<std::uint32_t>& out);
// The number of parts byte_pair_encode would append.
std::size_t byte_pair_count(const RankTable& table, std::string_view piece, MergeScratch& scratch);
// The two algorithms on their own, for tests that compare them.
void byte_pair_encode_linear(const RankTable& table, std::string_view piece, MergeScratch& scratch,
                             std::vector<std::uint32_t>& out);
void byte_pair_encode_heap(const RankTable& table, std::string_view piece, MergeScratch& scratch,
                           std::vector<std::uint32_t>& out);

}  // namespace sluice::llm
