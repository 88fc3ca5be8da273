// mock("NAME") in chaos assertions: counts, fault counters and the recorded requests. Keep this
// list in step with man/sluice-scenario.5 (ASSERTION NAMES).
//
//   mock("a").requests            requests the mock received
//   mock("a").fired("FAULT")      times the named fault fired over the whole run
//   mock("a").received(method=, path=, header=, body_contains=, status=)
//                                 recorded requests matching every filter given: path is exact or
//                                 a prefix ending in '*'; header is a name that must be present
//   mock("a").request(I)          the I-th recorded request (0 the first, -1 the last)
//   mock("a").first, .last        the first and last recorded request; null when none
//   a request's members           method, target, path, query, body, body_bytes, status (0: none
//                                 sent), phase, at (since its phase started), faults (list of the
//                                 fault names that fired); header("NAME") gives a header or null;
//                                 for LLM mocks also those of run_scope_llm.cpp (model, system,
//                                 messages, message(I), prompt_tokens, json, ...)
//   mock("a").max_prompt_tokens   the largest prompt an LLM mock counted (0: none)
//   mock("a").prompt_tokens, .completion_tokens
//                                 their sums over the requests in view
//   received(system_contains=)    LLM requests whose system prompt contains the text
//
// Requests are counted in the assertion's phase and window; fired() is always whole-run. Only
// the newest kMaxRecorded requests are recorded, so counts over a window of a longer run are cut,
// and a request's body keeps at most kMaxRecordedBody bytes.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <memory>

#include <fmt/format.h>

#include "run_scope.hpp"
#include "sluice/core/text.hpp"

