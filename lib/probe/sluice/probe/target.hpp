// Probe targets: what to probe and how. They come from the command line (parse_target), a
// targets file (targets_file.hpp) or a gateway config (config_targets.hpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sluice/core/error.hpp"
#include "sluice/core/expr/expr.hpp"
#include "sluice/core/units.hpp"

namespace sluice::probe {

enum class Kind { http, tcp, grpc, dns };

std::string_view to_string(Kind k);

enum class HttpVersion { any, http1_1, http2 };

using Headers = std::vector<std::pair<std::string, std::string>>;

struct TlsOptions {
  std::string ca_file;       // default: the system store
  std::string cert_file;     // client certificate (PEM)
  std::string key_file;      // its private key (PEM)
  std::string key_password;  // a secret read from a variable or a file; never printed
  std::string sni;           // default: the URL's host
  bool insecure = false;     // skip verifying the server's certificate
};

// How to probe. The command-line flags fill one; a targets file's [defaults] and each of its
// [[targets]] override it key by key.
struct RequestOptions {
  std::string method = "GET";
  Headers headers;
  std::string body;
  bool follow_redirects = false;
  long max_redirects = 10;
  HttpVersion http_version = HttpVersion::any;
  TlsOptions tls;
  std::string service;                      // grpc: the service to check, instead of the URL's path
  std::string send;                         // tcp: bytes to send once connected
  std::string receive;                      // tcp: a regular expression the reply must match
  std::optional<Duration> timeout;          // per probe (default: --probe-timeout)
  std::optional<Duration> connect_timeout;  // default: the probe timeout
};

// A parsed condition and where it was written.
struct Condition {
  std::string source;
  expr::Expr expr;
  std::string origin;  // "--expect", "targets.toml:4:10", "default"
};

struct Target {
  std::string name;  // shown in reports; a password in the URL is replaced by ***
  Kind kind = Kind::http;
  std::string url;   // as given (http, https); built for grpc; "tcp://..." or "dns://..."
  bool tls = false;  // https://, grpcs://
  std::string host;  // without brackets
  std::uint16_t port = 0;
  std::string path;  // http: path and query ("/" when absent); grpc: "/service" or ""
  RequestOptions options;
  std::vector<Condition> conditions;  // once built, never empty: the kind's default if none given
  std::string origin;                 // "command line", "targets.toml:3:1", ...
};

// http://, https://, tcp://HOST:PORT, grpc://HOST:PORT[/SERVICE], grpcs://..., dns://NAME.
// Errors are ErrorKind::usage, "what (hint: how to fix it)", without the text itself.
Result<Target> parse_target(std::string_view text);

// The gRPC service a grpc target checks: options.service, else the URL's path without its "/".
std::string grpc_service(const Target& t);

// The URL with the password of its userinfo replaced: http://user:***@host/.
std::string redact_url(std::string_view url);

// Header names whose values are secrets (Authorization, Cookie, X-Api-Key, anything with token,
// secret, password or session in it). Their values never reach output or reports.
bool is_sensitive_header(std::string_view name);

// "Name: value" as --header takes it.
Result<std::pair<std::string, std::string>> parse_header(std::string_view text);

// "1.1" or "2" (also "1", "http1.1", "h2").
Result<HttpVersion> parse_http_version(std::string_view text);

}  // namespace sluice::probe
