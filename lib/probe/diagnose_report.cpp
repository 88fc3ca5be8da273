// The reports of sluice diagnose: text for people (coloured on a terminal), JSON for scripts and
// JUnit XML (one testsuite per cluster, one testcase per endpoint) for CI test views.
#include <cctype>
#include <chrono>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "report_util.hpp"
#include "sluice/probe/diagnose.hpp"

namespace sluice::probe::diag {
namespace {

using Json = nlohmann::json;
using detail::format_ms;

// One step of reaching an endpoint: dns, connect, tls, health.
struct Step {
  std::string name;
  std::string result;  // ok, failed, skipped, n/a
  std::string detail;
  Duration took{0};
};

bool is_ip_literal(std::string_view host) {
  if (host.find(':') != std::string_view::npos) return true;
  for (char c : host)
    if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '.')) return false;
  return !host.empty();
}

std::vector<Step> steps(const EndpointDiagnosis& e, std::chrono::system_clock::time_point now) {
  std::vector<Step> out;
  if (!e.probe) return out;
  const Target& t = e.probe->target;
  const ProbeResult& r = e.probe->attempt.result;
  const std::optional<ErrorKind> err =
      r.error ? std::optional<ErrorKind>(r.error->kind) : std::nullopt;
  const std::string msg = r.error ? r.error->message : std::string();
  const bool dns_failed = err == ErrorKind::dns;
  const bool connect_failed = err == ErrorKind::connect;
  const bool tls_failed = err == ErrorKind::tls;

  if (dns_failed)
    out.push_back({"dns", "failed", msg, r.timings.dns});
  else if (is_ip_literal(t.host))
    out.push_back({"dns", "n/a", "an IP address", Duration{0}});
  else
    out.push_back({"dns", "ok", t.host, r.timings.dns});

  if (dns_failed)
    out.push_back({"connect", "skipped", "", Duration{0}});
  else if (connect_failed)
    out.push_back({"connect", "failed", msg, r.timings.connect});
  else
    out.push_back({"connect", "ok", "", r.timings.connect});

  if (t.tls) {
    if (dns_failed || connect_failed) {
      out.push_back({"tls", "skipped", "", Duration{0}});
    } else if (tls_failed) {
      out.push_back({"tls", "failed", msg, r.timings.tls});
    } else {
      std::string d = r.tls_version.empty() ? std::string() : "TLS " + r.tls_version;
      if (r.cert) {
        auto left = std::chrono::duration_cast<std::chrono::hours>(r.cert->not_after - now);
        d += fmt::format("{}certificate {} expires {} (in {} days)", d.empty() ? "" : ", ",
                         r.cert->subject, detail::iso8601(r.cert->not_after), left.count() / 24);
      }
      out.push_back(
          {"tls", e.verdict == Verdict::cert_expiring ? "warning" : "ok", d, r.timings.tls});
    }
  }

  if (t.kind != Kind::tcp) {
    const std::string req = fmt::format("{} {}", t.options.method, t.path.empty() ? "/" : t.path);
    if (dns_failed || connect_failed || tls_failed)
      out.push_back({"health", "skipped", req, Duration{0}});
    else if (r.error)
      out.push_back({"health", "failed", req + ": " + msg, r.timings.total});
    else
      out.push_back({"health", e.probe->verdict == probe::Verdict::pass ? "ok" : "failed",
                     fmt::format("{} -> {}", req, r.status), r.timings.total});
  }
  return out;
}

std::string gateway_text(const EndpointDiagnosis& e) {
  if (!e.gateway) return {};
  const auto& g = *e.gateway;
  std::string s = g.state + (g.usable ? ", usable" : ", not usable");
  if (!g.reason.empty()) s += ": " + g.reason;
  if (g.health_check && g.health_check->checked) {
    const auto& h = *g.health_check;
    s += fmt::format("; health check {} ({} passes, {} failures in a row",
                     h.healthy ? "up" : "down", h.consecutive_passes, h.consecutive_failures);
    if (h.last_status) s += fmt::format(", last status {}", h.last_status);
    if (!h.last_error.empty()) s += ", last error: " + h.last_error;
    s += ")";
  }
  if (g.outlier && g.outlier->times_ejected > 0)
    s += fmt::format("; ejected {} times so far", g.outlier->times_ejected);
  return s;
}

std::string verdict_label(const EndpointDiagnosis& e) {
  std::string v(to_string(e.verdict));
  for (auto& c : v) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (e.verdict == Verdict::unreachable && !e.phase.empty()) v += " (" + e.phase + ")";
  return v;
}

