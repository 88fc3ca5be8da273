#include "sluice/llmgw/targets.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace sluice::llmgw {

bool TargetState::available(TimePoint now) const {
  std::lock_guard lock(mu_);
  return cooldown_.available(now);
}

TimePoint TargetState::until() const {
  std::lock_guard lock(mu_);
  return cooldown_.until();
}

void TargetState::success(double latency_ms) {
  std::lock_guard lock(mu_);
  cooldown_.success();
  ewma_ms_ = ewma_ms_ == 0 ? latency_ms : 0.7 * ewma_ms_ + 0.3 * latency_ms;
}

bool TargetState::failure(const CooldownPolicy& p, TimePoint now,
                          std::optional<Duration> retry_after) {
  std::lock_guard lock(mu_);
  bool started = cooldown_.failure(p, now, retry_after);
  if (started) cooldowns.fetch_add(1, std::memory_order_relaxed);
  return started;
}

double TargetState::latency_ms() const {
  std::lock_guard lock(mu_);
  return ewma_ms_;
}

std::shared_ptr<TargetState> TargetRegistry::get(const std::string& provider,
                                                 const std::string& model) {
  std::lock_guard lock(mu_);
  auto& s = states_[{provider, model}];
  if (!s) s = std::make_shared<TargetState>(provider, model);
  return s;
}

std::vector<std::size_t> order_targets(config::LlmStrategy strategy,
                                       std::span<const CandidateView> candidates, Rng& rng) {
  // A weighted random order (Efraimidis-Spirakis keys: u^(1/w), largest first).
  std::vector<std::pair<double, std::size_t>> keyed;
  keyed.reserve(candidates.size());
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    double w = candidates[i].weight;
    double key =
        w > 0 ? std::pow(std::max(rng.uniform(), 1e-300), 1.0 / w) : -1.0 - double(i) * 1e-9;
    keyed.emplace_back(key, i);
  }
  std::stable_sort(keyed.begin(), keyed.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<std::size_t> order;
  order.reserve(keyed.size());
  for (const auto& k : keyed) order.push_back(k.second);
  auto spare = [&](std::size_t i) { return candidates[i].weight == 0; };
  auto by = [&](auto figure) {
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      if (spare(a) != spare(b)) return spare(b);
      return figure(a) < figure(b);
    });
  };
  constexpr double inf = std::numeric_limits<double>::infinity();
  switch (strategy) {
    case config::LlmStrategy::weighted:
      break;
    case config::LlmStrategy::least_in_flight:
      by([&](std::size_t i) { return double(candidates[i].in_flight); });
      break;
    case config::LlmStrategy::lowest_latency:
      by([&](std::size_t i) { return candidates[i].latency_ms; });
      break;
    case config::LlmStrategy::cheapest:
      by([&](std::size_t i) { return candidates[i].price < 0 ? inf : candidates[i].price; });
      break;
  }
  return order;
}

}  // namespace sluice::llmgw
