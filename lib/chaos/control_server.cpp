// The live control API: request routing over the registry, fault plans rebuilt one fault more or
// less, JSON rendering of counters, and the small Beast server that carries it.
#include "sluice/core/suggest.hpp"
#include "sluice/net/asio.hpp"

#include "sluice/chaos/control_server.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <list>
#include <optional>
#include <thread>
#include <type_traits>
#include <utility>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "sluice/chaos/mock_server.hpp"
#include "sluice/chaos/tcp_proxy.hpp"
#include "sluice/chaos/toxics.hpp"
#include "sluice/core/units.hpp"
#include "sluice/net/listen.hpp"

namespace sluice::chaos {

using nlohmann::json;

struct ControlApi::MockEntry {
  MockServer* mock = nullptr;
  // Counts of faults removed from the plan, by name in order of first removal. A later fault of
  // the same name adds to them in reports.
  std::vector<FaultCount> retired;
};

struct ControlApi::ProxyEntry {
  TcpProxy* proxy = nullptr;
};

namespace {

constexpr std::size_t kMaxBody = 1024 * 1024;
constexpr auto kIdleTimeout = std::chrono::seconds(30);

// --- Names, paths, hints

// " (hint: did you mean "b"?)", or the known names, or `none` when there are none.
std::string hint(std::string_view name, const std::vector<std::string>& known,
                 std::string_view none) {
  if (known.empty()) return fmt::format(" ({})", none);
  std::string_view best;
  std::size_t best_d = std::max<std::size_t>(2, name.size() / 3) + 1;
  for (const auto& k : known) {
    std::size_t d = edit_distance(name, k);
    if (d < best_d) {
      best_d = d;
      best = k;
    }
  }
  if (!best.empty()) return fmt::format(" (hint: did you mean \"{}\"?)", best);
  std::string list;
  for (std::size_t i = 0; i < known.size() && i < 10; ++i) {
    if (i) list += ", ";
    list += known[i];
  }
  if (known.size() > 10) list += ", ...";
  return fmt::format(" (hint: known names are {})", list);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The path's segments, percent-decoded; nullopt on a bad escape.
std::optional<std::vector<std::string>> path_segments(std::string_view target) {
  target = target.substr(0, target.find('?'));
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= target.size()) {
    std::size_t slash = target.find('/', pos);
    std::string_view raw =
        target.substr(pos, slash == std::string_view::npos ? slash : slash - pos);
    if (!raw.empty()) {
      std::string seg;
      for (std::size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] != '%') {
          seg += raw[i];
          continue;
        }
        if (i + 2 >= raw.size()) return std::nullopt;
        int hi = hex_value(raw[i + 1]);
        int lo = hex_value(raw[i + 2]);
        if (hi < 0 || lo < 0) return std::nullopt;
        seg += static_cast<char>(hi * 16 + lo);
        i += 2;
      }
      out.push_back(std::move(seg));
    }
    if (slash == std::string_view::npos) break;
    pos = slash + 1;
  }
  return out;
}

