#include "sluice/probe/config_targets.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "sluice/core/config/load.hpp"

namespace sluice::probe {
namespace {

std::string host_port(const config::HostPort& hp) {
  if (hp.host.find(':') != std::string::npos) return fmt::format("[{}]:{}", hp.host, hp.port);
  return fmt::format("{}:{}", hp.host, hp.port);
}

// The client key's password, from where the config says it is kept.
Result<std::string> key_password(const config::Cluster& cl) {
  const auto& tls = cl.tls;
  if (!tls.key_password_env.empty()) {
    const char* v = std::getenv(tls.key_password_env.c_str());
    if (!v)
      return config::config_error(
          cl.pos, fmt::format("clusters.{}.tls.key_password_env", cl.name),
          fmt::format("the environment variable {} is not set", tls.key_password_env),
          "export it before running sluice probe");
    return std::string(v);
  }
  if (!tls.key_password_file.empty()) {
    std::ifstream in(tls.key_password_file, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    std::string pw = text.str();
    while (!pw.empty() && (pw.back() == '\n' || pw.back() == '\r')) pw.pop_back();
    return pw;
  }
  return std::string();
}

// The conditions a cluster's [clusters.health_check] implies: its expected statuses and body
// checks, as probe conditions (the --expect conditions replace them).
std::vector<ConditionText> health_conditions(const config::Cluster& cl) {
  const auto& hc = cl.health_check;
  std::vector<ConditionText> out;
  const std::string origin = fmt::format("clusters.{}.health_check", cl.name);
  if (hc.kind == config::HealthCheck::Kind::tcp) return out;  // the kind's default: connected
  std::string statuses;
  for (const auto& [lo, hi] : hc.expected_statuses) {
    if (!statuses.empty()) statuses += " or ";
    statuses +=
        lo == hi ? fmt::format("status == {}", lo) : fmt::format("status in {}..{}", lo, hi);
  }
  out.push_back({statuses, origin});
  auto quote = [](const std::string& v) {
    std::string q = "\"";
    for (char ch : v) {
      if (ch == '"' || ch == '\\') q += '\\';
      q += ch;
    }
    return q + "\"";
  };
  if (!hc.body_contains.empty())
    out.push_back({"body contains " + quote(hc.body_contains), origin});
  if (!hc.body_regex.empty()) out.push_back({"body matches " + quote(hc.body_regex), origin});
  return out;
}

}  // namespace

Result<std::vector<Target>> config_targets(const config::Config& c, const RequestOptions& base,
                                           const std::vector<ConditionText>& expect) {
  std::vector<Target> out;
  for (const auto& cl : c.clusters) {
    auto password = key_password(cl);
    if (!password) return password.take_error();
    const auto& hc = cl.health_check;
    const bool tcp = hc.enabled && hc.kind == config::HealthCheck::Kind::tcp;
    std::vector<ConditionText> conditions = expect;
    if (conditions.empty() && hc.enabled) conditions = health_conditions(cl);
    for (const auto& e : cl.endpoints) {
      const bool tls = e.tls || cl.tls.enabled;
      // With [clusters.health_check], the probe is that check: its kind, path, method, Host,
      // timeout and expectations. Without one, GET / expecting 2xx.
      std::string path = hc.enabled ? hc.path : "/";
      auto t = parse_target(
          tcp ? fmt::format("tcp://{}", host_port(e.address))
              : fmt::format("{}://{}{}", tls ? "https" : "http", host_port(e.address), path));
      if (!t) return t.take_error();
      t->name = fmt::format("{}/{}", cl.name, host_port(e.address));
      t->origin =
          e.pos.line ? fmt::format("{}:{}:{}", e.pos.file, e.pos.line, e.pos.column) : c.source;
      t->options = base;
      if (hc.enabled) {
        t->options.method = hc.method;
        if (!hc.host.empty()) t->options.headers.emplace_back("Host", hc.host);
        if (!t->options.timeout) t->options.timeout = hc.timeout;
      }
      auto& o = t->options.tls;
      if (!cl.tls.ca_file.empty()) o.ca_file = cl.tls.ca_file;
      if (!cl.tls.sni.empty()) o.sni = cl.tls.sni;
      if (!cl.tls.verify) o.insecure = true;
      if (!cl.tls.cert_file.empty()) o.cert_file = cl.tls.cert_file;
      if (!cl.tls.key_file.empty()) o.key_file = cl.tls.key_file;
      if (!password->empty()) o.key_password = *password;
      if (!t->options.connect_timeout) t->options.connect_timeout = cl.connect_timeout;
      if (auto r = build_conditions(*t, conditions); !r) return r.take_error();
      out.push_back(std::move(*t));
    }
  }
  if (out.empty())
    return make_error(ErrorKind::config, ErrorSource::internal,
                      fmt::format("{}: the config has no [[clusters]] endpoints to probe (hint: "
                                  "add endpoints = [\"http://127.0.0.1:8080\"] to a cluster)",
                                  c.source));
  return out;
}

Result<std::vector<Target>> load_config_targets(const std::string& path, const RequestOptions& base,
                                                const std::vector<ConditionText>& expect) {
  auto c = config::load_file(path);
  if (!c) return c.take_error();
  return config_targets(*c, base, expect);
}

}  // namespace sluice::probe
