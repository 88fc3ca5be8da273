// run_scenario: starts a scenario's mocks, proxies and gateway, runs its phases, evaluates its
// assertions. Traffic is in load_client.cpp, the gateway process in runner_gateway.cpp and the
// assertion names in run_scope.cpp.
#include "sluice/chaos/runner.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <atomic>
#include <cmath>
#include <limits>
#include <memory>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "load_client.hpp"
#include "run_scope.hpp"
#include "runner_gateway.hpp"
#include "runner_mocks.hpp"
#include "slowloris.hpp"
#include "sluice/chaos/mock_routes.hpp"
#include "sluice/chaos/mock_server.hpp"
#include "sluice/chaos/tcp_proxy.hpp"
#include "sluice/core/clock.hpp"
#include "sluice/core/expr/expr.hpp"

namespace sluice::chaos {

std::uint64_t ClientStats::errors() const {
  std::uint64_t n = transport_errors;
  for (const auto& [status, count] : by_status)
    if (status >= 500) n += count;
  return n;
}

double ClientStats::percentile_ms(double p) const {
  return detail::nearest_rank(latencies_ms, p);
}

void ClientStats::merge(const ClientStats& o, double offset_ms) {
  requests += o.requests;
  transport_errors += o.transport_errors;
  for (const auto& [status, count] : o.by_status) by_status[status] += count;
  for (const auto& [cause, count] : o.transport_error_causes)
    transport_error_causes[cause] += count;
  latencies_ms.insert(latencies_ms.end(), o.latencies_ms.begin(), o.latencies_ms.end());
  for (ClientSample s : o.samples) {
    s.sent_ms += offset_ms;
    samples.push_back(s);
  }
}

ClientStats ClientStats::window(double from_ms, double to_ms) const {
  ClientStats out;
  for (const auto& s : samples) {
    if (s.sent_ms < from_ms || s.sent_ms >= to_ms) continue;
    ++out.requests;
    if (s.status == 0) {
      ++out.transport_errors;
    } else {
      ++out.by_status[s.status];
      out.latencies_ms.push_back(s.latency_ms);
    }
    out.samples.push_back(s);
  }
  return out;
}

bool ScenarioResult::passed() const {
  if (!setup_error.empty() || assertions.empty()) return false;
  return std::all_of(assertions.begin(), assertions.end(),
                     [](const AssertionResult& a) { return a.passed; });
}

namespace {

using SteadyClock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr auto kGatewayStartTimeout = 15s;
constexpr auto kGatewayStopGrace = 15s;
constexpr auto kTimeoutGrace = 1s;

// A seed for one consumer, derived from the run's seed and a salt, so that adding a mock does not
// change another's draws more than its position does.
std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t salt) {
  SeededRng rng(seed ^ (salt * 0x9e3779b97f4a7c15ull));
  rng.next();
  return rng.next();
}

struct MockState {
  const ScenarioMock* spec = nullptr;
  std::unique_ptr<MockServer> server;
  std::vector<Fault> faults;  // the current plan's faults
  // Fired counts of faults no longer in the plan, so mock("a").fired covers the whole run.
  std::map<std::string, std::uint64_t, std::less<>> retired_fired;
  std::uint64_t seed = 0;
  std::uint64_t generation = 0;

  void set_plan(std::vector<Fault> next) {
    auto old = server->faults();
    if (old) {
      for (const auto& fc : old->counters().faults) {
        bool kept = std::any_of(next.begin(), next.end(),
                                [&](const Fault& f) { return f.name == fc.name; });
        if (!kept) retired_fired[fc.name] += fc.fired;
      }
    }
    faults = std::move(next);
    if (faults.empty()) {
      server->set_faults(nullptr);
      return;
    }
    auto plan = std::make_shared<FaultPlan>(faults, derive_seed(seed, ++generation));
    if (old) plan->continue_counters(*old);
    server->set_faults(std::move(plan));
  }

  std::map<std::string, std::uint64_t, std::less<>> fired() const {
    auto out = retired_fired;
    if (auto plan = server->faults())
      for (const auto& fc : plan->counters().faults) out[fc.name] += fc.fired;
    return out;
  }
};

std::string self_exe() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string("sluice");
}

