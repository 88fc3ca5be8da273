// The rank table and tiktoken's byte-pair merge.
#include "sluice/llm/bpe.hpp"

#include <algorithm>
#include <cstring>

namespace sluice::llm {

namespace {

constexpr std::string_view kMagic{"SLUICE-RANKS-1\n\0", 16};

// The bytes of a key of 1..8 bytes as one word: exact for 3..8 bytes (two overlapping loads),
// and for 1 or 2 bytes a function of them that, with the length, still identifies them.
inline std::uint64_t load_small(const unsigned char* p, std::size_t n) {
  if (n >= 4) {
    std::uint32_t lo, hi;
    std::memcpy(&lo, p, 4);
    std::memcpy(&hi, p + n - 4, 4);
    return lo | (static_cast<std::uint64_t>(hi) << ((n - 4) * 8));
  }
  return p[0] | (static_cast<std::uint64_t>(p[n / 2]) << 8) |
         (static_cast<std::uint64_t>(p[n - 1]) << 16);
}

inline std::uint64_t mix(std::uint64_t h) {
  h ^= h >> 32;
  h *= 0xd6e8feb86659fd93ULL;
  h ^= h >> 32;
  return h;
}

// Keys are the vocabulary and text pieces, not adversarial: a fast multiply-mix hash will do.
// `head` is load_small for short keys and the first 8 bytes of long ones.
inline std::uint64_t hash_key(std::uint64_t head, const unsigned char* p, std::size_t n) {
  std::uint64_t h = (head ^ (n * 0x9E3779B97F4A7C15ULL)) * 0xbf58476d1ce4e5b9ULL;
  for (std::size_t i = 8; i < n; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, p + (i + 8 <= n ? i : n - 8), 8);  // the last word overlaps the one before
    h = (h ^ (h >> 31) ^ w) * 0x94d049bb133111ebULL;
  }
  return mix(h);
}

inline std::uint64_t head_of(const unsigned char* p, std::size_t n) {
  if (n <= 8) return load_small(p, n);
  std::uint64_t w;
  std::memcpy(&w, p, 8);
  return w;
}

std::uint32_t read_u32(std::string_view s, std::size_t at) {
  auto b = [&](std::size_t k) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + k]));
  };
  return b(0) | (b(1) << 8) | (b(2) << 16) | (b(3) << 24);
}

}  // namespace

RankTable::RankTable(std::string_view file) {
  if (file.size() < kMagic.size() + 8 || file.substr(0, kMagic.size()) != kMagic) return;
  std::size_t at = kMagic.size();
  std::uint32_t count = read_u32(file, at);
  at += 4;
  std::vector<std::uint32_t> offsets;
  std::vector<std::uint8_t> lengths;
  offsets.reserve(count);
  lengths.reserve(count);
  for (std::uint32_t r = 0; r < count; ++r) {
    if (at >= file.size()) return;
    auto len = static_cast<unsigned char>(file[at]);
    if (len == 0 || at + 1 + len > file.size()) return;
    offsets.push_back(static_cast<std::uint32_t>(at + 1));
    lengths.push_back(len);
    at += 1 + len;
  }
  if (at + 4 > file.size()) return;
  std::uint32_t nspecial = read_u32(file, at);
  at += 4;
  for (std::uint32_t k = 0; k < nspecial; ++k) {
    if (at + 5 > file.size()) return;
    std::uint32_t id = read_u32(file, at);
    auto len = static_cast<unsigned char>(file[at + 4]);
    if (at + 5 + len > file.size()) return;
    specials_.emplace_back(id, file.substr(at + 5, len));
    at += 5 + len;
  }
  if (at != file.size()) return;

  std::size_t capacity = 16;
  while (capacity < static_cast<std::size_t>(count) * 5 / 2) capacity <<= 1;  // load under 0.4
  slots_.assign(capacity, Slot{0, kNoRank, 0});
  mask_ = capacity - 1;
  data_ = file.data();
  offsets_ = std::move(offsets);
  lengths_ = std::move(lengths);
  for (std::uint32_t r = 0; r < count; ++r) {
    auto* p = reinterpret_cast<const unsigned char*>(data_ + offsets_[r]);
    std::size_t n = lengths_[r];
    std::uint64_t head = head_of(p, n);
    for (std::uint64_t i = hash_key(head, p, n) & mask_;; i = (i + 1) & mask_) {
      if (slots_[i].rank == kNoRank) {
        slots_[i] = Slot{head, r, static_cast<std::uint32_t>(n)};
        break;
      }
    }
  }
  std::vector<std::uint32_t> pairs(65536 + 256, kNoRank);
  for (std::uint32_t r = 0; r < count; ++r) {
    auto* p = reinterpret_cast<const unsigned char*>(data_ + offsets_[r]);
    if (lengths_[r] == 2) pairs[p[0] | (p[1] << 8)] = r;
    if (lengths_[r] == 1) pairs[65536 + p[0]] = r;
  }
  pairs_ = std::move(pairs);
}

