// Request and token limits of one LLM request: every scope that limits it (its virtual key, its
// alias, its route) has an RPM and a TPM bucket (store::TokenBucket, shared exactly by all
// workers). Admission takes one request and the prompt's tokens from every bucket or from none;
// output tokens are debited as they become known. A pure function of the buckets and the time
// it is given, so tests drive it with a manual clock.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sluice/core/clock.hpp"
#include "sluice/core/config/schema.hpp"
#include "sluice/store/token_bucket.hpp"

namespace sluice::llmgw {

struct LimitScope {
  std::string name;  // "key:team-a", "model:gpt", "route:llm": the bucket names' prefix
  config::LlmLimits limits;
};

struct LimitHeader {
  std::string name, value;
};

class Admission {
 public:
  struct Refusal {
    std::string scope;    // the scope whose bucket refused
    bool tokens = false;  // the TPM bucket (else RPM)
    std::uint64_t limit = 0;
    std::uint64_t asked = 0;  // tokens (or 1 request) the request needed
    Duration retry_after{};   // until the bucket can cover it; max() when it never can
    std::string message() const;
  };

  Admission() = default;
  Admission(store::BucketSet& buckets, const std::vector<LimitScope>& scopes, TimePoint now);

  bool limited() const { return !rpm_.empty() || !tpm_.empty(); }
  bool limits_tokens() const { return !tpm_.empty(); }
  // One request and `tokens` tokens from every bucket, or nothing and the first refusal.
  std::optional<Refusal> admit(std::uint64_t tokens, TimePoint now);
  // Output tokens (or the difference between a reserve and what was used, as credit).
  void debit(std::uint64_t tokens, TimePoint now);
  void credit(std::uint64_t tokens, TimePoint now);
  // A TPM bucket is empty or in debt (a stream may be cut).
  bool exhausted(TimePoint now) const;
  // OpenAI's x-ratelimit-{limit,remaining,reset}-{requests,tokens}, for the tightest scope of
  // each kind.
  std::vector<LimitHeader> headers(TimePoint now) const;

 private:
  struct Held {
    std::string scope;
    std::shared_ptr<store::TokenBucket> bucket;
  };
  std::vector<Held> rpm_, tpm_;
};

// OpenAI's reset format: "1s", "6m0s", "59.98s", "20ms".
std::string format_reset(Duration d);

}  // namespace sluice::llmgw
