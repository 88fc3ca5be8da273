// `sluice diagnose`: why is there (or would there be) "no healthy upstream"? Every endpoint of
// every cluster is probed from the outside (DNS, connect, TLS, the health request) and, with an
// admin URL, compared with the gateway's own view (GET /admin/upstreams: health checks, outlier
// ejections, draining, the cluster's breaker). Each endpoint gets a verdict, its likely cause in
// one sentence and a suggested fix; each cluster gets its usable count. See man sluice-diagnose.1.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/core/config/schema.hpp"
#include "sluice/core/error.hpp"
#include "sluice/probe/runner.hpp"
#include "sluice/probe/target.hpp"

namespace sluice::probe::diag {

using namespace std::chrono_literals;

// ---- The gateway's view, parsed from GET /admin/upstreams ----------------------------------

struct HealthView {
  bool healthy = true;
  std::uint32_t consecutive_passes = 0;
  std::uint32_t consecutive_failures = 0;
  bool checked = false;  // a check has run: the last_* fields mean something
  std::string last_check;
  double last_latency_ms = 0;
  int last_status = 0;  // 0: none (a transport error)
  std::string last_error;
};

struct OutlierView {
  bool ejected = false;
  std::string rule;
  std::string detail;
  double ejected_for_ms = 0;
  std::uint32_t times_ejected = 0;
};

struct BreakerView {
  std::string state;  // closed, open, half_open
  std::string reason;
  std::uint64_t openings = 0;
  std::string since;       // when it entered its state (RFC 3339); empty before the first opening
  std::string until;       // while open: when it may half-open (RFC 3339)
  double open_for_ms = 0;  // while open: how long until then
};

// The cluster's [clusters.bulkhead], as the gateway counts it now.
struct BulkheadView {
  std::uint32_t max_concurrent = 0;
  std::uint32_t max_queue = 0;
  double queue_timeout_ms = 0;
  std::uint32_t in_flight = 0;
  std::uint32_t queued = 0;
  std::uint64_t rejected_total =
      0;  // turned away so far by a full queue (timeouts are not counted)
  bool full() const { return max_concurrent > 0 && in_flight >= max_concurrent; }
};

struct GatewayEndpoint {
  std::string name;   // host:port
  std::string state;  // healthy, unhealthy, ejected, draining, slow_start
  std::string reason;
  bool usable = true;
  double weight = 1;
  std::optional<HealthView> health_check;
  std::optional<OutlierView> outlier;
};

struct GatewayCluster {
  std::string name;
  std::string mode;  // how the gateway routes: normal, panic_route_all, ...
  std::size_t usable = 0;
  std::size_t total = 0;
  std::optional<BreakerView> breaker;
  std::optional<BulkheadView> bulkhead;
  std::vector<GatewayEndpoint> endpoints;
};

// Parses the body of GET /admin/upstreams ({"clusters":[...]}) or of /admin/upstreams/CLUSTER
// (one cluster object). Malformed JSON or a wrong shape is an ErrorKind::protocol error that
// says where; it never throws.
Result<std::vector<GatewayCluster>> parse_admin_upstreams(std::string_view body);

// ---- The diagnosis --------------------------------------------------------------------------

enum class Verdict {
  ok,
  slow,           // answered, but slower than --slow
  cert_expiring,  // the certificate expires within --cert-warning
  slow_start,     // the gateway ramps it up: usable with a reduced weight
  draining,       // drained through the admin API
  breaker_open,   // the cluster's circuit breaker is open
  ejected,        // outlier detection ejected it
  unhealthy,      // reachable, but the health check fails
  unreachable,    // DNS, connect or TLS failed
};

std::string_view to_string(Verdict v);
// Whether the gateway would send traffic to an endpoint with this verdict.
bool is_usable(Verdict v);

struct Thresholds {
  Duration slow = 1s;                // a health answer slower than this is "slow"
  Duration cert_warning = 24h * 14;  // a certificate expiring sooner is "cert_expiring"
};

struct EndpointDiagnosis {
  std::string cluster;
  std::string endpoint;                    // host:port
  std::string origin;                      // config FILE:LINE:COL, or "admin"
  std::optional<TargetReport> probe;       // what the outside probe saw (absent: not probed)
  std::optional<GatewayEndpoint> gateway;  // what the gateway says (--admin)
  Verdict verdict = Verdict::ok;
  std::string phase;  // unreachable: dns, connect or tls; unhealthy: status, body, timeout, ...
  bool usable = true;
  std::string cause;  // one sentence
  std::string fix;    // one sentence; empty when nothing needs fixing
};

struct ClusterDiagnosis {
  std::string name;
  std::vector<EndpointDiagnosis> endpoints;
  std::size_t usable = 0;
  std::size_t total = 0;
  std::optional<GatewayCluster> gateway;  // without its endpoints (they sit in `endpoints`)
  std::string verdict;                    // ok, degraded, down
  std::string cause;                      // why it is degraded or down; empty when ok
};

struct Diagnosis {
  std::string mode;    // "config" or "admin"
  std::string source;  // the config path and/or the admin URL
  std::vector<ClusterDiagnosis> clusters;
  std::optional<std::string> admin_error;  // the admin URL could not be queried
  Duration elapsed{0};
  std::chrono::system_clock::time_point now;
};

// The verdict, cause and fix of one endpoint from what the probe saw and what the gateway says
// (either may be absent). `breaker` and `bulkhead` are the cluster's, when the gateway reports
// them: an open breaker makes every endpoint breaker_open, a full bulkhead makes an otherwise
// fine endpoint slow.
EndpointDiagnosis diagnose_endpoint(std::string cluster, std::string endpoint,
                                    std::optional<TargetReport> probe,
                                    std::optional<GatewayEndpoint> gateway,
                                    const std::optional<BreakerView>& breaker,
                                    const Thresholds& thresholds,
                                    std::chrono::system_clock::time_point now,
                                    const std::optional<BulkheadView>& bulkhead = std::nullopt);

// Counts usable endpoints and sets the cluster's verdict and cause (which names an open breaker
// or a full bulkhead when the gateway reports one).
void summarize(ClusterDiagnosis& c);

// One endpoint to look at: where it comes from and how to probe it.
struct Planned {
  std::string cluster;
  std::string endpoint;
  std::string origin;
  std::optional<Target> target;  // absent: not probed
};

// Every endpoint of a gateway config, probed the way its cluster's health check would.
Result<std::vector<Planned>> plan_from_config(const config::Config& c);
// The endpoints the gateway lists; each probed like the config's endpoint of the same cluster
// and name when `from_config` has it, else with a TCP connect.
Result<std::vector<Planned>> plan_from_admin(const std::vector<GatewayCluster>& gateway,
                                             const std::vector<Planned>& from_config);

struct Options {
  Duration timeout = 3s;  // per check
  std::size_t concurrency = 10;
  Thresholds thresholds;
};

// Probes the planned endpoints (through env.probe, at most `concurrency` at once) and diagnoses
// them, with the gateway's view when given.
Diagnosis run(const std::vector<Planned>& plan, const std::vector<GatewayCluster>* gateway,
              const Options& options, const Environment& env);

// What GET ADMIN_URL/admin/upstreams answered: the clusters, or an error saying why the admin
// API could not be queried (unreachable, a status other than 200, malformed JSON).
Result<std::vector<GatewayCluster>> fetch_admin_upstreams(const std::string& admin_url,
                                                          Duration timeout);

// 0 every cluster has a usable endpoint; 1 some cluster has none; 3 the admin URL could not be
// queried (3 wins over 1).
int exit_status(const Diagnosis& d);

// Reports: text (a readable report; ANSI colour when asked), json, junit (one testsuite per
// cluster, one testcase per endpoint).
std::string report_text(const Diagnosis& d, bool color);
std::string report_json(const Diagnosis& d);
std::string report_junit(const Diagnosis& d);
bool is_report_format(std::string_view format);  // text, json, junit
std::string render_report(std::string_view format, const Diagnosis& d, bool color);

}  // namespace sluice::probe::diag
