// Private to llmgw: the order in which one request tries targets. The alias's targets in its
// strategy's order, then each fallback alias's, skipping targets that are cooling down; a
// context-length error moves to the alias's context_fallback (and its fallbacks) instead.
#pragma once

#include <optional>
#include <set>
#include <vector>

#include "llm_route.hpp"

namespace sluice::llmgw {

// The calling worker thread's random source for target orders (seeded once per thread).
Rng& walk_rng();

class TargetWalker {
 public:
  TargetWalker(const LlmRoute& route, const AliasRt& first, Rng& rng);
  // The next target to try at now, or null when none is left.
  const TargetRt* next(TimePoint now);
  // The last target failed with a context-length error: continue with the current alias's
  // context_fallback. False when it has none (or it was visited already).
  bool to_context_fallback();
  const AliasRt& alias() const { return *current_; }
  // The earliest end of a cooldown that made the walk skip a target.
  std::optional<TimePoint> cooled_until() const { return cooled_until_; }
  int skipped() const { return skipped_; }

 private:
  void enter(std::size_t alias_index);
  const LlmRoute& route_;
  Rng& rng_;
  std::vector<std::size_t> chain_;  // aliases still to walk, after current_
  std::set<std::size_t> visited_;
  const AliasRt* current_ = nullptr;
  std::vector<std::size_t> order_;
  std::size_t next_ = 0;
  std::optional<TimePoint> cooled_until_;
  int skipped_ = 0;
};

}  // namespace sluice::llmgw
