// The assertion scope of `sluice chaos run`. Keep this list in step with man/sluice-scenario.5
// (ASSERTION NAMES).
//
//   client.requests               requests sent (answered or not)
//   client.errors                 requests without a response, or answered with a 5xx
//   client.transport_errors       requests without a response (connect failure, reset, timeout,
//                                 or not sent because every client was busy: "overload")
//   client.error_rate             client.errors / client.requests, 0..1 (0 without requests)
//   client.status(N)              requests answered with status N
//   client.status_class("5xx")    requests answered with a status of that class (1xx..5xx)
//   client.p50, client.p90,
//   client.p99, client.max        latency percentiles of the answered requests (durations)
//   client.rps                    requests per second over the phases counted
//   client.first(W), client.last(W)
//                                 when the first / last response of a kind W arrived, counted from
//                                 the phase start (the first phase's without a phase): W is a
//                                 status (504), a class ("5xx"), "error" or "ok"; null when none
//   slowloris.connections, .connect_errors, .closed, .open, .status(N), .held_max, .held_p50
//                                 the slow clients of the phases in view (phases.slowloris)
//   gateway.metric("NAME", label="value", ...)
//                                 the sum of the samples of NAME in a scrape of the admin
//                                 /metrics taken after the last phase, keeping those whose given
//                                 labels match exactly (0 when none match)
//   gateway.cluster("C").usable, .total, .mode, .breaker
//   gateway.endpoint("C", mock="M").state, .healthy, .ejected, .times_ejected, .rule
//                                 the gateway's upstream view after the last phase
//                                 (run_scope_gateway.cpp)
//   gateway.exit_code             the gateway's exit code (128+N when killed by signal N); null
//                                 while it runs
//   mock("NAME").requests         requests the mock received
//   mock("NAME").fired("FAULT")   times the named fault fired over the run
//   mock("NAME").received(...), .request(I), .first, .last
//                                 recorded requests: see run_scope_mocks.cpp
//   proxy("NAME").connections     connections the proxy accepted
//   proxy("NAME").bytes_up        client->server bytes it delivered
//   proxy("NAME").bytes_down      server->client bytes it delivered
//
// An assertion with `phase = "X"` sees phase X's figures in client.*, slowloris.* and mock(...)
// except fired(); `after`/`before` narrow client.* and the recorded requests to a time window.
#include "run_scope.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <optional>
#include <memory>

#include <fmt/format.h>

#include "sluice/core/expr/value.hpp"

