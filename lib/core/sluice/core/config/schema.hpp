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

// [routes.llm]: the route answers the LLM APIs itself (OpenAI chat completions, embeddings and
// models; Anthropic messages) instead of proxying to a cluster.
struct ResponseCacheConfig {
  bool enabled = false;
  std::uint32_t max_entries = 1000;
  std::uint64_t max_bytes = 64ull << 20;
  Duration ttl = 5min;
};

// The context-window policy of a route or alias: what to do with a prompt that would not fit.
enum class ContextStrategy { reject, truncate_oldest, middle_out, summarize };
std::string_view to_string(ContextStrategy s);

struct ContextPolicy {
  ContextStrategy strategy = ContextStrategy::truncate_oldest;
  // The window in tokens; unset: the smallest context_window among the alias's targets (no
  // policy applies to an alias without one).
  std::optional<std::int64_t> window;
  // Output tokens kept free when the request sets no max_tokens (it is reserved when it does).
  std::int64_t reserve_output = 1024;
  // summarize: the alias that writes the summary, its limits, and what to do when it fails.
  std::string summarizer;
  Duration summary_timeout = 10s;
  std::int64_t summary_max_tokens = 512;
  bool summary_fallback_truncate = true;  // false: a failed summary answers the reject 400
  SourcePos pos;
};

// Instructions added to every request of a route, alias or key. Text may use {{date}},
// {{datetime}}, {{route}}, {{model}}, {{key}} and {{key.<metadata name>}}.
struct Injection {
  enum class Role { system, user };
  enum class Position { prepend, append };
  Role role = Role::system;
  Position position = Position::append;
  std::string text;
};

// Requests and tokens per minute; 0: no limit.
struct LlmLimits {
  std::uint64_t rpm = 0;
  std::uint64_t tpm = 0;
};

// [routes.llm.sessions]: server-side conversations, keyed by the x-sluice-session header.
struct SessionsConfig {
  bool enabled = false;
  Duration ttl = 24h;
  std::uint32_t max_messages = 1000;
  std::uint64_t max_bytes = 4ull << 20;
};

struct LlmRoute {
  ResponseCacheConfig cache;
  bool log_bodies = false;  // prompt and completion text in the access log, redacted
  // Aliases this route serves; empty: every [[models]] alias.
  std::vector<std::string> models;
  std::optional<ContextPolicy> context;  // for aliases without their own
  SessionsConfig sessions;
  std::vector<Injection> inject;
  LlmLimits limits;
  bool reserve_output = false;  // TPM: reserve max_tokens at admission
  bool cut_streams = false;     // TPM: end a stream whose output runs past the limit
  bool require_key = false;     // refuse requests without a virtual key
};

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
  std::optional<LlmRoute> llm;  // set: an LLM route (cluster is then empty)
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

// [[providers]]: an LLM provider. Each is also a cluster of the same name (its endpoint is the
// base URL's host), so health checks, outlier detection and breakers apply to it.
enum class ProviderKind { openai, openai_compatible, anthropic, gemini };
std::string_view to_string(ProviderKind k);

struct Provider {
  std::string name;
  ProviderKind kind = ProviderKind::openai;
  std::string base_url;      // as written
  std::string base_path;     // the URL's path without a trailing '/', e.g. "/v1"
  std::string host_header;   // host[:port] for the Host header
  std::string api_key_env;   // secret: the name of an environment variable
  std::string api_key_file;  // secret: a file holding the key
  std::string api_version;   // openai-compatible: sent as ?api-version= (Azure style)
  std::string anthropic_version = "2023-06-01";
  std::map<std::string, std::string> headers;  // extra request headers (lower-case names)
  Duration timeout = 120s;                     // request sent -> response head
  Duration stream_idle_timeout = 60s;          // longest gap between stream bytes
  SourcePos pos;
};

enum class LlmStrategy { weighted, least_in_flight, lowest_latency, cheapest };
std::string_view to_string(LlmStrategy s);

struct ModelTarget {
  std::string provider;
  std::string model;  // empty: the model the client asked for
  std::uint32_t weight = 1;
  std::optional<std::int64_t> context_window;  // tokens; for /v1/models and the docs
};

// [[models]]: an alias clients name as their model.
struct ModelAlias {
  std::string name;  // "*": any model no other alias names
  std::vector<ModelTarget> targets;
  LlmStrategy strategy = LlmStrategy::weighted;
  std::vector<std::string> fallbacks;  // aliases tried in order once every target failed
  std::string context_fallback;        // the alias for a context-length error
  // A target that failed this many times in a row (429, 5xx, 529, timeouts, connect errors)
  // cools down for `cooldown`, or for as long as Retry-After / x-ratelimit-reset-* says.
  std::uint32_t cooldown_failures = 3;
  Duration cooldown = 30s;
  std::uint32_t attempts = 0;  // tries per target before moving on (0: 1, 2 for 529)
  std::optional<ContextPolicy> context;
  std::vector<Injection> inject;
  LlmLimits limits;
  SourcePos pos;
};

// [[keys]]: a virtual key clients send as their API key (Authorization: Bearer or x-api-key).
// Only its SHA-256 is written down.
struct VirtualKey {
  std::string name;
  std::string sha256;                  // lower-case hex, 64 digits
  std::vector<std::string> models;     // allowed aliases; empty: all
  std::map<std::string, std::string> metadata;
  LlmLimits limits;
  double budget_daily_usd = 0;    // 0: none
  double budget_monthly_usd = 0;  // 0: none
  std::vector<Injection> inject;
  SourcePos pos;
};

// [store]: where state that outlives a request lives.
struct Store {
  enum class Kind { memory, sqlite };
  Kind kind = Kind::memory;
  std::string path;  // sqlite
};

// [[prices]]: overrides the shipped price table (USD per million tokens).
struct PriceOverride {
  std::string model;
  double input = 0, output = 0, cached_input = -1, cache_write = -1;  // -1: the input price
  SourcePos pos;
};

struct Config {
  std::string source;  // file path, or "<quick>" / "<demo>"
  Server server;
  Admin admin;
  Log log;
  std::vector<Listener> listeners;
  std::vector<Route> routes;
  std::vector<Cluster> clusters;  // providers' clusters included, after the configured ones
  std::vector<Provider> providers;
  std::vector<ModelAlias> models;
  std::vector<PriceOverride> prices;
  std::vector<VirtualKey> keys;
  Store store;
};

}  // namespace sluice::config
