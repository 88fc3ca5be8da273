#include "resilience_reader.hpp"

#include <algorithm>
#include <regex>

#include <fmt/format.h>

namespace sluice::config::detail {

const std::vector<std::string_view> kClusterResilienceKeys = {
    "health_check", "outlier_detection", "panic_threshold", "panic_mode", "slow_start",
    "lb_policy",    "hash_key",          "breaker",         "bulkhead",   "dns_refresh"};
const std::vector<std::string_view> kRouteResilienceKeys = {"retry", "fallback"};

namespace {

// key = "word" where word must be one of `names`; false when absent or unknown (reported).
template <class E>
bool read_enum(const TableReader& r, std::string_view key, E& out,
               const std::vector<std::pair<std::string_view, E>>& names) {
  std::string v;
  if (!r.string(key, v, names.front().first)) return false;
  for (const auto& [name, value] : names)
    if (name == v) {
      out = value;
      return true;
    }
  std::vector<std::string_view> words;
  for (const auto& [name, value] : names) words.push_back(name);
  auto near = closest(v, words);
  r.fail(key, fmt::format("unknown value \"{}\"", v),
         near ? fmt::format("did you mean \"{}\"?", *near)
              : fmt::format("use one of {}", quoted_list(words)));
  return false;
}

// A status, "NNN-MMM" or "Nxx", into an inclusive range.
std::optional<std::pair<int, int>> status_range(const toml::node& n) {
  if (auto i = n.as_integer()) {
    if (i->get() < 100 || i->get() > 599) return std::nullopt;
    return std::pair<int, int>{static_cast<int>(i->get()), static_cast<int>(i->get())};
  }
  auto s = n.as_string();
  if (!s) return std::nullopt;
  static const std::regex range(R"(^([1-5][0-9][0-9])-([1-5][0-9][0-9])$)");
  static const std::regex klass(R"(^([1-5])[xX][xX]$)");
  std::smatch m;
  const std::string& v = s->get();
  if (std::regex_match(v, m, range)) {
    int lo = std::stoi(m[1]), hi = std::stoi(m[2]);
    if (lo > hi) return std::nullopt;
    return std::pair<int, int>{lo, hi};
  }
  if (std::regex_match(v, m, klass)) {
    int c = std::stoi(m[1]);
    return std::pair<int, int>{c * 100, c * 100 + 99};
  }
  return std::nullopt;
}

void read_statuses(const TableReader& r, std::vector<std::pair<int, int>>& out) {
  const toml::node* n = r.find("expected_statuses");
  if (!n) return;
  const toml::array* arr = n->as_array();
  if (!arr || arr->empty()) {
    r.fail("expected_statuses", "expected a non-empty array of statuses",
           "e.g. expected_statuses = [200, \"300-399\", \"2xx\"]");
    return;
  }
  std::vector<std::pair<int, int>> ranges;
  for (std::size_t i = 0; i < arr->size(); ++i) {
    auto range = status_range(*arr->get(i));
    if (!range) {
      r.problems().add(arr->get(i)->source().begin,
                       fmt::format("{}[{}]", r.path_of("expected_statuses"), i),
                       "is not a status, a range or a class",
                       "write 200, \"200-299\" or \"2xx\", with statuses from 100 to 599");
      return;
    }
    ranges.push_back(*range);
  }
  out = std::move(ranges);
}

void read_health_check(const toml::table& t, std::string path, Problems& p, HealthCheck& hc) {
  TableReader r(t, std::move(path), "in [clusters.health_check]",
                {"enabled", "type", "path", "method", "host", "expected_statuses", "body_contains",
                 "body_regex", "interval", "jitter", "timeout", "healthy_threshold",
                 "unhealthy_threshold", "no_traffic_interval"},
                p);
  hc.enabled = true;
  r.boolean("enabled", hc.enabled);
  read_enum(r, "type", hc.kind,
            {{"http", HealthCheck::Kind::http}, {"tcp", HealthCheck::Kind::tcp}});
  if (r.string("path", hc.path, "/health") && !hc.path.starts_with("/"))
    r.fail("path", fmt::format("\"{}\" does not start with '/'", hc.path),
           "e.g. path = \"/health\"");
  if (r.string("method", hc.method, "GET"))
    std::transform(hc.method.begin(), hc.method.end(), hc.method.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  r.string("host", hc.host, "health.internal");
  read_statuses(r, hc.expected_statuses);
  r.string("body_contains", hc.body_contains, "ok");
  if (r.string("body_regex", hc.body_regex, "\"status\": *\"UP\"")) {
    try {
      std::regex re(hc.body_regex);
    } catch (const std::regex_error& e) {
      r.fail("body_regex", fmt::format("invalid regular expression: {}", e.what()),
             "write an ECMAScript regular expression, e.g. body_regex = \"UP|OK\"");
      hc.body_regex.clear();
    }
  }
  r.duration("interval", hc.interval);
  r.number("jitter", hc.jitter, 0, 1);
  r.duration("timeout", hc.timeout);
  r.integer("healthy_threshold", hc.healthy_threshold, 1, 1000);
  r.integer("unhealthy_threshold", hc.unhealthy_threshold, 1, 1000);
  r.duration("no_traffic_interval", hc.no_traffic_interval);
}

void read_outlier(const toml::table& t, std::string path, Problems& p, OutlierDetection& o) {
  TableReader r(
      t, std::move(path), "in [clusters.outlier_detection]",
      {"enabled", "consecutive_5xx", "consecutive_gateway_failure", "interval",
       "base_ejection_time", "max_ejection_time", "ejection_jitter", "max_ejection_percent",
       "success_rate", "success_rate_minimum_hosts", "success_rate_request_volume",
       "success_rate_stdev_factor", "failure_percentage_threshold",
       "failure_percentage_minimum_hosts", "failure_percentage_request_volume", "latency_factor",
       "latency_floor", "latency_request_volume"},
      p);
  o.enabled = true;
  r.boolean("enabled", o.enabled);
  r.integer("consecutive_5xx", o.consecutive_5xx, 0, 100000);
  r.integer("consecutive_gateway_failure", o.consecutive_gateway_failure, 0, 100000);
  r.duration("interval", o.interval);
  r.duration("base_ejection_time", o.base_ejection_time);
  r.duration("max_ejection_time", o.max_ejection_time);
  if (o.max_ejection_time < o.base_ejection_time)
    r.fail("max_ejection_time", "is shorter than base_ejection_time",
           "make max_ejection_time at least base_ejection_time");
  r.number("ejection_jitter", o.ejection_jitter, 0, 1);
  r.number("max_ejection_percent", o.max_ejection_percent, 0, 100);
  r.boolean("success_rate", o.success_rate);
  r.integer("success_rate_minimum_hosts", o.success_rate_minimum_hosts, 1, 100000);
  r.integer("success_rate_request_volume", o.success_rate_request_volume, 1, 100000000);
  r.number("success_rate_stdev_factor", o.success_rate_stdev_factor, 0, 100);
  r.number("failure_percentage_threshold", o.failure_percentage_threshold, 0, 100);
  r.integer("failure_percentage_minimum_hosts", o.failure_percentage_minimum_hosts, 1, 100000);
  r.integer("failure_percentage_request_volume", o.failure_percentage_request_volume, 1, 100000000);
  r.number("latency_factor", o.latency_factor, 0, 1000);
  r.duration("latency_floor", o.latency_floor, true);
  r.integer("latency_request_volume", o.latency_request_volume, 1, 100000000);
}

void read_breaker(const toml::table& t, std::string path, Problems& p, Breaker& b) {
  TableReader r(t, std::move(path), "in [clusters.breaker]",
                {"max_connections", "max_pending", "max_requests", "max_retries", "enabled",
                 "window", "minimum_requests", "failure_rate_threshold", "slow_call_rate_threshold",
                 "slow_call_duration", "open_time", "max_open_time", "half_open_probes"},
                p);
  r.integer("max_connections", b.max_connections, 1);
  r.integer("max_pending", b.max_pending, 0);
  r.integer("max_requests", b.max_requests, 1);
  r.integer("max_retries", b.max_retries, 0);
  // The error-rate breaker is on once any of its keys is given, unless enabled says otherwise.
  for (auto key :
       {"window", "minimum_requests", "failure_rate_threshold", "slow_call_rate_threshold",
        "slow_call_duration", "open_time", "max_open_time", "half_open_probes"})
    if (r.has(key)) b.enabled = true;
  r.boolean("enabled", b.enabled);
  r.duration("window", b.window);
  r.integer("minimum_requests", b.minimum_requests, 1, 100000000);
  r.number("failure_rate_threshold", b.failure_rate_threshold, 0, 100);
  r.number("slow_call_rate_threshold", b.slow_call_rate_threshold, 0, 100);
  r.duration("slow_call_duration", b.slow_call_duration);
  r.duration("open_time", b.open_time);
  r.duration("max_open_time", b.max_open_time);
  if (b.max_open_time < b.open_time)
    r.fail("max_open_time", "is shorter than open_time", "make max_open_time at least open_time");
  r.integer("half_open_probes", b.half_open_probes, 1, 10000);
}

void read_bulkhead(const toml::table& t, std::string path, Problems& p, Bulkhead& b) {
  TableReader r(t, std::move(path), "in [clusters.bulkhead]",
                {"max_concurrent", "max_queue", "queue_timeout"}, p);
  if (!r.has("max_concurrent"))
    r.missing("max_concurrent", "add max_concurrent = 100, the requests in flight at once");
  r.integer("max_concurrent", b.max_concurrent, 1, 1000000);
  r.integer("max_queue", b.max_queue, 0, 1000000);
  r.duration("queue_timeout", b.queue_timeout);
}

void read_hash_key(const TableReader& cluster, HashKey& k) {
  const toml::node* n = cluster.find("hash_key");
  if (!n) return;
  std::string v;
  if (!cluster.string("hash_key", v, "header:x-user-id")) return;
  if (v == "source_ip") {
    k = {HashKey::Source::source_ip, ""};
    return;
  }
  auto colon = v.find(':');
  std::string kind = v.substr(0, colon);
  std::string name = colon == std::string::npos ? "" : v.substr(colon + 1);
  if ((kind == "header" || kind == "cookie") && !name.empty()) {
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    k = {kind == "header" ? HashKey::Source::header : HashKey::Source::cookie,
         kind == "header" ? name : v.substr(colon + 1)};
    return;
  }
  cluster.fail("hash_key", fmt::format("\"{}\" is not a hash key", v),
               "use \"header:NAME\", \"cookie:NAME\" or \"source_ip\"");
}

void read_retry(const toml::table& t, std::string path, Problems& p, Retry& rt) {
  TableReader r(t, std::move(path), "in [routes.retry]",
                {"attempts", "on", "statuses", "per_try_timeout", "deadline", "backoff_base",
                 "backoff_max", "retry_after_max", "non_idempotent", "budget_percent",
                 "budget_min_concurrency", "hedge_delay"},
                p);
  rt.attempts = 2;  // a [routes.retry] table means one retry unless it says otherwise
  r.integer("attempts", rt.attempts, 1, 10);
  static const std::vector<std::pair<std::string_view, RetryOn>> conditions = {
      {"connect-failure", RetryOn::connect_failure},
      {"reset", RetryOn::reset},
      {"timeout", RetryOn::timeout},
      {"gateway-error", RetryOn::gateway_error},
      {"5xx", RetryOn::status_5xx},
      {"retriable-status", RetryOn::retriable_status},
      {"429", RetryOn::status_429}};
  std::vector<const toml::value<std::string>*> on;
  if (r.strings("on", on, "\"connect-failure\", \"reset\", \"gateway-error\"")) {
    std::uint32_t flags = 0;
    for (std::size_t i = 0; i < on.size(); ++i) {
      const std::string& v = on[i]->get();
      auto it = std::find_if(conditions.begin(), conditions.end(),
                             [&](const auto& c) { return c.first == v; });
      if (it != conditions.end()) {
        flags |= static_cast<std::uint32_t>(it->second);
        continue;
      }
      std::vector<std::string_view> words;
      for (const auto& c : conditions) words.push_back(c.first);
      auto near = closest(v, words);
      r.problems().add(on[i]->source().begin, fmt::format("{}[{}]", r.path_of("on"), i),
                       fmt::format("unknown retry condition \"{}\"", v),
                       near ? fmt::format("did you mean \"{}\"?", *near)
                            : fmt::format("use any of {}", quoted_list(words)));
    }
    rt.on = flags;
  }
  if (const toml::node* n = r.find("statuses")) {
    const toml::array* arr = n->as_array();
    bool ok = arr != nullptr;
    std::vector<int> statuses;
    if (arr)
      for (const auto& e : *arr) {
        auto i = e.as_integer();
        if (!i || i->get() < 100 || i->get() > 599) {
          ok = false;
          break;
        }
        statuses.push_back(static_cast<int>(i->get()));
      }
    if (!ok)
      r.fail("statuses", "expected an array of statuses from 100 to 599",
             "e.g. statuses = [409, 503]");
    else {
      rt.statuses = std::move(statuses);
      rt.on |= static_cast<std::uint32_t>(RetryOn::retriable_status);
    }
  }
  Duration d{};
  if (r.duration("per_try_timeout", d)) rt.per_try_timeout = d;
  if (r.duration("deadline", d)) rt.deadline = d;
  r.duration("backoff_base", rt.backoff_base);
  r.duration("backoff_max", rt.backoff_max);
  if (rt.backoff_max < rt.backoff_base)
    r.fail("backoff_max", "is shorter than backoff_base", "make backoff_max at least backoff_base");
  r.duration("retry_after_max", rt.retry_after_max, true);
  r.boolean("non_idempotent", rt.non_idempotent);
  r.number("budget_percent", rt.budget_percent, 0, 100);
  r.integer("budget_min_concurrency", rt.budget_min_concurrency, 0, 1000000);
  if (r.duration("hedge_delay", d)) {
    rt.hedge_delay = d;
    if (rt.attempts < 2)
      r.fail("hedge_delay", "needs attempts = 2 or more: the hedge is one of the tries",
             "set attempts = 2 (a hedge and no retry) or more, or remove hedge_delay");
  }
}

void read_fallback(const toml::table& t, std::string path, Problems& p, Fallback& f,
                   const toml::value<std::string>*& cluster_node) {
  TableReader r(t, std::move(path), "in [routes.fallback]",
                {"cluster", "status", "body", "headers"}, p);
  if (r.string("cluster", f.cluster, "backup")) cluster_node = r.find("cluster")->as_string();
  r.integer("status", f.status, 100, 599);
  r.string("body", f.body, "{\"error\":\"temporarily unavailable\"}");
  if (const toml::table* h = r.table("headers"))
    for (auto&& [k, v] : *h) {
      if (auto s = v.as_string())
        f.headers.emplace_back(std::string(k.str()), s->get());
      else
        p.add(v.source().begin, fmt::format("{}.{}", r.path_of("headers"), key_segment(k.str())),
              fmt::format("expected a string, got {}", type_phrase(v)),
              "write the value in quotes, e.g. \"retry-after\" = \"5\"");
    }
  if (f.cluster.empty() == (f.status == 0))
    r.fail(f.cluster.empty() ? "status" : "cluster",
           f.cluster.empty() ? "a fallback needs a cluster or a status"
                             : "cluster and status are alternatives",
           "give cluster = \"backup\" to send the request elsewhere, or status = 503 (with body "
           "and headers) for a static answer");
}

}  // namespace

void read_cluster_resilience(const TableReader& r, Cluster& cl) {
  Problems& p = r.problems();
  if (auto t = r.table("health_check"))
    read_health_check(*t, r.path_of("health_check"), p, cl.health_check);
  if (auto t = r.table("outlier_detection"))
    read_outlier(*t, r.path_of("outlier_detection"), p, cl.outlier);
  r.number("panic_threshold", cl.panic_threshold, 0, 100);
  read_enum(r, "panic_mode", cl.panic_mode,
            {{"route_all", PanicMode::route_all}, {"fail_fast", PanicMode::fail_fast}});
  r.duration("slow_start", cl.slow_start, true);
  read_enum(r, "lb_policy", cl.lb,
            {{"round_robin", LbPolicy::round_robin},
             {"weighted_round_robin", LbPolicy::weighted_round_robin},
             {"random", LbPolicy::random},
             {"least_request", LbPolicy::least_request},
             {"ring_hash", LbPolicy::ring_hash},
             {"maglev", LbPolicy::maglev}});
  read_hash_key(r, cl.hash_key);
  if (r.has("hash_key") && cl.lb != LbPolicy::ring_hash && cl.lb != LbPolicy::maglev)
    r.fail("hash_key", "only ring_hash and maglev use a hash key",
           "set lb_policy = \"ring_hash\" or \"maglev\", or remove hash_key");
  if (auto t = r.table("breaker")) read_breaker(*t, r.path_of("breaker"), p, cl.breaker);
  if (auto t = r.table("bulkhead")) read_bulkhead(*t, r.path_of("bulkhead"), p, cl.bulkhead);
  r.duration("dns_refresh", cl.dns_refresh, true);
}

void read_route_resilience(const TableReader& r, Route& route,
                           const toml::value<std::string>*& fallback_cluster) {
  if (auto t = r.table("retry")) read_retry(*t, r.path_of("retry"), r.problems(), route.retry);
  if (auto t = r.table("fallback")) {
    Fallback f;
    read_fallback(*t, r.path_of("fallback"), r.problems(), f, fallback_cluster);
    route.fallback = std::move(f);
  }
}

}  // namespace sluice::config::detail
