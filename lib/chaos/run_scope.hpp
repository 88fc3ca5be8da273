// The names a chaos assertion can use (private to lib/chaos; the list is in run_scope.cpp and in
// man/sluice-scenario.5, ASSERTION NAMES), and the Prometheus text parser behind gateway.metric.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "sluice/chaos/mock_server.hpp"
#include "sluice/chaos/runner.hpp"
#include "sluice/core/error.hpp"
#include "sluice/core/expr/scope.hpp"
#include "sluice/core/expr/value.hpp"

namespace sluice::chaos::detail {

struct MetricSample {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;
};

// Parses the Prometheus text exposition format: comments are skipped, samples kept in order.
// A malformed line is an error naming its line number.
Result<std::vector<MetricSample>> parse_prometheus(std::string_view text);

// Small pieces shared by the scope's files.
Error scope_error(std::string message);
expr::Value ms_value(double ms);  // a duration value
// " (hint: did you mean \"x\"?)" when word is close to one of known, else "".
std::string hint_for(std::string_view word, const std::vector<std::string>& known);
// The single string argument of fn("x"), or an error naming fn.
Result<std::string> one_string(std::string_view fn, const expr::Arguments& args);
template <class Map>
std::vector<std::string> keys_of(const Map& m) {
  std::vector<std::string> out;
  for (const auto& [k, v] : m) out.push_back(k);
  return out;
}

// The nearest-rank percentile of values (p in 0..100); 0 when there are none.
double nearest_rank(std::vector<double> values, double p);

// What the run observed besides the client figures, gathered after the last phase.
struct RunFacts {
  bool has_gateway = false;
  std::optional<int> gateway_exit_code;  // once the gateway has exited
  std::optional<std::vector<MetricSample>> metrics;
  std::string metrics_error;  // why metrics is empty
  // GET /admin/upstreams after the last phase, for gateway.cluster(...) and gateway.endpoint(...).
  std::optional<nlohmann::json> upstreams;
  std::string upstreams_error;
  struct Mock {
    std::uint64_t requests = 0;
    std::map<std::string, std::uint64_t, std::less<>> fired;  // by fault name, over the whole run
    std::map<std::string, std::uint64_t, std::less<>> by_phase;  // requests per phase
    std::vector<RecordedRequest> recorded;                       // labelled with their phase
    std::uint64_t dropped = 0;  // older requests no longer recorded
    std::string address;        // "127.0.0.1:PORT", as gateway endpoints are named
  };
  struct Proxy {
    std::uint64_t connections = 0;
    std::uint64_t bytes_up = 0;
    std::uint64_t bytes_down = 0;
  };
  std::map<std::string, Mock, std::less<>> mocks;
  std::map<std::string, Proxy, std::less<>> proxies;
  std::map<std::string, std::chrono::steady_clock::time_point, std::less<>> phase_starts;
};

// What an assertion looks at: a phase (empty: the whole run) and, within it, a time window.
struct ScopeWindow {
  std::string phase;
  std::optional<double> from_ms;  // since the phase start
  std::optional<double> to_ms;
};

// Fills `scope` with gateway.cluster("NAME") and gateway.endpoint("CLUSTER", mock="NAME"), read
// from the gateway's /admin/upstreams (run_scope_gateway.cpp).
void fill_gateway_upstreams(expr::MapScope& scope, const RunFacts& facts);

// Fills `scope` with mock("NAME") and the recorded requests it gives access to
// (run_scope_mocks.cpp).
void fill_mock_scope(expr::MapScope& scope, const RunFacts& facts, const ScopeWindow& window);

// The members and methods of recorded requests to LLM mocks (run_scope_llm.cpp): nullopt when
// name is not one of them. fill_llm_scope defines the objects they hand out (message, json).
std::optional<Result<expr::Value>> llm_request_member(const expr::Object& o,
                                                      const RecordedRequest& r,
                                                      std::string_view name);
std::optional<Result<expr::Value>> llm_request_method(const expr::Object& o,
                                                      const RecordedRequest& r,
                                                      std::string_view name,
                                                      const expr::Arguments& args);
const std::vector<std::string>& llm_request_members();
// The system prompt of a request to an LLM mock; nullopt when it is not one or cannot be read.
std::optional<std::string> llm_system_text(const RecordedRequest& r);
void fill_llm_scope(expr::MapScope& scope);

// Fills `scope` with the assertion names: `client.*` from `client` (whose traffic took `seconds`),
// `slowloris.*` from `slowloris` when a phase in view had slow clients, the rest from `facts`
// (which, like `window`, must outlive the scope).
void fill_run_scope(expr::MapScope& scope, const ClientStats& client, double seconds,
                    const SlowlorisStats* slowloris, const RunFacts& facts,
                    const ScopeWindow& window);

}  // namespace sluice::chaos::detail