namespace sluice::chaos::detail {

using expr::Arguments;
using expr::Kind;
using expr::Object;
using expr::Value;

Error scope_error(std::string message) {
  return make_error(ErrorKind::config, ErrorSource::internal, std::move(message));
}

Value ms_value(double ms) {
  return Value::duration(Duration(static_cast<Duration::rep>(std::llround(ms * 1e6))));
}

std::string hint_for(std::string_view word, const std::vector<std::string>& known) {
  if (auto c = expr::closest_name(word, known))
    return fmt::format(" (hint: did you mean \"{}\"?)", *c);
  return {};
}

Result<std::string> one_string(std::string_view fn, const Arguments& args) {
  if (args.positional.size() != 1 || !args.keyword.empty() || !args.positional[0].is(Kind::string))
    return scope_error(fmt::format("{} takes one string argument, as in {}(\"name\")", fn, fn));
  return args.positional[0].as_string();
}

namespace {

bool parse_double(std::string_view s, double& out) {
  if (s == "+Inf" || s == "Inf") {
    out = HUGE_VAL;
    return true;
  }
  if (s == "-Inf") {
    out = -HUGE_VAL;
    return true;
  }
  if (s == "NaN") {
    out = NAN;
    return true;
  }
  std::string tmp(s);
  char* end = nullptr;
  out = std::strtod(tmp.c_str(), &end);
  return end && *end == '\0' && !tmp.empty();
}

// The kind of response client.first(W) / client.last(W) looks for, as a predicate on the status
// (0: no response).
Result<std::function<bool(int)>> sample_filter(const std::string& fn, const Arguments& args) {
  auto usage = [&] {
    return scope_error(fmt::format(
        "{0} takes a status (504), a status class (\"5xx\"), \"error\" or \"ok\", as in "
        "{0}(504)",
        fn));
  };
  if (args.positional.size() != 1 || !args.keyword.empty()) return usage();
  const Value& w = args.positional[0];
  if (w.is(Kind::number)) {
    int status = static_cast<int>(w.as_number());
    return std::function<bool(int)>([status](int s) { return s == status; });
  }
  if (!w.is(Kind::string)) return usage();
  const std::string& c = w.as_string();
  if (c == "error") return std::function<bool(int)>([](int s) { return s == 0 || s >= 500; });
  if (c == "ok") return std::function<bool(int)>([](int s) { return s > 0 && s < 500; });
  if (c.size() == 3 && c[0] >= '1' && c[0] <= '5' && (c[1] == 'x' || c[1] == 'X') &&
      (c[2] == 'x' || c[2] == 'X')) {
    int klass = c[0] - '0';
    return std::function<bool(int)>([klass](int s) { return s / 100 == klass; });
  }
  return scope_error(fmt::format("{}: \"{}\" is not a kind of response{}", fn, c,
                                 hint_for(c, {"error", "ok", "2xx", "4xx", "5xx"})));
}

void fill_slowloris(expr::MapScope& scope, const SlowlorisStats& s) {
  auto n = [](std::uint64_t v) { return Value::number(static_cast<double>(v)); };
  scope.set("slowloris.connections", n(s.connections));
  scope.set("slowloris.connect_errors", n(s.connect_errors));
  scope.set("slowloris.closed", n(s.closed));
  scope.set("slowloris.open", n(s.open));
  scope.set("slowloris.held_max", ms_value(nearest_rank(s.held_ms, 100)));
  scope.set("slowloris.held_p50", ms_value(nearest_rank(s.held_ms, 50)));
  auto by_status = std::make_shared<std::map<int, std::uint64_t>>(s.by_status);
  scope.define("slowloris.status", [by_status](const Arguments& args) -> Result<Value> {
    if (args.positional.size() != 1 || !args.keyword.empty() ||
        !args.positional[0].is(Kind::number))
      return scope_error("slowloris.status takes one status code, as in slowloris.status(408)");
    auto it = by_status->find(static_cast<int>(args.positional[0].as_number()));
    return Value::number(it == by_status->end() ? 0.0 : static_cast<double>(it->second));
  });
}

}  // namespace

double nearest_rank(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  // The smallest value with at least p% of the values at or below it.
  double rank = std::ceil(std::clamp(p, 0.0, 100.0) / 100.0 * static_cast<double>(v.size()));
  auto idx = static_cast<std::size_t>(std::max(rank, 1.0)) - 1;
  return v[std::min(idx, v.size() - 1)];
}

Result<std::vector<MetricSample>> parse_prometheus(std::string_view text) {
  std::vector<MetricSample> out;
  std::size_t line_no = 0;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++line_no;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    if (line.empty() || line.front() == '#') continue;
    auto bad = [&](std::string_view what) {
      return scope_error(fmt::format("metrics line {}: {}: {}", line_no, what, line));
    };
    MetricSample s;
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    s.name = std::string(line.substr(0, i));
    if (s.name.empty()) return bad("no metric name");
    if (i < line.size() && line[i] == '{') {
      ++i;
      for (;;) {
        while (i < line.size() && (line[i] == ' ' || line[i] == ',')) ++i;
        if (i < line.size() && line[i] == '}') {
          ++i;
          break;
        }
        std::size_t eq = line.find('=', i);
        if (eq == std::string_view::npos || eq + 1 >= line.size() || line[eq + 1] != '"')
          return bad("malformed label");
        std::string key(line.substr(i, eq - i));
        std::string value;
        i = eq + 2;
        bool closed = false;
        while (i < line.size()) {
          char c = line[i++];
          if (c == '\\' && i < line.size()) {
            char e = line[i++];
            value.push_back(e == 'n' ? '\n' : e);
          } else if (c == '"') {
            closed = true;
            break;
          } else {
            value.push_back(c);
          }
        }
        if (!closed) return bad("unterminated label value");
        s.labels.emplace_back(std::move(key), std::move(value));
      }
    }
    while (i < line.size() && line[i] == ' ') ++i;
    std::string_view rest = line.substr(i);
    std::string_view num = rest.substr(0, rest.find(' '));  // a timestamp may follow
    if (!parse_double(num, s.value)) return bad("malformed value");
    out.push_back(std::move(s));
  }
  return out;
}