struct Style {
  bool on;
  std::string wrap(std::string_view code, std::string_view text) const {
    return on ? fmt::format("\x1b[{}m{}\x1b[0m", code, text) : std::string(text);
  }
};

std::string cluster_label(const ClusterDiagnosis& c) {
  std::string v = c.verdict;
  for (auto& ch : v) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return v;
}

Json steps_json(const EndpointDiagnosis& e, std::chrono::system_clock::time_point now) {
  Json j = Json::object();
  for (const auto& s : steps(e, now)) {
    Json x = {{"result", s.result}};
    if (!s.detail.empty()) x["detail"] = detail::valid_utf8(s.detail);
    if (s.took.count() > 0) x["ms"] = detail::millis(s.took);
    j[s.name] = std::move(x);
  }
  return j;
}

Json gateway_json(const GatewayEndpoint& g) {
  Json j = {{"state", g.state}, {"usable", g.usable}, {"weight", g.weight}};
  if (!g.reason.empty()) j["reason"] = detail::valid_utf8(g.reason);
  if (g.health_check) {
    const auto& h = *g.health_check;
    Json hc = {{"healthy", h.healthy},
               {"consecutive_passes", h.consecutive_passes},
               {"consecutive_failures", h.consecutive_failures}};
    if (h.checked) {
      hc["last_check"] = h.last_check;
      hc["last_latency_ms"] = h.last_latency_ms;
      if (h.last_status) hc["last_status"] = h.last_status;
      if (!h.last_error.empty()) hc["last_error"] = detail::valid_utf8(h.last_error);
    }
    j["health_check"] = std::move(hc);
  }
  if (g.outlier) {
    const auto& o = *g.outlier;
    Json x = {{"ejected", o.ejected}, {"times_ejected", o.times_ejected}};
    if (o.ejected) {
      x["rule"] = o.rule;
      x["detail"] = detail::valid_utf8(o.detail);
      x["ejected_for_ms"] = o.ejected_for_ms;
    }
    j["outlier"] = std::move(x);
  }
  return j;
}

std::string attr(std::string_view s) {
  return detail::xml_escape(s, true);
}
std::string text(std::string_view s) {
  return detail::xml_escape(s, false);
}

std::string endpoint_details(const EndpointDiagnosis& e,
                             std::chrono::system_clock::time_point now) {
  std::string out = fmt::format("endpoint: {}\nverdict: {}\n", e.endpoint, verdict_label(e));
  if (!e.origin.empty()) out += "origin: " + e.origin + "\n";
  if (!e.cause.empty()) out += "cause: " + e.cause + "\n";
  if (!e.fix.empty()) out += "fix: " + e.fix + "\n";
  for (const auto& s : steps(e, now))
    out += fmt::format("{}: {}{}{}\n", s.name, s.result, s.detail.empty() ? "" : " " + s.detail,
                       s.took.count() > 0 ? " (" + format_ms(s.took) + ")" : "");
  if (e.gateway) out += "gateway: " + gateway_text(e) + "\n";
  return out;
}

}  // namespace