namespace sluice::chaos::detail {

using expr::Arguments;
using expr::Kind;
using expr::Object;
using expr::Value;

namespace {

// One mock as an assertion sees it: its facts and the recorded requests in view.
struct MockView {
  std::string name;
  const RunFacts::Mock* facts = nullptr;
  std::uint64_t requests = 0;
  std::vector<const RecordedRequest*> in_view;
  const RunFacts* run = nullptr;
  std::string where;  // "over the run", "in phase \"x\"", ...
};

struct RequestView {
  const RecordedRequest* r = nullptr;
  double at_ms = 0;  // since its phase started
};

using text::iequals;

const std::string* find_header(const RecordedRequest& r, std::string_view name) {
  for (const auto& [k, v] : r.request.headers)
    if (iequals(k, name)) return &v;
  return nullptr;
}

std::string_view path_of(const std::string& target) {
  return std::string_view(target).substr(0, target.find('?'));
}

double at_ms(const RunFacts& run, const RecordedRequest& r) {
  auto it = run.phase_starts.find(r.label);
  if (it == run.phase_starts.end()) return 0;
  return std::chrono::duration<double, std::milli>(r.received - it->second).count();
}

MockView view_of(const std::string& name, const RunFacts::Mock& m, const RunFacts& run,
                 const ScopeWindow& w) {
  MockView v{name, &m, m.requests, {}, &run, "over the run"};
  const bool windowed = w.from_ms || w.to_ms;
  if (!w.phase.empty()) v.where = fmt::format("in phase \"{}\"", w.phase);
  if (windowed)
    v.where += fmt::format(" between {} and {}",
                           w.from_ms ? expr::to_display(ms_value(*w.from_ms)) : "its start",
                           w.to_ms ? expr::to_display(ms_value(*w.to_ms)) : "its end");
  for (const auto& r : m.recorded) {
    if (!w.phase.empty() && r.label != w.phase) continue;
    if (windowed) {
      double at = at_ms(run, r);
      if ((w.from_ms && at < *w.from_ms) || (w.to_ms && at >= *w.to_ms)) continue;
    }
    v.in_view.push_back(&r);
  }
  if (windowed) {
    v.requests = v.in_view.size();
  } else if (!w.phase.empty()) {
    auto it = m.by_phase.find(w.phase);
    v.requests = it == m.by_phase.end() ? 0 : it->second;
  }
  return v;
}

Value request_value(const MockView& v, std::size_t i) {
  auto rv = std::make_shared<RequestView>(RequestView{v.in_view[i], at_ms(*v.run, *v.in_view[i])});
  return Value::object(Object{"request", fmt::format("mock(\"{}\").request({})", v.name, i), rv});
}

Result<Value> received(const MockView& v, const Arguments& args) {
  static const std::vector<std::string> filters = {"method",        "path",   "header",
                                                   "body_contains", "status", "system_contains"};
  if (!args.positional.empty())
    return scope_error(
        "received takes keyword filters only, as in mock(\"a\").received(path=\"/v1/*\")");
  for (const auto& [k, val] : args.keyword) {
    if (std::find(filters.begin(), filters.end(), k) == filters.end())
      return scope_error(
          fmt::format("received has no filter \"{}\"{} (filters: method, path, "
                      "header, body_contains, status, system_contains)",
                      k, hint_for(k, filters)));
    if (k == "status" ? !val.is(Kind::number) : !val.is(Kind::string))
      return scope_error(
          fmt::format("received: {} must be a {}", k, k == "status" ? "number" : "string"));
  }
  std::uint64_t n = 0;
  for (const RecordedRequest* r : v.in_view) {
    bool ok = true;
    for (const auto& [k, val] : args.keyword) {
      if (k == "status") {
        ok = r->status == static_cast<int>(val.as_number());
        if (ok) continue;
        break;
      }
      const std::string& want = val.as_string();
      if (k == "method") {
        ok = r->request.method == want;
      } else if (k == "path") {
        std::string_view path = path_of(r->request.target);
        ok = !want.empty() && want.back() == '*'
                 ? path.substr(0, want.size() - 1) ==
                       std::string_view(want).substr(0, want.size() - 1)
                 : path == want;
      } else if (k == "header") {
        ok = find_header(*r, want) != nullptr;
      } else if (k == "system_contains") {
        auto system = llm_system_text(*r);
        ok = system && system->find(want) != std::string::npos;
      } else {
        ok = r->body.find(want) != std::string::npos;
      }
      if (!ok) break;
    }
    if (ok) ++n;
  }
  return Value::number(static_cast<double>(n));
}

Result<Value> request_member(const Object& o, std::string_view name) {
  const auto* v = static_cast<const RequestView*>(o.data.get());
  const RecordedRequest& r = *v->r;
  const std::string& target = r.request.target;
  auto q = target.find('?');
  if (name == "method") return Value::string(r.request.method);
  if (name == "target") return Value::string(target);
  if (name == "path") return Value::string(std::string(path_of(target)));
  if (name == "query")
    return Value::string(q == std::string::npos ? std::string() : target.substr(q + 1));
  if (name == "body") return Value::string(r.body);
  if (name == "body_bytes") return Value::number(static_cast<double>(r.body_bytes));
  if (name == "status") return Value::number(r.status);
  if (name == "phase") return Value::string(r.label);
  if (name == "at") return ms_value(v->at_ms);
  if (name == "faults") {
    std::vector<Value> names;
    for (const auto& f : r.faults) names.push_back(Value::string(f));
    return Value::list(std::move(names));
  }
  if (name == "header")
    return scope_error(
        fmt::format("{}.header is a method (hint: call it: {}.header(\"NAME\"))", o.id, o.id));
  if (auto llm = llm_request_member(o, r, name)) return std::move(*llm);
  std::vector<std::string> known = {"method",     "target", "path",  "query", "body",
                                    "body_bytes", "status", "phase", "at",    "faults"};
  known.insert(known.end(), llm_request_members().begin(), llm_request_members().end());
  return expr::unknown_member(Value::object(o), name, known);
}

}  // namespace

void fill_mock_scope(expr::MapScope& scope, const RunFacts& facts, const ScopeWindow& window) {
  const RunFacts* f = &facts;
  const ScopeWindow* w = &window;
  scope.define("mock", [f, w](const Arguments& args) -> Result<Value> {
    auto name = one_string("mock", args);
    if (!name) return name.take_error();
    auto it = f->mocks.find(*name);
    if (it == f->mocks.end())
      return scope_error(
          fmt::format("no mock named \"{}\"{}", *name, hint_for(*name, keys_of(f->mocks))));
    auto view = std::make_shared<MockView>(view_of(*name, it->second, *f, *w));
    return Value::object(Object{"mock", *name, view});
  });
  scope.members("mock", [](const Object& o, std::string_view name) -> Result<Value> {
    const auto* v = static_cast<const MockView*>(o.data.get());
    if (name == "requests") return Value::number(static_cast<double>(v->requests));
    if (name == "max_prompt_tokens" || name == "prompt_tokens" || name == "completion_tokens") {
      const char* key = name == "completion_tokens" ? "llm.completion_tokens" : "llm.prompt_tokens";
      double total = 0, max = 0;
      for (const RecordedRequest* r : v->in_view) {
        const std::string* n = r->note(key);
        if (!n) continue;
        double x = std::strtod(n->c_str(), nullptr);
        total += x;
        max = std::max(max, x);
      }
      return Value::number(name == "max_prompt_tokens" ? max : total);
    }
    if (name == "first" || name == "last") {
      if (v->in_view.empty()) return Value::null();
      return request_value(*v, name == "first" ? 0 : v->in_view.size() - 1);
    }
    if (name == "fired" || name == "received" || name == "request")
      return scope_error(
          fmt::format("mock(\"{}\").{} is a method (hint: call it, as in "
                      "mock(\"{}\").{}({}))",
                      o.id, name, o.id, name,
                      name == "fired"     ? "\"FAULT\""
                      : name == "request" ? "0"
                                          : ""));
    return expr::unknown_member(
        Value::object(o), name,
        {"requests", "first", "last", "max_prompt_tokens", "prompt_tokens", "completion_tokens"});
  });
  scope.methods(
      "mock", [](const Object& o, std::string_view name, const Arguments& args) -> Result<Value> {
        const auto* v = static_cast<const MockView*>(o.data.get());
        if (name == "received") return received(*v, args);
        if (name == "request") {
          if (args.positional.size() != 1 || !args.keyword.empty() ||
              !args.positional[0].is(Kind::number))
            return scope_error(
                "request takes an index, as in mock(\"a\").request(0) (-1: the last)");
          double i = args.positional[0].as_number();
          auto n = static_cast<double>(v->in_view.size());
          if (i < 0) i += n;
          if (i < 0 || i >= n || i != std::floor(i))
            return scope_error(
                fmt::format("mock(\"{}\").request({}): {} request{} recorded {}", o.id,
                            expr::format_number(args.positional[0].as_number()), v->in_view.size(),
                            v->in_view.size() == 1 ? " was" : "s were", v->where));
          return request_value(*v, static_cast<std::size_t>(i));
        }
        if (name != "fired")
          return scope_error(fmt::format("mock(\"{}\") has no method \"{}\"{}", o.id, name,
                                         hint_for(name, {"fired", "received", "request"})));
        auto fault = one_string("fired", args);
        if (!fault) return fault.take_error();
        auto it = v->facts->fired.find(*fault);
        if (it == v->facts->fired.end())
          return scope_error(fmt::format("mock(\"{}\") has no fault named \"{}\"{}", o.id, *fault,
                                         hint_for(*fault, keys_of(v->facts->fired))));
        return Value::number(static_cast<double>(it->second));
      });
  scope.members("request", request_member);
  fill_llm_scope(scope);
  scope.methods("request",
                [](const Object& o, std::string_view name, const Arguments& args) -> Result<Value> {
                  if (auto llm = llm_request_method(
                          o, *static_cast<const RequestView*>(o.data.get())->r, name, args))
                    return std::move(*llm);
                  if (name != "header")
                    return scope_error(fmt::format("{} has no method \"{}\"{}", o.id, name,
                                                   hint_for(name, {"header", "message"})));
                  auto h = one_string("header", args);
                  if (!h) return h.take_error();
                  const auto* v = static_cast<const RequestView*>(o.data.get());
                  const std::string* value = find_header(*v->r, *h);
                  return value ? Value::string(*value) : Value::null();
                });
}

}  // namespace sluice::chaos::detail
