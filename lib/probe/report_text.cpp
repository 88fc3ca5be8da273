// The text report: one table row per target, then what went wrong for each target that did not
// pass, then a summary line. Color only when asked (a terminal without NO_COLOR).
#include <algorithm>

#include <fmt/format.h>

#include "report_util.hpp"
#include "sluice/probe/report.hpp"

namespace sluice::probe {
namespace {

using detail::format_ms;
using detail::printable;

struct Style {
  bool on;
  std::string wrap(std::string_view code, std::string_view text) const {
    return on ? fmt::format("\x1b[{}m{}\x1b[0m", code, text) : std::string(text);
  }
};

std::size_t width(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

std::string verdict_text(Verdict v) {
  switch (v) {
    case Verdict::pass:
      return "PASS";
    case Verdict::fail:
      return "FAIL";
    case Verdict::unreachable:
      return "UNREACHABLE";
  }
  return "FAIL";
}

std::string verdict_color(Verdict v) {
  return v == Verdict::pass ? "32" : v == Verdict::fail ? "31" : "33";
}

std::string phase(Duration d) {
  return d.count() > 0 ? format_ms(d) : "-";
}

std::vector<std::string> header(Mode mode) {
  std::vector<std::string> h = {"TARGET", "RESULT", "STATUS"};
  if (mode == Mode::repeat) {
    for (auto c : {"PASSED", "MIN", "MEDIAN", "P95", "MAX"}) h.emplace_back(c);
    return h;
  }
  if (mode == Mode::wait) h.emplace_back("ATTEMPTS");
  for (auto c : {"DNS", "CONNECT", "TLS", "TTFB", "TOTAL"}) h.emplace_back(c);
  return h;
}

std::vector<std::string> row(const TargetReport& rep, Mode mode) {
  std::vector<std::string> cells = {printable(rep.target.name), verdict_text(rep.verdict),
                                    detail::status_text(rep)};
  const auto& t = rep.attempt.result.timings;
  if (mode == Mode::repeat) {
    cells.push_back(fmt::format("{}/{}", rep.passed, rep.attempts));
    if (rep.stats && rep.stats->count > 0) {
      for (auto d : {rep.stats->min, rep.stats->median, rep.stats->p95, rep.stats->max})
        cells.push_back(format_ms(d));
    } else {
      cells.insert(cells.end(), 4, "-");
    }
    return cells;
  }
  if (mode == Mode::wait) cells.push_back(std::to_string(rep.attempts));
  bool socket = rep.target.kind != Kind::dns;
  cells.push_back(phase(t.dns));
  cells.push_back(socket ? phase(t.connect) : "-");
  cells.push_back(socket ? phase(t.tls) : "-");
  cells.push_back(socket ? phase(t.ttfb) : "-");
  cells.push_back(format_ms(t.total));
  return cells;
}

void indent_lines(std::string& out, std::string_view text, std::string_view pad, const Style& st,
                  std::string_view color) {
  std::string clean = printable(text);
  std::string_view rest = clean;
  while (!rest.empty()) {
    auto nl = rest.find('\n');
    out += fmt::format("{}{}\n", pad, st.wrap(color, rest.substr(0, nl)));
    if (nl == std::string_view::npos) break;
    rest.remove_prefix(nl + 1);
  }
}

void failure_detail(std::string& out, const TargetReport& rep, const Style& st) {
  const auto& a = rep.attempt;
  out += fmt::format("{} {} {}\n", st.wrap(verdict_color(rep.verdict), "\u2717"),
                     st.wrap("1", printable(rep.target.name)),
                     st.wrap("2", fmt::format("({})", rep.target.origin)));
  bool any_condition = false;
  if (!a.result.error) {
    for (const auto& c : a.conditions) {
      if (c.passed) continue;
      any_condition = true;
      out += fmt::format("    {} {}\n", st.wrap("31", "\u2717"), printable(c.source));
      indent_lines(out, c.message, "        ", st, "31");
    }
    if (!a.result.note.empty()) indent_lines(out, a.result.note, "    ", st, "2");
  }
  // The reason says it all for transport errors and for wait/repeat verdicts.
  if (!any_condition || rep.deadline_reached || (rep.stats && rep.passed > 0))
    indent_lines(out, a.reason, "    ", st, verdict_color(rep.verdict));
}

}  // namespace

std::string report_text(const std::vector<TargetReport>& reports, const ReportContext& ctx,
                        bool color) {
  Style st{color};
  std::vector<std::vector<std::string>> rows = {header(ctx.mode)};
  for (const auto& rep : reports) rows.push_back(row(rep, ctx.mode));
  std::vector<std::size_t> widths(rows.front().size(), 0);
  for (const auto& r : rows)
    for (std::size_t i = 0; i < r.size(); ++i) widths[i] = std::max(widths[i], width(r[i]));

  std::string out;
  for (std::size_t k = 0; k < rows.size(); ++k) {
    const auto& r = rows[k];
    std::string line;
    for (std::size_t i = 0; i < r.size(); ++i) {
      std::string cell = r[i];
      std::size_t pad = widths[i] - width(cell);
      if (k == 0) cell = st.wrap("1", cell);
      if (k > 0 && i == 1) cell = st.wrap(verdict_color(reports[k - 1].verdict), cell);
      line += cell;
      if (i + 1 < r.size()) line.append(pad + 2, ' ');
    }
    out += line + '\n';
  }

  std::size_t passed = 0, failed = 0, unreachable = 0;
  bool first = true;
  for (const auto& rep : reports) {
    if (rep.verdict == Verdict::pass) {
      ++passed;
      continue;
    }
    (rep.verdict == Verdict::fail ? failed : unreachable)++;
    if (first) out += '\n';
    first = false;
    failure_detail(out, rep, st);
  }
  std::string summary = fmt::format("{} target{}: {} passed, {} failed, {} unreachable in {:.2f}s",
                                    reports.size(), reports.size() == 1 ? "" : "s", passed, failed,
                                    unreachable, detail::seconds(ctx.elapsed));
  out += '\n' + st.wrap(failed + unreachable == 0 ? "32" : "31", summary) + '\n';
  return out;
}

bool is_report_format(std::string_view format) {
  return format == "text" || format == "json" || format == "junit" || format == "prom";
}

std::string render_report(std::string_view format, const std::vector<TargetReport>& reports,
                          const ReportContext& ctx, bool color) {
  if (format == "json") return report_json(reports, ctx);
  if (format == "junit") return report_junit(reports, ctx);
  if (format == "prom") return report_prom(reports, ctx);
  return report_text(reports, ctx, color);
}

}  // namespace sluice::probe
