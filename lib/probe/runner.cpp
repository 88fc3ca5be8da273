// The modes (once, repeat, wait) per target, and a small pool of worker threads across targets.
// Each target is probed by one worker from start to end, so its attempts never overlap.
#include "sluice/probe/runner.hpp"

#include <algorithm>
#include <atomic>
#include <thread>

#include <fmt/format.h>

#include "sluice/core/expr/value.hpp"

namespace sluice::probe {
namespace {

int severity(Verdict v) {
  switch (v) {
    case Verdict::pass:
      return 0;
    case Verdict::fail:
      return 1;
    case Verdict::unreachable:
      return 2;
  }
  return 1;
}

class TargetRun {
 public:
  TargetRun(const Target& t, const RunOptions& o, const Environment& env,
            const AttemptObserver& observer)
      : t_(t), o_(o), env_(env), observer_(observer) {}

  TargetReport run() {
    TargetReport rep;
    rep.target = t_;
    const TimePoint start = env_.clock->now();
    switch (o_.mode) {
      case Mode::once:
        record(rep, attempt(probe_timeout()));
        break;
      case Mode::repeat:
        run_repeat(rep);
        break;
      case Mode::wait:
        run_wait(rep, start);
        break;
    }
    rep.elapsed = env_.clock->now() - start;
    return rep;
  }

 private:
  Duration probe_timeout() const { return t_.options.timeout.value_or(o_.probe_timeout); }

  Attempt attempt(Duration timeout) {
    ProbeResult r = env_.probe(t_, timeout);
    return judge(t_, std::move(r), env_.clock->wall());
  }

  void record(TargetReport& rep, Attempt a) {
    ++rep.attempts;
    if (a.verdict == Verdict::pass) ++rep.passed;
    if (observer_) observer_(t_, rep.attempts, a);
    rep.verdict = a.verdict;
    rep.attempt = std::move(a);
  }

  void run_repeat(TargetReport& rep) {
    const std::size_t n = std::max<std::size_t>(1, o_.repeat);
    std::vector<Duration> latencies;
    std::optional<Attempt> worst;
    for (std::size_t i = 0; i < n; ++i) {
      if (i > 0) env_.sleep(o_.interval);
      Attempt a = attempt(probe_timeout());
      ++rep.attempts;
      if (a.verdict == Verdict::pass) ++rep.passed;
      if (!a.result.error) latencies.push_back(a.result.timings.total);
      if (observer_) observer_(t_, rep.attempts, a);
      if (!worst || severity(a.verdict) >= severity(worst->verdict)) worst = std::move(a);
    }
    rep.verdict = worst->verdict;
    rep.attempt = std::move(*worst);
    if (rep.verdict != Verdict::pass && rep.passed > 0)
      rep.attempt.reason = fmt::format("{} of {} probes did not pass; the last: {}", n - rep.passed,
                                       n, rep.attempt.reason);
    rep.stats = latency_stats(std::move(latencies));
  }

  void run_wait(TargetReport& rep, TimePoint start) {
    const TimePoint deadline = start + o_.wait_timeout;
    const std::size_t needed = std::max<std::size_t>(1, o_.success_threshold);
    std::size_t consecutive = 0;
    while (true) {
      Duration left = deadline - env_.clock->now();
      Duration timeout =
          std::max<Duration>(std::min(probe_timeout(), left), std::chrono::milliseconds(1));
      record(rep, attempt(timeout));
      consecutive = rep.verdict == Verdict::pass ? consecutive + 1 : 0;
      if (consecutive >= needed) return;
      // The run ends at the deadline, not before: the last pause may be shorter.
      Duration remaining = deadline - env_.clock->now();
      if (remaining <= Duration{0}) break;
      env_.sleep(std::min(o_.interval, remaining));
      if (env_.clock->now() >= deadline) break;
    }
    rep.deadline_reached = true;
    const std::string waited = expr::format_duration_short(o_.wait_timeout);
    if (rep.verdict == Verdict::pass) {
      // Passing at the end, but not often enough in a row.
      rep.verdict = Verdict::fail;
      rep.attempt.reason =
          fmt::format("{} consecutive successes of the {} needed before the deadline ({})",
                      consecutive, needed, waited);
    } else {
      rep.attempt.reason = fmt::format("not healthy after {} ({} attempts); the last: {}", waited,
                                       rep.attempts, rep.attempt.reason);
    }
  }

  const Target& t_;
  const RunOptions& o_;
  const Environment& env_;
  const AttemptObserver& observer_;
};

}  // namespace

std::string_view to_string(Verdict v) {
  switch (v) {
    case Verdict::pass:
      return "pass";
    case Verdict::fail:
      return "fail";
    case Verdict::unreachable:
      return "unreachable";
  }
  return "fail";
}

Attempt judge(const Target& t, ProbeResult r, std::chrono::system_clock::time_point now) {
  Attempt a;
  if (r.error) {
    a.verdict = is_unreachable(*r.error) ? Verdict::unreachable : Verdict::fail;
    a.reason = fmt::format("{}: {}", sluice::to_string(r.error->kind), r.error->message);
    for (const auto& c : t.conditions)
      a.conditions.push_back({c.source, c.origin, false, "not evaluated: " + a.reason});
    a.result = std::move(r);
    return a;
  }
  a.conditions = evaluate_conditions(t, r, now);
  a.verdict = Verdict::pass;
  for (const auto& c : a.conditions) {
    if (c.passed) continue;
    a.verdict = Verdict::fail;
    if (a.reason.empty()) a.reason = c.message;
  }
  if (a.verdict == Verdict::fail && !r.note.empty()) a.reason += " (" + r.note + ")";
  a.result = std::move(r);
  return a;
}

Environment system_environment() {
  Environment env;
  env.clock = &SystemClock::instance();
  env.sleep = [](Duration d) { std::this_thread::sleep_for(d); };
  env.probe = [](const Target& t, Duration timeout) {
    return probe_once(t, timeout, SystemClock::instance());
  };
  return env;
}

std::vector<TargetReport> run(const std::vector<Target>& targets, const RunOptions& options,
                              const Environment& env, const AttemptObserver& observer) {
  std::vector<TargetReport> reports(targets.size());
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t i = next++; i < targets.size(); i = next++)
      reports[i] = TargetRun(targets[i], options, env, observer).run();
  };
  const std::size_t workers =
      std::min(targets.size(), std::max<std::size_t>(1, options.concurrency));
  std::vector<std::thread> pool;
  for (std::size_t i = 1; i < workers; ++i) {
    try {
      pool.emplace_back(work);
    } catch (const std::system_error&) {
      break;  // fewer threads than asked for: the others share the work
    }
  }
  work();
  for (auto& th : pool) th.join();
  return reports;
}

int exit_status(const std::vector<TargetReport>& reports) {
  int code = 0;
  for (const auto& r : reports) {
    if (r.verdict == Verdict::unreachable) return 3;
    if (r.verdict == Verdict::fail) code = 1;
  }
  return code;
}

}  // namespace sluice::probe
