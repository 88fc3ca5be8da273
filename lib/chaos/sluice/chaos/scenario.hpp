// Scenario files (man sluice-scenario.5): the mocks, proxies and gateway a chaos drill starts, its
// phases of traffic and faults, and the assertions over the outcome. Loading checks everything a
// runner would otherwise trip over halfway through a run; the runner itself lives elsewhere.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sluice/chaos/fault_plan.hpp"
#include "sluice/chaos/llm_mock.hpp"
#include "sluice/chaos/mock_routes.hpp"
#include "sluice/chaos/toxics.hpp"
#include "sluice/core/config/schema.hpp"
#include "sluice/core/error.hpp"
#include "sluice/core/expr/expr.hpp"
#include "sluice/core/units.hpp"

namespace sluice::chaos {

using config::SourcePos;

// An HTTP mock upstream, bound on ADDRESS:0 (127.0.0.1 unless `address` names another loopback
// address), or on the port of an earlier mock (`port = "mock.NAME"`). Its address is
// ${mock.NAME}, its parts ${mock.NAME.host} and ${mock.NAME.port}.
struct ScenarioMock {
  std::string name;
  std::string address = "127.0.0.1";
  std::string port_of;  // the earlier mock whose port this one shares; empty: a free port
  std::vector<MockRouteSpec> routes;  // [[mocks.routes]]; empty: the demo routes
  std::optional<LlmMockSpec> llm;     // [mocks.llm]: a mock LLM provider instead of routes
  std::vector<Fault> faults;          // the initial fault plan
  SourcePos pos;                      // the [[mocks]] header
};

// The routes a scenario mock serves: its LLM provider's, its [[mocks.routes]], or the demo
// routes.
std::vector<MockRoute> routes_of(const ScenarioMock& m);

// A TCP proxy with toxics, bound on 127.0.0.1:0. Its address is ${proxy.NAME}.
struct ScenarioProxy {
  std::string name;
  // Exactly one is set: the mock it forwards to ("mock.NAME"), or a fixed "host:port".
  std::string upstream_mock;
  std::string upstream_address;
  std::vector<Toxic> toxics;  // the initial toxics
  SourcePos pos;
};

// `sluice serve`, started by the runner on port 0.
struct ScenarioGateway {
  // The config text with ${mock.NAME} and ${proxy.NAME} placeholders still in it (substitute() them
  // once the addresses are known). Inline, or the contents of `file` when the scenario names one.
  std::string config;
  std::string file;  // the path, resolved against the scenario file's directory; empty when inline
  std::string target = "main";  // the listener phase traffic goes to
  // A hosts(5) file the runner writes (placeholders substituted) before the gateway starts; its
  // path is ${hosts_file}, for the config's [server] hosts_file. Phases may rewrite it.
  std::optional<std::string> hosts;
  SourcePos pos;
};

// Where a phase sends its traffic.
struct PhaseTarget {
  enum class Kind { none, gateway, mock, proxy };
  Kind kind = Kind::none;  // none: the phase sends no traffic and there is no gateway
  std::string name;        // the mock or proxy name; empty for gateway and none
};

// One request template; a phase cycles through its templates round robin.
struct RequestTemplate {
  std::string method = "GET";
  std::string path = "/";
  std::vector<std::pair<std::string, std::string>> headers;  // sorted by name
  std::string body;
};

// A fault switched on for `mock` at the start of a phase.
struct PhaseFault {
  std::string mock;
  Fault fault;
};

// A toxic added to `proxy` at the start of a phase.
struct PhaseToxic {
  std::string proxy;
  Toxic toxic;
};

// A toxic removed from `proxy` by name at the start of a phase.
struct ToxicRemoval {
  std::string proxy;
  std::string name;
};

// Slow clients (slowloris): connections that send a request head `bytes` at a time, one write
// every `interval`, and never finish it. They run beside the phase's other traffic, if any.
struct Slowloris {
  std::uint32_t connections = 10;
  Duration interval = std::chrono::seconds(1);
  std::uint32_t bytes = 1;
};

struct Phase {
  std::string name;
  Duration duration{0};
  // Traffic: an open model (rate, requests per second) or closed-loop clients (concurrency), at
  // most one of them. Neither: the phase only waits, e.g. for a fault to take effect.
  std::optional<double> rate;
  std::optional<std::uint32_t> concurrency;
  PhaseTarget target;
  std::vector<RequestTemplate> requests;  // never empty: one GET / by default
  std::optional<Slowloris> slowloris;

