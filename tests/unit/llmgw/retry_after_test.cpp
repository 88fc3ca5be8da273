// A provider's Retry-After, in both of RFC 9110's forms: delta-seconds and HTTP-date. The
// cooldown of a rate-limited target lasts that long.
#include <chrono>

#include <catch2/catch.hpp>

#include "sluice/llmgw/provider.hpp"

using namespace sluice;
using namespace std::chrono;

namespace {

const std::string kAnthropic429 =
    R"({"type":"error","error":{"type":"rate_limit_error","message":"slow down"}})";

// Sun, 06 Dec 2026 10:00:00 GMT.
system_clock::time_point at(milliseconds past_ten) {
  return sys_days{year{2026} / December / 6} + hours{10} + past_ten;
}

}  // namespace

TEST_CASE("Retry-After in delta-seconds", "[llmgw][retry-after]") {
  auto e = llmgw::parse_error(llm::WireFormat::anthropic, 429, kAnthropic429, "7", at(0ms));
  CHECK(e.kind == llm::ProviderErrorKind::rate_limit);
  REQUIRE(e.retry_after_s);
  CHECK(*e.retry_after_s == 7);
}

TEST_CASE("Retry-After as an HTTP-date is the delay to that date", "[llmgw][retry-after]") {
  const char* date = "Sun, 06 Dec 2026 10:00:02 GMT";
  auto e = llmgw::parse_error(llm::WireFormat::anthropic, 429, kAnthropic429, date, at(0ms));
  CHECK(e.kind == llm::ProviderErrorKind::rate_limit);
  REQUIRE(e.retry_after_s);
  CHECK(*e.retry_after_s == 2);
  // 1.5 s left: rounded up.
  e = llmgw::parse_error(llm::WireFormat::anthropic, 429, kAnthropic429, date, at(500ms));
  REQUIRE(e.retry_after_s);
  CHECK(*e.retry_after_s == 2);
  // 0.2 s left: still a wait, of at least 1 s.
  e = llmgw::parse_error(llm::WireFormat::openai, 429, "{}", date, at(1800ms));
  REQUIRE(e.retry_after_s);
  CHECK(*e.retry_after_s == 1);
}

TEST_CASE("a past HTTP-date or a value of neither form gives no wait", "[llmgw][retry-after]") {
  auto e = llmgw::parse_error(llm::WireFormat::anthropic, 429, kAnthropic429,
                              "Sun, 06 Dec 2026 09:59:00 GMT", at(0ms));
  CHECK_FALSE(e.retry_after_s);
  e = llmgw::parse_error(llm::WireFormat::anthropic, 429, kAnthropic429, "soon", at(0ms));
  CHECK_FALSE(e.retry_after_s);
  e = llmgw::parse_error(llm::WireFormat::anthropic, 429, kAnthropic429, "", at(0ms));
  CHECK_FALSE(e.retry_after_s);
}
