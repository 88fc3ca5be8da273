// Bad input never crashes: random and mangled bytes through every parser of the probe module.
#include <catch2/catch.hpp>

#include "sluice/core/clock.hpp"
#include "sluice/probe/conditions.hpp"
#include "sluice/probe/grpc_wire.hpp"
#include "sluice/probe/targets_file.hpp"

using namespace sluice;
using namespace sluice::probe;

namespace {

std::string random_text(SeededRng& rng, std::string_view alphabet, std::size_t max_len) {
  std::string out(rng.next() % (max_len + 1), ' ');
  for (auto& c : out) c = alphabet[rng.next() % alphabet.size()];
  return out;
}

constexpr std::string_view kUrlChars = "htpsgrcdn:/[]@.?#%0123456789abcxyz-_ \x01\xff";
constexpr std::string_view kBytes =
    std::string_view("\x00\x01\x05\x08\x0a\x12\x1d\x21\x7f\x80\xff", 11);

}  // namespace

TEST_CASE("probe robustness: target URLs and headers", "[probe][robustness]") {
  SeededRng rng(7);
  const char* prefixes[] = {"http://", "https://", "tcp://", "grpc://", "grpcs://", "dns://", ""};
  for (int i = 0; i < 20000; ++i) {
    std::string text = prefixes[rng.next() % 7] + random_text(rng, kUrlChars, 24);
    auto t = parse_target(text);
    if (t.ok()) {
      CHECK_FALSE(t->host.empty());
      CHECK(build_conditions(*t, {}).ok());
    }
    (void)parse_header(random_text(rng, "Ab-: \r\n\x01", 12));
    (void)redact_url(text);
  }
}

TEST_CASE("probe robustness: gRPC messages", "[probe][robustness]") {
  SeededRng rng(11);
  for (int i = 0; i < 20000; ++i) {
    std::string bytes = random_text(rng, kBytes, 16);
    (void)grpc::decode_health_response(bytes);
    auto m = grpc::unframe(bytes);
    if (m.ok()) CHECK(m->size() + 5 <= bytes.size());
    (void)grpc::percent_decode(random_text(rng, "%0aF ", 8));
  }
}

TEST_CASE("probe robustness: conditions and targets files", "[probe][robustness]") {
  SeededRng rng(13);
  constexpr std::string_view kExpr = "status json.header-.\"()[] ~=<>!0123456789ms";
  ProbeResult r;
  r.status = 200;
  r.body = "{\"a\":[1,{\"b\":null}]}";
  for (int i = 0; i < 5000; ++i) {
    auto text = random_text(rng, kExpr, 20);
    auto c = compile_condition(text, Kind::http, "fuzz");
    if (c.ok()) {
      ProbeScope scope(Kind::http, r, {});
      (void)expr::holds(c->expr, scope);
    }
    std::string toml = "[[targets]]\nurl = \"" + random_text(rng, kUrlChars, 16) + "\"\n" +
                       random_text(rng, "abc =\"[]\n{}1", 20);
    (void)load_targets_string(toml, "fuzz.toml", {}, {});
  }
}
