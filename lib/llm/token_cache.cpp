#include "sluice/llm/token_cache.hpp"

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

std::uint64_t content_hash(std::string_view bytes, std::uint64_t seed) {
  std::uint64_t h = 14695981039346656037ull ^ seed;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace sluice::llm
