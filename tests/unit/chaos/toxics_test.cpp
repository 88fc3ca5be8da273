// Toxics without sockets: Toxiproxy's JSON shape, and the per-chunk arithmetic with seeded Rngs.
#include "sluice/chaos/toxics.hpp"

#include <numeric>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace std::chrono_literals;
using nlohmann::json;
using sluice::SeededRng;
using namespace sluice::chaos;

namespace {

std::string error_of(const json& j) {
  auto r = toxic_from_json(j);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == sluice::ErrorKind::config);
  return r.error().message;
}

}  // namespace

TEST_CASE("toxic_from_json reads every Toxiproxy toxic type", "[toxics]") {
  SECTION("latency with all fields") {
    auto r =
        toxic_from_json(json::parse(R"({"name": "slow", "type": "latency", "stream": "upstream",
        "toxicity": 0.5, "attributes": {"latency": 200, "jitter": 50}})"));
    REQUIRE(r.ok());
    CHECK(r->name == "slow");
    CHECK(r->type() == "latency");
    CHECK(r->stream == Direction::upstream);
    CHECK(r->toxicity == 0.5);
    auto& l = std::get<Latency>(r->attributes);
    CHECK(l.latency == 200ms);
    CHECK(l.jitter == 50ms);
  }
  SECTION("Toxiproxy's defaults: downstream, toxicity 1, name TYPE_STREAM, attributes 0") {
    auto r = toxic_from_json(json{{"type", "latency"}});
    REQUIRE(r.ok());
    CHECK(r->name == "latency_downstream");
    CHECK(r->stream == Direction::downstream);
    CHECK(r->toxicity == 1.0);
    CHECK(std::get<Latency>(r->attributes).latency == 0ms);
    auto up = toxic_from_json(json{{"type", "timeout"}, {"stream", "upstream"}});
    REQUIRE(up.ok());
    CHECK(up->name == "timeout_upstream");
  }
  SECTION("the other types") {
    auto b = toxic_from_json(json{{"type", "bandwidth"}, {"attributes", {{"rate", 100}}}});
    REQUIRE(b.ok());
    CHECK(std::get<Bandwidth>(b->attributes).rate == 100);
    auto sc = toxic_from_json(json{{"type", "slow_close"}, {"attributes", {{"delay", 300}}}});
    REQUIRE(sc.ok());
    CHECK(std::get<SlowClose>(sc->attributes).delay == 300ms);
    auto t = toxic_from_json(json{{"type", "timeout"}, {"attributes", {{"timeout", 0}}}});
    REQUIRE(t.ok());
    CHECK(std::get<Timeout>(t->attributes).timeout == 0ms);
    auto rp = toxic_from_json(json{{"type", "reset_peer"}, {"attributes", {{"timeout", 250}}}});
    REQUIRE(rp.ok());
    CHECK(std::get<ResetPeer>(rp->attributes).timeout == 250ms);
    auto s = toxic_from_json(
        json{{"type", "slicer"},
             {"attributes", {{"average_size", 64}, {"size_variation", 32}, {"delay", 10}}}});
    REQUIRE(s.ok());
    auto& sl = std::get<Slicer>(s->attributes);
    CHECK(sl.average_size == 64);
    CHECK(sl.size_variation == 32);
    CHECK(sl.delay == 10us);
    auto ld = toxic_from_json(json{{"type", "limit_data"}, {"attributes", {{"bytes", 1000}}}});
    REQUIRE(ld.ok());
    CHECK(std::get<LimitData>(ld->attributes).bytes == 1000);
  }
  SECTION("to_json gives back the same shape") {
    auto in = json::parse(R"({"name": "cut", "type": "slicer", "stream": "downstream",
        "toxicity": 0.25, "attributes": {"average_size": 10, "size_variation": 5, "delay": 7}})");
    auto r = toxic_from_json(in);
    REQUIRE(r.ok());
    CHECK(to_json(*r) == in);
    for (auto type : toxic_types()) {
      json j{{"type", type}};
      if (type == "bandwidth") j["attributes"] = {{"rate", 1}};
      if (type == "slicer") j["attributes"] = {{"average_size", 1}};
      auto t = toxic_from_json(j);
      REQUIRE(t.ok());
      CHECK(t->type() == type);
      auto again = toxic_from_json(to_json(*t));
      REQUIRE(again.ok());
      CHECK(to_json(*again) == to_json(*t));
    }
  }
}