  // Changes made at the phase start, in this order: clear_faults, remove_toxics, faults, toxics.
  std::vector<std::string> clear_faults;  // mock names
  std::vector<ToxicRemoval> remove_toxics;
  std::vector<PhaseFault> faults;
  std::vector<PhaseToxic> toxics;

  // New contents for the gateway's hosts file ([gateway] hosts), written at the phase start
  // (placeholders not yet substituted), before the phase's traffic begins.
  std::optional<std::string> hosts;
  // A new gateway config (placeholders not yet substituted), written and signalled with SIGHUP
  // `reload_at` into the phase.
  std::optional<std::string> reload;
  Duration reload_at{0};
  // A signal for the gateway (SIGTERM, SIGINT or SIGHUP; 0: none), sent `signal_at` into the phase.
  int signal = 0;
  Duration signal_at{0};

  SourcePos pos;

  bool sends_traffic() const { return rate || concurrency; }
  bool has_clients() const { return sends_traffic() || slowloris; }
};

struct Assertion {
  std::string name;  // default: the expression's source
  expr::Expr expect;
  std::string phase;  // empty: the whole run; otherwise only that phase's client stats
  // With a phase: only the requests sent from `after` into the phase and before `before`.
  std::optional<Duration> after;
  std::optional<Duration> before;
  SourcePos pos;  // the expect value, so a failure can cite the line
};

struct Scenario {
  std::string source;  // the file path or source name
  std::string name;
  std::optional<std::uint64_t> seed;  // `chaos run --seed` overrides it
  Duration timeout = std::chrono::minutes(5);
  std::vector<ScenarioMock> mocks;
  std::vector<ScenarioProxy> proxies;
  std::optional<ScenarioGateway> gateway;
  std::vector<Phase> phases;          // at least one (ScenarioUse::drill)
  std::vector<Assertion> assertions;  // at least one (ScenarioUse::drill)

  const ScenarioMock* mock(std::string_view name) const;
  const ScenarioProxy* proxy(std::string_view name) const;
  const Phase* phase(std::string_view name) const;
};

// Parses and checks a scenario. Errors (ErrorKind::config) list every problem, one per line in
// file order, as "FILE:LINE:COL: key.path: what is wrong (hint: how to fix it)".
// A drill needs phases and assertions; `sluice chaos mock` runs only the mocks and proxies, so
// a file for it may have neither.
enum class ScenarioUse { drill, mocks_only };
Result<Scenario> load_scenario_file(const std::string& path, ScenarioUse use = ScenarioUse::drill);
// `source_name` stands for the file in messages; a relative gateway.file is resolved against its
// directory.
Result<Scenario> load_scenario_string(std::string_view toml, std::string_view source_name,
                                      ScenarioUse use = ScenarioUse::drill);

// Replaces ${mock.NAME} and ${proxy.NAME} with addresses keyed "mock.NAME" / "proxy.NAME"
// ("127.0.0.1:40123"), and any other ${KEY} with addresses[KEY] (mock.NAME.host, mock.NAME.port,
// hosts_file); "$${" stands for a literal "${". An unknown or unterminated placeholder is
// an error naming it.
Result<std::string> substitute(std::string_view text,
                               const std::map<std::string, std::string>& addresses);

}  // namespace sluice::chaos
