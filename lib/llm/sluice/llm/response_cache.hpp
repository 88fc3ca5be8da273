// The exact response cache: an in-memory LRU of whole replies to cacheable requests (see
// cache_key.hpp), bounded by entry count and bytes, each entry kept for a TTL. One mutex; shared
// by the worker threads. Time is passed in, never read here.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "sluice/core/clock.hpp"
#include "sluice/core/units.hpp"

namespace sluice::llm {

struct CachedResponse {
  int status = 200;
  std::string content_type;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers, name and value

  // What the entry counts against the byte cap, with its key.
  std::uint64_t bytes() const;
};

struct ResponseCacheStats {
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;     // expired entries included
  std::uint64_t expired = 0;    // entries found past their TTL (and removed)
  std::uint64_t evictions = 0;  // entries removed to keep within the caps
  std::uint64_t rejected = 0;   // puts not stored: the entry alone exceeds max_bytes
  std::size_t entries = 0;
  std::uint64_t bytes = 0;
};

class ResponseCache {
 public:
  ResponseCache(std::size_t max_entries, std::uint64_t max_bytes, Duration ttl);
  ResponseCache(const ResponseCache&) = delete;
  ResponseCache& operator=(const ResponseCache&) = delete;

  // The entry, made most recent; an entry whose TTL has passed (now >= stored + ttl) is removed
  // and counts as a miss.
  std::optional<CachedResponse> get(const std::string& key, TimePoint now);
  // Stores (or replaces) the entry as most recent, then evicts from the least recently used end
  // until both caps hold. An entry of more than max_bytes (key.size() + value.bytes()) is not
  // stored, and an older entry under its key is dropped.
  void put(std::string key, CachedResponse value, TimePoint now);
  ResponseCacheStats stats() const;
  void clear();
  std::size_t max_entries() const { return max_entries_; }
  std::uint64_t max_bytes() const { return max_bytes_; }
  Duration ttl() const { return ttl_; }

 private:
  struct Entry {
    std::string key;
    std::shared_ptr<const CachedResponse> value;  // copied out after the lock is released
    std::uint64_t bytes = 0;
    TimePoint expires;
  };
  using Lru = std::list<Entry>;

  void erase_locked(Lru::iterator it);

  const std::size_t max_entries_;
  const std::uint64_t max_bytes_;
  const Duration ttl_;
  mutable std::mutex mu_;
  Lru lru_;                                                    // most recent first
  std::unordered_map<std::string_view, Lru::iterator> index_;  // views of Entry::key
  ResponseCacheStats stats_;
};

}  // namespace sluice::llm