std::uint32_t RankTable::lookup(const unsigned char* p, std::size_t n) const {
  if (n == 0 || n > 255 || slots_.empty()) return kNoRank;
  std::uint64_t head = head_of(p, n);
  for (std::uint64_t i = hash_key(head, p, n) & mask_;; i = (i + 1) & mask_) {
    const Slot& s = slots_[i];
    if (s.rank == kNoRank) return kNoRank;
    // Keys of up to 8 bytes (most lookups) compare within the slot.
    if (s.head == head && s.length == n &&
        (n <= 8 || std::memcmp(data_ + offsets_[s.rank] + 8, p + 8, n - 8) == 0)) {
      return s.rank;
    }
  }
}

std::string_view RankTable::bytes(std::uint32_t id) const {
  if (id < lengths_.size()) return {data_ + offsets_[id], lengths_[id]};
  for (const auto& [special, text] : specials_) {
    if (special == id) return text;
  }
  return {};
}

namespace {

// tiktoken's merge (its Rust _byte_pair_merge): parts[i] starts at starts[i]; ranks[i] caches the
// rank of parts i and i+1 joined. Each step joins the lowest (leftmost on a tie), then
// recomputes the two cached ranks it changed. emit(begin, end) is called per final part.
template <typename Emit>
void merge_linear(const RankTable& table, const unsigned char* p, std::size_t n, MergeScratch& s,
                  Emit&& emit) {
  auto& starts = s.starts;
  auto& ranks = s.ranks;
  starts.resize(n + 1);
  ranks.resize(n + 1);
  std::uint32_t min_rank = kNoRank;
  std::size_t min_at = 0;
  for (std::size_t i = 0; i + 1 < n; ++i) {
    std::uint32_t r = table.rank(p + i, 2);
    if (r < min_rank) {
      min_rank = r;
      min_at = i;
    }
    starts[i] = static_cast<std::uint32_t>(i);
    ranks[i] = r;
  }
  starts[n - 1] = static_cast<std::uint32_t>(n - 1);
  ranks[n - 1] = kNoRank;
  starts[n] = static_cast<std::uint32_t>(n);
  ranks[n] = kNoRank;
  std::size_t len = n + 1;  // entries in starts/ranks, the last one the end sentinel
  auto rank_at = [&](std::size_t i) {
    // Called before part i+1 is removed: the pair (i, i+1) after the join spans starts[i] to
    // starts[i + 3].
    if (i + 3 < len) return table.rank(p + starts[i], starts[i + 3] - starts[i]);
    return kNoRank;
  };
  while (min_rank != kNoRank) {
    std::size_t i = min_at;
    if (i > 0) ranks[i - 1] = rank_at(i - 1);
    ranks[i] = rank_at(i);
    std::copy(starts.begin() + i + 2, starts.begin() + len, starts.begin() + i + 1);
    std::copy(ranks.begin() + i + 2, ranks.begin() + len, ranks.begin() + i + 1);
    --len;
    min_rank = kNoRank;
    for (std::size_t k = 0; k + 1 < len; ++k) {
      if (ranks[k] < min_rank) {
        min_rank = ranks[k];
        min_at = k;
      }
    }
  }
  for (std::size_t k = 0; k + 1 < len; ++k) emit(starts[k], starts[k + 1]);
}

// The same merges with a heap of candidate pairs keyed by (rank, position): the lowest rank,
// leftmost on a tie, exactly the pair the linear scan picks. Parts form a linked list indexed
// by their first byte; an entry is stale once its part's version moved on.
template <typename Emit>
void merge_heap(const RankTable& table, const unsigned char* p, std::size_t n, MergeScratch& s,
                Emit&& emit) {
  constexpr std::uint32_t kNone = 0xFFFFFFFFu;
  auto& next = s.next;
  auto& prev = s.prev;
  auto& version = s.version;
  auto& heap = s.heap;
  next.resize(n);
  prev.resize(n);
  version.assign(n, 0);
  heap.clear();
  auto later = [](const MergeScratch::Entry& a, const MergeScratch::Entry& b) {
    return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos;
  };
  auto end_of = [&](std::uint32_t i) { return next[i] == kNone ? n : next[i]; };
  auto push_pair = [&](std::uint32_t i) {
    if (next[i] == kNone) return;
    std::uint32_t r = table.rank(p + i, end_of(next[i]) - i);
    if (r == kNoRank) return;
    heap.push_back({r, i, version[i]});
    std::push_heap(heap.begin(), heap.end(), later);
  };
  for (std::uint32_t i = 0; i < n; ++i) {
    next[i] = i + 1 < n ? i + 1 : kNone;
    prev[i] = i > 0 ? i - 1 : kNone;
  }
  for (std::uint32_t i = 0; i + 1 < n; ++i) push_pair(i);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), later);
    auto e = heap.back();
    heap.pop_back();
    std::uint32_t i = e.pos;
    if (e.version != version[i]) continue;  // its pair changed since; a fresh entry exists
    std::uint32_t j = next[i];
    version[j] = kNone;  // j is gone: entries for it must never match again
    next[i] = next[j];
    if (next[i] != kNone) prev[next[i]] = i;
    ++version[i];
    push_pair(i);
    if (prev[i] != kNone) {
      ++version[prev[i]];
      push_pair(prev[i]);
    }
  }
  for (std::uint32_t i = 0; i != kNone && i < n; i = next[i]) emit(i, end_of(i));
}

