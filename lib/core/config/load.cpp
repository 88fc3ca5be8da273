// sluice.toml into config::Config: every table is read with a TableReader (types, values, unknown
// keys), then names are cross-checked; all problems are reported together, in file order.
#include "sluice/core/config/load.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include "reader.hpp"
#include "llm_reader.hpp"
#include "resilience_reader.hpp"

namespace sluice::config {
namespace {

using detail::closest;
using detail::Problems;
using detail::quoted_list;
using detail::TableReader;
using StringNodes = std::vector<const toml::value<std::string>*>;

Error config_error(std::string message) {
  return make_error(ErrorKind::config, ErrorSource::internal, std::move(message));
}

// "what (hint: how)", the body every config error ends with.
std::string body(std::string_view what, std::string_view hint) {
  return fmt::format("{} (hint: {})", what, hint);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool all_of_chars(std::string_view s, std::string_view extra) {
  return std::all_of(s.begin(), s.end(), [&](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || extra.find(c) != std::string_view::npos;
  });
}

// Names show up in logs, metric labels and admin URLs, so they stay plain.
bool valid_name(std::string_view s) {
  return !s.empty() && all_of_chars(s, "-_.");
}

bool valid_host_name(std::string_view s) {
  return !s.empty() && s.front() != '.' && s.front() != '-' && all_of_chars(s, "-_.");
}

bool valid_env_name(std::string_view s) {
  return !s.empty() && !std::isdigit(static_cast<unsigned char>(s.front())) && all_of_chars(s, "_");
}

std::string host_port_text(const HostPort& hp) {
  if (hp.host.find(':') != std::string::npos) return fmt::format("[{}]:{}", hp.host, hp.port);
  return fmt::format("{}:{}", hp.host, hp.port);
}

// ---- what is cross-checked once every table has been read

struct Named {
  std::string name;
  toml::source_position at;
  std::string path;
};

struct Reference {
  const toml::value<std::string>* node;
  std::string path;
};

struct Address {
  HostPort address;
  toml::source_position at;
  std::string path;
  std::string owner;
};

struct Refs {
  std::vector<Named> listeners, routes, clusters;
  std::vector<Reference> route_listeners, route_clusters;
  std::vector<Address> addresses;
};

toml::source_position pos_of(const TableReader& r, std::string_view key) {
  const toml::node* n = r.find(key);
  return n ? n->source().begin : r.where();
}

// True when the key is there; otherwise reports it missing.
bool require(const TableReader& r, std::string_view key, std::string_view hint) {
  if (r.has(key)) return true;
  r.missing(key, hint);
  return false;
}

// True when a name string was read, even an invalid one: it still counts for cross-checks, so a
// bad name is reported once rather than again at every reference.
bool read_name(const TableReader& r, std::string& out, std::string_view example,
               std::vector<Named>& defined) {
  if (!r.string("name", out, example)) return false;
  if (!valid_name(out))
    r.fail("name", fmt::format("\"{}\" is not a valid name", out),
           fmt::format("use letters, digits, '-', '_' and '.', e.g. name = \"{}\"", example));
  defined.push_back({out, pos_of(r, "name"), r.path_of("name")});
  return true;
}

bool read_path(const TableReader& r, std::string_view key, std::string& out,
               std::string_view example) {
  std::string path;
  if (!r.string(key, path, example)) return false;
  if (auto why = detail::unreadable(path)) {
    r.fail(key, fmt::format("cannot read \"{}\": {}", path, *why),
           "check the path and the file's permissions; a relative path starts from the working "
           "directory");
    return false;
  }
  out = std::move(path);
  return true;
}

// Reads key = "host:port" into `out`; false when absent or invalid.
bool read_address(const TableReader& r, std::string_view key, HostPort& out, std::string_view owner,
                  Refs& refs) {
  std::string text;
  if (!r.string(key, text, "0.0.0.0:8080")) return false;
  auto hp = parse_host_port(text);
  if (!hp) {
    r.fail_body(key, hp.error().message);
    return false;
  }
  out = *hp;
  refs.addresses.push_back({out, pos_of(r, key), r.path_of(key), std::string(owner)});
  return true;
}

// ---- [server], [admin], [log]

void read_server(const TableReader& root, Server& s) {
  auto t = root.table("server");
  if (!t) return;
  TableReader r(*t, "server", "in [server]",
                {"workers", "max_connections", "header_timeout", "idle_timeout", "drain_timeout",
                 "max_header_bytes", "max_body_bytes", "hosts_file"},
                root.problems());
  r.integer("workers", s.workers, 0, 4096);
  r.integer("max_connections", s.max_connections, 1);
  r.duration("header_timeout", s.header_timeout);
  r.duration("idle_timeout", s.idle_timeout);
  r.duration("drain_timeout", s.drain_timeout, /*allow_zero=*/true);
  r.size("max_header_bytes", s.max_header_bytes);
  r.size("max_body_bytes", s.max_body_bytes);
  read_path(r, "hosts_file", s.hosts_file, "hosts");
}

void read_admin(const TableReader& root, Admin& a, Refs& refs) {
  auto t = root.table("admin");
  if (!t) return;
  TableReader r(*t, "admin", "in [admin]", {"listen"}, root.problems());
  if (auto n = r.find("listen"); n && n->value_exact<std::string>() == "off") {
    a.enabled = false;
    return;
  }
  read_address(r, "listen", a.address, "the admin listener", refs);
}

void read_log(const TableReader& root, Log& log) {
  auto t = root.table("log");
  if (!t) return;
  TableReader r(*t, "log", "in [log]", {"access", "level"}, root.problems());
  std::string access;
  if (r.string("access", access, "stdout")) {
    if (access == "off") {
      log.access = AccessLogTarget::off;
    } else if (access == "stdout") {
      log.access = AccessLogTarget::stdout_;
    } else if (access == "stderr") {
      log.access = AccessLogTarget::stderr_;
    } else if (access.empty()) {
      r.fail("access", "is empty", "use \"off\", \"stdout\", \"stderr\" or a file path");
    } else {
      log.access = AccessLogTarget::file;
      log.access_path = access;
    }
  }
  static const std::vector<std::string_view> levels = {"error", "warn", "info", "debug"};
  std::string level;
  if (!r.string("level", level, "info")) return;
  if (std::find(levels.begin(), levels.end(), level) != levels.end()) {
    log.level = level;
    return;
  }
  auto near = closest(level, levels);
  r.fail("level", fmt::format("unknown level \"{}\"", level),
         near ? fmt::format("did you mean \"{}\"?", *near)
              : fmt::format("use one of {}", quoted_list(levels)));
}

// ---- [[listeners]]

ServerTls read_server_tls(const toml::table& t, std::string path, Problems& p) {
  TableReader r(t, std::move(path), "in [listeners.tls]", {"cert_file", "key_file"}, p);
  ServerTls tls;
  if (require(r, "cert_file", "add cert_file = \"/path/to/cert.pem\", a PEM certificate chain"))
    read_path(r, "cert_file", tls.cert_file, "/etc/sluice/cert.pem");
  if (require(r, "key_file", "add key_file = \"/path/to/key.pem\", a PEM private key"))
    read_path(r, "key_file", tls.key_file, "/etc/sluice/key.pem");
  return tls;
}

void read_listener(const toml::table& t, std::size_t i, Problems& p, Config& c, Refs& refs) {
  TableReader r(t, fmt::format("listeners[{}]", i), "in [[listeners]]", {"name", "listen", "tls"},
                p);
  Listener l;
  l.pos = p.pos(r.where());
  if (!read_name(r, l.name, "public", refs.listeners) && !r.has("name")) {
    if (i == 0) {
      l.name = "main";
      refs.listeners.push_back({l.name, r.where(), r.path_of("name")});
    } else {
      r.missing("name",
                "every listener after the first needs a unique name, e.g. name = \"public\"");
    }
  }
  if (require(r, "listen", "add listen = \"0.0.0.0:8080\"; port 0 picks a free port"))
    read_address(r, "listen", l.address, fmt::format("listener \"{}\"", l.name), refs);
  if (auto tls = r.table("tls")) l.tls = read_server_tls(*tls, r.path_of("tls"), p);
  c.listeners.push_back(std::move(l));
}

// ---- [[routes]]

void read_hosts(const TableReader& r, Route& route) {
  auto check = [&](const toml::value<std::string>& n, const std::string& path) {
    std::string host = lower(n.get());
    bool ok = host.starts_with("*.") ? valid_host_name(host.substr(2)) : valid_host_name(host);
    if (ok) {
      route.hosts.push_back(host);
    } else {
      r.problems().add(n.source().begin, path, fmt::format("\"{}\" is not a valid host", n.get()),
                       "use a name such as \"api.example.com\", or \"*.example.com\" for all of "
                       "its subdomains");
    }
  };
  if (r.has("host") && r.has("hosts")) {
    r.fail("hosts", "host and hosts are both set", "keep one: hosts = [\"a.example.com\", ...]");
    return;
  }
  std::string single;
  if (r.string("host", single, "api.example.com"))
    check(*r.find("host")->as_string(), r.path_of("host"));
  StringNodes many;
  if (r.strings("hosts", many, "\"example.com\", \"*.example.com\""))
    for (std::size_t k = 0; k < many.size(); ++k)
      check(*many[k], fmt::format("{}[{}]", r.path_of("hosts"), k));
}

void read_path_match(const TableReader& r, Route& route) {
  struct Kind {
    std::string_view key;
    PathMatch match;
    std::string_view example;
  };
  static constexpr Kind kinds[] = {{"path", PathMatch::exact, "/health"},
                                   {"path_prefix", PathMatch::prefix, "/api"},
                                   {"path_regex", PathMatch::regex, "^/v[0-9]+/"}};
  std::vector<const Kind*> present;
  for (const auto& k : kinds)
    if (r.has(k.key)) present.push_back(&k);
  if (present.empty()) return;
  std::stable_sort(present.begin(), present.end(), [&](const Kind* a, const Kind* b) {
    return pos_of(r, a->key) < pos_of(r, b->key);
  });
  for (std::size_t i = 1; i < present.size(); ++i)
    r.fail(present[i]->key, fmt::format("{} and {} are both set", present[0]->key, present[i]->key),
           "a route matches on at most one of path, path_prefix and path_regex; use two routes");
  const Kind& kind = *present[0];
  std::string text;
  if (!r.string(kind.key, text, kind.example)) return;
  if (kind.match == PathMatch::regex) {
    try {
      std::regex re(text, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      r.fail(kind.key, fmt::format("invalid regular expression \"{}\": {}", text, e.what()),
             "use ECMAScript regex syntax, e.g. path_regex = \"^/v[0-9]+/\"");
      return;
    }
  } else if (!text.starts_with('/')) {
    r.fail(kind.key, fmt::format("\"{}\" does not start with \"/\"", text),
           fmt::format("write {} = \"/{}\"", kind.key, text));
    return;
  }
  route.path_match = kind.match;
  route.path = text;
}

void read_methods(const TableReader& r, Route& route) {
  static const std::vector<std::string_view> known = {
      "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"};
  StringNodes nodes;
  if (!r.strings("methods", nodes, "\"GET\", \"POST\"")) return;
  for (std::size_t k = 0; k < nodes.size(); ++k) {
    std::string m = nodes[k]->get();
    for (auto& ch : m) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    if (std::find(known.begin(), known.end(), m) == known.end()) {
      auto near = closest(m, known);
      r.problems().add(nodes[k]->source().begin, fmt::format("{}[{}]", r.path_of("methods"), k),
                       fmt::format("unknown HTTP method \"{}\"", nodes[k]->get()),
                       near ? fmt::format("did you mean \"{}\"?", *near)
                            : fmt::format("use {}", quoted_list(known)));
    } else if (std::find(route.methods.begin(), route.methods.end(), m) == route.methods.end()) {
      route.methods.push_back(m);
    }
  }
}

void read_headers(const TableReader& r, Route& route) {
  auto t = r.table("headers");
  if (!t) return;
  for (auto&& [k, v] : *t) {
    std::string path = fmt::format("{}.{}", r.path_of("headers"), detail::key_segment(k.str()));
    if (!all_of_chars(k.str(), "!#$%&'*+-.^_`|~") || k.str().empty()) {
      r.problems().add(k.source().begin, path,
                       fmt::format("\"{}\" is not a valid header name", k.str()),
                       "use letters, digits and '-', e.g. headers = { \"X-Env\" = \"prod\" }");
    } else if (auto s = v.as_string()) {
      if (!route.headers.emplace(lower(k.str()), s->get()).second)
        r.problems().add(k.source().begin, path, "the header is listed twice",
                         "header names are case-insensitive; keep one");
    } else {
      r.problems().add(v.source().begin, path,
                       fmt::format("expected a string, got {}", detail::type_phrase(v)),
                       "match an exact value, e.g. headers = { \"X-Env\" = \"prod\" }");
    }
  }
}

void read_rewrites(const TableReader& r, Route& route) {
  std::string prefix;
  if (r.string("rewrite_prefix", prefix, "/")) {
    if (!r.has("path_prefix"))
      r.fail("rewrite_prefix", "rewrite_prefix needs path_prefix",
             "add path_prefix = \"/api\"; rewrite_prefix replaces the matched prefix");
    else if (!prefix.starts_with('/'))
      r.fail("rewrite_prefix", fmt::format("\"{}\" does not start with \"/\"", prefix),
             fmt::format("write rewrite_prefix = \"/{}\"", prefix));
    else
      route.rewrite_prefix = prefix;
  }
  std::string host;
  if (r.string("host_rewrite", host, "api.internal")) {
    if (host.empty())
      r.fail("host_rewrite", "is empty", "give the Host to send upstream, or remove the key");
    else
      route.host_rewrite = host;
  }
  r.boolean("auto_host_rewrite", route.auto_host_rewrite);
  if (route.auto_host_rewrite && r.has("host_rewrite"))
    r.fail("auto_host_rewrite", "host_rewrite and auto_host_rewrite are both set",
           "keep one: host_rewrite sends a fixed Host, auto_host_rewrite the endpoint's");
}

void read_route(const toml::table& t, std::size_t i, Problems& p, Config& c, Refs& refs) {
  std::vector<std::string_view> keys = {"name",
                                        "listeners",
                                        "host",
                                        "hosts",
                                        "path",
                                        "path_prefix",
                                        "path_regex",
                                        "methods",
                                        "headers",
                                        "cluster",
                                        "rewrite_prefix",
                                        "host_rewrite",
                                        "auto_host_rewrite",
                                        "timeout",
                                        "stream_idle_timeout",
                                        "llm"};
  keys.insert(keys.end(), detail::kRouteResilienceKeys.begin(), detail::kRouteResilienceKeys.end());
  TableReader r(t, fmt::format("routes[{}]", i), "in [[routes]]", std::move(keys), p);
  Route route;
  route.pos = p.pos(r.where());
  if (!read_name(r, route.name, "api", refs.routes) && !r.has("name"))
    route.name = fmt::format("route-{}", i);
  StringNodes listeners;
  if (r.strings("listeners", listeners, "\"main\"")) {
    for (std::size_t k = 0; k < listeners.size(); ++k) {
      route.listeners.push_back(listeners[k]->get());
      refs.route_listeners.push_back(
          {listeners[k], fmt::format("{}[{}]", r.path_of("listeners"), k)});
    }
  }
  read_hosts(r, route);
  read_path_match(r, route);
  read_methods(r, route);
  read_headers(r, route);
  detail::read_llm_route(r, route);
  if (route.llm && r.has("cluster"))
    r.fail("cluster", "an LLM route ([routes.llm]) has no cluster",
           "remove cluster; [[models]] targets name the providers");
  else if ((route.llm ||
            require(r, "cluster", "add cluster = \"<name>\", naming one of the [[clusters]]")) &&
           r.string("cluster", route.cluster, "backend"))
    refs.route_clusters.push_back({r.find("cluster")->as_string(), r.path_of("cluster")});
  read_rewrites(r, route);
  r.duration("timeout", route.timeout);
  r.duration("stream_idle_timeout", route.stream_idle_timeout);
  const toml::value<std::string>* fallback_cluster = nullptr;
  detail::read_route_resilience(r, route, fallback_cluster);
  if (fallback_cluster)
    refs.route_clusters.push_back(
        {fallback_cluster, fmt::format("{}.cluster", r.path_of("fallback"))});
  c.routes.push_back(std::move(route));
}

// ---- [[clusters]]

void read_upstream_tls(const toml::table& t, std::string path, Problems& p, UpstreamTls& tls) {
  TableReader r(t, std::move(path), "in [clusters.tls]",
                {"enabled", "sni", "ca_file", "verify", "cert_file", "key_file", "key_password_env",
                 "key_password_file"},
                p);
  r.boolean("enabled", tls.enabled);
  if (r.string("sni", tls.sni, "api.example.com") && !valid_host_name(tls.sni)) {
    r.fail("sni", fmt::format("\"{}\" is not a valid host name", tls.sni),
           "give the server name to send, e.g. sni = \"api.example.com\"");
    tls.sni.clear();
  }
  read_path(r, "ca_file", tls.ca_file, "/etc/sluice/ca.pem");
  r.boolean("verify", tls.verify);
  read_path(r, "cert_file", tls.cert_file, "/etc/sluice/client.pem");
  read_path(r, "key_file", tls.key_file, "/etc/sluice/client.key");
  if (r.has("cert_file") != r.has("key_file"))
    r.missing(r.has("cert_file") ? "key_file" : "cert_file",
              "a client certificate needs both cert_file and key_file");
  if (r.string("key_password_env", tls.key_password_env, "SLUICE_KEY_PASSWORD") &&
      !valid_env_name(tls.key_password_env)) {
    r.fail("key_password_env",
           fmt::format("\"{}\" is not an environment variable name", tls.key_password_env),
           "give the name of the variable, made of letters, digits and '_', not its value");
    tls.key_password_env.clear();
  }
  read_path(r, "key_password_file", tls.key_password_file, "/run/secrets/key-password");
  bool env = r.has("key_password_env"), file = r.has("key_password_file");
  if (env && file)
    r.fail("key_password_file", "key_password_env and key_password_file are both set", "keep one");
  if ((env || file) && !r.has("key_file"))
    r.fail(env ? "key_password_env" : "key_password_file", "a key password needs key_file",
           "add key_file and cert_file, or remove the password");
}

// An endpoint is "host:port" / "https://host:port", or { address = "...", weight = N }.
void read_endpoints(const TableReader& r, Cluster& cl) {
  constexpr std::string_view example = "\"127.0.0.1:9000\", \"https://api.example.com\"";
  if (!require(r, "endpoints", fmt::format("add endpoints = [{}]", example))) return;
  const toml::array* arr = r.find("endpoints")->as_array();
  if (!arr) {
    r.fail("endpoints",
           fmt::format("expected an array, got {}", detail::type_phrase(*r.find("endpoints"))),
           fmt::format("e.g. endpoints = [{}]", example));
    return;
  }
  if (arr->empty()) r.fail("endpoints", "is empty", fmt::format("e.g. endpoints = [{}]", example));
  for (std::size_t k = 0; k < arr->size(); ++k) {
    const toml::node& n = *arr->get(k);
    std::string path = fmt::format("{}[{}]", r.path_of("endpoints"), k);
    const toml::value<std::string>* address = n.as_string();
    std::uint32_t weight = 1;
    if (const toml::table* t = n.as_table()) {
      TableReader e(*t, path, "in an endpoint table", {"address", "weight"}, r.problems());
      if (!require(e, "address", "add address = \"127.0.0.1:9000\"")) continue;
      std::string ignored;
      if (!e.string("address", ignored, "127.0.0.1:9000")) continue;
      address = e.find("address")->as_string();
      e.integer("weight", weight, 1, 1000000);
    } else if (!address) {
      r.problems().add(n.source().begin, path,
                       fmt::format("expected a string or a table, got {}", detail::type_phrase(n)),
                       "write \"host:port\", or { address = \"host:port\", weight = 2 }");
      continue;
    }
    auto at = address->source().begin;
    auto e = parse_endpoint(address->get());
    if (!e) {
      r.problems().add_body(at, path, e.error().message);
      continue;
    }
    e->pos = r.problems().pos(at);
    e->weight = weight;
    cl.endpoints.push_back(std::move(*e));
  }
}

void read_cluster(const toml::table& t, std::size_t i, Problems& p, Config& c, Refs& refs) {
  std::vector<std::string_view> keys = {"name",     "endpoints",         "connect_timeout",
                                        "max_idle", "pool_idle_timeout", "tls"};
  keys.insert(keys.end(), detail::kClusterResilienceKeys.begin(),
              detail::kClusterResilienceKeys.end());
  TableReader r(t, fmt::format("clusters[{}]", i), "in [[clusters]]", std::move(keys), p);
  Cluster cl;
  cl.pos = p.pos(r.where());
  if (require(r, "name", "add name = \"backend\"; routes refer to clusters by name"))
    read_name(r, cl.name, "backend", refs.clusters);
  read_endpoints(r, cl);
  r.duration("connect_timeout", cl.connect_timeout);
  r.integer("max_idle", cl.max_idle, 0);
  r.duration("pool_idle_timeout", cl.pool_idle_timeout);
  if (auto tls = r.table("tls")) read_upstream_tls(*tls, r.path_of("tls"), p, cl.tls);
  detail::read_cluster_resilience(r, cl);
  c.clusters.push_back(std::move(cl));
}

// ---- cross-checks

void check_unique(const std::vector<Named>& defined, std::string_view what, Problems& p) {
  std::map<std::string, const Named*> seen;
  for (const auto& d : defined) {
    auto [it, fresh] = seen.emplace(d.name, &d);
    if (!fresh)
      p.add(d.at, d.path, fmt::format("duplicate {} name \"{}\"", what, d.name),
            fmt::format("{} names must be unique; \"{}\" is already used at line {}", what, d.name,
                        it->second->at.line));
  }
}

void check_references(const std::vector<Reference>& refs, const std::vector<Named>& defined,
                      std::string_view what, std::string_view section, Problems& p) {
  std::vector<std::string_view> names;
  for (const auto& d : defined)
    if (std::find(names.begin(), names.end(), d.name) == names.end()) names.push_back(d.name);
  for (const auto& ref : refs) {
    const std::string& name = ref.node->get();
    if (std::find(names.begin(), names.end(), name) != names.end()) continue;
    std::string hint;
    if (auto near = closest(name, names))
      hint = fmt::format("did you mean \"{}\"?", *near);
    else if (names.empty())
      hint = fmt::format("add a {} section with name = \"{}\"", section, name);
    else
      hint = fmt::format("use one of {}, or add a {} section with name = \"{}\"",
                         quoted_list(names), section, name);
    p.add(ref.node->source().begin, ref.path, fmt::format("no {} named \"{}\"", what, name), hint);
  }
}

// Two sockets on one address would silently share it through SO_REUSEPORT.
void check_addresses(const std::vector<Address>& addresses, Problems& p) {
  for (std::size_t i = 0; i < addresses.size(); ++i) {
    const auto& a = addresses[i];
    if (a.address.port == 0) continue;
    for (std::size_t j = 0; j < i; ++j) {
      const auto& b = addresses[j];
      if (b.address.port != a.address.port || b.address.host != a.address.host) continue;
      p.add(a.at, a.path,
            fmt::format("{} is already used by {}", host_port_text(a.address), b.owner),
            "give each listener its own port; port 0 picks a free one");
      break;
    }
  }
}

void read_document(const toml::table& doc, Config& c, Problems& p) {
  TableReader root(doc, "", "at the top level",
                   {"server", "admin", "log", "listeners", "routes", "clusters", "providers",
                    "models", "prices", "keys", "store"},
                   p);
  Refs refs;
  read_server(root, c.server);
  read_admin(root, c.admin, refs);
  if (c.admin.enabled && refs.addresses.empty())  // the default admin address is taken too
    refs.addresses.push_back({c.admin.address, {1, 1}, "admin.listen", "the admin listener"});
  read_log(root, c.log);
  auto each = [&](std::string_view key, auto read) {
    if (auto arr = root.array_of_tables(key))
      for (std::size_t i = 0; i < arr->size(); ++i) read(*arr->get(i)->as_table(), i, p, c, refs);
  };
  each("listeners", read_listener);
  each("routes", read_route);
  each("clusters", read_cluster);
  for (auto& pv : detail::read_providers(root, c))
    refs.clusters.push_back({pv.name, pv.at, pv.path});
  detail::read_models(root, c);
  detail::read_prices(root, c);
  detail::read_keys(root, c);
  detail::read_store(root, c);
  if (const toml::array* arr = doc["listeners"].as_array();
      !root.has("listeners") || (arr && arr->empty()))
    p.add(pos_of(root, "listeners"), "listeners", "at least one listener is required",
          "add a [[listeners]] section with listen = \"0.0.0.0:8080\"");
  check_unique(refs.listeners, "listener", p);
  check_unique(refs.routes, "route", p);
  check_unique(refs.clusters, "cluster", p);
  check_references(refs.route_listeners, refs.listeners, "listener", "[[listeners]]", p);
  check_references(refs.route_clusters, refs.clusters, "cluster", "[[clusters]]", p);
  check_addresses(refs.addresses, p);
  detail::check_llm(c, p);
  detail::check_llm_policy(c, p);
}

std::string syntax_hint(std::string_view description) {
  if (description.find("redefine") != std::string_view::npos)
    return "each key and [table] may appear once; repeat [[tables]] with two brackets";
  return "fix the TOML syntax here: strings need double quotes, tables are written [name] and "
         "repeated ones [[name]]";
}

}  // namespace

Result<Config> load_string(std::string_view toml_text, std::string_view source_name) {
  toml::table doc;
  try {
    doc = toml::parse(toml_text, std::string(source_name));
  } catch (const toml::parse_error& e) {
    const auto& at = e.source().begin;
    return config_error(fmt::format("{}:{}:{}: {}", source_name, at.line, at.column,
                                    body(e.description(), syntax_hint(e.description()))));
  }
  Config c;
  c.source = std::string(source_name);
  Problems p{c.source};
  read_document(doc, c, p);
  if (!p.empty()) return p.error();
  return c;
}

Result<Config> load_file(const std::string& path) {
  if (auto why = detail::unreadable(path))
    return config_error(fmt::format(
        "{}: cannot read the config file: {} (hint: check the path, or start from \"sluice config "
        "example > sluice.toml\")",
        path, *why));
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in && !in.eof())
    return config_error(
        fmt::format("{}: cannot read the config file (hint: check the file)", path));
  return load_string(text.str(), path);
}

nlohmann::json to_json(const Config& c) {
  using nlohmann::json;
  // Keys mirror sluice.toml, so the output reads like (and converts back to) a config file.
  // Unset optional values are left out rather than written as null, which TOML lacks.
  const Server& s = c.server;
  json out = {
      {"source", c.source},
      {"server",
       {{"workers", s.workers},
        {"max_connections", s.max_connections},
        {"header_timeout", format_duration(s.header_timeout)},
        {"idle_timeout", format_duration(s.idle_timeout)},
        {"drain_timeout", format_duration(s.drain_timeout)},
        {"max_header_bytes", format_size(s.max_header_bytes)},
        {"max_body_bytes", format_size(s.max_body_bytes)}}},
      {"admin", {{"listen", c.admin.enabled ? host_port_text(c.admin.address) : "off"}}},
      {"listeners", json::array()},
      {"routes", json::array()},
      {"clusters", json::array()},
  };
  const char* access = c.log.access == AccessLogTarget::off       ? "off"
                       : c.log.access == AccessLogTarget::stdout_ ? "stdout"
                       : c.log.access == AccessLogTarget::stderr_ ? "stderr"
                                                                  : c.log.access_path.c_str();
  out["log"] = {{"access", access}, {"level", c.log.level}};
  if (!s.hosts_file.empty()) out["server"]["hosts_file"] = s.hosts_file;

  for (const auto& l : c.listeners) {
    json j = {{"name", l.name}, {"listen", host_port_text(l.address)}};
    if (l.tls) j["tls"] = {{"cert_file", l.tls->cert_file}, {"key_file", l.tls->key_file}};
    out["listeners"].push_back(std::move(j));
  }

  for (const auto& r : c.routes) {
    json j = {{"name", r.name},
              {"listeners", r.listeners},
              {"hosts", r.hosts},
              {"methods", r.methods},
              {"headers", json::object()},
              {"cluster", r.cluster},
              {"auto_host_rewrite", r.auto_host_rewrite},
              {"timeout", format_duration(r.timeout)},
              {"stream_idle_timeout", format_duration(r.stream_idle_timeout)}};
    for (const auto& [name, value] : r.headers) j["headers"][name] = value;
    switch (r.path_match) {
      case PathMatch::any:
        break;
      case PathMatch::exact:
        j["path"] = r.path;
        break;
      case PathMatch::prefix:
        j["path_prefix"] = r.path;
        break;
      case PathMatch::regex:
        j["path_regex"] = r.path;
        break;
    }
    if (r.rewrite_prefix) j["rewrite_prefix"] = *r.rewrite_prefix;
    if (r.host_rewrite) j["host_rewrite"] = *r.host_rewrite;
    if (r.llm) {
      j.erase("cluster");
      j["llm"] = detail::llm_route_json(*r.llm);
    }
    out["routes"].push_back(std::move(j));
  }

  for (const auto& cl : c.clusters) {
    json endpoints = json::array();
    for (const auto& e : cl.endpoints)
      endpoints.push_back(
          fmt::format("{}://{}", e.tls ? "https" : "http", host_port_text(e.address)));
    // Only where the secrets live (a variable name, a path), never their values.
    json tls = {{"enabled", cl.tls.enabled}, {"verify", cl.tls.verify}};
    const std::pair<const char*, const std::string*> optional[] = {
        {"sni", &cl.tls.sni},
        {"ca_file", &cl.tls.ca_file},
        {"cert_file", &cl.tls.cert_file},
        {"key_file", &cl.tls.key_file},
        {"key_password_env", &cl.tls.key_password_env},
        {"key_password_file", &cl.tls.key_password_file}};
    for (auto [key, value] : optional)
      if (!value->empty()) tls[key] = *value;
    out["clusters"].push_back({{"name", cl.name},
                               {"endpoints", std::move(endpoints)},
                               {"connect_timeout", format_duration(cl.connect_timeout)},
                               {"max_idle", cl.max_idle},
                               {"pool_idle_timeout", format_duration(cl.pool_idle_timeout)},
                               {"tls", std::move(tls)}});
  }
  detail::llm_json(c, out);
  return out;
}

}  // namespace sluice::config
