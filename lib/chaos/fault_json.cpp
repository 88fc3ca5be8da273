// Faults to and from JSON, for the live control API and scenario files. Errors name the field.
#include "sluice/core/suggest.hpp"
#include "sluice/chaos/fault_plan.hpp"

#include <algorithm>
#include <cctype>
#include <initializer_list>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "sluice/core/units.hpp"

namespace sluice::chaos {

namespace {

Error bad(std::string_view field, std::string msg) {
  return make_error(ErrorKind::config, ErrorSource::internal,
                    fmt::format("fault.{}: {}", field, msg));
}

// Rejects keys outside `known`, suggesting the nearest one.
Result<void> check_keys(const nlohmann::json& obj, std::string_view where,
                        const std::vector<std::string_view>& known, std::string_view what = {}) {
  for (const auto& [key, value] : obj.items()) {
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    std::string_view best;
    std::size_t best_d = 3;  // suggest only close names
    for (std::string_view k : known) {
      std::size_t d = edit_distance(key, k);
      if (d < best_d) {
        best_d = d;
        best = k;
      }
    }
    std::string field = where.empty() ? key : fmt::format("{}.{}", where, key);
    if (!best.empty())
      return bad(field, fmt::format("unknown key{} (hint: did you mean \"{}\"?)", what, best));
    std::string list;
    for (std::string_view k : known) {
      if (!list.empty()) list += ", ";
      list += k;
    }
    return bad(field, fmt::format("unknown key{} (hint: known keys are {})", what, list));
  }
  return {};
}

Result<std::string> get_string(const nlohmann::json& obj, const char* key, std::string_view field) {
  const auto& v = obj.at(key);
  if (!v.is_string()) return bad(field, fmt::format("expected a string, got {}", v.dump()));
  return v.get<std::string>();
}

Result<std::uint64_t> get_count(const nlohmann::json& obj, const char* key,
                                std::string_view field) {
  const auto& v = obj.at(key);
  if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<std::int64_t>() >= 0))
    return bad(field, fmt::format("expected a non-negative integer, got {}", v.dump()));
  return v.get<std::uint64_t>();
}

Result<Duration> get_duration(const nlohmann::json& obj, const char* key, std::string_view field) {
  const auto& v = obj.at(key);
  if (!v.is_string())
    return bad(field, fmt::format("expected a duration such as \"250ms\", got {}", v.dump()));
  auto d = parse_duration(v.get<std::string>());
  if (!d) return bad(field, d.error().message);
  return *d;
}

// A byte count: an integer or a size string ("256KiB").
Result<std::uint64_t> get_size(const nlohmann::json& obj, const char* key, std::string_view field) {
  const auto& v = obj.at(key);
  if (v.is_string()) {
    auto s = parse_size(v.get<std::string>());
    if (!s) return bad(field, s.error().message);
    return *s;
  }
  return get_count(obj, key, field);
}

Result<int> get_status(const nlohmann::json& obj, std::string_view field) {
  const auto& v = obj.at("status");
  if (!v.is_number_integer() || v.get<std::int64_t>() < 100 || v.get<std::int64_t>() > 599)
    return bad(field, fmt::format("expected an HTTP status between 100 and 599, got {}", v.dump()));
  return v.get<int>();
}