TEST_CASE("toxic_from_json names the bad field", "[toxics]") {
  CHECK(error_of(json::array()) == "toxic: must be a JSON object, got array");
  CHECK(error_of(json::object()) ==
        "toxic.type: missing (expected one of \"latency\", \"bandwidth\", \"slow_close\", "
        "\"timeout\", \"reset_peer\", \"slicer\", \"limit_data\")");
  CHECK(error_of(json{{"type", 3}}) == "toxic.type: must be a string, got 3");
  CHECK(error_of(json{{"type", "latancy"}}) ==
        "toxic.type: unknown toxic type \"latancy\" (did you mean \"latency\"?)");
  CHECK(error_of(json{{"type", "jam"}}) ==
        "toxic.type: unknown toxic type \"jam\" (expected one of \"latency\", \"bandwidth\", "
        "\"slow_close\", \"timeout\", \"reset_peer\", \"slicer\", \"limit_data\")");
  CHECK(error_of(json{{"type", "latency"}, {"stream", "sideways"}}) ==
        "toxic.stream: must be \"upstream\" or \"downstream\", got \"sideways\"");
  CHECK(error_of(json{{"type", "latency"}, {"toxicity", 1.5}}) ==
        "toxic.toxicity: must be a number from 0 to 1, got 1.5");
  CHECK(error_of(json{{"type", "latency"}, {"toxicity", "half"}}) ==
        "toxic.toxicity: must be a number from 0 to 1, got \"half\"");
  CHECK(error_of(json{{"type", "latency"}, {"name", ""}}) ==
        "toxic.name: must be a non-empty string, got \"\"");
  CHECK(error_of(json{{"type", "latency"}, {"attributes", json::array()}}) ==
        "toxic.attributes: must be a JSON object, got array");
  CHECK(error_of(json{{"type", "latency"}, {"attributes", {{"latency", -5}}}}) ==
        "toxic.attributes.latency: must be a non-negative integer, got -5");
  CHECK(error_of(json{{"type", "latency"}, {"attributes", {{"latency", 1.5}}}}) ==
        "toxic.attributes.latency: must be a non-negative integer, got 1.5");
  CHECK(error_of(json{{"type", "latency"}, {"attributes", {{"latency", "100ms"}}}}) ==
        "toxic.attributes.latency: must be a non-negative integer, got \"100ms\"");
  CHECK(error_of(json{{"type", "bandwidth"}, {"attributes", {{"rat", 100}}}}) ==
        "toxic.attributes.rat: unknown attribute for bandwidth (did you mean \"rate\"?)");
  CHECK(error_of(json{{"type", "slicer"}, {"attributes", {{"speed", 100}}}}) ==
        "toxic.attributes.speed: unknown attribute for slicer (slicer takes \"average_size\", "
        "\"size_variation\", \"delay\")");
  CHECK(error_of(json{{"type", "bandwidth"}}) ==
        "toxic.attributes.rate: must be greater than 0, got 0");
  CHECK(error_of(json{{"type", "slicer"}, {"attributes", {{"size_variation", 1}}}}) ==
        "toxic.attributes.average_size: must be greater than 0, got 0");
  CHECK(error_of(json{{"type", "slicer"},
                      {"attributes", {{"average_size", 10}, {"size_variation", 20}}}}) ==
        "toxic.attributes.size_variation: must not exceed average_size (10), got 20");
  CHECK(error_of(json{{"type", "latency"}, {"stram", "upstream"}}) ==
        "toxic.stram: unknown field (did you mean \"stream\"?)");
  CHECK(error_of(json{{"type", "latency"}, {"color", "red"}}) ==
        "toxic.color: unknown field (expected one of \"name\", \"type\", \"stream\", "
        "\"toxicity\", \"attributes\")");
}

