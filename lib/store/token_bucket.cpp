// GCRA: the bucket holds (now + capacity - tat) / token cost tokens, tat never below now.
#include "sluice/store/token_bucket.hpp"

#include <algorithm>
#include <limits>

namespace sluice::store {

namespace {
// Far enough in the past that any bucket starts full.
constexpr __int128 kLongAgo = -(static_cast<__int128>(1) << 100);
}  // namespace

TokenBucket::TokenBucket(std::uint64_t per_minute)
    : limit_(per_minute), capacity_(static_cast<Units>(per_minute) * kTokenCost), tat_(kLongAgo) {}

TokenBucket::TokenBucket(std::uint64_t per_minute, const TokenBucket& previous, TimePoint now)
    : TokenBucket(per_minute) {
  if (previous.limit_ == 0 || per_minute == 0) return;
  std::lock_guard lock(previous.mu_);
  // The emptied part (deficit) keeps its share of the capacity.
  Units deficit = previous.tat_at(now) - previous.scaled(now);
  tat_ =
      scaled(now) + deficit * static_cast<Units>(per_minute) / static_cast<Units>(previous.limit_);
}

TokenBucket::Units TokenBucket::scaled(TimePoint t) const {
  return static_cast<Units>(t.time_since_epoch().count()) * static_cast<Units>(limit_);
}

TokenBucket::Units TokenBucket::tat_at(TimePoint now) const {
  return std::max(tat_, scaled(now));
}

Duration TokenBucket::to_duration(Units u) const {
  if (u <= 0) return Duration::zero();
  Units ns = (u + static_cast<Units>(limit_) - 1) / static_cast<Units>(limit_);  // round up
  if (ns > std::numeric_limits<Duration::rep>::max()) return Duration::max();
  return Duration(static_cast<Duration::rep>(ns));
}

bool TokenBucket::try_take(std::uint64_t n, TimePoint now) {
  if (limit_ == 0) return n == 0;
  std::lock_guard lock(mu_);
  Units tat = tat_at(now);
  Units after = tat + static_cast<Units>(n) * kTokenCost;
  if (after - scaled(now) > capacity_) return false;
  tat_ = after;
  return true;
}

void TokenBucket::debit(std::uint64_t n, TimePoint now) {
  if (limit_ == 0) return;
  std::lock_guard lock(mu_);
  tat_ = tat_at(now) + static_cast<Units>(n) * kTokenCost;
}

void TokenBucket::credit(std::uint64_t n, TimePoint now) {
  if (limit_ == 0) return;
  std::lock_guard lock(mu_);
  tat_ = std::max(tat_at(now) - static_cast<Units>(n) * kTokenCost, scaled(now));
}

std::int64_t TokenBucket::remaining(TimePoint now) const {
  if (limit_ == 0) return 0;
  std::lock_guard lock(mu_);
  Units room = scaled(now) + capacity_ - tat_at(now);
  // Floor division: a partial token in debt counts as a whole token owed.
  Units q = room / kTokenCost;
  if (room % kTokenCost < 0) --q;
  return static_cast<std::int64_t>(q);
}

Duration TokenBucket::wait_for(std::uint64_t n, TimePoint now) const {
  if (n > limit_) return Duration::max();
  std::lock_guard lock(mu_);
  // Available once scaled(t) + capacity - tat >= n tokens.
  return to_duration(tat_at(now) + static_cast<Units>(n) * kTokenCost - capacity_ - scaled(now));
}

Duration TokenBucket::until_full(TimePoint now) const {
  if (limit_ == 0) return Duration::zero();
  std::lock_guard lock(mu_);
  return to_duration(tat_at(now) - scaled(now));
}

std::shared_ptr<TokenBucket> BucketSet::get(std::string_view name, std::uint64_t per_minute,
                                            TimePoint now) {
  {
    std::shared_lock lock(mu_);
    auto it = buckets_.find(name);
    if (it != buckets_.end() && it->second->limit() == per_minute) return it->second;
  }
  std::unique_lock lock(mu_);
  auto& slot = buckets_[std::string(name)];
  if (!slot)
    slot = std::make_shared<TokenBucket>(per_minute);
  else if (slot->limit() != per_minute)
    slot = std::make_shared<TokenBucket>(per_minute, *slot, now);
  return slot;
}

std::size_t BucketSet::size() const {
  std::shared_lock lock(mu_);
  return buckets_.size();
}

}  // namespace sluice::store