#define SLUICE_TRY(var, expr)                \
  auto var##_r = (expr);                     \
  if (!var##_r) return var##_r.take_error(); \
  auto var = std::move(*var##_r)

Result<FaultMatch> match_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return bad("match", fmt::format("expected an object, got {}", j.dump()));
  if (auto r = check_keys(j, "match", {"path", "method", "header", "body_contains"}); !r)
    return r.take_error();
  FaultMatch m;
  if (j.contains("path")) {
    SLUICE_TRY(p, get_string(j, "path", "match.path"));
    if (p.empty() || p.front() != '/')
      return bad("match.path", fmt::format("expected a path starting with '/', got \"{}\"", p));
    m.path = std::move(p);
  }
  if (j.contains("method")) {
    SLUICE_TRY(meth, get_string(j, "method", "match.method"));
    if (meth.empty() || !std::all_of(meth.begin(), meth.end(), [](unsigned char c) {
          return std::isupper(c) || c == '-' || c == '_';
        }))
      return bad("match.method", fmt::format("expected an upper-case method such as \"POST\", "
                                             "got \"{}\"",
                                             meth));
    m.method = std::move(meth);
  }
  if (j.contains("header")) {
    // "X-Name: value", "X-Name" (present), or {"name": ..., "value": ...}.
    const auto& h = j.at("header");
    if (h.is_string()) {
      std::string s = h.get<std::string>();
      std::size_t colon = s.find(':');
      m.header_name = s.substr(0, colon);
      if (colon != std::string::npos) {
        std::string_view v = std::string_view(s).substr(colon + 1);
        while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
        m.header_value = std::string(v);
      }
    } else if (h.is_object()) {
      if (auto r = check_keys(h, "match.header", {"name", "value"}); !r) return r.take_error();
      if (!h.contains("name")) return bad("match.header.name", "missing");
      SLUICE_TRY(n, get_string(h, "name", "match.header.name"));
      m.header_name = std::move(n);
      if (h.contains("value")) {
        SLUICE_TRY(v, get_string(h, "value", "match.header.value"));
        m.header_value = std::move(v);
      }
    } else {
      return bad("match.header", fmt::format("expected \"Name: value\" or {{\"name\", \"value\"}}, "
                                             "got {}",
                                             h.dump()));
    }
    if (m.header_name.empty()) return bad("match.header", "the header name is empty");
  }
  if (j.contains("body_contains")) {
    SLUICE_TRY(b, get_string(j, "body_contains", "match.body_contains"));
    m.body_contains = std::move(b);
  }
  return m;
}

Result<LatencyFault> latency_from_json(const nlohmann::json& j) {
  LatencyFault l;
  std::string dist = "fixed";
  if (j.contains("distribution")) {
    SLUICE_TRY(d, get_string(j, "distribution", "distribution"));
    dist = std::move(d);
  }
  auto need = [&](const char* key) -> Result<Duration> {
    if (!j.contains(key)) return bad(key, fmt::format("missing (a {} latency needs it)", dist));
    return get_duration(j, key, key);
  };
  if (dist == "fixed") {
    SLUICE_TRY(v, need("value"));
    l.distribution = LatencyDistribution::fixed(v);
  } else if (dist == "uniform") {
    SLUICE_TRY(lo, need("min"));
    SLUICE_TRY(hi, need("max"));
    if (hi < lo) return bad("max", "is smaller than min");
    l.distribution = LatencyDistribution::uniform(lo, hi);
  } else if (dist == "normal") {
    SLUICE_TRY(mean, need("mean"));
    SLUICE_TRY(sd, need("stddev"));
    l.distribution = LatencyDistribution::normal(mean, sd);
  } else if (dist == "lognormal") {
    SLUICE_TRY(median, need("median"));
    if (!j.contains("sigma")) return bad("sigma", "missing (a lognormal latency needs it)");
    const auto& s = j.at("sigma");
    if (!s.is_number() || s.get<double>() < 0)
      return bad("sigma", fmt::format("expected a non-negative number, got {}", s.dump()));
    l.distribution = LatencyDistribution::lognormal(median, s.get<double>());
  } else {
    return bad("distribution",
               fmt::format("expected fixed, uniform, normal or lognormal, got \"{}\"", dist));
  }
  if (j.contains("per")) {
    SLUICE_TRY(per, get_string(j, "per", "per"));
    if (per == "response") {
      l.scope = LatencyScope::response;
    } else if (per == "chunk") {
      l.scope = LatencyScope::chunk;
    } else {
      return bad("per", fmt::format("expected \"response\" or \"chunk\", got \"{}\"", per));
    }
  }
  return l;
}

Result<RetryAfter> retry_after_from_json(const nlohmann::json& j) {
  RetryAfter r;
  const auto& v = j.at("retry_after");
  if (v.is_number_integer() && v.get<std::int64_t>() >= 0) {
    r.delay = std::chrono::seconds(v.get<std::int64_t>());
  } else if (v.is_string()) {
    auto d = parse_duration(v.get<std::string>());
    if (!d) return bad("retry_after", d.error().message);
    r.delay = std::chrono::duration_cast<std::chrono::seconds>(*d);
  } else {
    return bad("retry_after",
               fmt::format("expected seconds or a duration such as \"30s\", got {}", v.dump()));
  }
  if (j.contains("retry_after_format")) {
    SLUICE_TRY(f, get_string(j, "retry_after_format", "retry_after_format"));
    if (f == "seconds") {
      r.form = RetryAfter::Form::seconds;
    } else if (f == "http-date") {
      r.form = RetryAfter::Form::http_date;
    } else {
      return bad("retry_after_format",
                 fmt::format("expected \"seconds\" or \"http-date\", got \"{}\"", f));
    }
  }
  return r;
}

Result<FaultAction> action_from_json(const std::string& type, const nlohmann::json& j) {
  auto keys = [&](std::initializer_list<std::string_view> own) -> Result<void> {
    std::vector<std::string_view> all = {"type",        "name",    "match",
                                         "probability", "first_n", "every_nth"};
    all.insert(all.end(), own.begin(), own.end());
    return check_keys(j, "", all, fmt::format(" for a {} fault", type));
  };
  if (type == "latency") {
    if (auto r = keys(
            {"distribution", "value", "min", "max", "mean", "stddev", "median", "sigma", "per"});
        !r)
      return r.take_error();
    SLUICE_TRY(l, latency_from_json(j));
    return FaultAction{l};
  }
  if (type == "status") {
    if (auto r = keys({"status", "body", "retry_after", "retry_after_format"}); !r)
      return r.take_error();
    if (!j.contains("status")) return bad("status", "missing (the status to answer with)");
    StatusFault s;
    SLUICE_TRY(st, get_status(j, "status"));
    if (st < 200)
      return bad("status", fmt::format("expected a final status (200-599), got {}", st));
    s.status = st;
    if (j.contains("body")) {
      SLUICE_TRY(b, get_string(j, "body", "body"));
      s.body = std::move(b);
    }
    if (j.contains("retry_after")) {
      SLUICE_TRY(ra, retry_after_from_json(j));
      s.retry_after = ra;
    } else if (j.contains("retry_after_format")) {
      return bad("retry_after_format", "given without retry_after");
    }
    return FaultAction{s};
  }
  if (type == "reset") {
    if (auto r = keys({"when", "after_bytes"}); !r) return r.take_error();
    ResetFault rf;
    if (j.contains("when")) {
      SLUICE_TRY(w, get_string(j, "when", "when"));
      if (w == "before_response") {
        rf.when = ResetFault::When::before_response;
      } else if (w == "mid_body") {
        rf.when = ResetFault::When::mid_body;
      } else {
        return bad("when",
                   fmt::format("expected \"before_response\" or \"mid_body\", got \"{}\"", w));
      }
    }
    if (j.contains("after_bytes")) {
      if (rf.when != ResetFault::When::mid_body)
        return bad("after_bytes", "only applies with \"when\": \"mid_body\"");
      SLUICE_TRY(n, get_size(j, "after_bytes", "after_bytes"));
      rf.after_bytes = n;
    }
    return FaultAction{rf};
  }
  if (type == "hang") {
    if (auto r = keys({}); !r) return r.take_error();
    return FaultAction{HangFault{}};
  }
  if (type == "bandwidth") {
    if (auto r = keys({"bytes_per_second"}); !r) return r.take_error();
    if (!j.contains("bytes_per_second")) return bad("bytes_per_second", "missing");
    SLUICE_TRY(bps, get_size(j, "bytes_per_second", "bytes_per_second"));
    if (bps == 0) return bad("bytes_per_second", "must be greater than 0");
    return FaultAction{BandwidthFault{bps}};
  }
  if (type == "dribble") {
    if (auto r = keys({"piece_bytes", "interval"}); !r) return r.take_error();
    if (!j.contains("piece_bytes")) return bad("piece_bytes", "missing");
    if (!j.contains("interval")) return bad("interval", "missing");
    SLUICE_TRY(k, get_size(j, "piece_bytes", "piece_bytes"));
    if (k == 0) return bad("piece_bytes", "must be greater than 0");
    SLUICE_TRY(d, get_duration(j, "interval", "interval"));
    return FaultAction{DribbleFault{k, d}};
  }
  if (type == "truncated_sse") {
    if (auto r = keys({"events"}); !r) return r.take_error();
    if (!j.contains("events")) return bad("events", "missing (events to pass before cutting)");
    SLUICE_TRY(n, get_count(j, "events", "events"));
    return FaultAction{TruncatedSseFault{n}};
  }
  if (type == "stream_cut") {
    if (auto r = keys({"after_events"}); !r) return r.take_error();
    StreamCutFault c;
    if (j.contains("after_events")) {
      SLUICE_TRY(n, get_count(j, "after_events", "after_events"));
      c.after_events = n;
    }
    return FaultAction{c};
  }
  if (type == "malformed_sse") {
    if (auto r = keys({"mode"}); !r) return r.take_error();
    MalformedSseFault m;
    if (j.contains("mode")) {
      SLUICE_TRY(mode, get_string(j, "mode", "mode"));
      if (mode == "missing_data") {
        m.mode = MalformedSseFault::Mode::missing_data;
      } else if (mode == "broken_framing") {
        m.mode = MalformedSseFault::Mode::broken_framing;
      } else {
        return bad(
            "mode",
            fmt::format("expected \"missing_data\" or \"broken_framing\", got \"{}\"", mode));
      }
    }
    return FaultAction{m};
  }
  if (type == "malformed_json") {
    if (auto r = keys({"status", "body"}); !r) return r.take_error();
    MalformedJsonFault m;
    if (j.contains("status")) {
      SLUICE_TRY(st, get_status(j, "status"));
      m.status = st;
    }
    if (j.contains("body")) {
      SLUICE_TRY(b, get_string(j, "body", "body"));
      m.body = std::move(b);
    }
    return FaultAction{m};
  }
  if (type == "empty_response") {
    if (auto r = keys({}); !r) return r.take_error();
    return FaultAction{EmptyResponseFault{}};
  }
  return bad("type",
             fmt::format("unknown fault type \"{}\" (hint: one of latency, status, reset, "
                         "hang, bandwidth, dribble, truncated_sse, stream_cut, malformed_sse, "
                         "malformed_json, empty_response)",
                         type));
}

}  // namespace

