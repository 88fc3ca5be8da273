// The text of `sluice config example`: a realistic sluice.toml that also documents every key and
// its default. Tests load it, so it must stay valid as the schema grows.
#include "sluice/core/config/load.hpp"

namespace sluice::config {

std::string example() {
  return R"toml(# sluice.toml: the configuration of a Sluice gateway. Reference: man 5 sluice.toml
#
# Commented-out keys show their defaults. Durations take a unit: us, ms, s, m, h, d ("250ms",
# "1.5s", "14d"). Sizes take B, KiB, MiB or GiB ("64KiB"), or are a plain number of bytes.
# Secrets are never written here: keys that need one take *_env (the name of an environment
# variable) or *_file (the path of a file holding it).

[server]
# workers = 0                   # worker threads; 0 = one per CPU core
# max_connections = 10000       # most client connections open at once
# header_timeout = "10s"        # time allowed to read a request's headers (slowloris guard)
# idle_timeout = "60s"          # an idle keep-alive client connection is closed after this
# drain_timeout = "15s"         # on shutdown, time left for requests in flight; "0" = none
# max_header_bytes = "64KiB"    # larger request headers are answered with 431
# max_body_bytes = "1GiB"       # larger request bodies are answered with 413

[admin]
listen = "127.0.0.1:9901"       # admin API and metrics (the default); "off" turns it off

[log]
access = "stdout"               # access log (JSON lines): "off", "stdout" (default), "stderr"
                                # or a file path
level = "info"                  # "error", "warn", "info" (default) or "debug"

# Listeners accept client connections. The first one is called "main" unless it has a name;
# every later one needs a unique name.
[[listeners]]
name = "main"
listen = "0.0.0.0:8080"         # host:port, [v6]:port, or ":8080" for all interfaces;
                                # port 0 picks a free port

# A TLS listener needs a PEM certificate chain and its PEM key, both readable at load time:
# [[listeners]]
# name = "public-tls"
# listen = "0.0.0.0:8443"
# [listeners.tls]
# cert_file = "/etc/sluice/tls/cert.pem"
# key_file = "/etc/sluice/tls/key.pem"

# A request takes the first route, in file order, whose conditions all match. A route with no
# conditions matches everything.
[[routes]]
name = "health"                 # default: "route-N", N counting from 0 in file order
path = "/healthz"               # exact path
methods = ["GET", "HEAD"]       # default: any method
cluster = "api"                 # required: the [[clusters]] entry that serves the route

[[routes]]
name = "api-v2"
# listeners = []                # names of the listeners the route applies to; default: all
hosts = ["api.example.com", "*.api.example.com"]  # or host = "..."; default: any host
path_prefix = "/v2/"            # at most one of path, path_prefix and path_regex
rewrite_prefix = "/"            # replaces the matched prefix upstream (path_prefix only)
headers = { "X-Env" = "prod" }  # exact header values; names are case-insensitive
cluster = "api"
timeout = "30s"                 # request sent -> response head received (default 30s)
stream_idle_timeout = "5m"      # longest silence in either body stream (default 5m)
# host_rewrite = "api.internal" # send this Host upstream (default: the client's Host)
# auto_host_rewrite = false     # send the chosen endpoint's host[:port] as Host instead

[[routes]]
name = "legacy"
path_regex = "^/v1/(users|orders)/"   # ECMAScript regex, matched against the path
cluster = "legacy"
auto_host_rewrite = true

[[routes]]
name = "web"
cluster = "web"

# A cluster is a set of interchangeable upstream endpoints.
[[clusters]]
name = "api"                    # required, unique
endpoints = ["127.0.0.1:9001", "127.0.0.1:9002"]  # host:port, http://host[:port] (port 80) or
                                                  # https://host[:port] (TLS, port 443)
# connect_timeout = "5s"
# max_idle = 64                 # idle keep-alive connections kept per worker and endpoint
# pool_idle_timeout = "60s"     # a pooled connection idle this long is closed

[[clusters]]
name = "legacy"
endpoints = ["https://legacy.example.com"]
connect_timeout = "2s"

[clusters.tls]
# enabled = false               # true: TLS to every endpoint, not only the https:// ones
sni = "legacy.example.com"      # default: the endpoint's host when it is a name
# ca_file = "/etc/sluice/ca.pem"  # CAs to trust; default: the system store
verify = true                   # false skips certificate verification (tests only)
# cert_file = "/etc/sluice/client.pem"   # client certificate (needs key_file)
# key_file = "/etc/sluice/client.key"
# key_password_env = "LEGACY_KEY_PASSWORD"  # the key's password, from this variable,
# key_password_file = "/run/secrets/legacy-key-password"  # or from this file (not both)

[[clusters]]
name = "web"
endpoints = ["http://127.0.0.1:3000"]
max_idle = 16
pool_idle_timeout = "30s"
)toml";
}

}  // namespace sluice::config
