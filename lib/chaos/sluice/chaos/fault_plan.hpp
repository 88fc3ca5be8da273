// FaultPlan: an ordered list of HTTP fault rules for a mock upstream, and the seeded decisions of
// which rules fire for a request. Decisions and counters live here; fault_exec.cpp applies them.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "sluice/chaos/distributions.hpp"
#include "sluice/core/clock.hpp"
#include "sluice/core/error.hpp"
#include "sluice/core/units.hpp"

namespace sluice::chaos {

struct MockRequest;

// Which requests a fault applies to. Empty fields match anything.
struct FaultMatch {
  std::string method;        // exact, e.g. "POST"
  std::string path;          // the target's path equals it, or starts with it when it ends in '*'
  std::string header_name;   // case-insensitive
  std::string header_value;  // exact; empty: the header only has to be present
  std::string body_contains;

  bool matches(const MockRequest& req, std::string_view body) const;
  bool needs_body() const { return !body_contains.empty(); }
};

// --- Actions. Those marked "ends the exchange" replace the route's response; the others shape it.

enum class LatencyScope { response, chunk };

// Delay before the response head (per response) or before each body write (per chunk).
struct LatencyFault {
  LatencyDistribution distribution;
  LatencyScope scope = LatencyScope::response;
};

struct RetryAfter {
  enum class Form { seconds, http_date };
  Form form = Form::seconds;
  std::chrono::seconds delay{1};
};

// An error status (ends the exchange). 429, 503 and 529 usually carry a Retry-After.
struct StatusFault {
  int status = 500;
  std::optional<std::string> body;  // default: a small JSON error naming the status
  std::optional<RetryAfter> retry_after;
};

// RST: before any response byte, or after `after_bytes` body bytes (at the body's end if shorter).
struct ResetFault {
  enum class When { before_response, mid_body };
  When when = When::before_response;
  std::uint64_t after_bytes = 0;
};

// Reads the request, never answers; lasts until the client closes or the mock stops (ends the
// exchange).
struct HangFault {};

// Paces the body to a rate.
struct BandwidthFault {
  std::uint64_t bytes_per_second = 0;
};

// Writes the body in pieces of piece_bytes, one every interval.
struct DribbleFault {
  std::uint64_t piece_bytes = 1;
  Duration interval{0};
};

// Passes `events` SSE events through, then closes the connection without ending the body (no
// terminating chunk). A stream with fewer events is cut at its end.
struct TruncatedSseFault {
  std::uint64_t events = 0;
};

// Cuts a streamed (text/event-stream) response with a reset: after_events = 0 sends nothing at
// all (the cut comes before the first byte, head included); N passes N SSE events, then resets
// without the stream's end marker. Responses that are not event streams pass untouched (the
// fault still counts as fired), so one rule can target the streams among mixed traffic.
struct StreamCutFault {
  std::uint64_t after_events = 0;
};

// Corrupts the SSE framing of each body write.
struct MalformedSseFault {
  enum class Mode {
    missing_data,   // "data:" field names removed: lines without a field, events without data
    broken_framing  // blank-line separators removed: events never end
  };
  Mode mode = Mode::missing_data;
};

// A 200 application/json response whose body is not valid JSON (ends the exchange).
struct MalformedJsonFault {
  int status = 200;
  std::optional<std::string> body;  // default: a JSON object cut off midway
};

// Closes the connection without sending a byte (ends the exchange).
struct EmptyResponseFault {};

using FaultAction = std::variant<LatencyFault, StatusFault, ResetFault, HangFault, BandwidthFault,
                                 DribbleFault, TruncatedSseFault, StreamCutFault, MalformedSseFault,
                                 MalformedJsonFault, EmptyResponseFault>;

// "latency", "status", "reset", "hang", "bandwidth", "dribble", "truncated_sse", "stream_cut",
// "malformed_sse", "malformed_json", "empty_response".
std::string_view action_name(const FaultAction& a);
// True for actions that replace the response (the first one that fires stops the evaluation).
bool ends_exchange(const FaultAction& a);

struct Fault {
  std::string name;  // for counters; defaults to "<action>#<position>"
  FaultMatch match;
  FaultAction action;
  double probability = 1.0;     // applied after first_n / every_nth
  std::uint64_t first_n = 0;    // when > 0: only the first N matching requests
  std::uint64_t every_nth = 0;  // when > 0: only matching requests N, 2N, 3N...
};

// Parses one fault, e.g. {"type": "status", "status": 503, "probability": 0.3,
// "match": {"path": "/v1/*"}}. Errors name the bad field: "fault.match.path: ...".
Result<Fault> fault_from_json(const nlohmann::json& j);
// An array of faults; errors are prefixed with the element's index ("faults[2].status: ...").
Result<std::vector<Fault>> faults_from_json(const nlohmann::json& j);
// Renders a fault as the JSON fault_from_json accepts (a round trip gives an equal fault).
nlohmann::json fault_to_json(const Fault& f);

// Counters of one fault: requests that matched it and times it fired.
struct FaultCount {
  std::string name;
  std::string action;
  std::uint64_t matched = 0;
  std::uint64_t fired = 0;
};

struct FaultCounters {
  std::uint64_t requests = 0;  // requests the mock has seen
  std::vector<FaultCount> faults;
  // {"requests": N, "faults": [{"name":..., "action":..., "matched":..., "fired":...}]}
  nlohmann::json to_json() const;
  // The fired count of the fault with this name (0 when unknown).
  std::uint64_t fired(std::string_view name) const;
};

// The faults that fired for one request, in plan order.
struct FaultDecision {
  std::vector<const Fault*> fired;
  Duration response_latency{0};  // sum of the per-response latencies that fired
  bool empty() const { return fired.empty(); }
};

class FaultPlan {
 public:
  explicit FaultPlan(std::vector<Fault> faults, std::unique_ptr<Rng> rng,
                     const Clock& clock = SystemClock::instance());
  // With a SeededRng.
  explicit FaultPlan(std::vector<Fault> faults, std::uint64_t seed = 1,
                     const Clock& clock = SystemClock::instance());
  FaultPlan(const FaultPlan&) = delete;
  FaultPlan& operator=(const FaultPlan&) = delete;