std::string report_text(const Diagnosis& d, bool color) {
  Style st{color};
  std::size_t endpoints = 0, usable = 0, down = 0, degraded = 0;
  for (const auto& c : d.clusters) {
    endpoints += c.total;
    usable += c.usable;
    if (c.verdict == "down") ++down;
    if (c.verdict == "degraded") ++degraded;
  }
  std::string out;
  out +=
      fmt::format("sluice diagnose: {} {}, {} cluster{}, {} endpoint{}, in {}\n", d.mode,
                  detail::printable(d.source), d.clusters.size(), d.clusters.size() == 1 ? "" : "s",
                  endpoints, endpoints == 1 ? "" : "s", format_ms(d.elapsed));
  if (d.admin_error) out += st.wrap("33", "admin API: " + detail::printable(*d.admin_error)) + "\n";
  for (const auto& c : d.clusters) {
    const std::string code = c.verdict == "ok" ? "32" : c.verdict == "down" ? "31" : "33";
    out += fmt::format("\ncluster {}: {}, {} of {} endpoint{} usable", detail::printable(c.name),
                       st.wrap(code, cluster_label(c)), c.usable, c.total, c.total == 1 ? "" : "s");
    if (c.gateway) {
      out += fmt::format(" (gateway: {} of {} usable, mode {}", c.gateway->usable, c.gateway->total,
                         c.gateway->mode.empty() ? "-" : c.gateway->mode);
      if (const auto& b = c.gateway->breaker) {
        out += ", breaker " + b->state;
        if (b->state != "closed" && !b->since.empty()) out += " since " + b->since;
      }
      if (const auto& b = c.gateway->bulkhead)
        out += fmt::format(", bulkhead {} of {} in flight, {} queued", b->in_flight,
                           b->max_concurrent, b->queued);
      out += ")";
    }
    out += "\n";
    if (!c.cause.empty()) out += "  " + detail::printable(c.cause) + "\n";
    for (const auto& e : c.endpoints) {
      const std::string ecode = e.verdict == Verdict::ok ? "32" : e.usable ? "33" : "31";
      out += fmt::format("  {}  {}\n", detail::printable(e.endpoint),
                         st.wrap(ecode, verdict_label(e)));
      if (!e.cause.empty()) out += "    cause:   " + detail::printable(e.cause) + "\n";
      if (!e.fix.empty()) out += "    fix:     " + detail::printable(e.fix) + "\n";
      std::string line;
      for (const auto& s : steps(e, d.now)) {
        if (!line.empty()) line += "; ";
        line += s.name + " " + s.result;
        if (s.took.count() > 0) line += " " + format_ms(s.took);
        if (!s.detail.empty() && (s.result != "ok" || s.name == "health" || s.name == "tls"))
          line += " (" + s.detail.substr(0, s.detail.find('\n')) + ")";
      }
      if (!line.empty()) out += "    checks:  " + detail::printable(line) + "\n";
      if (e.gateway) out += "    gateway: " + detail::printable(gateway_text(e)) + "\n";
    }
  }
  out += fmt::format("\n{} cluster{}: {} ok, {} degraded, {} down; {} of {} endpoints usable\n",
                     d.clusters.size(), d.clusters.size() == 1 ? "" : "s",
                     d.clusters.size() - down - degraded, degraded, down, usable, endpoints);
  return out;
}

std::string report_json(const Diagnosis& d) {
  Json clusters = Json::array();
  std::size_t endpoints = 0, usable = 0, down = 0, degraded = 0;
  for (const auto& c : d.clusters) {
    endpoints += c.total;
    usable += c.usable;
    if (c.verdict == "down") ++down;
    if (c.verdict == "degraded") ++degraded;
    Json eps = Json::array();
    for (const auto& e : c.endpoints) {
      Json x = {{"endpoint", e.endpoint},
                {"origin", e.origin},
                {"verdict", std::string(to_string(e.verdict))},
                {"usable", e.usable},
                {"checks", steps_json(e, d.now)}};
      if (!e.phase.empty()) x["phase"] = e.phase;
      if (!e.cause.empty()) x["cause"] = detail::valid_utf8(e.cause);
      if (!e.fix.empty()) x["fix"] = detail::valid_utf8(e.fix);
      if (e.probe) {
        const auto& r = e.probe->attempt.result;
        Json p = {{"target", redact_url(e.probe->target.url)},
                  {"result", std::string(probe::to_string(e.probe->verdict))},
                  {"timings_ms",
                   {{"dns", detail::millis(r.timings.dns)},
                    {"connect", detail::millis(r.timings.connect)},
                    {"tls", detail::millis(r.timings.tls)},
                    {"ttfb", detail::millis(r.timings.ttfb)},
                    {"total", detail::millis(r.timings.total)}}}};
        if (r.status) p["status"] = r.status;
        if (!e.probe->attempt.reason.empty())
          p["reason"] = detail::valid_utf8(e.probe->attempt.reason);
        if (r.error)
          p["error"] = {{"kind", std::string(sluice::to_string(r.error->kind))},
                        {"message", detail::valid_utf8(r.error->message)}};
        if (r.cert) {
          auto left = std::chrono::duration_cast<std::chrono::hours>(r.cert->not_after - d.now);
          p["tls"] = {{"version", r.tls_version},
                      {"subject", detail::valid_utf8(r.cert->subject)},
                      {"issuer", detail::valid_utf8(r.cert->issuer)},
                      {"not_after", detail::iso8601(r.cert->not_after)},
                      {"expires_in_days", static_cast<double>(left.count()) / 24.0}};
        }
        x["probe"] = std::move(p);
      }
      if (e.gateway) x["gateway"] = gateway_json(*e.gateway);
      eps.push_back(std::move(x));
    }
    Json cj = {{"cluster", c.name},
               {"verdict", c.verdict},
               {"usable", c.usable},
               {"total", c.total},
               {"endpoints", std::move(eps)}};
    if (!c.cause.empty()) cj["cause"] = detail::valid_utf8(c.cause);
    if (c.gateway) {
      Json g = {
          {"mode", c.gateway->mode}, {"usable", c.gateway->usable}, {"total", c.gateway->total}};
      if (const auto& b = c.gateway->breaker) {
        g["breaker"] = {{"state", b->state}, {"reason", b->reason}, {"openings", b->openings}};
        if (!b->since.empty()) g["breaker"]["since"] = b->since;
        if (!b->until.empty()) {
          g["breaker"]["until"] = b->until;
          g["breaker"]["open_for_ms"] = b->open_for_ms;
        }
      }
      if (const auto& b = c.gateway->bulkhead)
        g["bulkhead"] = {{"max_concurrent", b->max_concurrent},
                         {"max_queue", b->max_queue},
                         {"queue_timeout_ms", b->queue_timeout_ms},
                         {"in_flight", b->in_flight},
                         {"queued", b->queued},
                         {"rejected_total", b->rejected_total},
                         {"full", b->full()}};
      cj["gateway"] = std::move(g);
    }
    clusters.push_back(std::move(cj));
  }
  Json j = {{"mode", d.mode},
            {"source", d.source},
            {"generated_at", detail::iso8601(d.now)},
            {"elapsed_ms", detail::millis(d.elapsed)},
            {"exit_status", exit_status(d)},
            {"clusters", std::move(clusters)},
            {"summary",
             {{"clusters", d.clusters.size()},
              {"ok", d.clusters.size() - down - degraded},
              {"degraded", degraded},
              {"down", down},
              {"endpoints", endpoints},
              {"usable", usable}}}};
  if (d.admin_error) j["admin_error"] = detail::valid_utf8(*d.admin_error);
  return j.dump(2) + "\n";
}

