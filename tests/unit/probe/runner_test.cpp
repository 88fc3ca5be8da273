// The modes with a manual clock and scripted probe results: no sockets, no sleeping.
#include <catch2/catch.hpp>

#include <deque>
#include <map>
#include <mutex>

#include "sluice/probe/runner.hpp"

using namespace sluice;
using namespace sluice::probe;
using namespace std::chrono_literals;

namespace {

Target target(std::string_view url) {
  auto t = parse_target(url);
  REQUIRE(t.ok());
  REQUIRE(build_conditions(*t, {}).ok());
  return std::move(*t);
}

ProbeResult ok(Duration latency = 10ms) {
  ProbeResult r;
  r.status = 200;
  r.timings.total = latency;
  return r;
}

ProbeResult status(int s) {
  ProbeResult r = ok();
  r.status = s;
  return r;
}

ProbeResult refused() {
  ProbeResult r;
  r.error = make_error(ErrorKind::connect, ErrorSource::upstream, "connection refused");
  return r;
}

ProbeResult timed_out() {
  ProbeResult r;
  r.error = make_error(ErrorKind::timeout, ErrorSource::upstream, "no response within 5s");
  return r;
}

// Plays back results per target name; each probe takes `cost` of manual time. The last result
// repeats when the script runs out.
struct Script {
  ManualClock clock;
  std::map<std::string, std::deque<ProbeResult>> results;
  std::vector<Duration> timeouts;
  std::vector<Duration> sleeps;
  Duration cost = 10ms;
  std::mutex mu;

  Environment env() {
    Environment e;
    e.clock = &clock;
    e.sleep = [this](Duration d) {
      sleeps.push_back(d);
      clock.advance(d);
    };
    e.probe = [this](const Target& t, Duration timeout) {
      std::lock_guard lock(mu);
      timeouts.push_back(timeout);
      clock.advance(std::min(cost, timeout));
      auto& q = results[t.name];
      REQUIRE_FALSE(q.empty());
      ProbeResult r = q.front();
      if (q.size() > 1) q.pop_front();
      return r;
    };
    return e;
  }
};

}  // namespace

TEST_CASE("probe runner: once judges each target", "[probe][runner]") {
  Script s;
  std::vector<Target> targets = {target("http://a/"), target("http://b/"), target("tcp://c:1")};
  s.results["http://a/"] = {ok()};
  s.results["http://b/"] = {status(503)};
  s.results["tcp://c:1"] = {refused()};
  RunOptions o;
  o.concurrency = 1;
  auto reports = run(targets, o, s.env());
  REQUIRE(reports.size() == 3);
  CHECK(reports[0].verdict == Verdict::pass);
  CHECK(reports[0].attempt.reason.empty());
  CHECK(reports[1].verdict == Verdict::fail);
  CHECK(reports[1].attempt.reason == "status (503) in 200..299");
  CHECK(reports[2].verdict == Verdict::unreachable);
  CHECK(reports[2].attempt.reason == "connect: connection refused");
  CHECK(reports[2].attempt.conditions.at(0).message ==
        "not evaluated: connect: connection refused");
  CHECK(exit_status(reports) == 3);
  CHECK(s.timeouts == std::vector<Duration>{5s, 5s, 5s});
}

TEST_CASE("probe runner: exit status, 3 wins over 1", "[probe][runner]") {
  std::vector<TargetReport> reports(2);
  reports[0].verdict = Verdict::pass;
  reports[1].verdict = Verdict::pass;
  CHECK(exit_status(reports) == 0);
  reports[0].verdict = Verdict::fail;
  CHECK(exit_status(reports) == 1);
  reports[1].verdict = Verdict::unreachable;
  CHECK(exit_status(reports) == 3);
  CHECK(exit_status({}) == 0);
}

TEST_CASE("probe runner: a timeout after connecting is a failure, not unreachable",
          "[probe][runner]") {
  auto t = target("http://a/");
  auto a = judge(t, timed_out(), {});
  CHECK(a.verdict == Verdict::fail);
  CHECK(a.reason == "timeout: no response within 5s");
  ProbeResult tls;
  tls.error = make_error(ErrorKind::tls, ErrorSource::upstream, "certificate has expired");
  CHECK(judge(t, tls, {}).verdict == Verdict::unreachable);
  ProbeResult dns;
  dns.error = make_error(ErrorKind::dns, ErrorSource::upstream, "no such name");
  CHECK(judge(t, dns, {}).verdict == Verdict::unreachable);
}

TEST_CASE("probe runner: a probe's note joins the reason", "[probe][runner]") {
  auto t = target("grpc://a:1");
  ProbeResult r;
  r.status = 200;
  r.grpc_code = 5;
  r.note = "grpc-status 5 (NOT_FOUND): unknown service";
  auto a = judge(t, r, {});
  CHECK(a.verdict == Verdict::fail);
  CHECK(a.reason ==
        "grpc.status (null) == SERVING (\"SERVING\") (grpc-status 5 (NOT_FOUND): unknown "
        "service)");
}

