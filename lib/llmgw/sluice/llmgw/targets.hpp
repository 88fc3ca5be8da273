// Model targets (a provider plus a model) as routing sees them: live state shared by every
// worker (requests in flight, a latency average, the cooldown), and the order in which an
// alias's strategy tries them.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "sluice/core/clock.hpp"
#include "sluice/core/config/schema.hpp"
#include "sluice/llmgw/cooldown.hpp"

namespace sluice::llmgw {

class TargetState {
 public:
  TargetState(std::string provider, std::string model)
      : provider_(std::move(provider)), model_(std::move(model)) {}
  const std::string& provider() const { return provider_; }
  const std::string& model() const { return model_; }

  std::atomic<std::uint32_t> in_flight{0};
  // Cooldowns started, for the metrics.
  std::atomic<std::uint64_t> cooldowns{0};

  bool available(TimePoint now) const;
  TimePoint until() const;
  // A good answer that took latency_ms to its first byte (EWMA, alpha 0.3).
  void success(double latency_ms);
  // Returns true when a cooldown started.
  bool failure(const CooldownPolicy& p, TimePoint now, std::optional<Duration> retry_after);
  double latency_ms() const;  // 0: not measured yet

 private:
  std::string provider_, model_;
  mutable std::mutex mu_;
  Cooldown cooldown_;
  double ewma_ms_ = 0;
};

// Every target's state by provider and model, kept across reloads (the handler built by a
// reload takes the previous one's registry).
class TargetRegistry {
 public:
  std::shared_ptr<TargetState> get(const std::string& provider, const std::string& model);

 private:
  std::mutex mu_;
  std::map<std::pair<std::string, std::string>, std::shared_ptr<TargetState>> states_;
};

// What the strategies look at, per candidate.
struct CandidateView {
  std::uint32_t weight = 1;
  std::uint32_t in_flight = 0;
  double latency_ms = 0;  // 0: unknown
  double price = -1;      // USD per million input + output tokens; <0: unknown
};

// The order in which to try the candidates. weighted: a weighted random order. least_in_flight,
// lowest_latency (unmeasured targets first, so they get measured) and cheapest (unknown prices
// last) sort on their figure, ties broken by a weighted random order. Weight-0 targets come
// last, as spares.
std::vector<std::size_t> order_targets(config::LlmStrategy strategy,
                                       std::span<const CandidateView> candidates, Rng& rng);

}  // namespace sluice::llmgw
