// PromWriter and LatencyHistogram: the Prometheus text format, label escaping, cumulative
// histogram buckets.
#include "sluice/core/metrics.hpp"

#include <limits>
#include <string>

#include <catch2/catch.hpp>

using sluice::metrics::LatencyHistogram;
using sluice::metrics::PromWriter;

TEST_CASE("PromWriter: family lines and plain samples", "[core][metrics]") {
  PromWriter w;
  w.family("sluice_things_total", "counter", "Things seen.");
  w.sample("sluice_things_total", {}, 5);
  w.sample("sluice_things_total", {{"kind", "a"}, {"zone", "eu"}}, 7);
  CHECK(w.text() ==
        "# HELP sluice_things_total Things seen.\n"
        "# TYPE sluice_things_total counter\n"
        "sluice_things_total 5\n"
        "sluice_things_total{kind=\"a\",zone=\"eu\"} 7\n");
}

TEST_CASE("PromWriter: label values escape backslash, quote and newline", "[core][metrics]") {
  PromWriter w;
  w.sample("m", {{"v", "a\\b\"c\nd"}}, 1);
  CHECK(w.text() == "m{v=\"a\\\\b\\\"c\\nd\"} 1\n");

  PromWriter plain;
  plain.sample("m", {{"v", "tab\there {braces} = , ok"}}, 1);
  CHECK(plain.text() == "m{v=\"tab\there {braces} = , ok\"} 1\n");

  PromWriter empty;
  empty.sample("m", {{"v", ""}}, 0);
  CHECK(empty.text() == "m{v=\"\"} 0\n");
}

TEST_CASE("PromWriter: value formatting", "[core][metrics]") {
  auto one = [](double v) {
    PromWriter w;
    w.sample("m", {}, v);
    return w.text();
  };
  CHECK(one(0) == "m 0\n");
  CHECK(one(3) == "m 3\n");
  CHECK(one(-2) == "m -2\n");
  CHECK(one(1.5) == "m 1.5\n");
  CHECK(one(0.25) == "m 0.25\n");
  CHECK(one(123456789012) == "m 123456789012\n");
  CHECK(one(std::numeric_limits<double>::infinity()) == "m +Inf\n");
  CHECK(one(-std::numeric_limits<double>::infinity()) == "m -Inf\n");
}

TEST_CASE("LatencyHistogram: observe puts a value in the first bucket whose bound is >= it",
          "[core][metrics]") {
  LatencyHistogram h;
  h.observe(0.0003);  // le 0.0005
  h.observe(0.0005);  // le 0.0005 (bounds are inclusive)
  h.observe(0.001);   // le 0.001
  h.observe(0.2);     // le 0.25
  h.observe(10);      // le 10
  h.observe(20);      // +Inf
  CHECK(h.count() == 6);
  CHECK(h.sum() == Approx(30.2018));
  CHECK(h.bucket(0) == 2);
  CHECK(h.bucket(1) == 1);
  CHECK(h.bucket(8) == 1);   // 0.25
  CHECK(h.bucket(13) == 1);  // 10
  CHECK(h.bucket(14) == 1);  // +Inf
  std::uint64_t total = 0;
  for (std::size_t i = 0; i <= LatencyHistogram::kBounds.size(); ++i) total += h.bucket(i);
  CHECK(total == h.count());
}

TEST_CASE("LatencyHistogram: merge adds buckets, sum and count", "[core][metrics]") {
  LatencyHistogram a, b;
  a.observe(0.01);
  a.observe(3);
  b.observe(0.01);
  b.observe(100);
  a.merge(b);
  CHECK(a.count() == 4);
  CHECK(a.sum() == Approx(103.02));
  CHECK(a.bucket(4) == 2);   // le 0.01
  CHECK(a.bucket(12) == 1);  // le 5
  CHECK(a.bucket(14) == 1);  // +Inf
  CHECK(b.count() == 2);     // the source is untouched
}

TEST_CASE("PromWriter: histograms are cumulative with +Inf, _sum and _count", "[core][metrics]") {
  LatencyHistogram h;
  h.observe(0.0003);
  h.observe(0.001);
  h.observe(0.2);
  h.observe(20);
  PromWriter w;
  w.histogram("lat_seconds", {{"route", "r\"1"}}, h);
  CHECK(w.text() ==
        "lat_seconds_bucket{route=\"r\\\"1\",le=\"0.0005\"} 1\n"
        "lat_seconds_bucket{route=\"r\\\"1\",le=\"0.001\"} 2\n"
        "lat_seconds_bucket{route=\"r\\\"1\",le=\"0.0025\"} 2\n"
        "lat_seconds_bucket{route=\"r\\\"1\",le=\"0.005\"} 2\n"
        "lat_seconds_bucket{route=\"r\\\"1\",le=\"0.01\"} 2\n"
        "lat_seconds_bucket{route=\"r\\\"1\",le=\"0.025\"} 2\n"
        "lat_seconds_bucket{route=\"r\\\"1\",le=\"0.05\"} 2\n"
        "lat_seconds_bucket{route=\"r\\\"1\",le=\"0.1\"} 2\n"
        "lat_seconds_bucket{route=\"r\\\"1\",le=\"0.25\"} 3\n"
        "lat_seconds_bucket{route=\"r\\\"1\",le=\"0.5\"} 3\n"
        "lat_seconds_bucket{route=\"r\\\"1\",le=\"1\"} 3\n"
        "lat_seconds_bucket{route=\"r\\\"1\",le=\"2.5\"} 3\n"
        "lat_seconds_bucket{route=\"r\\\"1\",le=\"5\"} 3\n"
        "lat_seconds_bucket{route=\"r\\\"1\",le=\"10\"} 3\n"
        "lat_seconds_bucket{route=\"r\\\"1\",le=\"+Inf\"} 4\n"
        "lat_seconds_sum{route=\"r\\\"1\"} 20.2013\n"
        "lat_seconds_count{route=\"r\\\"1\"} 4\n");
}

TEST_CASE("PromWriter: a histogram without labels has only le", "[core][metrics]") {
  LatencyHistogram h;
  PromWriter w;
  w.histogram("h", {}, h);
  const std::string& t = w.text();
  CHECK(t.find("h_bucket{le=\"0.0005\"} 0\n") == 0);
  CHECK(t.find("h_bucket{le=\"+Inf\"} 0\n") != std::string::npos);
  CHECK(t.find("h_sum 0\n") != std::string::npos);
  CHECK(t.find("h_count 0\n") != std::string::npos);
}