bool method_allowed(std::string_view method, std::string_view allow) {
  std::size_t pos = 0;
  while (pos < allow.size()) {
    std::size_t comma = allow.find(',', pos);
    std::string_view m = allow.substr(pos, comma == std::string_view::npos ? comma : comma - pos);
    while (!m.empty() && m.front() == ' ') m.remove_prefix(1);
    if (m == method) return true;
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return false;
}

// --- Replies

struct Request {
  std::string_view method;
  std::string_view target;
  std::string_view body;
  std::string_view request_id;
};

ControlReply json_reply(int status, const json& body) {
  ControlReply r;
  r.status = status;
  // Recorded requests carry arbitrary bytes: invalid UTF-8 becomes U+FFFD instead of throwing.
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

ControlReply no_content() {
  ControlReply r;
  r.status = 204;
  return r;
}

// The gateway's error shape: {"error": {"message", "type", "code", "request_id", "details"}}.
ControlReply error_reply(const Request& rq, int status, std::string_view type, std::string message,
                         json details = json::object()) {
  return json_reply(status, {{"error",
                              {{"message", std::move(message)},
                               {"type", type},
                               {"code", std::to_string(status)},
                               {"request_id", rq.request_id},
                               {"details", std::move(details)}}}});
}

ControlReply method_not_allowed(const Request& rq, std::string_view allow) {
  auto r = error_reply(
      rq, 405, "method_not_allowed",
      fmt::format("{} is not allowed on {} (hint: use {})", rq.method, rq.target, allow),
      {{"allow", allow}});
  r.allow = std::string(allow);
  return r;
}

// The body as JSON, or the 400 that says why not.
std::optional<json> parse_body(const Request& rq, std::string_view what, ControlReply& err) {
  if (rq.body.empty()) {
    err = error_reply(rq, 400, "invalid_json",
                      fmt::format("the request body is empty (expected {})", what));
    return std::nullopt;
  }
  try {
    return json::parse(rq.body);
  } catch (const json::exception& e) {
    err = error_reply(rq, 400, "invalid_json",
                      fmt::format("the body is not valid JSON: {}", e.what()));
    return std::nullopt;
  }
}

// --- Mocks

std::vector<std::string> fault_names(const FaultPlan* plan) {
  std::vector<std::string> out;
  if (plan) {
    for (const auto& f : plan->faults()) out.push_back(f.name);
  }
  return out;
}

// Per-name counts over the run: the current plan's (active) plus those of removed faults.
json mock_counters(const ControlApi::MockEntry& e) {
  auto plan = e.mock->faults();
  FaultCounters c;
  if (plan) c = plan->counters();
  c.requests = e.mock->requests();
  std::vector<bool> active(c.faults.size(), true);
  for (const auto& r : e.retired) {
    auto it = std::find_if(c.faults.begin(), c.faults.end(),
                           [&](const FaultCount& f) { return f.name == r.name; });
    if (it != c.faults.end()) {
      it->matched += r.matched;
      it->fired += r.fired;
    } else {
      c.faults.push_back(r);
      active.push_back(false);
    }
  }
  json j = c.to_json();
  for (std::size_t i = 0; i < active.size(); ++i) j["faults"][i]["active"] = active[i];
  return j;
}

json faults_json(const FaultPlan* plan) {
  json list = json::array();
  if (plan) {
    for (const auto& f : plan->faults()) list.push_back(fault_to_json(f));
  }
  return list;
}

json mock_json(const ControlApi::MockEntry& e) {
  auto plan = e.mock->faults();
  return {{"name", e.mock->name()},
          {"address", e.mock->address()},
          {"requests", e.mock->requests()},
          {"faults", faults_json(plan.get())},
          {"counters", mock_counters(e)}};
}

// Moves the counts of the faults of `old` that `kept` does not keep into e.retired.
void retire_removed(ControlApi::MockEntry& e, const FaultPlan& old,
                    const std::vector<Fault>& kept) {
  for (const auto& count : old.counters().faults) {
    bool still =
        std::any_of(kept.begin(), kept.end(), [&](const Fault& f) { return f.name == count.name; });
    if (still) continue;
    auto it = std::find_if(e.retired.begin(), e.retired.end(),
                           [&](const FaultCount& r) { return r.name == count.name; });
    if (it == e.retired.end()) {
      e.retired.push_back(count);
    } else {
      it->matched += count.matched;
      it->fired += count.fired;
    }
  }
}

// Installs a plan of `faults` in place of `old`. The new plan draws its seed from the registry's
// Rng and keeps the counters of the faults it shares with the old one. A request that took the old
// plan just before the swap still counts there, so a count can miss such a request.
void replace_plan(ControlApi::MockEntry& e, const std::shared_ptr<const FaultPlan>& old,
                  std::vector<Fault> faults, Rng& rng, const Clock& clock) {
  if (old) retire_removed(e, *old, faults);
  if (faults.empty()) {
    e.mock->set_faults(nullptr);
    return;
  }
  auto plan =
      std::make_shared<FaultPlan>(std::move(faults), rng.next(), old ? old->clock() : clock);
  if (old) plan->continue_counters(*old);
  e.mock->set_faults(std::move(plan));
}

ControlReply add_faults(const Request& rq, ControlApi::MockEntry& e, Rng& rng, const Clock& clock) {
  ControlReply err;
  auto body = parse_body(rq, "a fault object or an array of faults", err);
  if (!body) return err;
  std::vector<Fault> added;
  if (body->is_array()) {
    auto r = faults_from_json(*body);
    if (!r) return error_reply(rq, 400, "invalid_fault", r.error().message);
    added = std::move(*r);
  } else if (body->is_object()) {
    auto r = fault_from_json(*body);
    if (!r) return error_reply(rq, 400, "invalid_fault", r.error().message);
    added.push_back(std::move(*r));
  } else {
    return error_reply(
        rq, 400, "invalid_fault",
        fmt::format("fault: expected an object or an array of faults, got {}", body->dump()));
  }
  if (added.empty()) return error_reply(rq, 400, "invalid_fault", "faults: the array is empty");

  auto old = e.mock->faults();
  std::vector<Fault> faults = old ? old->faults() : std::vector<Fault>{};
  auto taken = [&](std::string_view name) {
    return std::any_of(faults.begin(), faults.end(),
                       [&](const Fault& f) { return f.name == name; });
  };
  auto retired = [&](std::string_view name) {
    return std::any_of(e.retired.begin(), e.retired.end(),
                       [&](const FaultCount& f) { return f.name == name; });
  };
  json names = json::array();
  for (auto& f : added) {
    if (f.name.empty()) {
      // The plan's own default ("<action>#<position>"), fixed now so it survives later changes,
      // and never reusing a removed fault's name, whose counts it would inherit.
      std::size_t n = faults.size() + 1;
      do {
        f.name = fmt::format("{}#{}", action_name(f.action), n++);
      } while (taken(f.name) || retired(f.name));
    } else if (taken(f.name)) {
      return error_reply(rq, 409, "fault_exists",
                         fmt::format("mock \"{}\" already has a fault named \"{}\" (hint: DELETE "
                                     "/mocks/{}/faults/{} first, or choose another name)",
                                     e.mock->name(), f.name, e.mock->name(), f.name),
                         {{"mock", e.mock->name()}, {"fault", f.name}});
    }
    names.push_back(f.name);
    faults.push_back(std::move(f));
  }
  replace_plan(e, old, std::move(faults), rng, clock);
  auto plan = e.mock->faults();
  return json_reply(200, {{"added", std::move(names)}, {"faults", faults_json(plan.get())}});
}

ControlReply remove_fault(const Request& rq, ControlApi::MockEntry& e, const std::string& name,
                          Rng& rng, const Clock& clock) {
  auto old = e.mock->faults();
  std::vector<Fault> faults = old ? old->faults() : std::vector<Fault>{};
  auto it =
      std::find_if(faults.begin(), faults.end(), [&](const Fault& f) { return f.name == name; });
  if (it == faults.end()) {
    auto known = fault_names(old.get());
    return error_reply(rq, 404, "unknown_fault",
                       fmt::format("mock \"{}\" has no fault named \"{}\"{}", e.mock->name(), name,
                                   hint(name, known, "it has no faults")),
                       {{"mock", e.mock->name()}, {"fault", name}, {"known", known}});
  }
  faults.erase(it);
  replace_plan(e, old, std::move(faults), rng, clock);
  return no_content();
}

ControlReply get_fault(const Request& rq, const ControlApi::MockEntry& e, const std::string& name) {
  auto plan = e.mock->faults();
  if (plan) {
    for (const auto& f : plan->faults()) {
      if (f.name != name) continue;
      json all = mock_counters(e);
      json counts = json::object();
      for (const auto& c : all["faults"])
        if (c["name"] == name) counts = c;
      return json_reply(200, {{"fault", fault_to_json(f)}, {"counters", std::move(counts)}});
    }
  }
  auto known = fault_names(plan.get());
  return error_reply(rq, 404, "unknown_fault",
                     fmt::format("mock \"{}\" has no fault named \"{}\"{}", e.mock->name(), name,
                                 hint(name, known, "it has no faults")),
                     {{"mock", e.mock->name()}, {"fault", name}, {"known", known}});
}

// --- Proxies

json proxy_counters(const TcpProxy& p) {
  auto c = p.counters();
  json by_toxic = json::object();
  for (const auto& [name, n] : c.applied_by_toxic) by_toxic[name] = n;
  return {{"connections", c.connections},           {"active", c.active},
          {"connect_failures", c.connect_failures}, {"bytes_upstream", c.bytes_upstream},
          {"bytes_downstream", c.bytes_downstream}, {"toxics_applied", c.toxics_applied},
          {"applied_by_toxic", std::move(by_toxic)}};
}

json toxics_json(const TcpProxy& p) {
  json list = json::array();
  for (const auto& t : p.toxics()) list.push_back(to_json(t));
  return list;
}

json proxy_json(const TcpProxy& p) {
  return {{"name", p.name()},
          {"address", p.address()},
          {"toxics", toxics_json(p)},
          {"counters", proxy_counters(p)}};
}

std::optional<Toxic> find_toxic(const TcpProxy& p, std::string_view name) {
  for (auto& t : p.toxics()) {
    if (t.name == name) return t;
  }
  return std::nullopt;
}

ControlReply unknown_toxic(const Request& rq, const TcpProxy& p, const std::string& name) {
  std::vector<std::string> known;
  for (const auto& t : p.toxics()) known.push_back(t.name);
  return error_reply(rq, 404, "unknown_toxic",
                     fmt::format("proxy \"{}\" has no toxic named \"{}\"{}", p.name(), name,
                                 hint(name, known, "it has no toxics")),
                     {{"proxy", p.name()}, {"toxic", name}, {"known", known}});
}

ControlReply add_toxic(const Request& rq, TcpProxy& p) {
  ControlReply err;
  auto body = parse_body(rq, "a toxic object", err);
  if (!body) return err;
  auto t = toxic_from_json(*body);
  if (!t) return error_reply(rq, 400, "invalid_toxic", t.error().message);
  std::string name = t->name;
  if (find_toxic(p, name))
    return error_reply(rq, 409, "toxic_exists",
                       fmt::format("proxy \"{}\" already has a toxic named \"{}\" (hint: DELETE "
                                   "/proxies/{}/toxics/{} first, or choose another name)",
                                   p.name(), name, p.name(), name),
                       {{"proxy", p.name()}, {"toxic", name}});
  json rendered = to_json(*t);
  if (auto r = p.add_toxic(std::move(*t)); !r)
    return error_reply(rq, 409, "toxic_exists", r.error().message,
                       {{"proxy", p.name()}, {"toxic", name}});
  return json_reply(200, rendered);
}

// As Toxiproxy: the fields given replace the toxic's, attributes one by one.
ControlReply update_toxic(const Request& rq, TcpProxy& p, const std::string& name) {
  auto current = find_toxic(p, name);
  if (!current) return unknown_toxic(rq, p, name);
  ControlReply err;
  auto body = parse_body(rq, "a toxic object", err);
  if (!body) return err;
  if (!body->is_object())
    return error_reply(rq, 400, "invalid_toxic",
                       fmt::format("toxic: expected an object, got {}", body->dump()));
  json merged = to_json(*current);
  bool same_type = !body->contains("type") || (*body)["type"] == merged["type"];
  if (!same_type) merged.erase("attributes");
  for (const auto& [key, value] : body->items()) {
    if (key == "attributes" && value.is_object() && merged.contains("attributes")) {
      for (const auto& [attr, v] : value.items()) merged["attributes"][attr] = v;
    } else {
      merged[key] = value;
    }
  }
  if (merged["name"] != name)
    return error_reply(rq, 400, "invalid_toxic",
                       fmt::format("toxic.name: cannot rename \"{}\" (hint: DELETE it and POST a "
                                   "new one)",
                                   name));
  auto t = toxic_from_json(merged);
  if (!t) return error_reply(rq, 400, "invalid_toxic", t.error().message);
  json rendered = to_json(*t);
  if (auto r = p.update_toxic(std::move(*t)); !r) return unknown_toxic(rq, p, name);
  return json_reply(200, rendered);
}

const char* const kEndpoints[] = {
    "GET /mocks",
    "GET /mocks/NAME",
    "GET|POST|DELETE /mocks/NAME/faults",
    "GET|DELETE /mocks/NAME/faults/FAULT",
    "GET|DELETE /mocks/NAME/requests",
    "GET /proxies",
    "GET /proxies/NAME",
    "GET|POST /proxies/NAME/toxics",
    "GET|POST|DELETE /proxies/NAME/toxics/TOXIC",
    "GET /counters",
};

template <class Map>
std::vector<std::string> keys_of(const Map& m) {
  std::vector<std::string> out;
  for (const auto& [k, v] : m) out.push_back(k);
  return out;
}

// ?limit=N in a target: the newest N records; 0 or absent: all of them.
std::size_t limit_of(std::string_view target) {
  auto q = target.find('?');
  if (q == std::string_view::npos) return 0;
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view kv = query.substr(0, amp);
    if (kv.starts_with("limit=")) {
      std::size_t n = 0;
      for (char c : kv.substr(6)) {
        if (c < '0' || c > '9') return 0;
        n = std::min<std::size_t>(n * 10 + static_cast<std::size_t>(c - '0'), kMaxRecorded);
      }
      return n;
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return 0;
}

// GET /mocks/NAME/requests: {"requests": [...], "dropped": N}, oldest first.
json recorded_json(const MockServer& mock, std::size_t limit) {
  auto records = mock.recorded();
  std::size_t from = limit && records.size() > limit ? records.size() - limit : 0;
  auto now = std::chrono::steady_clock::now();
  json list = json::array();
  for (std::size_t i = from; i < records.size(); ++i) {
    const auto& r = records[i];
    json headers = json::array();
    for (const auto& [k, v] : r.request.headers) headers.push_back({k, v});
    json notes = json::object();
    for (const auto& [k, v] : r.notes) notes[k] = v;
    list.push_back({
        {"seq", r.seq},
        {"age_ms", std::chrono::duration<double, std::milli>(now - r.received).count()},
        {"label", r.label},
        {"method", r.request.method},
        {"target", r.request.target},
        {"headers", std::move(headers)},
        {"body", r.body},
        {"body_bytes", r.body_bytes},
        {"status", r.status},
        {"complete", r.complete},
        {"faults", r.faults},
        {"notes", std::move(notes)},
    });
  }
  return {{"requests", std::move(list)}, {"dropped", mock.recorded_dropped() + from}};
}

}  // namespace

// --- ControlApi

ControlApi::ControlApi(std::uint64_t seed, const Clock& clock) : rng_(seed), clock_(clock) {}

ControlApi::~ControlApi() = default;

Result<void> ControlApi::add_mock(MockServer& mock) {
  std::lock_guard lk(mu_);
  if (mocks_.count(mock.name()))
    return make_error(
        ErrorKind::config, ErrorSource::internal,
        fmt::format("control: a mock named \"{}\" is already registered", mock.name()));
  auto e = std::make_unique<MockEntry>();
  e->mock = &mock;
  mocks_.emplace(mock.name(), std::move(e));
  return {};
}

Result<void> ControlApi::add_proxy(TcpProxy& proxy) {
  std::lock_guard lk(mu_);
  if (proxies_.count(proxy.name()))
    return make_error(
        ErrorKind::config, ErrorSource::internal,
        fmt::format("control: a proxy named \"{}\" is already registered", proxy.name()));
  auto e = std::make_unique<ProxyEntry>();
  e->proxy = &proxy;
  proxies_.emplace(proxy.name(), std::move(e));
  return {};
}

bool ControlApi::remove_mock(std::string_view name) {
  std::lock_guard lk(mu_);
  auto it = mocks_.find(name);
  if (it == mocks_.end()) return false;
  mocks_.erase(it);
  return true;
}

bool ControlApi::remove_proxy(std::string_view name) {
  std::lock_guard lk(mu_);
  auto it = proxies_.find(name);
  if (it == proxies_.end()) return false;
  proxies_.erase(it);
  return true;
}

json ControlApi::counters() const {
  std::lock_guard lk(mu_);
  json mocks = json::object();
  for (const auto& [name, e] : mocks_) mocks[name] = mock_counters(*e);
  json proxies = json::object();
  for (const auto& [name, e] : proxies_) proxies[name] = proxy_counters(*e->proxy);
  return {{"mocks", std::move(mocks)}, {"proxies", std::move(proxies)}};
}

ControlReply ControlApi::handle(std::string_view method, std::string_view target,
                                std::string_view body, std::string_view request_id) {
  Request rq{method, target, body, request_id.empty() ? "-" : request_id};
  auto segs = path_segments(target);
  if (!segs)
    return error_reply(rq, 400, "invalid_request",
                       fmt::format("the path {} has a bad percent-escape", target));
  const auto& s = *segs;
  const std::size_t n = s.size();
  auto allow = [&](std::string_view methods) { return method_allowed(method, methods); };

  if (n == 0) {
    if (!allow("GET")) return method_not_allowed(rq, "GET");
    json list = json::array();
    for (const char* e : kEndpoints) list.push_back(e);
    return json_reply(200, {{"endpoints", std::move(list)}});
  }

  if (s[0] == "counters" && n == 1) {
    if (!allow("GET")) return method_not_allowed(rq, "GET");
    return json_reply(200, counters());
  }

  std::lock_guard lk(mu_);
  if (s[0] == "mocks") {
    if (n == 1) {
      if (!allow("GET")) return method_not_allowed(rq, "GET");
      json list = json::array();
      for (const auto& [name, e] : mocks_) list.push_back(mock_json(*e));
      return json_reply(200, {{"mocks", std::move(list)}});
    }
    std::string_view methods;
    if (n == 2) {
      methods = "GET";
    } else if (n == 3 && s[2] == "faults") {
      methods = "GET, POST, DELETE";
    } else if (n == 4 && s[2] == "faults") {
      methods = "GET, DELETE";
    } else if (n == 3 && s[2] == "requests") {
      methods = "GET, DELETE";
    }
    if (!methods.empty()) {
      if (!allow(methods)) return method_not_allowed(rq, methods);
      auto it = mocks_.find(s[1]);
      if (it == mocks_.end()) {
        auto known = keys_of(mocks_);
        return error_reply(rq, 404, "unknown_mock",
                           fmt::format("no mock named \"{}\"{}", s[1],
                                       hint(s[1], known, "no mocks are registered")),
                           {{"mock", s[1]}, {"known", known}});
      }
      MockEntry& e = *it->second;
      if (n == 2) return json_reply(200, mock_json(e));
      if (n == 3 && s[2] == "requests") {
        if (method == "GET") return json_reply(200, recorded_json(*e.mock, limit_of(target)));
        e.mock->clear_recorded();
        return no_content();
      }
      if (n == 3) {
        if (method == "GET")
          return json_reply(200, {{"faults", faults_json(e.mock->faults().get())}});
        if (method == "POST") return add_faults(rq, e, rng_, clock_);
        auto old = e.mock->faults();
        replace_plan(e, old, {}, rng_, clock_);
        return no_content();
      }
      if (method == "GET") return get_fault(rq, e, s[3]);
      return remove_fault(rq, e, s[3], rng_, clock_);
    }
  }

  if (s[0] == "proxies") {
    if (n == 1) {
      if (!allow("GET")) return method_not_allowed(rq, "GET");
      json list = json::array();
      for (const auto& [name, e] : proxies_) list.push_back(proxy_json(*e->proxy));
      return json_reply(200, {{"proxies", std::move(list)}});
    }
    std::string_view methods;
    if (n == 2) {
      methods = "GET";
    } else if (n == 3 && s[2] == "toxics") {
      methods = "GET, POST";
    } else if (n == 4 && s[2] == "toxics") {
      methods = "GET, POST, DELETE";
    }
    if (!methods.empty()) {
      if (!allow(methods)) return method_not_allowed(rq, methods);
      auto it = proxies_.find(s[1]);
      if (it == proxies_.end()) {
        auto known = keys_of(proxies_);
        return error_reply(rq, 404, "unknown_proxy",
                           fmt::format("no proxy named \"{}\"{}", s[1],
                                       hint(s[1], known, "no proxies are registered")),
                           {{"proxy", s[1]}, {"known", known}});
      }
      TcpProxy& p = *it->second->proxy;
      if (n == 2) return json_reply(200, proxy_json(p));
      if (n == 3) {
        if (method == "GET") return json_reply(200, toxics_json(p));
        return add_toxic(rq, p);
      }
      if (method == "GET") {
        auto t = find_toxic(p, s[3]);
        if (!t) return unknown_toxic(rq, p, s[3]);
        return json_reply(200, to_json(*t));
      }
      if (method == "POST") return update_toxic(rq, p, s[3]);
      if (!p.remove_toxic(s[3])) return unknown_toxic(rq, p, s[3]);
      return no_content();
    }
  }

  return error_reply(rq, 404, "unknown_endpoint",
                     fmt::format("no endpoint {} {} (hint: GET / lists them: /mocks, /proxies, "
                                 "/counters)",
                                 method, target));
}

// --- ControlServer

namespace asio = net::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using net::error_code;
using net::tcp;

struct ControlServer::Impl {
  explicit Impl(std::uint64_t seed) : api(seed) {}

  ControlApi api;
  std::uint16_t port = 0;
  std::string address;
  std::atomic<bool> stopped{false};
  // io thread only. The io_context outlives the sockets declared after it.
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  std::list<std::weak_ptr<beast::tcp_stream>> streams;
  bool stopping = false;
  std::thread thread;
};

namespace {

Result<tcp::endpoint> parse_listen(std::string_view text) {
  auto ep = net::parse_numeric_endpoint(text);
  if (!ep)
    return make_error(ErrorKind::config, ErrorSource::internal,
                      "control listen address " + ep.error().message);
  return ep;
}

// The reply to a request the parser refused, or nullopt when the connection just closed or idled.
std::optional<ControlReply> refusal(const error_code& ec) {
  if (ec.category() != http::make_error_code(http::error::body_limit).category() ||
      ec == http::error::end_of_stream || ec == http::error::partial_message)
    return std::nullopt;
  Request rq{"-", "-", "", "-"};
  if (ec == http::error::body_limit)
    return error_reply(rq, 413, "request_too_large",
                       fmt::format("the body exceeds {} bytes", kMaxBody));
  return error_reply(rq, 400, "invalid_request",
                     fmt::format("malformed HTTP request: {}", ec.message()));
}

http::response<http::string_body> make_response(ControlReply r, unsigned version, bool keep_alive) {
  http::response<http::string_body> res{static_cast<http::status>(r.status), version};
  if (!r.body.empty()) res.set(http::field::content_type, r.content_type);
  res.set(http::field::cache_control, "no-store");
  if (!r.allow.empty()) res.set(http::field::allow, r.allow);
  res.keep_alive(keep_alive);
  res.body() = std::move(r.body);
  res.prepare_payload();
  return res;
}

net::awaitable<void> serve(ControlServer::Impl* p, std::shared_ptr<beast::tcp_stream> stream) {
  beast::flat_buffer buf;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(16 * 1024);
    parser.body_limit(kMaxBody);
    stream->expires_after(kIdleTimeout);
    error_code ec;
    co_await http::async_read(*stream, buf, parser, asio::redirect_error(asio::use_awaitable, ec));
    http::response<http::string_body> res;
    if (ec) {
      auto r = refusal(ec);
      if (!r || p->stopping) break;
      res = make_response(std::move(*r), 11, false);
    } else {
      const auto& req = parser.get();
      auto sv = [](beast::string_view v) { return std::string_view(v.data(), v.size()); };
      res = make_response(p->api.handle(sv(req.method_string()), sv(req.target()), req.body(),
                                        sv(req["X-Request-Id"])),
                          req.version(), req.keep_alive() && !p->stopping);
    }
    co_await http::async_write(*stream, res, asio::redirect_error(asio::use_awaitable, ec));
    if (ec || !res.keep_alive()) break;
  }
  error_code ignored;
  stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream->socket().close(ignored);
}

net::awaitable<void> accept_loop(ControlServer::Impl* p) {
  for (;;) {
    error_code ec;
    tcp::socket sock =
        co_await p->acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (p->stopping || !p->acceptor.is_open()) co_return;
    if (ec) {
      // Out of descriptors or similar: back off briefly instead of spinning.
      asio::steady_timer t(p->io, std::chrono::milliseconds(10));
      co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    auto stream = std::make_shared<beast::tcp_stream>(std::move(sock));
    p->streams.remove_if([](const std::weak_ptr<beast::tcp_stream>& w) { return w.expired(); });
    p->streams.push_back(stream);
    asio::co_spawn(p->io, serve(p, std::move(stream)), asio::detached);
  }
}

}  // namespace

Result<std::unique_ptr<ControlServer>> ControlServer::start(ControlServerOptions options) {
  auto at = parse_listen(options.listen);
  if (!at) return at.take_error();
  if (!at->address().is_loopback() && options.allow_remote == AllowRemote::no)
    return make_error(ErrorKind::config, ErrorSource::internal,
                      fmt::format("control listen address \"{}\" is not loopback; the control API "
                                  "has no authentication (hint: use 127.0.0.1, or allow remote "
                                  "access explicitly)",
                                  options.listen));
  auto impl = std::make_unique<Impl>(options.seed);
  auto acc = net::open_acceptor(impl->io, *at, net::ReusePort::no);
  if (!acc) {
    Error e = acc.take_error();
    e.message = fmt::format("control server: {}", e.message);
    return e;
  }
  impl->acceptor = std::move(*acc);
  error_code ec;
  auto bound = impl->acceptor.local_endpoint(ec);
  impl->port = bound.port();
  impl->address = net::to_string(bound);

  Impl* p = impl.get();
  asio::co_spawn(p->io, accept_loop(p), asio::detached);
  impl->thread = std::thread([p] {
    try {
      p->io.run();
    } catch (...) {
      // A bug in a handler; the control API stops serving rather than taking the process down.
    }
  });
  return std::unique_ptr<ControlServer>(new ControlServer(std::move(impl)));
}

ControlServer::ControlServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ControlServer::~ControlServer() {
  stop();
}

ControlApi& ControlServer::api() {
  return impl_->api;
}

std::uint16_t ControlServer::port() const {
  return impl_->port;
}

std::string ControlServer::address() const {
  return impl_->address;
}

void ControlServer::stop() {
  if (impl_->stopped.exchange(true)) return;
  Impl* p = impl_.get();
  asio::post(p->io, [p] {
    p->stopping = true;
    error_code ec;
    p->acceptor.close(ec);
    for (auto& w : p->streams) {
      if (auto s = w.lock()) s->socket().close(ec);
    }
  });
  if (p->thread.joinable()) p->thread.join();
}

}  // namespace sluice::chaos