std::string describe_traffic(const Phase& p) {
  auto d = expr::format_duration_short(p.duration);
  std::string slow;
  if (p.slowloris)
    slow = fmt::format("{}{} slow client{}", p.sends_traffic() ? ", " : " with ",
                       p.slowloris->connections, p.slowloris->connections == 1 ? "" : "s");
  if (p.rate)
    return fmt::format("phase {}: {} at {} req/s{}", p.name, d, expr::format_number(*p.rate), slow);
  if (p.concurrency)
    return fmt::format("phase {}: {} with {} client{}{}", p.name, d, *p.concurrency,
                       *p.concurrency == 1 ? "" : "s", slow);
  if (p.slowloris) return fmt::format("phase {}: {}{}", p.name, d, slow);
  return fmt::format("phase {}: {}, no traffic", p.name, d);
}

std::string_view signal_name(int sig) {
  switch (sig) {
    case SIGTERM:
      return "SIGTERM";
    case SIGINT:
      return "SIGINT";
    case SIGHUP:
      return "SIGHUP";
    default:
      return "signal";
  }
}

double seconds_of(Duration d) {
  return std::chrono::duration<double>(d).count();
}

class Runner {
 public:
  Runner(const Scenario& s, const RunOptions& o) : sc_(s), opt_(o) {}

  ScenarioResult run() {
    auto t0 = SteadyClock::now();
    // Setup has its own bounds (the gateway gets 15s to start); the timeout bounds the phases.
    res_.source = sc_.source;
    res_.name = sc_.name;
    res_.seed = opt_.seed ? *opt_.seed : sc_.seed ? *sc_.seed : 1;

    if (setup() && run_phases()) {
      progress("assertions");
      collect_gateway_facts();
      collect_facts();
      evaluate();
    } else if (gateway_) {
      gateway_->stop(kGatewayStopGrace);
    }
    // Stop the proxies before the mocks they forward to.
    for (auto& [name, p] : proxies_) p->stop();
    for (auto& m : mocks_) m.server->stop();
    if (!hosts_file_.empty()) std::remove(hosts_file_.c_str());
    res_.elapsed = std::chrono::duration_cast<Duration>(SteadyClock::now() - t0);
    return std::move(res_);
  }

 private:
  void progress(std::string_view line) {
    if (opt_.progress) opt_.progress(line);
  }

  bool fail(std::string msg) {
    res_.setup_error = std::move(msg);
    return false;
  }