std::string report_junit(const Diagnosis& d) {
  std::size_t tests = 0, failures = 0;
  std::string suites;
  for (const auto& c : d.clusters) {
    std::size_t f = 0;
    std::string cases;
    for (const auto& e : c.endpoints) {
      double secs = e.probe ? detail::seconds(e.probe->attempt.result.timings.total) : 0.0;
      cases += fmt::format("    <testcase classname=\"diagnose.{}\" name=\"{}\" time=\"{:.3f}\">\n",
                           attr(c.name), attr(e.endpoint), secs);
      const std::string body = endpoint_details(e, d.now);
      if (!e.usable) {
        ++f;
        std::string message = e.cause + (e.fix.empty() ? "" : "; fix: " + e.fix);
        cases += fmt::format("      <failure type=\"{}\" message=\"{}\">{}</failure>\n",
                             attr(to_string(e.verdict)), attr(message), text(body));
      } else {
        cases += fmt::format("      <system-out>{}</system-out>\n", text(body));
      }
      cases += "    </testcase>\n";
    }
    if (c.endpoints.empty()) {
      ++f;
      cases += fmt::format(
          "    <testcase classname=\"diagnose.{}\" name=\"endpoints\" time=\"0\">\n      "
          "<failure type=\"down\" message=\"{}\"/>\n    </testcase>\n",
          attr(c.name), attr(c.cause));
    }
    std::size_t n = std::max<std::size_t>(1, c.endpoints.size());
    tests += n;
    failures += f;
    suites += fmt::format(
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"0\" "
        "timestamp=\"{}\">\n    <properties>\n      <property name=\"verdict\" value=\"{}\"/>\n"
        "      <property name=\"usable\" value=\"{}\"/>\n      <property name=\"total\" "
        "value=\"{}\"/>\n    </properties>\n{}  </testsuite>\n",
        attr(c.name), n, f, detail::iso8601(d.now), attr(c.verdict), c.usable, c.total, cases);
  }
  std::string errors;
  std::size_t error_count = 0;
  if (d.admin_error) {
    ++tests;
    ++error_count;
    errors = fmt::format(
        "  <testsuite name=\"admin\" tests=\"1\" failures=\"0\" errors=\"1\" skipped=\"0\">\n"
        "    <testcase classname=\"diagnose.admin\" name=\"admin API\" time=\"0\">\n"
        "      <error type=\"unreachable\" message=\"{}\"/>\n    </testcase>\n  </testsuite>\n",
        attr(*d.admin_error));
  }
  return fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"sluice diagnose\" "
      "tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{:.3f}\">\n{}{}</testsuites>\n",
      tests, failures, error_count, detail::seconds(d.elapsed), errors, suites);
}

bool is_report_format(std::string_view format) {
  return format == "text" || format == "json" || format == "junit";
}

std::string render_report(std::string_view format, const Diagnosis& d, bool color) {
  if (format == "json") return report_json(d);
  if (format == "junit") return report_junit(d);
  return report_text(d, color);
}

}  // namespace sluice::probe::diag
