// sluice diagnose: the admin JSON parser, the verdict/cause/fix rules, the plan of endpoints to
// probe and the run. The reports live in diagnose_report.cpp.
#include "sluice/probe/diagnose.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "report_util.hpp"
#include "sluice/probe/config_targets.hpp"

namespace sluice::probe::diag {
namespace {

using Json = nlohmann::json;

Error admin_error(std::string message) {
  return make_error(ErrorKind::protocol, ErrorSource::upstream, std::move(message));
}

// Typed field access that never throws: a wrong type is reported with its path.
struct Reader {
  std::string error;

  template <class T>
  void get(const Json& j, const char* key, T& out, const std::string& where) {
    if (!error.empty() || !j.is_object()) return;
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return;
    bool ok = false;
    if constexpr (std::is_same_v<T, bool>) {
      ok = it->is_boolean();
      if (ok) out = it->template get<bool>();
    } else if constexpr (std::is_same_v<T, std::string>) {
      ok = it->is_string();
      if (ok) out = it->template get<std::string>();
    } else if constexpr (std::is_floating_point_v<T>) {
      ok = it->is_number();
      if (ok) out = it->template get<T>();
    } else {
      ok = it->is_number_integer() || it->is_number_unsigned();
      if (ok) out = it->template get<T>();
    }
    if (!ok)
      error = fmt::format("{}.{}: expected a {}, got {}", where, key,
                          std::is_same_v<T, bool>          ? "boolean"
                          : std::is_same_v<T, std::string> ? "string"
                                                           : "number",
                          it->type_name());
  }
};

Result<GatewayCluster> parse_cluster(const Json& j, const std::string& where) {
  if (!j.is_object()) return admin_error(fmt::format("{}: expected an object", where));
  GatewayCluster c;
  Reader rd;
  rd.get(j, "cluster", c.name, where);
  rd.get(j, "mode", c.mode, where);
  rd.get(j, "usable", c.usable, where);
  rd.get(j, "total", c.total, where);
  if (!rd.error.empty()) return admin_error(rd.error);
  if (c.name.empty()) return admin_error(fmt::format("{}: no \"cluster\" name", where));
  if (auto b = j.find("breaker"); b != j.end() && b->is_object()) {
    BreakerView v;
    rd.get(*b, "state", v.state, where + ".breaker");
    rd.get(*b, "reason", v.reason, where + ".breaker");
    rd.get(*b, "openings", v.openings, where + ".breaker");
    rd.get(*b, "since", v.since, where + ".breaker");
    rd.get(*b, "until", v.until, where + ".breaker");
    rd.get(*b, "open_for_ms", v.open_for_ms, where + ".breaker");
    c.breaker = std::move(v);
  }
  if (auto b = j.find("bulkhead"); b != j.end() && b->is_object()) {
    BulkheadView v;
    const std::string bw = where + ".bulkhead";
    rd.get(*b, "max_concurrent", v.max_concurrent, bw);
    rd.get(*b, "max_queue", v.max_queue, bw);
    rd.get(*b, "queue_timeout_ms", v.queue_timeout_ms, bw);
    rd.get(*b, "in_flight", v.in_flight, bw);
    rd.get(*b, "queued", v.queued, bw);
    rd.get(*b, "rejected_total", v.rejected_total, bw);
    c.bulkhead = v;
  }
  if (!rd.error.empty()) return admin_error(rd.error);
  auto eps = j.find("endpoints");
  if (eps == j.end() || !eps->is_array())
    return admin_error(fmt::format("{}.endpoints: expected an array", where));
  for (std::size_t i = 0; i < eps->size(); ++i) {
    const Json& e = (*eps)[i];
    const std::string ew = fmt::format("{}.endpoints[{}]", where, i);
    if (!e.is_object()) return admin_error(ew + ": expected an object");
    GatewayEndpoint g;
    rd.get(e, "endpoint", g.name, ew);
    rd.get(e, "state", g.state, ew);
    rd.get(e, "reason", g.reason, ew);
    rd.get(e, "usable", g.usable, ew);
    rd.get(e, "weight", g.weight, ew);
    if (auto h = e.find("health_check"); h != e.end() && h->is_object()) {
      HealthView v;
      const std::string hw = ew + ".health_check";
      rd.get(*h, "healthy", v.healthy, hw);
      rd.get(*h, "consecutive_passes", v.consecutive_passes, hw);
      rd.get(*h, "consecutive_failures", v.consecutive_failures, hw);
      rd.get(*h, "last_check", v.last_check, hw);
      rd.get(*h, "last_latency_ms", v.last_latency_ms, hw);
      rd.get(*h, "last_status", v.last_status, hw);
      rd.get(*h, "last_error", v.last_error, hw);
      v.checked = h->contains("last_check");
      g.health_check = std::move(v);
    }
    if (auto o = e.find("outlier"); o != e.end() && o->is_object()) {
      OutlierView v;
      const std::string ow = ew + ".outlier";
      rd.get(*o, "ejected", v.ejected, ow);
      rd.get(*o, "rule", v.rule, ow);
      rd.get(*o, "detail", v.detail, ow);
      rd.get(*o, "ejected_for_ms", v.ejected_for_ms, ow);
      rd.get(*o, "times_ejected", v.times_ejected, ow);
      g.outlier = std::move(v);
    }
    if (!rd.error.empty()) return admin_error(rd.error);
    if (g.name.empty()) return admin_error(ew + ": no \"endpoint\" name");
    c.endpoints.push_back(std::move(g));
  }
  if (c.total == 0) c.total = c.endpoints.size();
  return c;
}

std::string host_port(const config::HostPort& hp) {
  if (hp.host.find(':') != std::string::npos) return fmt::format("[{}]:{}", hp.host, hp.port);
  return fmt::format("{}:{}", hp.host, hp.port);
}

std::string ms_text(double ms) {
  return detail::format_ms(std::chrono::duration_cast<Duration>(
      std::chrono::duration<double, std::milli>(std::max(0.0, ms))));
}

std::string days_text(std::chrono::system_clock::duration d) {
  using namespace std::chrono;
  auto h = duration_cast<hours>(d).count();
  if (h >= 48) return fmt::format("{} days", h / 24);
  if (h >= 1) return fmt::format("{} hours", h);
  return fmt::format("{} minutes", std::max<long long>(0, duration_cast<minutes>(d).count()));
}

bool contains(std::string_view s, std::string_view what) {
  return s.find(what) != std::string_view::npos;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The health request as text: "GET /health" (or "TCP connect").
std::string request_text(const Target& t) {
  if (t.kind == Kind::tcp) return "TCP connect";
  return fmt::format("{} {}", t.options.method, t.path.empty() ? "/" : t.path);
}

// Verdict from the outside probe alone; nullopt when it passed.
struct ProbeFinding {
  Verdict verdict;
  std::string phase, cause, fix;
};

std::optional<ProbeFinding> probe_finding(const std::string& ep, const TargetReport& rep) {
  const auto& r = rep.attempt.result;
  const Target& t = rep.target;
  if (r.error) {
    const Error& e = *r.error;
    const std::string msg = e.message;
    const std::string low = lower(msg);
    switch (e.kind) {
      case ErrorKind::dns:
        return ProbeFinding{Verdict::unreachable, "dns",
                            contains(msg, t.host)
                                ? msg
                                : fmt::format("the name {} does not resolve: {}", t.host, msg),
                            "check the endpoint's name in the config, and the resolver "
                            "(/etc/hosts, /etc/resolv.conf) of the machine the gateway runs on"};
      case ErrorKind::connect:
        if (contains(low, "timed out"))
          return ProbeFinding{
              Verdict::unreachable, "connect", fmt::format("connect to {} timed out: {}", ep, msg),
              "the host is down or a firewall drops the packets; check that the host is up "
              "and the port is open to the gateway"};
        if (contains(low, "refused"))
          return ProbeFinding{
              Verdict::unreachable, "connect", fmt::format("connection refused on {}", ep),
              fmt::format("nothing listens on {}; start the service or remove the endpoint", ep)};
        return ProbeFinding{Verdict::unreachable, "connect",
                            fmt::format("cannot connect to {}: {}", ep, msg),
                            "check that the service runs and that the gateway's host can route "
                            "to it"};
      case ErrorKind::tls: {
        std::string fix =
            contains(low, "expired") ? "the certificate has expired; renew it"
            : contains(low, "verify") || contains(low, "certificate") || contains(low, "issuer")
                ? "set clusters.tls.ca_file to the CA that signed the endpoint's certificate, "
                  "or check clusters.tls.sni against the names in it"
                : "check that the endpoint speaks TLS on this port (https:// versus http://)";
        return ProbeFinding{Verdict::unreachable, "tls",
                            fmt::format("TLS handshake with {} failed: {}", ep, msg),
                            std::move(fix)};
      }
      case ErrorKind::timeout:
        return ProbeFinding{
            Verdict::unhealthy, "timeout",
            fmt::format("{} got no answer in time: {}", request_text(t), msg),
            "the service accepts connections but does not answer; check its logs, its load "
            "and what it waits on"};
      case ErrorKind::reset:
        return ProbeFinding{Verdict::unhealthy, "reset",
                            fmt::format("{} was cut off: {}", request_text(t), msg),
                            "the service closed the connection without an answer; check that "
                            "it speaks HTTP on this port, and its logs"};
      default:
        return ProbeFinding{Verdict::unhealthy, "protocol",
                            fmt::format("{} failed: {}", request_text(t), msg),
                            "check that the service speaks HTTP on this port"};
    }
  }
  if (rep.verdict == probe::Verdict::pass) return std::nullopt;
  // Reachable, but a health condition failed.
  const ConditionResult* failed = nullptr;
  for (const auto& c : rep.attempt.conditions)
    if (!c.passed) {
      failed = &c;
      break;
    }
  const std::string source = failed ? failed->source : std::string();
  if (r.status != 0 && source.starts_with("status")) {
    std::string cause = fmt::format("status {} from {}", r.status, t.path.empty() ? "/" : t.path);
    if (r.status >= 500)
      return ProbeFinding{Verdict::unhealthy, "status",
                          cause + ": the service reports itself unhealthy",
                          "check the service's logs and the dependencies its health check "
                          "covers"};
    if (r.status == 404 || r.status == 405)
      return ProbeFinding{Verdict::unhealthy, "status",
                          cause + ": the health check's path or method is not served there",
                          "point clusters.health_check.path (and method) at the service's "
                          "health endpoint"};
    if (r.status == 401 || r.status == 403)
      return ProbeFinding{Verdict::unhealthy, "status",
                          cause + ": the health endpoint wants credentials",
                          "let the health path through without authentication, or check "
                          "another path"};
    return ProbeFinding{Verdict::unhealthy, "status",
                        cause + fmt::format(", which the health check does not accept ({})",
                                            failed ? failed->message : std::string()),
                        "make the service answer 2xx there, or widen "
                        "clusters.health_check.expected_statuses"};
  }
  if (source.starts_with("body"))
    return ProbeFinding{Verdict::unhealthy, "body",
                        fmt::format("the body of {} does not match: {}", request_text(t),
                                    failed ? failed->message : rep.attempt.reason),
                        "check what the service reports about itself there, or adjust "
                        "clusters.health_check.body_contains / body_regex"};
  return ProbeFinding{Verdict::unhealthy, "check",
                      fmt::format("the health check failed: {}", rep.attempt.reason),
                      "check the service's logs"};
}

std::string iso_in(std::chrono::system_clock::time_point now, double ms) {
  return detail::iso8601(now + std::chrono::duration_cast<std::chrono::system_clock::duration>(
                                   std::chrono::duration<double, std::milli>(ms)));
}

// What an outlier rule means, as the start of the cause.
std::string rule_meaning(std::string_view rule) {
  if (rule == "consecutive_5xx") return "answered 5xx too many times in a row";
  if (rule == "consecutive_gateway_failure")
    return "failed to connect, was reset or timed out too many times in a row";
  if (rule == "latency") return "a latency outlier, much slower than the other endpoints";
  if (rule == "success_rate") return "its success rate is far below the other endpoints'";
  if (rule == "failure_percentage") return "too many of its requests fail";
  return "it failed too many requests";
}

// "the cluster's circuit breaker is open since T (reason); it may half-open at U (in 2s),
// opening #N"
std::string breaker_text(const BreakerView& b) {
  std::string s = "the cluster's circuit breaker is open";
  if (!b.since.empty()) s += " since " + b.since;
  if (!b.reason.empty()) s += " (" + b.reason + ")";
  if (!b.until.empty())
    s += fmt::format("; it may half-open at {} (in {})", b.until, ms_text(b.open_for_ms));
  if (b.openings > 0) s += fmt::format(", opening #{}", b.openings);
  return s;
}

// "the cluster's bulkhead is full: 4 of 4 requests in flight, 3 queued (at most 4), 57 turned
// away so far"
std::string bulkhead_text(const BulkheadView& b) {
  return fmt::format(
      "the cluster's bulkhead is full: {} of {} requests in flight, {} queued (at most {}), {} "
      "turned away so far",
      b.in_flight, b.max_concurrent, b.queued, b.max_queue, b.rejected_total);
}

}  // namespace

std::string_view to_string(Verdict v) {
  switch (v) {
    case Verdict::ok:
      return "ok";
    case Verdict::slow:
      return "slow";
    case Verdict::cert_expiring:
      return "cert_expiring";
    case Verdict::slow_start:
      return "slow_start";
    case Verdict::draining:
      return "draining";
    case Verdict::breaker_open:
      return "breaker_open";
    case Verdict::ejected:
      return "ejected";
    case Verdict::unhealthy:
      return "unhealthy";
    case Verdict::unreachable:
      return "unreachable";
  }
  return "unhealthy";
}

bool is_usable(Verdict v) {
  return v == Verdict::ok || v == Verdict::slow || v == Verdict::cert_expiring ||
         v == Verdict::slow_start;
}

Result<std::vector<GatewayCluster>> parse_admin_upstreams(std::string_view body) {
  Json j = Json::parse(body.begin(), body.end(), nullptr, false);
  if (j.is_discarded()) {
    // Parse again with exceptions only to learn where it broke; the exception stays here.
    std::string where;
    try {
      Json again = Json::parse(body.begin(), body.end());
      (void)again;
    } catch (const Json::parse_error& e) {
      where = fmt::format(" (byte {})", e.byte);
    } catch (...) {
    }
    return admin_error(fmt::format(
        "the admin API answered with malformed JSON{} (hint: is the URL the gateway's admin "
        "listener, e.g. http://127.0.0.1:9901?)",
        where));
  }
  std::vector<GatewayCluster> out;
  if (j.is_object() && j.contains("clusters")) {
    const Json& list = j["clusters"];
    if (!list.is_array()) return admin_error("clusters: expected an array");
    for (std::size_t i = 0; i < list.size(); ++i) {
      auto c = parse_cluster(list[i], fmt::format("clusters[{}]", i));
      if (!c) return c.take_error();
      out.push_back(std::move(*c));
    }
    return out;
  }
  if (j.is_object() && j.contains("cluster")) {
    auto c = parse_cluster(j, "cluster");
    if (!c) return c.take_error();
    out.push_back(std::move(*c));
    return out;
  }
  return admin_error(
      "the admin API's answer has no \"clusters\" list (hint: the URL should be the gateway's "
      "admin listener; diagnose asks it for /admin/upstreams)");
}

EndpointDiagnosis diagnose_endpoint(std::string cluster, std::string endpoint,
                                    std::optional<TargetReport> probe,
                                    std::optional<GatewayEndpoint> gateway,
                                    const std::optional<BreakerView>& breaker,
                                    const Thresholds& thresholds,
                                    std::chrono::system_clock::time_point now,
                                    const std::optional<BulkheadView>& bulkhead) {
  EndpointDiagnosis d;
  d.cluster = std::move(cluster);
  d.endpoint = std::move(endpoint);
  d.probe = std::move(probe);
  d.gateway = std::move(gateway);
  auto set = [&](Verdict v, std::string phase, std::string cause, std::string fix) {
    d.verdict = v;
    d.phase = std::move(phase);
    d.cause = std::move(cause);
    d.fix = std::move(fix);
  };
  std::optional<ProbeFinding> found;
  if (d.probe) found = probe_finding(d.endpoint, *d.probe);
  const GatewayEndpoint* gw = d.gateway ? &*d.gateway : nullptr;
  const std::string undrain = fmt::format(
      "POST /admin/upstreams/{}/{}/undrain when the work on it is done", d.cluster, d.endpoint);

  if (gw && gw->state == "draining") {
    set(Verdict::draining, "gateway",
        fmt::format("drained on purpose ({})", gw->reason.empty() ? "admin API" : gw->reason),
        undrain);
  } else if (found && found->verdict == Verdict::unreachable) {
    // The gateway's own view says whether it already reacted (ejected it, marked it unhealthy).
    std::string cause = found->cause;
    if (gw && gw->state == "ejected" && gw->outlier && gw->outlier->ejected)
      cause += fmt::format("; the gateway ejected it ({}) for another {}", gw->outlier->rule,
                           ms_text(gw->outlier->ejected_for_ms));
    else if (gw && gw->state != "healthy")
      cause += "; the gateway counts it " + gw->state;
    else if (gw)
      cause += "; the gateway still counts it healthy";
    set(found->verdict, found->phase, std::move(cause), found->fix);
  } else if (gw && gw->state == "unhealthy") {
    const HealthView* h = gw->health_check ? &*gw->health_check : nullptr;
    std::string cause;
    std::string fix = "check the service's logs";
    if (h && h->last_status != 0) {
      cause = fmt::format("the gateway's health check got status {} ({} consecutive failures{})",
                          h->last_status, h->consecutive_failures,
                          h->last_check.empty() ? "" : ", last at " + h->last_check);
      if (h->last_status >= 500)
        fix =
            "the service reports itself unhealthy; check its logs and the dependencies its "
            "health check covers";
      else if (h->last_status == 404 || h->last_status == 405)
        fix = "point clusters.health_check.path (and method) at the service's health endpoint";
      else
        fix =
            "make the service answer an accepted status, or widen "
            "clusters.health_check.expected_statuses";
    } else if (h && !h->last_error.empty()) {
      cause = fmt::format("the gateway's health check fails: {} ({} consecutive failures)",
                          h->last_error, h->consecutive_failures);
      if (contains(lower(h->last_error), "refused"))
        fix = fmt::format("nothing listens on {}; start the service or remove the endpoint",
                          d.endpoint);
      else if (contains(lower(h->last_error), "timed out") ||
               contains(lower(h->last_error), "timeout"))
        fix =
            "the service is slow or hangs; check its load, or raise "
            "clusters.health_check.timeout";
    } else {
      cause = gw->reason.empty() ? "the gateway marks it unhealthy" : gw->reason;
    }
    // The outside probe may know more (e.g. the body did not match).
    if (found && found->phase == "body") cause += "; from here: " + found->cause;
    set(Verdict::unhealthy, "health_check", std::move(cause), std::move(fix));
  } else if (found) {
    std::string cause = found->cause;
    if (gw) cause += " (the gateway still counts it " + gw->state + ")";
    set(found->verdict, found->phase, std::move(cause), found->fix);
  } else if (gw && (gw->state == "ejected" || (gw->outlier && gw->outlier->ejected))) {
    const OutlierView* o = gw->outlier ? &*gw->outlier : nullptr;
    std::string cause;
    if (o)
      cause = fmt::format("{}: ejected by outlier detection ({}{}) until {} (in {}), ejection #{}",
                          rule_meaning(o->rule), o->rule.empty() ? "outlier" : o->rule,
                          o->detail.empty() ? "" : ": " + o->detail, iso_in(now, o->ejected_for_ms),
                          ms_text(o->ejected_for_ms), o->times_ejected);
    else
      cause = gw->reason.empty() ? "ejected by outlier detection" : gw->reason;
    std::string rule = o ? o->rule : std::string();
    std::string fix =
        contains(rule, "5xx")       ? "fix the 5xx answers (see the service's logs) or wait"
        : contains(rule, "gateway") ? "fix the connection failures (resets, timeouts) or wait"
        : contains(rule, "latency") ? "find why this endpoint is slower than its peers, or wait"
                                    : "fix the failing requests (see the service's logs) or wait";
    fix += "; a passing health check re-admits it sooner";
    set(Verdict::ejected, "outlier", std::move(cause), std::move(fix));
  } else if (breaker && breaker->state == "open") {
    set(Verdict::breaker_open, "breaker", breaker_text(*breaker),
        "requests get 503 breaker_open at once until it half-opens; fix what tripped it (errors "
        "or slow calls across the cluster)");
  } else if (gw && gw->state == "slow_start") {
    set(Verdict::slow_start, "gateway",
        gw->reason.empty() ? "ramping up after admission" : gw->reason, "");
  } else {
    set(Verdict::ok, "", "", "");
    if (d.probe) {
      const auto& r = d.probe->attempt.result;
      auto total = r.timings.total;
      if (r.cert) {
        auto left = r.cert->not_after - now;
        if (left < std::chrono::duration_cast<std::chrono::system_clock::duration>(
                       thresholds.cert_warning))
          set(Verdict::cert_expiring, "tls",
              left.count() <= 0
                  ? fmt::format("the certificate ({}) expired on {}", r.cert->subject,
                                detail::iso8601(r.cert->not_after))
                  : fmt::format("the certificate ({}) expires in {}, on {}", r.cert->subject,
                                days_text(left), detail::iso8601(r.cert->not_after)),
              "renew it");
      }
      if (d.verdict == Verdict::ok && total > thresholds.slow)
        set(Verdict::slow, "latency",
            fmt::format("{} took {} (over {})", request_text(d.probe->target),
                        detail::format_ms(total), detail::format_ms(thresholds.slow)),
            "check the service's load; a slow endpoint risks timeouts and latency ejection");
    }
    // A full bulkhead: the cluster's endpoints do not keep up with the requests sent to them.
    if (bulkhead && bulkhead->full() && (d.verdict == Verdict::ok || d.verdict == Verdict::slow)) {
      std::string cause = bulkhead_text(*bulkhead) +
                          ": requests to the cluster wait in its queue or get 503 bulkhead_full or "
                          "bulkhead_timeout";
      if (d.verdict == Verdict::slow) cause = d.cause + "; " + cause;
      set(Verdict::slow, d.verdict == Verdict::slow ? d.phase : std::string("bulkhead"),
          std::move(cause),
          "the cluster's endpoints answer too slowly for its load: find why they are slow, or "
          "raise clusters.bulkhead.max_concurrent if they can take more");
    }
  }
  d.usable = is_usable(d.verdict);
  return d;
}

void summarize(ClusterDiagnosis& c) {
  c.total = c.endpoints.size();
  c.usable = 0;
  std::map<std::string, std::size_t> by;
  bool all_ok = true;
  for (const auto& e : c.endpoints) {
    if (e.usable) ++c.usable;
    if (e.verdict != Verdict::ok) {
      all_ok = false;
      ++by[std::string(to_string(e.verdict))];
    }
  }
  std::string counts;
  for (const auto& [v, n] : by) counts += fmt::format("{}{} {}", counts.empty() ? "" : ", ", n, v);
  if (c.total == 0) {
    c.verdict = "down";
    c.cause = "the cluster has no endpoints";
  } else if (c.usable == 0) {
    c.verdict = "down";
    const bool breaker_open =
        c.gateway && c.gateway->breaker && c.gateway->breaker->state == "open";
    c.cause = fmt::format("no usable endpoint ({}): requests get {}", counts,
                          breaker_open ? "503 breaker_open" : "\"no healthy upstream\"");
    if (c.gateway && c.gateway->mode.starts_with("panic"))
      c.cause += fmt::format("; the gateway is in panic mode ({})", c.gateway->mode);
  } else if (!all_ok) {
    c.verdict = "degraded";
    c.cause = counts.empty()
                  ? "some endpoints need attention"
                  : fmt::format("{} of {} endpoints usable ({})", c.usable, c.total, counts);
  } else {
    c.verdict = "ok";
    c.cause.clear();
  }
  // What the gateway says about the cluster as a whole.
  if (c.gateway && c.gateway->breaker && c.gateway->breaker->state == "open")
    c.cause += (c.cause.empty() ? "" : "; ") + breaker_text(*c.gateway->breaker);
  if (c.gateway && c.gateway->bulkhead && c.gateway->bulkhead->full())
    c.cause += (c.cause.empty() ? "" : "; ") + bulkhead_text(*c.gateway->bulkhead);
}

Result<std::vector<Planned>> plan_from_config(const config::Config& c) {
  auto targets = config_targets(c, RequestOptions{}, {});
  if (!targets) return targets.take_error();
  std::vector<Planned> out;
  std::size_t i = 0;
  for (const auto& cl : c.clusters)
    for (const auto& e : cl.endpoints) {
      if (i >= targets->size()) break;
      Planned p;
      p.cluster = cl.name;
      p.endpoint = host_port(e.address);
      p.origin = (*targets)[i].origin;
      p.target = std::move((*targets)[i]);
      ++i;
      out.push_back(std::move(p));
    }
  return out;
}

Result<std::vector<Planned>> plan_from_admin(const std::vector<GatewayCluster>& gateway,
                                             const std::vector<Planned>& from_config) {
  std::vector<Planned> out;
  for (const auto& c : gateway)
    for (const auto& e : c.endpoints) {
      Planned p;
      p.cluster = c.name;
      p.endpoint = e.name;
      p.origin = "admin";
      for (const auto& q : from_config)
        if (q.cluster == c.name && q.endpoint == e.name) {
          p.target = q.target;
          p.origin = q.origin;
        }
      if (!p.target) {
        auto t = parse_target("tcp://" + e.name);
        if (t) {
          t->name = fmt::format("{}/{}", c.name, e.name);
          t->origin = "admin";
          if (auto r = build_conditions(*t, {}); r) p.target = std::move(*t);
        }
      }
      out.push_back(std::move(p));
    }
  return out;
}

Diagnosis run(const std::vector<Planned>& plan, const std::vector<GatewayCluster>* gateway,
              const Options& options, const Environment& env) {
  Diagnosis d;
  const TimePoint start = env.clock->now();
  d.now = env.clock->wall();
  d.mode = gateway ? "admin" : "config";
  std::vector<Target> targets;
  std::vector<std::size_t> index(plan.size(), static_cast<std::size_t>(-1));
  for (std::size_t i = 0; i < plan.size(); ++i)
    if (plan[i].target) {
      index[i] = targets.size();
      targets.push_back(*plan[i].target);
    }
  RunOptions ro;
  ro.mode = Mode::once;
  ro.concurrency = std::max<std::size_t>(1, options.concurrency);
  ro.probe_timeout = options.timeout;
  auto reports = probe::run(targets, ro, env);

  // libcurl says only "Couldn't connect to server"; a TCP connect learns why (refused, no route).
  for (auto& rep : reports) {
    auto& err = rep.attempt.result.error;
    if (!err || err->kind != ErrorKind::connect || rep.target.kind == Kind::tcp ||
        contains(lower(err->message), "timed out"))
      continue;
    auto t = parse_target(fmt::format("tcp://{}:{}",
                                      rep.target.host.find(':') != std::string::npos
                                          ? "[" + rep.target.host + "]"
                                          : rep.target.host,
                                      rep.target.port));
    if (!t) continue;
    t->options.connect_timeout = options.timeout;
    ProbeResult again = env.probe(*t, options.timeout);
    if (again.error && again.error->kind == ErrorKind::connect) {
      err->message = again.error->message;
      rep.attempt.reason = fmt::format("connect: {}", err->message);
    }
  }

  std::map<std::string, std::size_t> cluster_index;
  auto cluster_of = [&](const std::string& name) -> ClusterDiagnosis& {
    auto it = cluster_index.find(name);
    if (it != cluster_index.end()) return d.clusters[it->second];
    cluster_index[name] = d.clusters.size();
    d.clusters.push_back({});
    d.clusters.back().name = name;
    if (gateway)
      for (const auto& g : *gateway)
        if (g.name == name) {
          GatewayCluster copy = g;
          copy.endpoints.clear();
          d.clusters.back().gateway = std::move(copy);
        }
    return d.clusters.back();
  };
  for (std::size_t i = 0; i < plan.size(); ++i) {
    const Planned& p = plan[i];
    std::optional<TargetReport> probe;
    if (index[i] != static_cast<std::size_t>(-1)) probe = reports[index[i]];
    std::optional<GatewayEndpoint> gw;
    std::optional<BreakerView> breaker;
    std::optional<BulkheadView> bulkhead;
    if (gateway)
      for (const auto& g : *gateway)
        if (g.name == p.cluster) {
          breaker = g.breaker;
          bulkhead = g.bulkhead;
          for (const auto& e : g.endpoints)
            if (e.name == p.endpoint) gw = e;
        }
    auto e = diagnose_endpoint(p.cluster, p.endpoint, std::move(probe), std::move(gw), breaker,
                               options.thresholds, d.now, bulkhead);
    e.origin = p.origin;
    cluster_of(p.cluster).endpoints.push_back(std::move(e));
  }
  // A cluster the gateway lists without endpoints still gets its (down) verdict.
  if (gateway)
    for (const auto& g : *gateway) (void)cluster_of(g.name);
  for (auto& c : d.clusters) summarize(c);
  d.elapsed = env.clock->now() - start;
  return d;
}

Result<std::vector<GatewayCluster>> fetch_admin_upstreams(const std::string& admin_url,
                                                          Duration timeout) {
  std::string url = admin_url;
  if (!url.starts_with("http://") && !url.starts_with("https://"))
    return make_error(ErrorKind::usage, ErrorSource::downstream,
                      fmt::format("--admin {}: expected an http:// or https:// URL (hint: "
                                  "--admin http://127.0.0.1:9901)",
                                  admin_url));
  if (!contains(url, "/admin/upstreams")) {
    while (url.ends_with('/')) url.pop_back();
    url += "/admin/upstreams";
  }
  auto t = parse_target(url);
  if (!t)
    return make_error(ErrorKind::usage, ErrorSource::downstream,
                      fmt::format("--admin {}: {}", admin_url, t.error().message));
  t->options.timeout = timeout;
  t->options.connect_timeout = timeout;
  ProbeResult r = probe_http(*t, timeout);
  if (r.error)
    return make_error(r.error->kind, ErrorSource::upstream,
                      fmt::format("cannot reach the admin API at {}: {} (hint: is the gateway "
                                  "running, and is this its [admin] listen address?)",
                                  redact_url(url), r.error->message));
  if (r.status != 200)
    return make_error(
        ErrorKind::protocol, ErrorSource::upstream,
        fmt::format("the admin API at {} answered status {} (hint: the URL should be the "
                    "gateway's admin listener, without a path)",
                    redact_url(url), r.status));
  auto parsed = parse_admin_upstreams(r.body);
  if (!parsed)
    return make_error(ErrorKind::protocol, ErrorSource::upstream,
                      fmt::format("{}: {}", redact_url(url), parsed.error().message));
  return parsed;
}

int exit_status(const Diagnosis& d) {
  if (d.admin_error) return 3;
  for (const auto& c : d.clusters)
    if (c.usable == 0) return 1;
  return 0;
}

}  // namespace sluice::probe::diag
