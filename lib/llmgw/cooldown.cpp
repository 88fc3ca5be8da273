#include "sluice/llmgw/cooldown.hpp"

namespace sluice::llmgw {

bool Cooldown::failure(const CooldownPolicy& p, TimePoint now,
                       std::optional<Duration> retry_after) {
  ++streak_;
  if (retry_after && retry_after->count() > 0) {
    until_ = std::max(until_, now + *retry_after);
    streak_ = 0;
    return true;
  }
  if (streak_ >= p.failures && p.period.count() > 0) {
    until_ = now + p.period;
    streak_ = 0;
    return true;
  }
  return false;
}

}  // namespace sluice::llmgw
