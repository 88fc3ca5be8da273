#include "walker.hpp"

namespace sluice::llmgw {

Rng& walk_rng() {
  thread_local SeededRng rng = SeededRng::from_entropy();
  return rng;
}

TargetWalker::TargetWalker(const LlmRoute& route, const AliasRt& first, Rng& rng)
    : route_(route), rng_(rng) {
  enter(static_cast<std::size_t>(&first - route.aliases().data()));
}

void TargetWalker::enter(std::size_t alias_index) {
  const auto& a = route_.aliases()[alias_index];
  visited_.insert(alias_index);
  current_ = &a;
  std::vector<CandidateView> views;
  views.reserve(a.targets.size());
  for (const auto& t : a.targets)
    views.push_back({t.cfg->weight, t.state->in_flight.load(std::memory_order_relaxed),
                     t.state->latency_ms(), t.price});
  order_ = order_targets(a.cfg->strategy, views, rng_);
  next_ = 0;
  // Its fallbacks go first in the chain, ahead of what was left of the previous alias's.
  chain_.insert(chain_.begin(), a.fallbacks.begin(), a.fallbacks.end());
}

const TargetRt* TargetWalker::next(TimePoint now) {
  for (;;) {
    while (next_ < order_.size()) {
      const TargetRt& t = current_->targets[order_[next_++]];
      if (t.state->available(now)) return &t;
      ++skipped_;
      auto until = t.state->until();
      if (!cooled_until_ || until < *cooled_until_) cooled_until_ = until;
    }
    // The next fallback alias not walked yet.
    std::optional<std::size_t> alias;
    while (!chain_.empty() && !alias) {
      std::size_t i = chain_.front();
      chain_.erase(chain_.begin());
      if (!visited_.count(i)) alias = i;
    }
    if (!alias) return nullptr;
    enter(*alias);
  }
}

bool TargetWalker::to_context_fallback() {
  auto cf = current_->context_fallback;
  if (!cf || visited_.count(*cf)) return false;
  chain_.clear();
  enter(*cf);
  return true;
}

}  // namespace sluice::llmgw