  bool setup() {
    progress("starting mocks");
    std::uint64_t salt = 1;
    mocks_.reserve(sc_.mocks.size());
    auto servers = detail::start_mocks(sc_.mocks);
    if (!servers) return fail(servers.error().message);
    for (std::size_t i = 0; i < sc_.mocks.size(); ++i) {
      const auto& m = sc_.mocks[i];
      MockState st;
      st.spec = &m;
      st.seed = derive_seed(res_.seed, salt++);
      st.server = std::move((*servers)[i]);
      st.set_plan(m.faults);
      addresses_["mock." + m.name] = st.server->address();
      addresses_["mock." + m.name + ".host"] = m.address;
      addresses_["mock." + m.name + ".port"] = std::to_string(st.server->port());
      mocks_.push_back(std::move(st));
    }
    for (const auto& p : sc_.proxies) {
      TcpProxyOptions o;
      o.name = p.name;
      o.listen = "127.0.0.1:0";
      if (!p.upstream_mock.empty()) {
        std::string key =
            p.upstream_mock.rfind("mock.", 0) == 0 ? p.upstream_mock : "mock." + p.upstream_mock;
        auto it = addresses_.find(key);
        if (it == addresses_.end())
          return fail(fmt::format("proxy {}: no mock {}", p.name, p.upstream_mock));
        o.upstream = it->second;
      } else {
        o.upstream = p.upstream_address;
      }
      o.seed = derive_seed(res_.seed, salt++);
      auto proxy = TcpProxy::start(std::move(o));
      if (!proxy)
        return fail(fmt::format("proxy {} did not start: {}", p.name, proxy.error().message));
      for (const auto& t : p.toxics)
        if (auto r = (*proxy)->add_toxic(t); !r)
          return fail(fmt::format("proxy {}: toxic {}: {}", p.name, t.name, r.error().message));
      addresses_["proxy." + p.name] = (*proxy)->address();
      proxies_[p.name] = std::move(*proxy);
    }
    if (sc_.gateway && sc_.gateway->hosts) {
      hosts_file_ = detail::run_file_path("hosts");
      addresses_["hosts_file"] = hosts_file_;
      if (!write_hosts(*sc_.gateway->hosts, "gateway.hosts")) return false;
    }
    if (sc_.gateway) {
      auto text = substitute(sc_.gateway->config, addresses_);
      if (!text) return fail("gateway config: " + text.error().message);
      gateway_ = std::make_unique<detail::GatewayProcess>();
      std::string bin = opt_.sluice_binary.empty() ? self_exe() : opt_.sluice_binary;
      auto started = gateway_->start(bin, *text, {sc_.gateway->target, "admin"},
                                     std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::min<Duration>(kGatewayStartTimeout, sc_.timeout)));
      if (!started) return fail(started.error().message);
      progress(fmt::format("gateway on {}", gateway_->address(sc_.gateway->target)));
    }
    return true;
  }

  MockState* mock(std::string_view name) {
    for (auto& m : mocks_)
      if (m.spec->name == name) return &m;
    return nullptr;
  }

  TcpProxy* proxy(std::string_view name) {
    auto it = proxies_.find(std::string(name));
    return it == proxies_.end() ? nullptr : it->second.get();
  }

  // Substitutes and writes the gateway's hosts file; `what` names the key for errors.
  bool write_hosts(const std::string& text, std::string_view what) {
    auto hosts = substitute(text, addresses_);
    if (!hosts) return fail(fmt::format("{}: {}", what, hosts.error().message));
    if (auto w = detail::replace_file(hosts_file_, *hosts); !w)
      return fail(fmt::format("{}: {}", what, w.error().message));
    return true;
  }

  bool apply_changes(const Phase& ph) {
    if (ph.hosts) {
      if (hosts_file_.empty()) return fail(fmt::format("phase {}: hosts: no hosts file", ph.name));
      progress(fmt::format("phase {}: rewriting the hosts file", ph.name));
      if (!write_hosts(*ph.hosts, fmt::format("phase {}: hosts", ph.name))) return false;
    }
    for (const auto& name : ph.clear_faults) {
      auto* m = mock(name);
      if (!m) return fail(fmt::format("phase {}: clear_faults: no mock {}", ph.name, name));
      m->set_plan({});
    }
    for (const auto& r : ph.remove_toxics) {
      auto* p = proxy(r.proxy);
      if (!p) return fail(fmt::format("phase {}: remove_toxics: no proxy {}", ph.name, r.proxy));
      p->remove_toxic(r.name);  // absent already: nothing to do
    }
    // Faults are added to each mock's current plan, in the order given.
    std::map<std::string, std::vector<Fault>> added;
    std::vector<std::string> order;
    for (const auto& f : ph.faults) {
      if (!mock(f.mock)) return fail(fmt::format("phase {}: faults: no mock {}", ph.name, f.mock));
      if (!added.count(f.mock)) order.push_back(f.mock);
      added[f.mock].push_back(f.fault);
    }
    for (const auto& name : order) {
      auto* m = mock(name);
      auto next = m->faults;
      next.insert(next.end(), added[name].begin(), added[name].end());
      m->set_plan(std::move(next));
    }
    for (const auto& t : ph.toxics) {
      auto* p = proxy(t.proxy);
      if (!p) return fail(fmt::format("phase {}: toxics: no proxy {}", ph.name, t.proxy));
      auto r = p->add_toxic(t.toxic);
      if (!r) r = p->update_toxic(t.toxic);  // the same name again replaces it
      if (!r)
        return fail(fmt::format("phase {}: proxy {}: toxic {}: {}", ph.name, t.proxy, t.toxic.name,
                                r.error().message));
    }
    return true;
  }

  std::string target_address(const Phase& ph) {
    switch (ph.target.kind) {
      case PhaseTarget::Kind::gateway:
        return gateway_ && sc_.gateway ? gateway_->address(sc_.gateway->target) : std::string();
      case PhaseTarget::Kind::mock: {
        auto it = addresses_.find("mock." + ph.target.name);
        return it == addresses_.end() ? std::string() : it->second;
      }
      case PhaseTarget::Kind::proxy: {
        auto it = addresses_.find("proxy." + ph.target.name);
        return it == addresses_.end() ? std::string() : it->second;
      }
      case PhaseTarget::Kind::none:
        break;
    }
    return {};
  }

  bool run_phases() {
    deadline_ = SteadyClock::now() + std::chrono::duration_cast<SteadyClock::duration>(sc_.timeout);
    std::optional<SteadyClock::time_point> first_start;
    for (const auto& ph : sc_.phases) {
      for (auto& m : mocks_) m.server->set_label(ph.name);
      if (!apply_changes(ph)) return false;
      progress(describe_traffic(ph));
      auto start = SteadyClock::now();
      if (!first_start) first_start = start;
      facts_.phase_starts[ph.name] = start;
      // Waiting for the requests in flight at a phase's end makes the phases drift a little past
      // their durations; kTimeoutGrace absorbs that before the timeout cuts a phase short.
      auto end = start + std::chrono::duration_cast<SteadyClock::duration>(ph.duration);
      const bool cut = end > deadline_ + kTimeoutGrace;
      if (cut) end = deadline_;
      PhaseResult pr;
      pr.name = ph.name;
      pr.started = std::chrono::duration_cast<Duration>(start - *first_start);
      std::atomic<bool> stop{false};
      std::thread traffic, slow;
      if (ph.has_clients() && ph.target.kind != PhaseTarget::Kind::none) {
        std::string address = target_address(ph);
        if (address.empty())
          return fail(fmt::format("phase {}: no address for its target", ph.name));
        if (ph.sends_traffic())
          traffic = std::thread(
              [&, address] { pr.client = detail::run_traffic(ph, address, start, end, stop); });
        if (ph.slowloris)
          slow = std::thread([&, address] {
            pr.slowloris = detail::run_slowloris(*ph.slowloris, address, start, end, stop);
          });
      }
      // The reload and the signal, in time order.
      struct Event {
        Duration at;
        bool reload;
      };
      std::vector<Event> events;
      if (ph.reload) events.push_back({ph.reload_at, true});
      if (ph.signal) events.push_back({ph.signal_at, false});
      std::stable_sort(events.begin(), events.end(),
                       [](const Event& a, const Event& b) { return a.at < b.at; });
      std::string event_error;
      for (const auto& ev : events) {
        auto when = start + std::chrono::duration_cast<SteadyClock::duration>(ev.at);
        if (when > end) break;
        std::this_thread::sleep_until(when);
        if (!gateway_) continue;
        if (ev.reload) {
          auto text = substitute(*ph.reload, addresses_);
          if (!text) {
            event_error = fmt::format("phase {}: reload: {}", ph.name, text.error().message);
            break;
          }
          progress(fmt::format("phase {}: reloading the gateway", ph.name));
          if (auto r = gateway_->reload(*text); !r) {
            event_error = fmt::format("phase {}: reload: {}", ph.name, r.error().message);
            break;
          }
        } else {
          progress(fmt::format("phase {}: sending {}", ph.name, signal_name(ph.signal)));
          gateway_->send_signal(ph.signal);
        }
      }
      if (!event_error.empty()) stop = true;
      std::this_thread::sleep_until(end);
      if (traffic.joinable()) traffic.join();
      if (slow.joinable()) slow.join();
      pr.elapsed = std::chrono::duration_cast<Duration>(SteadyClock::now() - start);
      res_.phases.push_back(std::move(pr));
      if (!event_error.empty()) return fail(event_error);
      if (cut)
        return fail(fmt::format("the run exceeded the scenario timeout ({}) in phase {}",
                                expr::format_duration_short(sc_.timeout), ph.name));
    }
    return true;
  }

  void collect_gateway_facts() {
    if (!gateway_) return;
    facts_.has_gateway = true;
    std::string admin = gateway_->address("admin");
    if (gateway_->exit_code()) {
      facts_.metrics_error = "the gateway had exited before the final scrape";
    } else if (admin.empty()) {
      facts_.metrics_error = "the gateway reported no admin listener";
    } else {
      detail::HttpClient client(admin, std::chrono::seconds(5));
      RequestTemplate get;
      get.path = "/metrics";
      auto r = client.send(get);
      if (r.status == 200) {
        auto parsed = detail::parse_prometheus(r.body);
        if (parsed)
          facts_.metrics = std::move(*parsed);
        else
          facts_.metrics_error = parsed.error().message;
      } else if (r.status == 0) {
        facts_.metrics_error = fmt::format("GET http://{}/metrics: {}", admin, r.error);
      } else {
        facts_.metrics_error = fmt::format("GET http://{}/metrics: status {}", admin, r.status);
      }
      get.path = "/admin/upstreams";
      auto u = client.send(get);
      auto doc = nlohmann::json::parse(u.body, nullptr, /*allow_exceptions=*/false);
      if (u.status == 200 && doc.is_object())
        facts_.upstreams = std::move(doc);
      else
        facts_.upstreams_error =
            u.status == 0
                ? fmt::format("GET http://{}/admin/upstreams: {}", admin, u.error)
                : fmt::format("GET http://{}/admin/upstreams: status {}", admin, u.status);
    }
    if (facts_.metrics_error.size() && facts_.upstreams_error.empty() && !facts_.upstreams)
      facts_.upstreams_error = facts_.metrics_error;
    facts_.gateway_exit_code = gateway_->stop(kGatewayStopGrace);
  }

  void collect_facts() {
    for (const auto& m : mocks_) {
      detail::RunFacts::Mock f;
      f.requests = m.server->requests();
      f.fired = m.fired();
      for (const auto& [label, n] : m.server->label_counts()) f.by_phase[label] = n;
      f.recorded = m.server->recorded();
      f.address = m.server->address();
      f.dropped = m.server->recorded_dropped();
      facts_.mocks[m.spec->name] = std::move(f);
    }
    for (const auto& [name, p] : proxies_) {
      auto c = p->counters();
      facts_.proxies[name] = {c.connections, c.bytes_upstream, c.bytes_downstream};
    }
  }

  void evaluate() {
    ClientStats whole;
    std::optional<SlowlorisStats> whole_slow;
    double whole_seconds = 0;
    for (std::size_t i = 0; i < res_.phases.size(); ++i) {
      const auto& pr = res_.phases[i];
      whole.merge(pr.client, std::chrono::duration<double, std::milli>(pr.started).count());
      if (sc_.phases[i].sends_traffic()) whole_seconds += seconds_of(pr.elapsed);
      if (pr.slowloris) detail::merge(whole_slow.emplace(), *pr.slowloris);
    }
    for (const auto& a : sc_.assertions) {
      AssertionResult ar;
      ar.name = a.name.empty() ? a.expect.source() : a.name;
      ar.expression = a.expect.source();
      ar.phase = a.phase;
      ar.pos = a.pos;
      const ClientStats* client = &whole;
      const SlowlorisStats* slow = whole_slow ? &*whole_slow : nullptr;
      double seconds = whole_seconds;
      detail::ScopeWindow window;
      ClientStats windowed;
      if (!a.phase.empty()) {
        const PhaseResult* found = nullptr;
        for (const auto& pr : res_.phases)
          if (pr.name == a.phase) found = &pr;
        if (!found) {
          ar.message = fmt::format("phase \"{}\" did not run", a.phase);
          res_.assertions.push_back(std::move(ar));
          continue;
        }
        client = &found->client;
        slow = found->slowloris ? &*found->slowloris : nullptr;
        seconds = seconds_of(found->elapsed);
        window.phase = a.phase;
        if (a.after || a.before) {
          auto ms = [](Duration d) { return std::chrono::duration<double, std::milli>(d).count(); };
          if (a.after) window.from_ms = ms(*a.after);
          if (a.before) window.to_ms = ms(*a.before);
          windowed = client->window(window.from_ms.value_or(0),
                                    window.to_ms.value_or(std::numeric_limits<double>::infinity()));
          client = &windowed;
          double lo = window.from_ms.value_or(0) / 1000.0;
          double hi = std::min(seconds, window.to_ms.value_or(seconds * 1000.0) / 1000.0);
          seconds = std::max(0.0, hi - lo);
        }
      }
      expr::MapScope scope;
      detail::fill_run_scope(scope, *client, seconds, slow, facts_, window);
      auto verdict = expr::holds(a.expect, scope);
      if (!verdict) {
        ar.message = verdict.error().message;
      } else if (*verdict) {
        ar.passed = true;
      } else {
        ar.message = expr::explain(a.expect, scope);
      }
      res_.assertions.push_back(std::move(ar));
    }
  }

  const Scenario& sc_;
  const RunOptions& opt_;
  ScenarioResult res_;
  SteadyClock::time_point deadline_{};
  std::vector<MockState> mocks_;
  std::map<std::string, std::unique_ptr<TcpProxy>> proxies_;
  std::map<std::string, std::string> addresses_;
  std::string hosts_file_;  // [gateway] hosts, written by the runner
  std::unique_ptr<detail::GatewayProcess> gateway_;
  detail::RunFacts facts_;
};

}  // namespace

ScenarioResult run_scenario(const Scenario& scenario, const RunOptions& options) {
  return Runner(scenario, options).run();
}

}  // namespace sluice::chaos
