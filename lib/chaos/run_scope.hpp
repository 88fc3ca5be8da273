// The names a chaos assertion can use (private to lib/chaos; the list is in run_scope.cpp and in
// man/sluice-scenario.5, ASSERTION NAMES), and the Prometheus text parser behind gateway.metric.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sluice/chaos/runner.hpp"
#include "sluice/core/error.hpp"
#include "sluice/core/expr/scope.hpp"

namespace sluice::chaos::detail {

struct MetricSample {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;
};

// Parses the Prometheus text exposition format: comments are skipped, samples kept in order.
// A malformed line is an error naming its line number.
Result<std::vector<MetricSample>> parse_prometheus(std::string_view text);

// What the run observed besides the client figures, gathered after the last phase.
struct RunFacts {
  bool has_gateway = false;
  std::optional<int> gateway_exit_code;  // once the gateway has exited
  std::optional<std::vector<MetricSample>> metrics;
  std::string metrics_error;  // why metrics is empty
  struct Mock {
    std::uint64_t requests = 0;
    std::map<std::string, std::uint64_t, std::less<>> fired;  // by fault name, over the whole run
  };
  struct Proxy {
    std::uint64_t connections = 0;
    std::uint64_t bytes_up = 0;
    std::uint64_t bytes_down = 0;
  };
  std::map<std::string, Mock, std::less<>> mocks;
  std::map<std::string, Proxy, std::less<>> proxies;
};

// Fills `scope` with the assertion names: `client.*` from `client` (whose traffic took `seconds`),
// the rest from `facts` (which must outlive the scope).
void fill_run_scope(expr::MapScope& scope, const ClientStats& client, double seconds,
                    const RunFacts& facts);

}  // namespace sluice::chaos::detail