TEST_CASE("toxicity is decided with the injected Rng and reproduces", "[toxics]") {
  SECTION("0 never applies and 1 always applies") {
    SeededRng rng(7);
    for (int i = 0; i < 1000; ++i) {
      CHECK_FALSE(toxic_applies(0.0, rng));
      CHECK(toxic_applies(1.0, rng));
    }
  }
  SECTION("a fraction applies to about that share of connections") {
    SeededRng rng(42);
    int applied = 0;
    for (int i = 0; i < 10000; ++i) applied += toxic_applies(0.3, rng) ? 1 : 0;
    CHECK(applied > 2800);
    CHECK(applied < 3200);
  }
  SECTION("the same seed gives the same decisions") {
    SeededRng a(123), b(123);
    std::string da, db;
    for (int i = 0; i < 200; ++i) {
      da += toxic_applies(0.5, a) ? '1' : '0';
      db += toxic_applies(0.5, b) ? '1' : '0';
    }
    CHECK(da == db);
    CHECK(da.find('1') != std::string::npos);
    CHECK(da.find('0') != std::string::npos);
  }
}

TEST_CASE("slicer sizes stay within the variation and sum to the input", "[toxics]") {
  Slicer s{100, 40, 0us};
  SeededRng rng(2024);
  const std::size_t total = 200000;
  auto sizes = slice_sizes(total, s, rng);
  CHECK(std::accumulate(sizes.begin(), sizes.end(), std::size_t{0}) == total);
  REQUIRE(sizes.size() > 1000);
  double sum = 0, sq = 0;
  std::size_t lo = SIZE_MAX, hi = 0;
  // The last slice is the remainder, so leave it out of the distribution.
  for (std::size_t i = 0; i + 1 < sizes.size(); ++i) {
    lo = std::min(lo, sizes[i]);
    hi = std::max(hi, sizes[i]);
    sum += static_cast<double>(sizes[i]);
    sq += static_cast<double>(sizes[i]) * static_cast<double>(sizes[i]);
  }
  const double n = static_cast<double>(sizes.size() - 1);
  const double mean = sum / n;
  const double variance = sq / n - mean * mean;
  CHECK(lo >= 60);
  CHECK(hi <= 140);
  CHECK(lo <= 65);  // the whole range is used
  CHECK(hi >= 135);
  CHECK(mean == Approx(100).margin(2));
  // Uniform over [60, 140]: variance (81^2 - 1) / 12 = 546.7.
  CHECK(variance == Approx(546.7).epsilon(0.1));

  SECTION("reproducible with the same seed") {
    SeededRng a(5), b(5);
    CHECK(slice_sizes(5000, s, a) == slice_sizes(5000, s, b));
  }
  SECTION("no variation gives equal slices and a remainder") {
    SeededRng r(1);
    auto fixed = slice_sizes(1050, Slicer{100, 0, 0us}, r);
    REQUIRE(fixed.size() == 11);
    CHECK(fixed.front() == 100);
    CHECK(fixed.back() == 50);
  }
  SECTION("nothing to slice gives no slices") {
    SeededRng r(1);
    CHECK(slice_sizes(0, s, r).empty());
  }
}

TEST_CASE("latency jitter is uniform around the latency and never negative", "[toxics]") {
  SeededRng rng(99);
  Latency l{200ms, 50ms};
  double sum = 0;
  auto lo = std::chrono::microseconds::max(), hi = std::chrono::microseconds::min();
  for (int i = 0; i < 5000; ++i) {
    auto d = latency_delay(l, rng);
    lo = std::min(lo, d);
    hi = std::max(hi, d);
    sum += static_cast<double>(d.count());
  }
  CHECK(lo >= 150ms);
  CHECK(hi <= 250ms);
  CHECK(sum / 5000 == Approx(200000).epsilon(0.02));

  SeededRng r2(1);
  CHECK(latency_delay(Latency{300ms, 0ms}, r2) == 300ms);
  for (int i = 0; i < 100; ++i) CHECK(latency_delay(Latency{10ms, 100ms}, r2) >= 0ms);
}

TEST_CASE("bandwidth and limit_data arithmetic", "[toxics]") {
  // 100 KB/s is 100,000 bytes a second.
  CHECK(bandwidth_delay(100000, 100) == 1s);
  CHECK(bandwidth_delay(50000, 100) == 500ms);
  CHECK(bandwidth_delay(1, 1) == 1ms);
  CHECK(bandwidth_piece(100) == 10000);  // 100ms worth
  CHECK(bandwidth_piece(0) == 1);

  CHECK(limit_allowance(1000, 0, 300) == 300);
  CHECK(limit_allowance(1000, 900, 300) == 100);
  CHECK(limit_allowance(1000, 1000, 300) == 0);
  CHECK(limit_allowance(0, 0, 300) == 0);
}
