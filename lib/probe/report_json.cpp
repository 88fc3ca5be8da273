// The JSON report. Its shape is documented in man sluice-probe.1 (OUTPUT); keys are only added,
// never renamed, and "version" changes if that promise has to be broken.
#include <nlohmann/json.hpp>

#include "report_util.hpp"
#include "sluice/probe/grpc_wire.hpp"
#include "sluice/probe/report.hpp"

namespace sluice::probe {
namespace {

using json = nlohmann::ordered_json;
using detail::millis;

std::string_view mode_name(Mode m) {
  switch (m) {
    case Mode::once:
      return "once";
    case Mode::repeat:
      return "repeat";
    case Mode::wait:
      return "wait";
  }
  return "once";
}

json or_null(const std::string& s) {
  return s.empty() ? json(nullptr) : json(s);
}

json request_json(const Target& t) {
  json headers = json::object();
  for (const auto& [k, v] : t.options.headers)
    headers[k] = is_sensitive_header(k) ? std::string("[redacted]") : v;
  if (t.kind == Kind::grpc) return {{"service", grpc_service(t)}, {"headers", headers}};
  return {{"method", t.options.method}, {"headers", headers}};
}

json target_json(const TargetReport& rep, const ReportContext& ctx) {
  const auto& t = rep.target;
  const auto& a = rep.attempt;
  const auto& r = a.result;
  const bool web = t.kind == Kind::http || t.kind == Kind::grpc;
  json j = {{"name", t.name},
            {"kind", to_string(t.kind)},
            {"url", redact_url(t.url)},
            {"origin", t.origin},
            {"result", to_string(rep.verdict)},
            {"reason", or_null(a.reason)},
            {"attempts", rep.attempts},
            {"passed_attempts", rep.passed},
            {"deadline_reached", rep.deadline_reached},
            {"elapsed_ms", millis(rep.elapsed)}};
  j["request"] = web ? request_json(t) : json(nullptr);
  j["error"] = r.error
                   ? json{{"kind", sluice::to_string(r.error->kind)}, {"message", r.error->message}}
                   : json(nullptr);
  j["status"] = web && r.status ? json(r.status) : json(nullptr);
  j["http_version"] = web ? or_null(r.http_version) : json(nullptr);
  j["timings_ms"] = {{"dns", millis(r.timings.dns)},
                     {"connect", millis(r.timings.connect)},
                     {"tls", millis(r.timings.tls)},
                     {"ttfb", millis(r.timings.ttfb)},
                     {"total", millis(r.timings.total)}};
  if (rep.stats)
    j["stats_ms"] = {{"count", rep.stats->count},
                     {"min", millis(rep.stats->min)},
                     {"median", millis(rep.stats->median)},
                     {"p95", millis(rep.stats->p95)},
                     {"max", millis(rep.stats->max)}};
  else
    j["stats_ms"] = nullptr;
  if (!r.tls_version.empty() || r.cert) {
    json cert = nullptr;
    if (r.cert)
      cert = {
          {"subject", r.cert->subject},
          {"issuer", r.cert->issuer},
          {"not_after", detail::iso8601(r.cert->not_after)},
          {"expires_in_s",
           std::chrono::duration_cast<std::chrono::seconds>(r.cert->not_after - ctx.now).count()}};
    j["tls"] = {
        {"version", or_null(r.tls_version)}, {"cipher", or_null(r.tls_cipher)}, {"cert", cert}};
  } else {
    j["tls"] = nullptr;
  }
  if (t.kind == Kind::grpc)
    j["grpc"] = {{"status", r.serving_status ? json(grpc::serving_status_name(*r.serving_status))
                                             : json(nullptr)},
                 {"code", r.grpc_code ? json(*r.grpc_code) : json(nullptr)},
                 {"message", or_null(r.grpc_message)}};
  else
    j["grpc"] = nullptr;
  j["tcp"] = t.kind == Kind::tcp ? json{{"connected", r.connected}, {"received", r.received}}
                                 : json(nullptr);
  j["dns"] = t.kind == Kind::dns ? json{{"addresses", r.addresses}} : json(nullptr);
  j["note"] = or_null(r.note);
  json conditions = json::array();
  for (const auto& c : a.conditions)
    conditions.push_back({{"expression", c.source},
                          {"origin", c.origin},
                          {"passed", c.passed},
                          {"message", or_null(c.message)}});
  j["conditions"] = conditions;
  return j;
}

}  // namespace

std::string report_json(const std::vector<TargetReport>& reports, const ReportContext& ctx) {
  std::size_t passed = 0, failed = 0, unreachable = 0;
  json targets = json::array();
  for (const auto& rep : reports) {
    if (rep.verdict == Verdict::pass)
      ++passed;
    else if (rep.verdict == Verdict::fail)
      ++failed;
    else
      ++unreachable;
    targets.push_back(target_json(rep, ctx));
  }
  json doc = {{"version", 1},
              {"passed", failed + unreachable == 0},
              {"mode", mode_name(ctx.mode)},
              {"elapsed_ms", millis(ctx.elapsed)},
              {"summary",
               {{"targets", reports.size()},
                {"passed", passed},
                {"failed", failed},
                {"unreachable", unreachable}}},
              {"targets", targets}};
  // Bodies and replies may hold bytes that are not UTF-8: replace them rather than throw.
  return doc.dump(2, ' ', false, json::error_handler_t::replace) + '\n';
}

}  // namespace sluice::probe