void fill_run_scope(expr::MapScope& scope, const ClientStats& client, double seconds,
                    const SlowlorisStats* slowloris, const RunFacts& facts,
                    const ScopeWindow& window) {
  const double requests = static_cast<double>(client.requests);
  const double errors = static_cast<double>(client.errors());
  scope.set("client.requests", Value::number(requests));
  scope.set("client.errors", Value::number(errors));
  scope.set("client.transport_errors", Value::number(static_cast<double>(client.transport_errors)));
  scope.set("client.error_rate", Value::number(client.requests ? errors / requests : 0.0));
  scope.set("client.p50", ms_value(client.percentile_ms(50)));
  scope.set("client.p90", ms_value(client.percentile_ms(90)));
  scope.set("client.p99", ms_value(client.percentile_ms(99)));
  scope.set("client.max", ms_value(client.percentile_ms(100)));
  scope.set("client.rps", Value::number(seconds > 0 ? requests / seconds : 0.0));

  auto by_status = std::make_shared<std::map<int, std::uint64_t>>(client.by_status);
  scope.define("client.status", [by_status](const Arguments& args) -> Result<Value> {
    if (args.positional.size() != 1 || !args.keyword.empty() ||
        !args.positional[0].is(Kind::number))
      return scope_error("client.status takes one status code, as in client.status(504)");
    double n = args.positional[0].as_number();
    auto it = by_status->find(static_cast<int>(n));
    return Value::number(it == by_status->end() ? 0.0 : static_cast<double>(it->second));
  });
  scope.define("client.status_class", [by_status](const Arguments& args) -> Result<Value> {
    auto cls = one_string("client.status_class", args);
    if (!cls) return cls.take_error();
    const std::string& c = *cls;
    if (c.size() != 3 || c[0] < '1' || c[0] > '5' || (c[1] != 'x' && c[1] != 'X') ||
        (c[2] != 'x' && c[2] != 'X'))
      return scope_error(fmt::format(
          "client.status_class: \"{}\" is not a status class (hint: one of \"1xx\" to \"5xx\")",
          c));
    int klass = c[0] - '0';
    std::uint64_t sum = 0;
    for (const auto& [status, count] : *by_status)
      if (status / 100 == klass) sum += count;
    return Value::number(static_cast<double>(sum));
  });

  auto samples = std::make_shared<std::vector<ClientSample>>(client.samples);
  for (bool first : {true, false}) {
    std::string fn = first ? "client.first" : "client.last";
    scope.define(fn, [samples, first, fn](const Arguments& args) -> Result<Value> {
      auto which = sample_filter(fn, args);
      if (!which) return which.take_error();
      std::optional<double> best;
      for (const auto& s : *samples) {
        if (!(*which)(s.status)) continue;
        double done = s.sent_ms + s.latency_ms;
        if (!best || (first ? done < *best : done > *best)) best = done;
      }
      return best ? ms_value(*best) : Value::null();
    });
  }

  if (slowloris) fill_slowloris(scope, *slowloris);

  // gateway.*
  if (facts.has_gateway && facts.gateway_exit_code)
    scope.set("gateway.exit_code", Value::number(*facts.gateway_exit_code));
  else
    scope.set("gateway.exit_code", Value::null());
  const RunFacts* f = &facts;
  scope.define("gateway.metric", [f](const Arguments& args) -> Result<Value> {
    if (args.positional.size() != 1 || !args.positional[0].is(Kind::string))
      return scope_error(
          "gateway.metric takes a metric name and label filters, as in "
          "gateway.metric(\"sluice_requests_total\", status_class=\"5xx\")");
    if (!f->has_gateway) return scope_error("gateway.metric: the scenario has no [gateway]");
    if (!f->metrics)
      return scope_error(fmt::format("gateway.metric: no metrics: {}", f->metrics_error));
    std::vector<std::pair<std::string, std::string>> want;
    for (const auto& [k, v] : args.keyword) {
      if (v.is(Kind::string))
        want.emplace_back(k, v.as_string());
      else if (v.is(Kind::number))
        want.emplace_back(k, expr::format_number(v.as_number()));
      else
        return scope_error(fmt::format("gateway.metric: label {} must be a string", k));
    }
    const std::string& name = args.positional[0].as_string();
    double sum = 0;
    bool known = false;
    for (const auto& s : *f->metrics) {
      if (s.name != name) continue;
      known = true;
      bool ok = std::all_of(want.begin(), want.end(), [&](const auto& w) {
        return std::any_of(s.labels.begin(), s.labels.end(), [&](const auto& l) { return l == w; });
      });
      if (ok) sum += s.value;
    }
    (void)known;  // a family with no samples yet (nothing counted) reads as 0
    return Value::number(sum);
  });

  fill_mock_scope(scope, facts, window);
  fill_gateway_upstreams(scope, facts);
  scope.define("proxy", [f](const Arguments& args) -> Result<Value> {
    auto name = one_string("proxy", args);
    if (!name) return name.take_error();
    auto it = f->proxies.find(*name);
    if (it == f->proxies.end())
      return scope_error(
          fmt::format("no proxy named \"{}\"{}", *name, hint_for(*name, keys_of(f->proxies))));
    return Value::object(Object{
        "proxy", *name, std::shared_ptr<const void>(std::shared_ptr<const void>{}, &it->second)});
  });
  scope.members("proxy", [](const Object& o, std::string_view name) -> Result<Value> {
    const auto* p = static_cast<const RunFacts::Proxy*>(o.data.get());
    if (name == "connections") return Value::number(static_cast<double>(p->connections));
    if (name == "bytes_up") return Value::number(static_cast<double>(p->bytes_up));
    if (name == "bytes_down") return Value::number(static_cast<double>(p->bytes_down));
    return expr::unknown_member(Value::object(o), name, {"connections", "bytes_up", "bytes_down"});
  });
}

}  // namespace sluice::chaos::detail