Result<Fault> fault_from_json(const nlohmann::json& j) {
  if (!j.is_object())
    return make_error(ErrorKind::config, ErrorSource::internal,
                      fmt::format("fault: expected an object, got {}", j.dump()));
  if (!j.contains("type")) return bad("type", "missing (hint: e.g. \"type\": \"status\")");
  SLUICE_TRY(type, get_string(j, "type", "type"));
  Fault f;
  SLUICE_TRY(action, action_from_json(type, j));
  f.action = std::move(action);
  if (j.contains("name")) {
    SLUICE_TRY(n, get_string(j, "name", "name"));
    f.name = std::move(n);
  }
  if (j.contains("match")) {
    SLUICE_TRY(m, match_from_json(j.at("match")));
    f.match = std::move(m);
  }
  if (j.contains("probability")) {
    const auto& p = j.at("probability");
    if (!p.is_number() || p.get<double>() < 0 || p.get<double>() > 1)
      return bad("probability", fmt::format("expected a number from 0 to 1, got {}", p.dump()));
    f.probability = p.get<double>();
  }
  if (j.contains("first_n")) {
    SLUICE_TRY(n, get_count(j, "first_n", "first_n"));
    f.first_n = n;
  }
  if (j.contains("every_nth")) {
    SLUICE_TRY(n, get_count(j, "every_nth", "every_nth"));
    f.every_nth = n;
  }
  return f;
}

