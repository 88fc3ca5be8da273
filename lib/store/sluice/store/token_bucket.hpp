// An exact token bucket (GCRA) shared by the worker threads of one process, and a registry of
// named buckets. Capacity is the per-minute limit L; it refills continuously at L per 60 s.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "sluice/core/clock.hpp"
#include "sluice/core/units.hpp"

namespace sluice::store {

// Time is kept as a "theoretical arrival time" in units of ns x L, where one token costs exactly
// 60e9 units: integer arithmetic, so no rounding drift however long it runs. A limit of 0 admits
// nothing.
class TokenBucket {
 public:
  explicit TokenBucket(std::uint64_t per_minute);
  // A bucket with a new limit that is as full, in proportion, as `previous` is at `now` (debt
  // included): a config reload neither refills nor drains it.
  TokenBucket(std::uint64_t per_minute, const TokenBucket& previous, TimePoint now);

  // Takes n iff the bucket holds at least n now. n greater than the limit never succeeds.
  bool try_take(std::uint64_t n, TimePoint now);
  // Takes n unconditionally (output tokens learned after admission). The bucket may go into debt,
  // which delays the next admissions.
  void debit(std::uint64_t n, TimePoint now);
  // Gives n back (undoing a take that another bucket made moot); never above capacity.
  void credit(std::uint64_t n, TimePoint now);

  // Whole tokens available now; negative when in debt.
  std::int64_t remaining(TimePoint now) const;
  // Zero when n are available now, else the time until they are; Duration::max() when n exceeds
  // the limit (it never will be).
  Duration wait_for(std::uint64_t n, TimePoint now) const;
  // Time until the bucket is full again (x-ratelimit-reset-*).
  Duration until_full(TimePoint now) const;
  std::uint64_t limit() const { return limit_; }

 private:
  using Units = __int128;
  static constexpr Units kTokenCost = 60'000'000'000;  // 60 s in ns: one token, in ns x L units
  Units scaled(TimePoint t) const;
  Units tat_at(TimePoint now) const;  // tat_, or now when the bucket is full
  Duration to_duration(Units u) const;

  const std::uint64_t limit_;
  const Units capacity_;  // L tokens, in ns x L units
  mutable std::mutex mu_;
  Units tat_;
};

// name -> bucket, created on first use. Lookups take a shared lock only.
class BucketSet {
 public:
  // The bucket named `name`, created full with `per_minute`; when the limit differs from the
  // existing bucket's (a config reload), it is replaced by one as full in proportion.
  std::shared_ptr<TokenBucket> get(std::string_view name, std::uint64_t per_minute, TimePoint now);
  std::size_t size() const;

 private:
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<TokenBucket>, NameHash, std::equal_to<>> buckets_;
};

}  // namespace sluice::store
