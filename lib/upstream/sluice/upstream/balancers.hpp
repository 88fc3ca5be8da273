// The balancer of each config::LbPolicy. Most code gets one from make_balancer(); the types are
// public so that tests and benchmarks can drive one directly. balancer.hpp states the contract.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "sluice/upstream/balancer.hpp"

namespace sluice::upstream {

// Eligible endpoints in index order, one pick each; weights are ignored.
class RoundRobinBalancer final : public Balancer {
 public:
  explicit RoundRobinBalancer(std::size_t first_index = 0) : next_(first_index) {}
  std::optional<std::size_t> pick(const PickContext& ctx) override;
  config::LbPolicy policy() const override { return config::LbPolicy::round_robin; }

 private:
  std::size_t next_;
};

// Smooth weighted round robin (nginx): each pick adds every eligible endpoint's weight to its
// credit, takes the endpoint with the most credit (the lowest index on a tie) and charges it the
// total. Over any run of picks in which the weights hold still, endpoint i gets w_i / sum(w) of
// them within one pick, and picks are interleaved, not bunched: weights 5,1,1 give a a b a c a a.
// Deterministic. Slow-start weights take effect on the next pick. An endpoint that is not eligible
// loses its credit, so it re-enters with no burst.
class WeightedRoundRobinBalancer final : public Balancer {
 public:
  std::optional<std::size_t> pick(const PickContext& ctx) override;
  config::LbPolicy policy() const override { return config::LbPolicy::weighted_round_robin; }

 private:
  std::vector<double> credit_;  // by endpoint index; reset when the endpoint count changes
};

// A random endpoint, with probability proportional to its weight.
class RandomBalancer final : public Balancer {
 public:
  explicit RandomBalancer(Rng& rng) : rng_(rng) {}
  std::optional<std::size_t> pick(const PickContext& ctx) override;
  config::LbPolicy policy() const override { return config::LbPolicy::random; }

 private:
  Rng& rng_;
};

// Power of two choices: draw two distinct eligible endpoints uniformly, keep the one with the
// higher weight / (active + 1)^bias, a coin flip on a tie. An endpoint that has more in flight than
// all others is then never chosen while two others are eligible, and load evens out without the
// herding of "always the least loaded". Weights tilt the comparison rather than fix a share.
class LeastRequestBalancer final : public Balancer {
 public:
  LeastRequestBalancer(Rng& rng, double active_request_bias)
      : rng_(rng), bias_(active_request_bias) {}
  std::optional<std::size_t> pick(const PickContext& ctx) override;
  config::LbPolicy policy() const override { return config::LbPolicy::least_request; }

 private:
  double score(const PickContext& ctx, std::size_t i) const;

  Rng& rng_;
  double bias_;
};

// ring_hash and maglev: the work is in the HashTable the context carries; without one the key
// falls back to lb::hash_walk.
class HashBalancer final : public Balancer {
 public:
  explicit HashBalancer(config::LbPolicy policy) : policy_(policy) {}
  std::optional<std::size_t> pick(const PickContext& ctx) override;
  config::LbPolicy policy() const override { return policy_; }

 private:
  config::LbPolicy policy_;
};

}  // namespace sluice::upstream