  const std::vector<Fault>& faults() const { return faults_; }
  bool empty() const { return faults_.empty(); }
  // True when some fault matches on the body, so the body must be read before deciding.
  bool needs_body() const { return needs_body_; }
  const Clock& clock() const { return clock_; }

  // Rules are evaluated in order. Every rule that matches and fires applies; the first one that
  // fires and ends the exchange stops the evaluation. Thread-safe; decisions are serialised so a
  // seed and a request order reproduce them.
  FaultDecision decide(const MockRequest& req, std::string_view body) const;
  // A draw for a per-chunk latency.
  Duration sample(const LatencyDistribution& d) const;

  // Counters per fault (requests is left 0: the server fills it in).
  FaultCounters counters() const;
  // Starts each fault's counters from those of the same-named fault in `previous`, so a plan
  // rebuilt with one fault more or less (the live control API) keeps the others' first_n and
  // every_nth progress. Call before the plan is shared.
  void continue_counters(const FaultPlan& previous);

 private:
  struct Stats {
    std::atomic<std::uint64_t> matched{0};
    std::atomic<std::uint64_t> fired{0};
  };
  std::vector<Fault> faults_;
  std::unique_ptr<Stats[]> stats_;
  bool needs_body_ = false;
  const Clock& clock_;
  mutable std::mutex mu_;  // guards rng_ and the order of decisions
  std::unique_ptr<Rng> rng_;
};

// "Sun, 06 Nov 1994 08:49:37 GMT" (IMF-fixdate).
std::string format_http_date(std::chrono::system_clock::time_point t);
// The Retry-After header value for a response sent at wall time `now`.
std::string retry_after_value(const RetryAfter& r, std::chrono::system_clock::time_point now);

}  // namespace sluice::chaos
