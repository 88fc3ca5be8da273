#include "sluice/llm/response_cache.hpp"

namespace sluice::llm {

std::uint64_t CachedResponse::bytes() const {
  std::uint64_t n = content_type.size() + body.size();
  for (const auto& [name, value] : headers) n += name.size() + value.size();
  return n;
}

ResponseCache::ResponseCache(std::size_t max_entries, std::uint64_t max_bytes, Duration ttl)
    : max_entries_(max_entries), max_bytes_(max_bytes), ttl_(ttl) {}

void ResponseCache::erase_locked(Lru::iterator it) {
  stats_.bytes -= it->bytes;
  index_.erase(std::string_view(it->key));
  lru_.erase(it);
}

std::optional<CachedResponse> ResponseCache::get(const std::string& key, TimePoint now) {
  std::shared_ptr<const CachedResponse> found;
  {
    std::lock_guard lk(mu_);
    auto it = index_.find(std::string_view(key));
    if (it == index_.end()) {
      ++stats_.misses;
      return std::nullopt;
    }
    if (now >= it->second->expires) {
      erase_locked(it->second);
      ++stats_.expired;
      ++stats_.misses;
      return std::nullopt;
    }
    ++stats_.hits;
    lru_.splice(lru_.begin(), lru_, it->second);
    found = it->second->value;
  }
  return *found;
}

void ResponseCache::put(std::string key, CachedResponse value, TimePoint now) {
  std::uint64_t bytes = key.size() + value.bytes();
  auto shared = std::make_shared<const CachedResponse>(std::move(value));
  std::shared_ptr<const CachedResponse> old;  // released after the lock
  std::lock_guard lk(mu_);
  if (auto it = index_.find(std::string_view(key)); it != index_.end()) {
    old = std::move(it->second->value);
    erase_locked(it->second);
  }
  if (bytes > max_bytes_ || max_entries_ == 0) {
    ++stats_.rejected;
    stats_.entries = lru_.size();
    return;
  }
  // A TTL too long to add (Duration::max() for "no expiry") saturates instead of overflowing.
  TimePoint expires = ttl_ > TimePoint::max() - now ? TimePoint::max() : now + ttl_;
  lru_.push_front(Entry{std::move(key), std::move(shared), bytes, expires});
  index_.emplace(std::string_view(lru_.front().key), lru_.begin());
  stats_.bytes += bytes;
  while (lru_.size() > max_entries_ || stats_.bytes > max_bytes_) {
    erase_locked(std::prev(lru_.end()));
    ++stats_.evictions;
  }
  stats_.entries = lru_.size();
}

ResponseCacheStats ResponseCache::stats() const {
  std::lock_guard lk(mu_);
  ResponseCacheStats s = stats_;
  s.entries = lru_.size();
  return s;
}

void ResponseCache::clear() {
  std::lock_guard lk(mu_);
  index_.clear();
  lru_.clear();
  stats_.bytes = 0;
  stats_.entries = 0;
}

}  // namespace sluice::llm
