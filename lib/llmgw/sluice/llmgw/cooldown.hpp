// A model target's cooldown: a pure state machine over an injected time. A target that fails
// `failures` times in a row (429, 5xx, 529, timeouts, connect errors) is skipped until its
// cooldown ends. A 429 cools it down at once when the provider says for how long (Retry-After,
// x-ratelimit-reset-*): the provider's time wins over the configured one. A success ends the
// streak.
#pragma once

#include <cstdint>
#include <optional>

#include "sluice/core/clock.hpp"
#include "sluice/core/units.hpp"

namespace sluice::llmgw {

struct CooldownPolicy {
  std::uint32_t failures = 3;
  Duration period = std::chrono::seconds(30);
};

class Cooldown {
 public:
  // Whether the target may be tried at now.
  bool available(TimePoint now) const { return now >= until_; }
  // When it may be tried again (a past time when available).
  TimePoint until() const { return until_; }
  std::uint32_t streak() const { return streak_; }

  void success() { streak_ = 0; }
  // A failure. retry_after: how long the provider asked to wait (a 429's Retry-After). Returns
  // true when this failure started a cooldown.
  bool failure(const CooldownPolicy& p, TimePoint now,
               std::optional<Duration> retry_after = std::nullopt);

 private:
  std::uint32_t streak_ = 0;
  TimePoint until_{};
};

}  // namespace sluice::llmgw
