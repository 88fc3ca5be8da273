// The Prometheus text format for node_exporter's textfile collector, written with core's
// PromWriter: every family once, with its HELP and TYPE, samples grouped under it. All gauges: a
// textfile is a snapshot of the last run.
#include <charconv>
#include <functional>
#include <optional>

#include "report_util.hpp"
#include "sluice/core/metrics.hpp"
#include "sluice/probe/report.hpp"

namespace sluice::probe {
namespace {

// One sample: the target, at most one more label, and the value.
struct Sample {
  std::string target;
  std::string key;  // empty: no second label
  std::string label;
  double value = 0;
};

class Textfile {
 public:
  // A family with no samples is left out altogether.
  void add(std::string_view name, std::string_view help, const std::vector<Sample>& samples) {
    if (samples.empty()) return;
    w_.family(name, "gauge", help);
    for (const auto& s : samples) {
      // Label values must be UTF-8; names and conditions are whatever the user wrote.
      std::string target = detail::valid_utf8(s.target), label = detail::valid_utf8(s.label);
      if (s.key.empty())
        w_.sample(name, {{"target", target}}, s.value);
      else
        w_.sample(name, {{"target", target}, {s.key, label}}, s.value);
    }
  }
  std::string text() const { return w_.text(); }

 private:
  metrics::PromWriter w_;
};

using Value = std::function<std::optional<double>(const TargetReport&)>;

std::vector<Sample> per_target(const std::vector<TargetReport>& reports, const Value& value) {
  std::vector<Sample> out;
  for (const auto& rep : reports)
    if (auto v = value(rep)) out.push_back({rep.target.name, "", "", *v});
  return out;
}

bool web(const TargetReport& rep) {
  return rep.target.kind == Kind::http || rep.target.kind == Kind::grpc;
}

std::optional<double> http_version(const TargetReport& r) {
  const auto& v = r.attempt.result.http_version;
  double n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (!web(r) || v.empty() || ec != std::errc{}) return std::nullopt;
  return n;
}

// dns, connect, tls, processing (handshakes done to first byte) and transfer: they add up to the
// total for HTTP; TCP has no tls, DNS only dns.
std::vector<Sample> phases(const std::vector<TargetReport>& reports) {
  std::vector<Sample> out;
  for (const auto& rep : reports) {
    const auto& t = rep.attempt.result.timings;
    Duration handshakes = t.dns + t.connect + t.tls;
    Duration processing = t.ttfb > handshakes ? t.ttfb - handshakes : Duration{0};
    Duration transfer = t.ttfb.count() > 0 && t.total > t.ttfb ? t.total - t.ttfb : Duration{0};
    std::vector<std::pair<std::string, Duration>> list = {{"dns", t.dns}};
    if (rep.target.kind != Kind::dns) {
      list.push_back({"connect", t.connect});
      if (web(rep)) list.push_back({"tls", t.tls});
      list.push_back({"processing", processing});
      list.push_back({"transfer", transfer});
    }
    for (const auto& [name, d] : list)
      out.push_back({rep.target.name, "phase", name, detail::seconds(d)});
  }
  return out;
}

std::vector<Sample> latency(const std::vector<TargetReport>& reports) {
  std::vector<Sample> out;
  for (const auto& rep : reports) {
    if (!rep.stats || rep.stats->count == 0) continue;
    const auto& s = *rep.stats;
    for (const auto& [name, d] : std::vector<std::pair<std::string, Duration>>{
             {"min", s.min}, {"median", s.median}, {"p95", s.p95}, {"max", s.max}})
      out.push_back({rep.target.name, "stat", name, detail::seconds(d)});
  }
  return out;
}

}  // namespace

std::string report_prom(const std::vector<TargetReport>& reports, const ReportContext& ctx) {
  Textfile tf;
  std::vector<Sample> success, tls, conditions;
  for (const auto& rep : reports) {
    success.push_back({rep.target.name, "kind", std::string(to_string(rep.target.kind)),
                       rep.verdict == Verdict::pass ? 1.0 : 0.0});
    const auto& r = rep.attempt.result;
    if (!r.tls_version.empty()) tls.push_back({rep.target.name, "version", r.tls_version, 1});
    for (const auto& c : rep.attempt.conditions)
      conditions.push_back({rep.target.name, "condition", c.source, c.passed ? 1.0 : 0.0});
  }
  tf.add("sluice_probe_success", "1 when the target passed every condition, 0 when it did not.",
         success);
  tf.add("sluice_probe_unreachable",
         "1 when the target could not be reached (DNS, connect or TLS failed).",
         per_target(reports, [](const TargetReport& r) -> std::optional<double> {
           return r.verdict == Verdict::unreachable ? 1 : 0;
         }));
  tf.add("sluice_probe_duration_seconds",
         "Time spent in each phase of the last probe; the phases add up to the total.",
         phases(reports));
  tf.add("sluice_probe_total_duration_seconds", "Duration of the last probe, from start to end.",
         per_target(reports, [](const TargetReport& r) -> std::optional<double> {
           return detail::seconds(r.attempt.result.timings.total);
         }));
  tf.add("sluice_probe_latency_seconds", "Latency over the repeated probes of a target (--repeat).",
         latency(reports));
  tf.add("sluice_probe_attempts", "Probes made of the target in this run.",
         per_target(reports, [](const TargetReport& r) -> std::optional<double> {
           return static_cast<double>(r.attempts);
         }));
  tf.add("sluice_probe_status_code", "HTTP status code of the last response (0 when none).",
         per_target(reports, [](const TargetReport& r) -> std::optional<double> {
           if (!web(r)) return std::nullopt;
           return r.attempt.result.status;
         }));
  tf.add("sluice_probe_http_version", "HTTP version of the last response.",
         per_target(reports, http_version));
  tf.add("sluice_probe_tls_version_info", "The TLS version of the last probe, as a label.", tls);
  tf.add("sluice_probe_cert_expiry_seconds", "Unix time at which the server's certificate expires.",
         per_target(reports, [](const TargetReport& r) -> std::optional<double> {
           const auto& c = r.attempt.result.cert;
           if (!c) return std::nullopt;
           return static_cast<double>(
               std::chrono::duration_cast<std::chrono::seconds>(c->not_after.time_since_epoch())
                   .count());
         }));
  tf.add("sluice_probe_cert_expires_in_seconds",
         "Seconds from this run until the server's certificate expires.",
         per_target(reports, [&](const TargetReport& r) -> std::optional<double> {
           const auto& c = r.attempt.result.cert;
           if (!c) return std::nullopt;
           return static_cast<double>(
               std::chrono::duration_cast<std::chrono::seconds>(c->not_after - ctx.now).count());
         }));
  tf.add("sluice_probe_grpc_serving_status",
         "HealthCheckResponse status: 0 UNKNOWN, 1 SERVING, 2 NOT_SERVING, 3 SERVICE_UNKNOWN.",
         per_target(reports, [](const TargetReport& r) -> std::optional<double> {
           const auto& s = r.attempt.result.serving_status;
           if (!s) return std::nullopt;
           return *s;
         }));
  tf.add("sluice_probe_dns_addresses", "Addresses the name resolved to.",
         per_target(reports, [](const TargetReport& r) -> std::optional<double> {
           if (r.target.kind != Kind::dns) return std::nullopt;
           return static_cast<double>(r.attempt.result.addresses.size());
         }));
  tf.add("sluice_probe_condition_success",
         "1 when the condition held on the last probe, 0 when it did not.", conditions);
  return tf.text();
}

}  // namespace sluice::probe
