// Runs a loaded scenario: starts its mocks, proxies and gateway (`sluice serve` on port 0), drives
// each phase's traffic and changes, then evaluates the assertions. Reports live in report.hpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/chaos/scenario.hpp"
#include "sluice/core/units.hpp"

namespace sluice::chaos {

// What the clients saw in one phase.
struct ClientStats {
  std::uint64_t requests = 0;          // requests sent (completed or failed)
  std::uint64_t transport_errors = 0;  // connect failures, resets, timeouts: no response at all
  std::map<int, std::uint64_t> by_status;
  std::vector<double> latencies_ms;  // one per request with a response, in completion order
  // transport_errors by cause: "connect: connection refused", "read: timeout", "overload" (not
  // sent: every client of an open-model phase was busy), ...
  std::map<std::string, std::uint64_t> transport_error_causes;

  // Requests that got no response or a 5xx.
  std::uint64_t errors() const;
  // Percentile over latencies_ms (p in 0..100); 0 when there are none.
  double percentile_ms(double p) const;
  void merge(const ClientStats& o);
};

struct PhaseResult {
  std::string name;
  ClientStats client;
  Duration elapsed{0};
};

struct AssertionResult {
  std::string name;
  std::string expression;
  std::string phase;  // empty: the whole run
  bool passed = false;
  // On failure: explain() of the expression (operand values), or the evaluation error.
  std::string message;
  SourcePos pos;
};

struct ScenarioResult {
  std::string source;
  std::string name;
  std::uint64_t seed = 0;
  // Set when the scenario could not be run (a mock or the gateway did not start, ...); then no
  // assertion was evaluated and passed() is false.
  std::string setup_error;
  std::vector<PhaseResult> phases;
  std::vector<AssertionResult> assertions;
  Duration elapsed{0};

  bool passed() const;
};

struct RunOptions {
  std::optional<std::uint64_t> seed;  // overrides the scenario's
  std::string sluice_binary;          // the gateway to start; default: this executable
  // One line per step ("phase steady: 2s at 50 req/s"), for progress on a TTY; may be empty.
  std::function<void(std::string_view)> progress;
};

ScenarioResult run_scenario(const Scenario& scenario, const RunOptions& options);

}  // namespace sluice::chaos
