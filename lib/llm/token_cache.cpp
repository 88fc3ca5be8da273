#include "sluice/llm/token_cache.hpp"

#include <cstring>

namespace sluice::llm {

std::optional<std::size_t> MessageCache::find(std::uint64_t key) {
  std::lock_guard lk(mu_);
  auto it = index_.find(key);
  if (it == index_.end()) {
    ++misses_;
    return std::nullopt;
  }
  ++hits_;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->second;
}

void MessageCache::put(std::uint64_t key, std::size_t tokens) {
  if (capacity_ == 0) return;
  std::lock_guard lk(mu_);
  auto it = index_.find(key);
  if (it != index_.end()) {
    it->second->second = tokens;
    lru_.splice(lru_.begin(), lru_, it->second);
    return;
  }
  lru_.emplace_front(key, tokens);
  index_[key] = lru_.begin();
  if (lru_.size() > capacity_) {
    index_.erase(lru_.back().first);
    lru_.pop_back();
  }
}

std::uint64_t MessageCache::hits() const {
  std::lock_guard lk(mu_);
  return hits_;
}

std::uint64_t MessageCache::misses() const {
  std::lock_guard lk(mu_);
  return misses_;
}

std::size_t MessageCache::size() const {
  std::lock_guard lk(mu_);
  return lru_.size();
}

namespace {

__extension__ typedef unsigned __int128 U128;

// wyhash's mixing step: the 128-bit product of a and b, folded.
std::uint64_t mum(std::uint64_t a, std::uint64_t b) {
  U128 r = static_cast<U128>(a) * b;
  return static_cast<std::uint64_t>(r) ^ static_cast<std::uint64_t>(r >> 64);
}

std::uint64_t load(const char* p, std::size_t n) {
  std::uint64_t w = 0;
  if (n > 0) std::memcpy(&w, p, n);
  return w;
}

}  // namespace

std::uint64_t content_hash(std::string_view bytes, std::uint64_t seed) {
  constexpr std::uint64_t k0 = 0xa0761d6478bd642full, k1 = 0xe7037ed1a0b428dbull,
                          k2 = 0x8ebc6af09c88c6e3ull;
  const char* p = bytes.data();
  std::size_t n = bytes.size();
  std::uint64_t h = seed ^ k0;
  while (n >= 16) {
    h = mum(load(p, 8) ^ k1, load(p + 8, 8) ^ h);
    p += 16;
    n -= 16;
  }
  std::uint64_t a = n >= 8 ? load(p, 8) : load(p, n);
  std::uint64_t b = n > 8 ? load(p + 8, n - 8) : 0;
  h = mum(a ^ k1, b ^ h);
  return mum(h ^ k2, bytes.size() ^ k1);
}

}  // namespace sluice::llm
