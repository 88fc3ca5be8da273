// JUnit XML: one <testsuite> per target and one <testcase> per condition, so a CI test view
// shows which condition of which target broke, and the test count stays the same run to run.
// An unreachable target's conditions are <error>s; a failed one's are <failure>s.
#include <fmt/format.h>

#include "report_util.hpp"
#include "sluice/probe/report.hpp"

namespace sluice::probe {
namespace {

std::string attr(std::string_view s) {
  return detail::xml_escape(s, true);
}
std::string text(std::string_view s) {
  return detail::xml_escape(s, false);
}

std::string first_line(std::string_view s) {
  return std::string(s.substr(0, s.find('\n')));
}

std::string summary(const TargetReport& rep) {
  const auto& t = rep.attempt.result.timings;
  std::string out =
      fmt::format("url: {}\nresult: {}\nstatus: {}\nattempts: {}\n", redact_url(rep.target.url),
                  to_string(rep.verdict), detail::status_text(rep), rep.attempts);
  out +=
      fmt::format("timings: dns {} connect {} tls {} ttfb {} total {}\n", detail::format_ms(t.dns),
                  detail::format_ms(t.connect), detail::format_ms(t.tls), detail::format_ms(t.ttfb),
                  detail::format_ms(t.total));
  if (rep.stats && rep.stats->count > 0)
    out += fmt::format("latency: min {} median {} p95 {} max {} over {} probes\n",
                       detail::format_ms(rep.stats->min), detail::format_ms(rep.stats->median),
                       detail::format_ms(rep.stats->p95), detail::format_ms(rep.stats->max),
                       rep.stats->count);
  if (!rep.attempt.reason.empty()) out += "reason: " + rep.attempt.reason + "\n";
  return out;
}

}  // namespace

std::string report_junit(const std::vector<TargetReport>& reports, const ReportContext& ctx) {
  std::size_t tests = 0, failures = 0, errors = 0;
  std::string suites;
  for (const auto& rep : reports) {
    const auto& a = rep.attempt;
    const double time = detail::seconds(a.result.timings.total);
    bool any_condition_failed = false;
    for (const auto& c : a.conditions) any_condition_failed = any_condition_failed || !c.passed;
    std::string cases;
    std::size_t f = 0, e = 0;
    for (const auto& c : a.conditions) {
      cases += fmt::format("    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3f}\"",
                           attr(rep.target.name), attr(c.source), time);
      if (rep.verdict == Verdict::pass || (c.passed && any_condition_failed)) {
        cases += "/>\n";
        continue;
      }
      if (rep.verdict == Verdict::unreachable) {
        ++e;
        cases += fmt::format(
            ">\n      <error message=\"{}\" type=\"unreachable\">{}</error>\n    </testcase>\n",
            attr(first_line(a.reason)), text(a.reason));
        continue;
      }
      // A failed condition explains itself; otherwise the verdict's reason applies to all
      // (a timeout, too few consecutive successes before the deadline).
      std::string message = c.passed ? a.reason : c.message;
      std::string body = c.source + "\n" + message;
      if (!a.result.note.empty()) body += "\n" + a.result.note;
      if (rep.deadline_reached || (rep.stats && rep.passed > 0)) body += "\n" + a.reason;
      body += "\nat " + c.origin;
      ++f;
      cases += fmt::format(
          ">\n      <failure message=\"{}\" type=\"condition\">{}</failure>\n    </testcase>\n",
          attr(first_line(message)), text(body));
    }
    tests += a.conditions.size();
    failures += f;
    errors += e;
    suites += fmt::format(
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"0\" "
        "time=\"{:.3f}\">\n",
        attr(rep.target.name), a.conditions.size(), f, e, detail::seconds(rep.elapsed));
    suites += "    <properties>\n";
    suites += fmt::format("      <property name=\"url\" value=\"{}\"/>\n",
                          attr(redact_url(rep.target.url)));
    suites +=
        fmt::format("      <property name=\"kind\" value=\"{}\"/>\n", to_string(rep.target.kind));
    suites +=
        fmt::format("      <property name=\"origin\" value=\"{}\"/>\n", attr(rep.target.origin));
    suites += "    </properties>\n";
    suites += cases;
    suites += fmt::format("    <system-out>{}</system-out>\n", text(summary(rep)));
    suites += "  </testsuite>\n";
  }
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += fmt::format(
      "<testsuites name=\"sluice probe\" tests=\"{}\" failures=\"{}\" errors=\"{}\" "
      "time=\"{:.3f}\">\n",
      tests, failures, errors, detail::seconds(ctx.elapsed));
  out += suites;
  out += "</testsuites>\n";
  return out;
}

}  // namespace sluice::probe
