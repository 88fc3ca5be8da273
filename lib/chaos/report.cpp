// Scenario run reports (man sluice-chaos.1, REPORTS): the text summary printed after a run, a JSON
// document with a stable shape, and JUnit XML for CI systems (one testcase per assertion).
#include "sluice/chaos/report.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "sluice/core/text.hpp"
#include <nlohmann/json.hpp>

namespace sluice::chaos {
namespace {

double seconds(Duration d) {
  return std::chrono::duration<double>(d).count();
}
double millis(Duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

// "0.42ms", "3.1ms", "120ms", "2.35s": enough digits to read, not more.
std::string format_ms(double ms) {
  if (ms >= 10000) return fmt::format("{:.2f}s", ms / 1000);
  if (ms >= 100) return fmt::format("{:.0f}ms", ms);
  if (ms >= 10) return fmt::format("{:.1f}ms", ms);
  return fmt::format("{:.2f}ms", ms);
}

std::string format_elapsed(Duration d) {
  return fmt::format("{:.2f}s", seconds(d));
}

std::string where(const SourcePos& pos) {
  if (pos.file.empty()) return {};
  if (pos.line == 0) return pos.file;
  return fmt::format("{}:{}:{}", pos.file, pos.line, pos.column);
}

std::string plural(std::size_t n, std::string_view word) {
  return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s");
}

std::size_t failed_assertions(const ScenarioResult& r) {
  return static_cast<std::size_t>(
      std::count_if(r.assertions.begin(), r.assertions.end(),
                    [](const AssertionResult& a) { return !a.passed; }));
}

// Splits on '\n' (a trailing newline gives no empty last line).
std::vector<std::string_view> lines(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    auto nl = text.find('\n');
    out.push_back(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return out;
}

// --- text ---

// Control characters other than tab and newline (an escape sequence in a response body, say) are
// shown as \xHH so they cannot drive the terminal.
std::string printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    auto b = static_cast<unsigned char>(c);
    if ((b < 0x20 && c != '\n' && c != '\t') || b == 0x7f)
      out += fmt::format("\\x{:02x}", b);
    else
      out += c;
  }
  return out;
}

struct Style {
  bool on;
  std::string wrap(std::string_view code, std::string_view text) const {
    if (!on) return std::string(text);
    return fmt::format("\x1b[{}m{}\x1b[0m", code, text);
  }
  std::string green(std::string_view t) const { return wrap("32", t); }
  std::string red(std::string_view t) const { return wrap("31", t); }
  std::string yellow(std::string_view t) const { return wrap("33", t); }
  std::string bold(std::string_view t) const { return wrap("1", t); }
  std::string dim(std::string_view t) const { return wrap("2", t); }
};

// Pads to `width` display columns; cells are ASCII apart from names, which are counted in code
// points so UTF-8 names line up.
std::size_t display_width(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

std::string pad(std::string_view s, std::size_t width) {
  std::string out(s);
  auto w = display_width(s);
  if (w < width) out.append(width - w, ' ');
  return out;
}

void phase_table(std::string& out, const ScenarioResult& r, std::string_view indent) {
  if (r.phases.empty()) return;
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"phase", "elapsed", "requests", "errors", "p50", "p99"});
  for (const auto& p : r.phases) {
    rows.push_back({printable(p.name), format_elapsed(p.elapsed), std::to_string(p.client.requests),
                    std::to_string(p.client.errors()),
                    p.client.latencies_ms.empty() ? "-" : format_ms(p.client.percentile_ms(50)),
                    p.client.latencies_ms.empty() ? "-" : format_ms(p.client.percentile_ms(99))});
  }
  std::vector<std::size_t> widths(rows.front().size(), 0);
  for (const auto& row : rows)
    for (std::size_t i = 0; i < row.size(); ++i)
      widths[i] = std::max(widths[i], display_width(row[i]));
  for (const auto& row : rows) {
    std::string line(indent);
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (i + 1 == row.size())
        line += row[i];
      else
        line += pad(row[i], widths[i] + 2);
    }
    out += line;
    out += '\n';
  }
}

}  // namespace