constexpr std::size_t kHeapFrom = 128;

}  // namespace

void byte_pair_encode_linear(const RankTable& table, std::string_view piece, MergeScratch& scratch,
                             std::vector<std::uint32_t>& out) {
  auto* p = reinterpret_cast<const unsigned char*>(piece.data());
  if (piece.size() == 1) {
    out.push_back(table.rank(p, 1));
    return;
  }
  merge_linear(table, p, piece.size(), scratch,
               [&](std::uint32_t b, std::uint32_t e) { out.push_back(table.rank(p + b, e - b)); });
}

void byte_pair_encode_heap(const RankTable& table, std::string_view piece, MergeScratch& scratch,
                           std::vector<std::uint32_t>& out) {
  auto* p = reinterpret_cast<const unsigned char*>(piece.data());
  merge_heap(table, p, piece.size(), scratch,
             [&](std::uint32_t b, std::uint32_t e) { out.push_back(table.rank(p + b, e - b)); });
}

void byte_pair_encode(const RankTable& table, std::string_view piece, MergeScratch& scratch,
                      std::vector<std::uint32_t>& out) {
  if (piece.size() < kHeapFrom) {
    byte_pair_encode_linear(table, piece, scratch, out);
  } else {
    byte_pair_encode_heap(table, piece, scratch, out);
  }
}

std::size_t byte_pair_count(const RankTable& table, std::string_view piece, MergeScratch& scratch) {
  auto* p = reinterpret_cast<const unsigned char*>(piece.data());
  std::size_t parts = 0;
  auto tally = [&](std::uint32_t, std::uint32_t) { ++parts; };
  if (piece.size() <= 1) return piece.size();
  if (piece.size() < kHeapFrom) {
    merge_linear(table, p, piece.size(), scratch, tally);
  } else {
    merge_heap(table, p, piece.size(), scratch, tally);
  }
  return parts;
}

}  // namespace sluice::llm
