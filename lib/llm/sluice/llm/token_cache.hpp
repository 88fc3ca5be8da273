// Token counts of messages, by content hash: a conversation re-sent on every turn is counted
// again only for its new messages. Bounded (the least recently used entries go first) and safe
// to share between threads.
#pragma once

#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string_view>
#include <unordered_map>

namespace sluice::llm {

class MessageCache {
 public:
  explicit MessageCache(std::size_t capacity = 65536) : capacity_(capacity) {}
  MessageCache(const MessageCache&) = delete;
  MessageCache& operator=(const MessageCache&) = delete;

  std::optional<std::size_t> find(std::uint64_t key);
  void put(std::uint64_t key, std::size_t tokens);

  std::uint64_t hits() const;
  std::uint64_t misses() const;
  std::size_t size() const;

 private:
  using Lru = std::list<std::pair<std::uint64_t, std::size_t>>;
  std::size_t capacity_;
  mutable std::mutex mu_;
  Lru lru_;  // most recent first
  std::unordered_map<std::uint64_t, Lru::iterator> index_;
  std::uint64_t hits_ = 0, misses_ = 0;
};

// A seeded 64-bit hash (wyhash's 128-bit multiply mix, 16 bytes a step: a 100 KB conversation
// in microseconds), the cache key of a message's text. Not stable across versions: keys live
// in memory only.
std::uint64_t content_hash(std::string_view bytes, std::uint64_t seed);

}  // namespace sluice::llm