std::string report_text(const std::vector<ScenarioResult>& results, bool color) {
  Style st{color};
  std::string out;
  std::size_t passed = 0, failed = 0, setup_errors = 0, assertions = 0, assertions_failed = 0;
  for (const auto& r : results) {
    std::string verdict;
    if (!r.setup_error.empty()) {
      verdict = st.yellow("ERROR");
      ++setup_errors;
    } else if (r.passed()) {
      verdict = st.green("PASS");
      ++passed;
    } else {
      verdict = st.red("FAIL");
      ++failed;
    }
    out += fmt::format("{}  {}  seed {}  {}", st.bold(printable(r.name)), verdict, r.seed,
                       format_elapsed(r.elapsed));
    if (!r.source.empty()) out += "  " + st.dim(printable(r.source));
    out += '\n';
    if (!r.setup_error.empty()) {
      out += "  " + st.yellow("setup failed:") + '\n';
      std::string error = printable(r.setup_error);
      for (auto l : lines(error)) out += fmt::format("      {}\n", l);
    }
    phase_table(out, r, "  ");
    for (const auto& a : r.assertions) {
      ++assertions;
      std::string label = printable(a.name);
      if (!a.phase.empty()) label += fmt::format(" [phase {}]", printable(a.phase));
      if (a.passed) {
        out += fmt::format("  {} {}\n", st.green("\u2713"), label);
        continue;
      }
      ++assertions_failed;
      out += fmt::format("  {} {}\n", st.red("\u2717"), label);
      if (a.expression != a.name) out += fmt::format("      {}\n", printable(a.expression));
      std::string message = printable(a.message);
      for (auto l : lines(message)) out += fmt::format("      {}\n", st.red(l));
      if (auto w = where(a.pos); !w.empty()) out += fmt::format("      {}\n", st.dim("at " + w));
    }
    out += '\n';
  }
  std::string summary =
      fmt::format("{}: {} passed, {} failed", plural(results.size(), "scenario"), passed, failed);
  if (setup_errors > 0) summary += fmt::format(", {} could not run", setup_errors);
  summary += fmt::format("; {}: {} failed", plural(assertions, "assertion"), assertions_failed);
  bool all_ok = failed == 0 && setup_errors == 0;
  out += (all_ok ? st.green(summary) : st.red(summary)) + '\n';
  return out;
}

// The JSON shape (documented in man sluice-chaos.1, REPORTS; keys are never renamed, only added):
//   {"version": 1, "passed": bool,
//    "summary": {"scenarios", "passed", "failed", "setup_errors", "assertions",
//                "assertions_failed"},
//    "scenarios": [{"name", "source", "seed", "passed", "setup_error" (string or null),
//                   "elapsed_ms",
//                   "phases": [{"name", "elapsed_ms", "requests", "errors", "transport_errors",
//                               "status": {"200": n, ...}, "p50_ms", "p99_ms"}],
//                   "assertions": [{"name", "expression", "phase" (string or null), "passed",
//                                   "message", "file", "line", "column"}]}]}
std::string report_json(const std::vector<ScenarioResult>& results) {
  using json = nlohmann::ordered_json;
  json scenarios = json::array();
  std::size_t passed = 0, failed = 0, setup_errors = 0, assertions = 0, assertions_failed = 0;
  for (const auto& r : results) {
    if (!r.setup_error.empty())
      ++setup_errors;
    else if (r.passed())
      ++passed;
    else
      ++failed;
    json phases = json::array();
    for (const auto& p : r.phases) {
      json status = json::object();
      for (const auto& [code, n] : p.client.by_status) status[std::to_string(code)] = n;
      phases.push_back({{"name", p.name},
                        {"elapsed_ms", millis(p.elapsed)},
                        {"requests", p.client.requests},
                        {"errors", p.client.errors()},
                        {"transport_errors", p.client.transport_errors},
                        {"status", status},
                        {"p50_ms", p.client.percentile_ms(50)},
                        {"p99_ms", p.client.percentile_ms(99)}});
    }
    json as = json::array();
    for (const auto& a : r.assertions) {
      ++assertions;
      if (!a.passed) ++assertions_failed;
      as.push_back({{"name", a.name},
                    {"expression", a.expression},
                    {"phase", a.phase.empty() ? json(nullptr) : json(a.phase)},
                    {"passed", a.passed},
                    {"message", a.message},
                    {"file", a.pos.file},
                    {"line", a.pos.line},
                    {"column", a.pos.column}});
    }
    scenarios.push_back(
        {{"name", r.name},
         {"source", r.source},
         {"seed", r.seed},
         {"passed", r.passed()},
         {"setup_error", r.setup_error.empty() ? json(nullptr) : json(r.setup_error)},
         {"elapsed_ms", millis(r.elapsed)},
         {"phases", phases},
         {"assertions", as}});
  }
  json doc = {{"version", 1},
              {"passed", failed == 0 && setup_errors == 0},
              {"summary",
               {{"scenarios", results.size()},
                {"passed", passed},
                {"failed", failed},
                {"setup_errors", setup_errors},
                {"assertions", assertions},
                {"assertions_failed", assertions_failed}}},
              {"scenarios", scenarios}};
  // Names and messages may carry bytes that are not UTF-8; replace them rather than throw.
  return doc.dump(2, ' ', false, json::error_handler_t::replace) + '\n';
}

