// The whole sluice.toml schema as plain structs. Loaded and validated once by load.hpp; the
// gateway and tools then hold a shared_ptr<const Config> and never mutate it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sluice/core/config/resilience.hpp"
#include "sluice/core/units.hpp"

namespace sluice::config {

using namespace std::chrono_literals;

// Where a value came from, so later stages (DNS resolution, reload) can cite file:line:col.
struct SourcePos {
  std::string file;
  std::uint32_t line = 0;
  std::uint32_t column = 0;
};

struct HostPort {
  std::string host;  // name or literal address, without brackets
  std::uint16_t port = 0;
};

struct ServerTls {
  std::string cert_file;  // PEM chain
  std::string key_file;   // PEM private key
};

struct Listener {
  std::string name;
  HostPort address;
  std::optional<ServerTls> tls;
  SourcePos pos;
};

struct Server {
  unsigned workers = 0;  // 0: one per core
  std::uint32_t max_connections = 10000;
  Duration header_timeout = 10s;
  Duration idle_timeout = 60s;
  Duration drain_timeout = 15s;
  std::uint64_t max_header_bytes = 64 * 1024;
  std::uint64_t max_body_bytes = 1ull << 30;
  // A hosts(5) file consulted before the system resolver for upstream endpoint names; re-read at
  // every resolution (DNS refresh, reload). Empty: none.
  std::string hosts_file;
};

struct Admin {
  bool enabled = true;
  HostPort address{"127.0.0.1", 9901};
};

enum class AccessLogTarget { off, stdout_, stderr_, file };

struct Log {
  AccessLogTarget access = AccessLogTarget::stdout_;
  std::string access_path;  // when access == file
  std::string level = "info";
};

enum class PathMatch { any, exact, prefix, regex };

struct Route {
  std::string name;
  std::vector<std::string> listeners;  // empty: every listener
  std::vector<std::string> hosts;      // empty: any; "*.example.com" matches subdomains
  PathMatch path_match = PathMatch::any;
  std::string path;                            // the exact path, prefix or regex source
  std::vector<std::string> methods;            // empty: any; upper case
  std::map<std::string, std::string> headers;  // lower-case name -> exact value
  std::string cluster;
  std::optional<std::string> rewrite_prefix;  // replaces the matched prefix (prefix match only)
  std::optional<std::string> host_rewrite;    // literal Host sent upstream
  bool auto_host_rewrite = false;             // Host = the chosen endpoint's host[:port]
  Duration timeout = 30s;                     // request sent -> response head received
  Duration stream_idle_timeout = 5min;        // longest gap in either body stream
  Retry retry;
  std::optional<Fallback> fallback;
  SourcePos pos;
};

struct UpstreamTls {
  bool enabled = false;
  std::string sni;      // default: the endpoint host when it is a name
  std::string ca_file;  // default: the system store
  bool verify = true;
  std::string cert_file;  // client certificate (optional)
  std::string key_file;
  std::string key_password_env;   // secret: name of an environment variable
  std::string key_password_file;  // secret: path to a file
};

struct Endpoint {
  HostPort address;
  bool tls = false;          // from an https:// URL
  std::uint32_t weight = 1;  // for weighted balancers and slow start
  SourcePos pos;
};

struct Cluster {
  std::string name;
  std::vector<Endpoint> endpoints;
  Duration connect_timeout = 5s;
  std::uint32_t max_idle = 64;  // idle keep-alive connections kept per worker and endpoint
  Duration pool_idle_timeout = 60s;
  UpstreamTls tls;
  HealthCheck health_check;
  OutlierDetection outlier;
  double panic_threshold = 50;  // percent of usable endpoints
  PanicMode panic_mode = PanicMode::route_all;
  Duration slow_start = 0s;  // the ramp-up window of a new or re-admitted endpoint; 0: off
  LbPolicy lb = LbPolicy::round_robin;
  HashKey hash_key;
  Breaker breaker;
  Bulkhead bulkhead;
  Duration dns_refresh = 0s;  // re-resolve endpoint names this often; 0: only at load
  SourcePos pos;
};

struct Config {
  std::string source;  // file path, or "<quick>" / "<demo>"
  Server server;
  Admin admin;
  Log log;
  std::vector<Listener> listeners;
  std::vector<Route> routes;
  std::vector<Cluster> clusters;
};

}  // namespace sluice::config