Result<std::vector<Fault>> faults_from_json(const nlohmann::json& j) {
  if (!j.is_array())
    return make_error(ErrorKind::config, ErrorSource::internal,
                      fmt::format("faults: expected an array, got {}", j.dump()));
  std::vector<Fault> out;
  for (std::size_t i = 0; i < j.size(); ++i) {
    auto f = fault_from_json(j[i]);
    if (!f) {
      Error e = f.take_error();
      // "fault.x: ..." becomes "faults[2].x: ...", "fault: ..." becomes "faults[2]: ...".
      e.message = fmt::format("faults[{}]{}", i, std::string_view(e.message).substr(5));
      return e;
    }
    out.push_back(std::move(*f));
  }
  return out;
}

#undef SLUICE_TRY

nlohmann::json fault_to_json(const Fault& f) {
  nlohmann::json j = nlohmann::json::object();
  j["name"] = f.name;
  j["type"] = action_name(f.action);
  std::visit(
      [&](const auto& a) {
        using A = std::decay_t<decltype(a)>;
        if constexpr (std::is_same_v<A, LatencyFault>) {
          const auto& d = a.distribution;
          j["distribution"] = to_string(d.kind);
          switch (d.kind) {
            case LatencyDistribution::Kind::fixed:
              j["value"] = format_duration(d.a);
              break;
            case LatencyDistribution::Kind::uniform:
              j["min"] = format_duration(d.a);
              j["max"] = format_duration(d.b);
              break;
            case LatencyDistribution::Kind::normal:
              j["mean"] = format_duration(d.a);
              j["stddev"] = format_duration(d.b);
              break;
            case LatencyDistribution::Kind::lognormal:
              j["median"] = format_duration(d.a);
              j["sigma"] = d.sigma;
              break;
          }
          j["per"] = a.scope == LatencyScope::chunk ? "chunk" : "response";
        } else if constexpr (std::is_same_v<A, StatusFault>) {
          j["status"] = a.status;
          if (a.body) j["body"] = *a.body;
          if (a.retry_after) {
            j["retry_after"] = a.retry_after->delay.count();
            j["retry_after_format"] =
                a.retry_after->form == RetryAfter::Form::http_date ? "http-date" : "seconds";
          }
        } else if constexpr (std::is_same_v<A, ResetFault>) {
          if (a.when == ResetFault::When::mid_body) {
            j["when"] = "mid_body";
            j["after_bytes"] = a.after_bytes;
          } else {
            j["when"] = "before_response";
          }
        } else if constexpr (std::is_same_v<A, BandwidthFault>) {
          j["bytes_per_second"] = a.bytes_per_second;
        } else if constexpr (std::is_same_v<A, DribbleFault>) {
          j["piece_bytes"] = a.piece_bytes;
          j["interval"] = format_duration(a.interval);
        } else if constexpr (std::is_same_v<A, TruncatedSseFault>) {
          j["events"] = a.events;
        } else if constexpr (std::is_same_v<A, StreamCutFault>) {
          j["after_events"] = a.after_events;
        } else if constexpr (std::is_same_v<A, MalformedSseFault>) {
          j["mode"] =
              a.mode == MalformedSseFault::Mode::broken_framing ? "broken_framing" : "missing_data";
        } else if constexpr (std::is_same_v<A, MalformedJsonFault>) {
          j["status"] = a.status;
          if (a.body) j["body"] = *a.body;
        }
        // HangFault and EmptyResponseFault have no attributes.
      },
      f.action);
  nlohmann::json m = nlohmann::json::object();
  if (!f.match.method.empty()) m["method"] = f.match.method;
  if (!f.match.path.empty()) m["path"] = f.match.path;
  if (!f.match.header_name.empty()) {
    nlohmann::json h = {{"name", f.match.header_name}};
    if (!f.match.header_value.empty()) h["value"] = f.match.header_value;
    m["header"] = std::move(h);
  }
  if (!f.match.body_contains.empty()) m["body_contains"] = f.match.body_contains;
  if (!m.empty()) j["match"] = std::move(m);
  j["probability"] = f.probability;
  if (f.first_n > 0) j["first_n"] = f.first_n;
  if (f.every_nth > 0) j["every_nth"] = f.every_nth;
  return j;
}

}  // namespace sluice::chaos
