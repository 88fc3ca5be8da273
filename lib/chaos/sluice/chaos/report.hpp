// Scenario run reports: a text summary table, JSON, and JUnit XML (one testcase per assertion).
#pragma once

#include <string>
#include <vector>

#include "sluice/chaos/runner.hpp"

namespace sluice::chaos {

std::string report_text(const std::vector<ScenarioResult>& results, bool color);
std::string report_json(const std::vector<ScenarioResult>& results);
std::string report_junit(const std::vector<ScenarioResult>& results);

}  // namespace sluice::chaos
