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

// One request as the client saw it.
struct ClientSample {
  double sent_ms = 0;     // when it was sent (or due, when it could not be), since the phase start
  double latency_ms = 0;  // until the response, or the transport error
  int status = 0;         // 0: no response at all
};

// What the clients saw in one phase.
struct ClientStats {
  std::uint64_t requests = 0;          // requests sent (completed or failed)
  std::uint64_t transport_errors = 0;  // connect failures, resets, timeouts: no response at all
  std::map<int, std::uint64_t> by_status;
  std::vector<double> latencies_ms;  // one per request with a response, in completion order
  // transport_errors by cause: "connect: connection refused", "read: timeout", "overload" (not
  // sent: every client of an open-model phase was busy), ...
  std::map<std::string, std::uint64_t> transport_error_causes;
  std::vector<ClientSample> samples;  // every request, in completion order

  // Requests that got no response or a 5xx.
  std::uint64_t errors() const;
  // Percentile over latencies_ms (p in 0..100); 0 when there are none.
  double percentile_ms(double p) const;
  // Adds o's figures; its samples' times shift by offset_ms (o's phase start in this timeline).
  void merge(const ClientStats& o, double offset_ms = 0);
  // The figures of the requests sent in [from_ms, to_ms) (transport error causes are left out).
  ClientStats window(double from_ms, double to_ms) const;
};

// What the slow clients (phases.slowloris) of one phase saw.
struct SlowlorisStats {
  std::uint64_t connections = 0;           // opened
  std::uint64_t connect_errors = 0;        // could not connect
  std::uint64_t closed = 0;                // closed by the server during the phase
  std::uint64_t open = 0;                  // still open when the phase ended
  std::map<int, std::uint64_t> by_status;  // responses the server sent before closing
  std::vector<double>
      held_ms;  // per connection: how long it stayed open (to the phase end if open)
};

struct PhaseResult {
  std::string name;
  ClientStats client;
  std::optional<SlowlorisStats> slowloris;
  Duration started{0};  // since the first phase started
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
