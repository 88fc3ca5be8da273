// Runs the probes: once, repeated (--repeat) or until healthy (--wait), across targets in
// parallel (--concurrency), and judges each target. Time, sleeping and the probe itself are
// injected, so the modes are tested with a manual clock and scripted results.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/core/clock.hpp"
#include "sluice/probe/conditions.hpp"
#include "sluice/probe/probe.hpp"
#include "sluice/probe/stats.hpp"
#include "sluice/probe/target.hpp"

namespace sluice::probe {

using namespace std::chrono_literals;

enum class Verdict { pass, fail, unreachable };

std::string_view to_string(Verdict v);

struct Attempt {
  ProbeResult result;
  std::vector<ConditionResult> conditions;
  Verdict verdict = Verdict::fail;
  std::string reason;  // why it did not pass; empty when it did
};

// A transport error decides alone (DNS, connect and TLS errors mean unreachable, others fail);
// otherwise the conditions do. `now` is the wall-clock time for cert.expires_in.
Attempt judge(const Target& t, ProbeResult r, std::chrono::system_clock::time_point now);

enum class Mode { once, repeat, wait };

struct RunOptions {
  Mode mode = Mode::once;
  std::size_t repeat = 1;             // Mode::repeat: probes per target
  Duration interval = 1s;             // between probes of one target
  Duration wait_timeout = 60s;        // Mode::wait: the deadline, from the start
  std::size_t success_threshold = 1;  // Mode::wait: consecutive passes needed
  std::size_t concurrency = 10;       // targets probed at once
  Duration probe_timeout = 5s;        // unless the target sets its own
};

struct TargetReport {
  Target target;
  Verdict verdict = Verdict::fail;
  Attempt attempt;  // what the verdict rests on: the last attempt (repeat: the last worst one)
  std::size_t attempts = 0;
  std::size_t passed = 0;             // attempts that passed
  bool deadline_reached = false;      // Mode::wait gave up
  std::optional<LatencyStats> stats;  // Mode::repeat: over the attempts that got an answer
  Duration elapsed{0};
};

struct Environment {
  const Clock* clock = nullptr;
  std::function<void(Duration)> sleep;
  std::function<ProbeResult(const Target&, Duration timeout)> probe;
};

// The real clock, std::this_thread::sleep_for and probe_once.
Environment system_environment();

// Called after every attempt, from the worker threads (at most `concurrency` at once).
using AttemptObserver =
    std::function<void(const Target&, std::size_t attempt_number, const Attempt&)>;

std::vector<TargetReport> run(const std::vector<Target>& targets, const RunOptions& options,
                              const Environment& env, const AttemptObserver& observer = {});

// 0 every target passed, 1 a condition failed, 3 a target was unreachable (3 wins over 1).
int exit_status(const std::vector<TargetReport>& reports);

}  // namespace sluice::probe