namespace {

using text::xml_escape;

std::string attr(std::string_view s) {
  return xml_escape(s, true);
}
std::string text(std::string_view s) {
  return xml_escape(s, false);
}

}  // namespace

// JUnit XML in the shape Jenkins, GitLab and GitHub reporters read: one <testsuite> per scenario,
// one <testcase> per assertion (classname = scenario), <failure> with the explanation, and a
// setup error as one <testcase name="setup"> with <error>.
std::string report_junit(const std::vector<ScenarioResult>& results) {
  std::size_t tests = 0, failures = 0, errors = 0;
  Duration total{0};
  std::string suites;
  for (const auto& r : results) {
    bool setup_failed = !r.setup_error.empty();
    std::size_t t = r.assertions.size() + (setup_failed ? 1 : 0);
    std::size_t f = failed_assertions(r);
    std::size_t e = setup_failed ? 1 : 0;
    tests += t;
    failures += f;
    errors += e;
    total += r.elapsed;
    suites += fmt::format(
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"0\" "
        "time=\"{:.3f}\" file=\"{}\">\n",
        attr(r.name), t, f, e, seconds(r.elapsed), attr(r.source));
    suites += "    <properties>\n";
    suites += fmt::format("      <property name=\"seed\" value=\"{}\"/>\n", r.seed);
    suites += fmt::format("      <property name=\"source\" value=\"{}\"/>\n", attr(r.source));
    suites += "    </properties>\n";
    if (setup_failed) {
      auto first = lines(r.setup_error);
      suites += fmt::format(
          "    <testcase classname=\"{}\" name=\"setup\" time=\"{:.3f}\">\n"
          "      <error message=\"{}\" type=\"setup\">{}</error>\n"
          "    </testcase>\n",
          attr(r.name), seconds(r.elapsed), attr(first.empty() ? "setup failed" : first.front()),
          text(r.setup_error));
    }
    for (const auto& a : r.assertions) {
      suites += fmt::format("    <testcase classname=\"{}\" name=\"{}\" time=\"0.000\"",
                            attr(r.name), attr(a.name));
      if (a.passed) {
        suites += "/>\n";
        continue;
      }
      std::string body = a.expression;
      if (!a.phase.empty()) body += "\nphase: " + a.phase;
      if (!a.message.empty()) body += "\n" + a.message;
      if (auto w = where(a.pos); !w.empty()) body += "\nat " + w;
      suites += fmt::format(
          ">\n      <failure message=\"{}\" type=\"assertion\">{}</failure>\n    </testcase>\n",
          attr(a.message.empty() ? "assertion failed" : a.message), text(body));
    }
    if (!r.phases.empty()) {
      std::string table;
      phase_table(table, r, "");
      suites += fmt::format("    <system-out>{}</system-out>\n", text(table));
    }
    suites += "  </testsuite>\n";
  }
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += fmt::format(
      "<testsuites name=\"sluice chaos\" tests=\"{}\" failures=\"{}\" errors=\"{}\" "
      "time=\"{:.3f}\">\n",
      tests, failures, errors, seconds(total));
  out += suites;
  out += "</testsuites>\n";
  return out;
}

}  // namespace sluice::chaos
