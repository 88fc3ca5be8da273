// A worker's idle keep-alive connections to upstream endpoints. Owned by one worker thread, so
// it needs no locks. Most recently used connections are reused first; the oldest expire first.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "sluice/core/clock.hpp"
#include "sluice/net/stream.hpp"

namespace sluice::net {

struct PoolCounters {
  std::uint64_t reused = 0;   // requests sent on a pooled connection
  std::uint64_t created = 0;  // new upstream connections
  std::uint64_t stale = 0;    // pooled connections found closed or expired when taken
  std::uint64_t expired = 0;  // closed by the idle sweep
};

class ConnectionPool {
 public:
  // A live idle connection for key, or nullptr. A connection idle for less than probe_after is
  // handed out without probing it (a syscall); callers that can replay the request on a fresh
  // connection pass a nonzero probe_after, those that cannot pass zero.
  std::unique_ptr<Stream> take(const std::string& key, TimePoint now,
                               std::chrono::nanoseconds probe_after);
  // Keeps conn until now + idle_timeout, unless max_idle are already kept for key.
  void put(const std::string& key, std::unique_ptr<Stream> conn, TimePoint now,
           std::chrono::nanoseconds idle_timeout, std::uint32_t max_idle);
  // Closes expired connections; cheap enough to run every second.
  void sweep(TimePoint now);
  void clear();
  // Closes the connection idle longest among the keys starting with prefix; false if none.
  bool close_oldest(std::string_view prefix);

  void note_created() { ++counters_.created; }
  const PoolCounters& counters() const { return counters_; }
  // Idle connections per key, for metrics.
  template <class F>
  void for_each_idle(F&& f) const {
    for (const auto& [key, list] : idle_) f(key, list.size());
  }

 private:
  struct Idle {
    std::unique_ptr<Stream> conn;
    TimePoint since;
    TimePoint expires;
  };
  std::unordered_map<std::string, std::deque<Idle>> idle_;
  PoolCounters counters_;
};

}  // namespace sluice::net