TEST_CASE("probe runner: repeat gives latency statistics and the worst verdict",
          "[probe][runner]") {
  Script s;
  std::vector<Target> targets = {target("http://a/"), target("http://b/")};
  s.results["http://a/"] = {ok(10ms), ok(30ms), ok(20ms), ok(40ms)};
  s.results["http://b/"] = {ok(5ms), status(500), ok(5ms), refused()};
  RunOptions o;
  o.mode = Mode::repeat;
  o.repeat = 4;
  o.interval = 250ms;
  o.concurrency = 1;
  auto reports = run(targets, o, s.env());
  const auto& a = reports[0];
  CHECK(a.verdict == Verdict::pass);
  CHECK(a.attempts == 4);
  CHECK(a.passed == 4);
  REQUIRE(a.stats);
  CHECK(a.stats->count == 4);
  CHECK(a.stats->min == 10ms);
  CHECK(a.stats->median == 20ms);
  CHECK(a.stats->p95 == 40ms);
  CHECK(a.stats->max == 40ms);
  const auto& b = reports[1];
  CHECK(b.verdict == Verdict::unreachable);
  CHECK(b.passed == 2);
  CHECK(b.stats->count == 3);  // the unreachable probe has no latency
  CHECK(b.attempt.reason == "2 of 4 probes did not pass; the last: connect: connection refused");
  // Three pauses per target, none after the last probe.
  CHECK(s.sleeps == std::vector<Duration>(6, 250ms));
}

TEST_CASE("probe runner: wait probes until the target comes up", "[probe][runner]") {
  Script s;
  std::vector<Target> targets = {target("http://a/")};
  s.results["http://a/"] = {refused(), refused(), status(503), ok()};
  RunOptions o;
  o.mode = Mode::wait;
  o.interval = 1s;
  o.wait_timeout = 30s;
  auto reports = run(targets, o, s.env());
  CHECK(reports[0].verdict == Verdict::pass);
  CHECK(reports[0].attempts == 4);
  CHECK_FALSE(reports[0].deadline_reached);
  CHECK(reports[0].elapsed == 3s + 40ms);
}

TEST_CASE("probe runner: wait needs consecutive successes", "[probe][runner]") {
  Script s;
  std::vector<Target> targets = {target("http://a/")};
  s.results["http://a/"] = {ok(), status(500), ok(), ok(), ok()};
  RunOptions o;
  o.mode = Mode::wait;
  o.interval = 1s;
  o.wait_timeout = 30s;
  o.success_threshold = 3;
  auto reports = run(targets, o, s.env());
  CHECK(reports[0].verdict == Verdict::pass);
  CHECK(reports[0].attempts == 5);
  CHECK(reports[0].passed == 4);
}

TEST_CASE("probe runner: wait fails at the deadline with the last reason", "[probe][runner]") {
  Script s;
  std::vector<Target> targets = {target("http://a/"), target("http://b/")};
  s.results["http://a/"] = {refused()};
  s.results["http://b/"] = {status(503)};
  RunOptions o;
  o.mode = Mode::wait;
  o.interval = 1s;
  o.wait_timeout = 5s;
  o.concurrency = 1;
  auto reports = run(targets, o, s.env());
  const auto& a = reports[0];
  CHECK(a.verdict == Verdict::unreachable);
  CHECK(a.deadline_reached);
  CHECK(a.attempts == 5);  // at 0, 1.01, 2.02, 3.03 and 4.04s; then a shorter pause
  CHECK(a.elapsed == 5s);  // it gives up at the deadline, not before
  CHECK(a.attempt.reason ==
        "not healthy after 5s (5 attempts); the last: connect: connection refused");
  const auto& b = reports[1];
  CHECK(b.verdict == Verdict::fail);
  CHECK(b.attempt.reason.ends_with("the last: status (503) in 200..299"));
}

TEST_CASE("probe runner: wait shortens the last probe to the deadline", "[probe][runner]") {
  Script s;
  s.cost = 10s;  // every probe runs into its timeout
  std::vector<Target> targets = {target("http://a/")};
  s.results["http://a/"] = {timed_out()};
  RunOptions o;
  o.mode = Mode::wait;
  o.interval = 1s;
  o.wait_timeout = 10s;
  o.probe_timeout = 5s;
  auto reports = run(targets, o, s.env());
  CHECK(s.timeouts == std::vector<Duration>{5s, 4s});  // at 0s and 6s; 10s is the deadline
  CHECK(reports[0].verdict == Verdict::fail);
  CHECK(reports[0].deadline_reached);
}

TEST_CASE("probe runner: too few consecutive successes at the deadline is a failure",
          "[probe][runner]") {
  Script s;
  std::vector<Target> targets = {target("http://a/")};
  s.results["http://a/"] = {status(500), status(500), ok()};
  RunOptions o;
  o.mode = Mode::wait;
  o.interval = 1s;
  o.wait_timeout = 3s;
  o.success_threshold = 2;
  auto reports = run(targets, o, s.env());
  CHECK(reports[0].verdict == Verdict::fail);
  CHECK(reports[0].attempt.reason ==
        "1 consecutive successes of the 2 needed before the deadline (3s)");
}

TEST_CASE("probe runner: a target's own timeout wins over the run's", "[probe][runner]") {
  Script s;
  auto t = target("http://a/");
  t.options.timeout = 750ms;
  s.results["http://a/"] = {ok()};
  auto reports = run({t}, RunOptions{}, s.env());
  CHECK(s.timeouts == std::vector<Duration>{750ms});
}

TEST_CASE("probe runner: many targets across workers all get a report", "[probe][runner]") {
  Script s;
  std::vector<Target> targets;
  for (int i = 0; i < 40; ++i) {
    targets.push_back(target("http://t" + std::to_string(i) + "/"));
    s.results[targets.back().name] = {i % 2 ? ok() : status(500)};
  }
  RunOptions o;
  o.concurrency = 8;
  std::atomic<int> observed{0};
  auto reports =
      run(targets, o, s.env(), [&](const Target&, std::size_t, const Attempt&) { ++observed; });
  REQUIRE(reports.size() == 40);
  CHECK(observed == 40);
  for (int i = 0; i < 40; ++i) {
    CHECK(reports[i].target.name == targets[i].name);
    CHECK(reports[i].verdict == (i % 2 ? Verdict::pass : Verdict::fail));
  }
}
