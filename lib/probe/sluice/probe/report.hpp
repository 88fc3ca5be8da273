// Probe reports (man sluice-probe.1, OUTPUT): a table for people, JSON for scripts, JUnit XML for
// CI test views, and a Prometheus textfile for node_exporter's textfile collector.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/probe/runner.hpp"

namespace sluice::probe {

struct ReportContext {
  Mode mode = Mode::once;
  Duration elapsed{0};                        // the whole run
  std::chrono::system_clock::time_point now;  // cert expiry is counted from here
};

std::string report_text(const std::vector<TargetReport>& reports, const ReportContext& ctx,
                        bool color);
std::string report_json(const std::vector<TargetReport>& reports, const ReportContext& ctx);
std::string report_junit(const std::vector<TargetReport>& reports, const ReportContext& ctx);
std::string report_prom(const std::vector<TargetReport>& reports, const ReportContext& ctx);

// "text", "json", "junit", "prom"; false for anything else.
bool is_report_format(std::string_view format);
std::string render_report(std::string_view format, const std::vector<TargetReport>& reports,
                          const ReportContext& ctx, bool color);

}  // namespace sluice::probe
