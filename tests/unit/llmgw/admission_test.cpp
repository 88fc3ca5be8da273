// Request and token limits with a manual clock: the first refused request is exactly the one
// whose prompt the bucket cannot cover.
#include <catch2/catch.hpp>

#include "sluice/llmgw/admission.hpp"

using namespace sluice;
using namespace sluice::llmgw;
using namespace std::chrono_literals;

namespace {

std::vector<LimitScope> scopes(std::uint64_t rpm, std::uint64_t tpm) {
  return {{"key:a", {rpm, tpm}}};
}

std::string header(const std::vector<LimitHeader>& hs, std::string_view name) {
  for (const auto& h : hs)
    if (h.name == name) return h.value;
  return "";
}

}  // namespace

TEST_CASE("admission: TPM refuses exactly the request its bucket cannot cover", "[llmgw]") {
  ManualClock clock;
  store::BucketSet buckets;
  // 1000 tokens a minute; prompts of 300: three fit (900), the fourth (needs 300, 100 left)
  // is the first refused.
  int admitted = 0;
  for (int i = 0; i < 10; ++i) {
    Admission a(buckets, scopes(0, 1000), clock.now());
    if (a.admit(300, clock.now())) break;
    ++admitted;
  }
  CHECK(admitted == 3);
  // 100 left; a prompt of exactly 100 still fits, 1 more does not.
  Admission a(buckets, scopes(0, 1000), clock.now());
  CHECK_FALSE(a.admit(100, clock.now()));
  Admission b(buckets, scopes(0, 1000), clock.now());
  auto refused = b.admit(1, clock.now());
  REQUIRE(refused);
  CHECK(refused->tokens);
  CHECK(refused->limit == 1000);
  // One token refills every 60 ms.
  CHECK(refused->retry_after == 60ms);
  clock.advance(60ms);
  CHECK_FALSE(b.admit(1, clock.now()));
}

TEST_CASE("admission: streamed output is debited as it arrives and settles at the end", "[llmgw]") {
  ManualClock clock;
  store::BucketSet buckets;
  Admission a(buckets, scopes(0, 1000), clock.now());
  REQUIRE_FALSE(a.admit(300, clock.now()));
  a.debit(500, clock.now());  // output so far
  CHECK_FALSE(a.exhausted(clock.now()));
  // 200 left: a prompt of 201 is refused, 200 admitted.
  Admission b(buckets, scopes(0, 1000), clock.now());
  CHECK(b.admit(201, clock.now()));
  CHECK_FALSE(b.admit(200, clock.now()));
  CHECK(b.exhausted(clock.now()));
  // Debt: more output than the bucket holds delays the next admission.
  b.debit(60, clock.now());
  Admission c(buckets, scopes(0, 1000), clock.now());
  auto refused = c.admit(1, clock.now());
  REQUIRE(refused);
  CHECK(refused->retry_after == 61 * 60ms);
}

TEST_CASE("admission: RPM counts requests, and every scope must admit", "[llmgw]") {
  ManualClock clock;
  store::BucketSet buckets;
  std::vector<LimitScope> s = {{"key:a", {2, 0}}, {"model:gpt", {10, 0}}};
  for (int i = 0; i < 2; ++i) {
    Admission a(buckets, s, clock.now());
    REQUIRE_FALSE(a.admit(0, clock.now()));
  }
  Admission a(buckets, s, clock.now());
  auto refused = a.admit(0, clock.now());
  REQUIRE(refused);
  CHECK(refused->scope == "key:a");
  CHECK_FALSE(refused->tokens);
  CHECK(refused->retry_after == 30s);
  CHECK_THAT(refused->message(),
             Catch::Contains("2 requests per minute") && Catch::Contains("key:a"));
  // The model's bucket was not charged for the refused request: 8 left.
  CHECK(buckets.get("model:gpt/rpm", 10, clock.now())->remaining(clock.now()) == 8);
}

TEST_CASE("admission: a prompt larger than the whole limit says so", "[llmgw]") {
  ManualClock clock;
  store::BucketSet buckets;
  Admission a(buckets, scopes(0, 100), clock.now());
  auto refused = a.admit(101, clock.now());
  REQUIRE(refused);
  CHECK(refused->retry_after == Duration::max());
  CHECK_THAT(refused->message(), Catch::Contains("more than the tokens per minute limit"));
}

TEST_CASE("admission: OpenAI's x-ratelimit headers for the tightest scope", "[llmgw]") {
  ManualClock clock;
  store::BucketSet buckets;
  std::vector<LimitScope> s = {{"key:a", {60, 1000}}, {"route:llm", {600, 100000}}};
  Admission a(buckets, s, clock.now());
  REQUIRE_FALSE(a.admit(250, clock.now()));
  auto h = a.headers(clock.now());
  CHECK(header(h, "x-ratelimit-limit-requests") == "60");
  CHECK(header(h, "x-ratelimit-remaining-requests") == "59");
  CHECK(header(h, "x-ratelimit-reset-requests") == "1s");
  CHECK(header(h, "x-ratelimit-limit-tokens") == "1000");
  CHECK(header(h, "x-ratelimit-remaining-tokens") == "750");
  CHECK(header(h, "x-ratelimit-reset-tokens") == "15s");
}

TEST_CASE("admission: reset durations in OpenAI's format", "[llmgw]") {
  CHECK(format_reset(Duration::zero()) == "0s");
  CHECK(format_reset(20ms) == "20ms");
  CHECK(format_reset(1500ms) == "1.5s");
  CHECK(format_reset(59980ms) == "59.98s");
  CHECK(format_reset(360s) == "6m0s");
}
