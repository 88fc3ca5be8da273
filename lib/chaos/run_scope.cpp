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
//   gateway.metric("NAME", label="value", ...)
//                                 the sum of the samples of NAME in a scrape of the admin
//                                 /metrics taken after the last phase, keeping those whose given
//                                 labels match exactly (0 when none match)
//   gateway.exit_code             the gateway's exit code (128+N when killed by signal N); null
//                                 while it runs
//   mock("NAME").requests         requests the mock received
//   mock("NAME").fired("FAULT")   times the named fault fired over the run
//   proxy("NAME").connections     connections the proxy accepted
//   proxy("NAME").bytes_up        client->server bytes it delivered
//   proxy("NAME").bytes_down      server->client bytes it delivered
//
// An assertion with `phase = "X"` sees phase X's figures in client.*; the others are whole-run.
#include "run_scope.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <memory>

#include <fmt/format.h>

#include "sluice/core/expr/value.hpp"

namespace sluice::chaos::detail {

using expr::Arguments;
using expr::Kind;
using expr::Object;
using expr::Value;

namespace {

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

// The single string argument of f("x"), or an error naming f.
Result<std::string> one_string(std::string_view fn, const Arguments& args) {
  if (args.positional.size() != 1 || !args.keyword.empty() || !args.positional[0].is(Kind::string))
    return scope_error(fmt::format("{} takes one string argument, as in {}(\"name\")", fn, fn));
  return args.positional[0].as_string();
}

template <class Map>
std::vector<std::string> keys_of(const Map& m) {
  std::vector<std::string> out;
  for (const auto& [k, v] : m) out.push_back(k);
  return out;
}

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

}  // namespace

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
                    const RunFacts& facts) {
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

  // mock("NAME") and proxy("NAME"): objects whose members read facts.
  scope.define("mock", [f](const Arguments& args) -> Result<Value> {
    auto name = one_string("mock", args);
    if (!name) return name.take_error();
    auto it = f->mocks.find(*name);
    if (it == f->mocks.end())
      return scope_error(
          fmt::format("no mock named \"{}\"{}", *name, hint_for(*name, keys_of(f->mocks))));
    return Value::object(Object{
        "mock", *name, std::shared_ptr<const void>(std::shared_ptr<const void>{}, &it->second)});
  });
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
  scope.members("mock", [](const Object& o, std::string_view name) -> Result<Value> {
    const auto* m = static_cast<const RunFacts::Mock*>(o.data.get());
    if (name == "requests") return Value::number(static_cast<double>(m->requests));
    if (name == "fired")
      return scope_error(
          fmt::format("mock(\"{}\").fired is a method (hint: call it: "
                      "mock(\"{}\").fired(\"FAULT\"))",
                      o.id, o.id));
    return expr::unknown_member(Value::object(o), name, {"requests"});
  });
  scope.methods("mock",
                [](const Object& o, std::string_view name, const Arguments& args) -> Result<Value> {
                  const auto* m = static_cast<const RunFacts::Mock*>(o.data.get());
                  if (name != "fired")
                    return scope_error(fmt::format("mock(\"{}\") has no method \"{}\"{}", o.id,
                                                   name, hint_for(name, {"fired"})));
                  auto fault = one_string("fired", args);
                  if (!fault) return fault.take_error();
                  auto it = m->fired.find(*fault);
                  if (it == m->fired.end())
                    return scope_error(fmt::format("mock(\"{}\") has no fault named \"{}\"{}", o.id,
                                                   *fault, hint_for(*fault, keys_of(m->fired))));
                  return Value::number(static_cast<double>(it->second));
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
