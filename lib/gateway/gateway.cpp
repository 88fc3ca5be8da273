#include "sluice/gateway/gateway.hpp"

#include <sys/stat.h>
#include <thread>

#include <boost/asio/signal_set.hpp>
#include <fmt/format.h>

#include "sluice/core/config/load.hpp"
#include "sluice/core/log.hpp"
#include "sluice/gateway/admin.hpp"
#include "sluice/gateway/dns_refresh.hpp"
#include "sluice/gateway/health_service.hpp"
#include "sluice/gateway/runtime.hpp"
#include "sluice/gateway/worker.hpp"
#include "sluice/net/listen.hpp"
#include "sluice/upstream/hosts_file.hpp"

namespace sluice::gateway {

namespace asio = net::asio;
using net::error_code;

namespace {

// Settings a running process cannot change: the sockets and threads are already there.
std::string restart_only_change(const config::Config& a, const config::Config& b) {
  if (a.server.workers != b.server.workers) return "server.workers";
  if (a.admin.enabled != b.admin.enabled || a.admin.address.host != b.admin.address.host ||
      a.admin.address.port != b.admin.address.port)
    return "admin.listen";
  if (a.log.access != b.log.access || a.log.access_path != b.log.access_path) return "log.access";
  if (a.listeners.size() != b.listeners.size()) return "listeners";
  for (std::size_t i = 0; i < a.listeners.size(); ++i) {
    const auto &x = a.listeners[i], &y = b.listeners[i];
    if (x.name != y.name || x.address.host != y.address.host || x.address.port != y.address.port ||
        x.tls.has_value() != y.tls.has_value())
      return fmt::format("listeners[{}]", i);
  }
  return {};
}

std::string access_target(const config::Log& l) {
  switch (l.access) {
    case config::AccessLogTarget::off:
      return {};
    case config::AccessLogTarget::stdout_:
      return "stdout";
    case config::AccessLogTarget::stderr_:
      return "stderr";
    case config::AccessLogTarget::file:
      return l.access_path;
  }
  return {};
}

struct FileStamp {
  ino_t ino = 0;
  off_t size = -1;
  std::int64_t mtime_ns = 0;
  bool operator==(const FileStamp&) const = default;
};

FileStamp stamp(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  return {st.st_ino, st.st_size, st.st_mtim.tv_sec * 1'000'000'000ll + st.st_mtim.tv_nsec};
}

}  // namespace

struct Gateway::Impl {
  GatewayOptions opts;
  Shared shared;
  upstream::SystemResolver system_resolver;
  std::unique_ptr<upstream::HostsFileResolver> hosts_resolver;  // [server] hosts_file
  std::vector<std::unique_ptr<Worker>> workers;
  asio::io_context control{1};
  asio::signal_set signals{control, SIGTERM, SIGINT, SIGHUP};
  std::unique_ptr<AdminServer> admin;
  asio::steady_timer watch_timer{control};
  HealthService health{control};
  DnsRefresher dns{control, [this]() -> upstream::Resolver& { return resolver(); },
                   [this](std::shared_ptr<const Runtime> rt) { install(std::move(rt)); }};
  FileStamp watched;
  std::uint64_t generation = 1, reloads_ok = 0, reloads_failed = 0;
  bool draining = false;
  int exit_code = 0;
  std::vector<std::pair<std::string, std::string>> bound;  // listener name -> address

  std::shared_ptr<const config::Config> config() { return shared.load()->config_ptr(); }

  upstream::Resolver& resolver() {
    if (hosts_resolver) return *hosts_resolver;
    return system_resolver;
  }

  // A resolver for cfg's server.hosts_file, read now (nullptr when it names none).
  Result<std::unique_ptr<upstream::HostsFileResolver>> open_hosts_file(const config::Config& cfg) {
    const std::string& path = cfg.server.hosts_file;
    if (path.empty()) return std::unique_ptr<upstream::HostsFileResolver>();
    auto r = upstream::HostsFileResolver::open(path, system_resolver);
    if (!r)
      return make_error(ErrorKind::config, ErrorSource::internal,
                        fmt::format("{}: server.hosts_file: {} (hint: check the path and the "
                                    "file's permissions)",
                                    cfg.source, r.error().message));
    return std::move(*r);
  }

  // Makes rt the runtime new requests use (start, reload, DNS change). Requests in flight keep
  // the runtime they started with.
  void install(std::shared_ptr<const Runtime> rt) {
    shared.publish(rt);
    health.bind(rt);
    dns.bind(std::move(rt));
  }

  void reload(std::string_view trigger) {
    if (draining) return;
    if (!opts.reload_source) {
      log::warn("reload_skipped",
                {{"trigger", trigger}, {"reason", "no config file (quick or demo mode)"}});
      return;
    }
    auto fail = [&](const std::string& why) {
      ++reloads_failed;
      log::error("reload_failed",
                 {{"trigger", trigger}, {"error", why}, {"generation", generation}});
    };
    auto cfg = opts.reload_source();
    if (!cfg) return fail(cfg.error().message);
    auto changed = restart_only_change(*config(), **cfg);
    if (!changed.empty())
      return fail(fmt::format(
          "{} changed; it takes effect only after a restart (the old config keeps serving)",
          changed));
    // server.hosts_file reloads; the new file is used only once the new config is in.
    const std::string& hosts_path = (*cfg)->server.hosts_file;
    const bool hosts_moved = hosts_path != (hosts_resolver ? hosts_resolver->path() : "");
    std::unique_ptr<upstream::HostsFileResolver> next_hosts;
    if (hosts_moved) {
      auto opened = open_hosts_file(**cfg);
      if (!opened) return fail(opened.error().message);
      next_hosts = std::move(*opened);
    }
    upstream::Resolver* next_resolver = &resolver();
    if (hosts_moved && next_hosts) next_resolver = next_hosts.get();
    if (hosts_moved && !next_hosts) next_resolver = &system_resolver;
    auto current = shared.load();
    auto rt = Runtime::build(*cfg, *next_resolver, current.get(), &opts.handlers);
    if (!rt) return fail(rt.error().message);
    if (hosts_moved) hosts_resolver = std::move(next_hosts);
    log::Level lvl;
    if (log::parse_level((*cfg)->log.level, lvl)) log::set_level(lvl);
    install(std::move(*rt));
    ++generation;
    ++reloads_ok;
    log::info("reload", {{"status", "ok"}, {"trigger", trigger}, {"generation", generation}});
  }

  AdminResponse handle_admin(const std::string& method, const std::string& target) {
    std::string_view path = target_path(target);
    if (path.starts_with("/admin/upstreams")) return upstreams_admin(method, path);
    if (path == "/admin/sessions" || path.starts_with("/admin/sessions/"))
      return handlers_admin(method, target);
    if (method != "GET" && method != "HEAD")
      return {405, "text/plain; charset=utf-8", "method not allowed\n"};
    if (path == "/live") return {200, "text/plain; charset=utf-8", "live\n"};
    if (path == "/ready") {
      if (draining) return {503, "text/plain; charset=utf-8", "draining\n"};
      return {200, "text/plain; charset=utf-8", "ready\n"};
    }
    if (path == "/metrics") {
      StatsSnapshot snap;
      for (auto& w : workers) w->snapshot_into(snap);
      ProcessInfo info{generation, reloads_ok, reloads_failed, draining};
      std::string text = render_prometheus(snap, info);
      render_upstream_metrics(*shared.load(), text);
      dns.write_metrics(text);
      return {200, "text/plain; version=0.0.4; charset=utf-8", std::move(text)};
    }
    if (path == "/admin/config") {
      auto j = config::to_json(*config());
      return {200, "application/json", j.dump(2) + "\n"};
    }
    return {404, "text/plain; charset=utf-8",
            "not found; try /metrics, /ready, /live, /admin/config or /admin/upstreams\n"};
  }

  // /admin/sessions[/ID]: the LLM routes' server-side sessions. A DELETE removes the session
  // from every route that has it.
  AdminResponse handlers_admin(const std::string& method, std::string_view target) {
    std::string_view path = target_path(target);
    auto q = target.find('?');
    std::string_view query = q == std::string_view::npos ? "" : target.substr(q + 1);
    auto rt = shared.load();
    std::optional<AdminResponse> found, last;
    for (std::size_t i = 0; i < rt->config().routes.size(); ++i) {
      const auto& r = rt->route(i);
      if (!r.handler) continue;
      auto resp = r.handler->admin(method, path, query);
      if (!resp) continue;
      if (resp->status < 300 && !found) found = resp;
      last = resp;
      if (found && method != "DELETE") break;
    }
    if (found) return *found;
    if (last) return *last;
    return {404, "text/plain; charset=utf-8",
            "no LLM route keeps sessions (hint: [routes.llm.sessions] enabled = true)\n"};
  }

  // GET /admin/upstreams[/CLUSTER]; POST /admin/upstreams/CLUSTER/ENDPOINT/drain|undrain.
  AdminResponse upstreams_admin(const std::string& method, std::string_view path) {
    auto rt = shared.load();
    auto json_reply = [](int status, const nlohmann::json& j) {
      return AdminResponse{status, "application/json", j.dump(2) + "\n"};
    };
    std::vector<std::string> segs;
    for (std::string_view rest = path.substr(std::string_view("/admin/upstreams").size());
         !rest.empty();) {
      if (rest.front() == '/') rest.remove_prefix(1);
      auto slash = rest.find('/');
      if (!rest.empty()) segs.emplace_back(rest.substr(0, slash));
      rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
    }
    auto error = [&](int status, std::string_view type, std::string message) {
      return json_reply(status, {{"error", {{"type", type}, {"message", std::move(message)}}}});
    };
    if (segs.size() <= 1) {
      if (method != "GET" && method != "HEAD") return error(405, "method_not_allowed", "use GET");
      nlohmann::json list = nlohmann::json::array();
      for (const auto& c : rt->clusters())
        if (segs.empty() || c->name() == segs[0]) list.push_back(c->state().to_json());
      if (!segs.empty() && list.empty())
        return error(404, "unknown_cluster", fmt::format("no cluster named \"{}\"", segs[0]));
      return json_reply(
          200, segs.empty() ? nlohmann::json{{"clusters", std::move(list)}} : list.front());
    }
    if (segs.size() == 3 && (segs[2] == "drain" || segs[2] == "undrain")) {
      if (method != "POST") return error(405, "method_not_allowed", "use POST");
      const upstream::Cluster* c = rt->cluster(segs[0]);
      if (!c) return error(404, "unknown_cluster", fmt::format("no cluster named \"{}\"", segs[0]));
      if (!c->state().set_draining(segs[1], segs[2] == "drain"))
        return error(404, "unknown_endpoint",
                     fmt::format("cluster {} has no endpoint \"{}\" (hint: GET "
                                 "/admin/upstreams/{} lists them)",
                                 segs[0], segs[1], segs[0]));
      log::info(segs[2] == "drain" ? "endpoint_drained" : "endpoint_undrained",
                {{"cluster", segs[0]}, {"endpoint", segs[1]}});
      return json_reply(200, c->state().to_json());
    }
    return error(404, "unknown_endpoint",
                 "try GET /admin/upstreams, or POST "
                 "/admin/upstreams/CLUSTER/ENDPOINT/drain (or undrain)");
  }

  void on_signal() {
    signals.async_wait([this](const error_code& ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP)
        reload("SIGHUP");
      else if (!draining)
        begin_drain(sig == SIGINT ? "SIGINT" : "SIGTERM");
      else
        force_stop();
      on_signal();
    });
  }

  void watch_loop() {
    watch_timer.expires_after(std::chrono::milliseconds(500));
    watch_timer.async_wait([this](const error_code& ec) {
      if (ec || draining) return;
      auto now = stamp(opts.watch_path);
      if (!(now == watched) && now.size >= 0) {
        watched = now;
        reload("watch");
      }
      watch_loop();
    });
  }

  std::size_t sessions() const {
    std::size_t n = 0;
    for (const auto& w : workers) n += w->sessions();
    return n;
  }

  void begin_drain(std::string_view why) {
    draining = true;
    shared.draining = true;
    auto timeout = config()->server.drain_timeout;
    log::info("draining", {{"signal", why},
                           {"connections", sessions()},
                           {"drain_timeout", format_duration(timeout)}});
    for (auto& w : workers) w->begin_drain();
    auto deadline = std::chrono::steady_clock::now() + timeout;
    asio::co_spawn(control, wait_drained(deadline), asio::detached);
  }

  net::awaitable<void> wait_drained(std::chrono::steady_clock::time_point deadline) {
    asio::steady_timer t(control);
    while (sessions() > 0 && std::chrono::steady_clock::now() < deadline) {
      t.expires_after(std::chrono::milliseconds(20));
      error_code ec;
      co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    std::size_t left = sessions();
    if (left > 0) log::warn("drain_timeout", {{"connections_closed", left}});
    force_stop();
  }

  void force_stop() {
    health.stop();
    dns.stop();
    for (auto& w : workers) w->force_close();
    if (admin) admin->stop();
    signals.cancel();
    watch_timer.cancel();
    control.stop();
  }
};

Gateway::Gateway(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Gateway::~Gateway() {
  for (auto& w : impl_->workers) w->stop_and_join();
}

Result<std::unique_ptr<Gateway>> Gateway::start(std::shared_ptr<const config::Config> cfg,
                                                GatewayOptions opts) {
  auto impl = std::make_unique<Impl>();
  impl->opts = std::move(opts);
  // Stamp the file now, not when run() starts: an edit made while the listeners come up must
  // still count as a change.
  if (!impl->opts.watch_path.empty()) impl->watched = stamp(impl->opts.watch_path);
  log::Level lvl;
  if (log::parse_level(cfg->log.level, lvl)) log::set_level(lvl);
  auto hosts = impl->open_hosts_file(*cfg);
  if (!hosts) return hosts.error();
  impl->hosts_resolver = std::move(*hosts);
  auto rt = Runtime::build(cfg, impl->resolver(), nullptr, &impl->opts.handlers);
  if (!rt) return rt.error();

  std::shared_ptr<log::LineSink> sink;
  auto target = access_target(cfg->log);
  if (!target.empty()) {
    std::string err;
    sink = log::LineSink::open(target, err);
    if (!sink)
      return make_error(
          ErrorKind::config, ErrorSource::internal,
          fmt::format("{}: log.access: {} (hint: use a writable path, stdout, stderr or off)",
                      cfg->source, err));
  }

  // Bind every listener in the first worker; the others reuse the ports it got (port 0 included).
  std::vector<ListenerRuntime> listeners = (*rt)->listeners();
  unsigned n = workers_of(*cfg);
  impl->shared.publish(*rt);
  for (const auto& l : listeners) {
    auto free = net::check_port_free(l.address);
    if (!free)
      return make_error(ErrorKind::config, ErrorSource::internal,
                        fmt::format("listener {}: {} (hint: is another process using the port?)",
                                    l.cfg->name, free.error().message));
  }
  for (unsigned i = 0; i < n; ++i) {
    auto w = std::make_unique<Worker>(impl->shared, i, sink);
    auto bound = w->listen(listeners);
    if (!bound)
      return make_error(
          ErrorKind::config, ErrorSource::internal,
          fmt::format("{} (hint: check the listen addresses)", bound.error().message));
    if (i == 0) {
      auto eps = w->bound();
      for (std::size_t k = 0; k < listeners.size(); ++k) listeners[k].address = eps[k];
    }
    impl->workers.push_back(std::move(w));
  }
  for (std::size_t k = 0; k < listeners.size(); ++k)
    impl->bound.emplace_back(listeners[k].cfg->name, net::to_string(listeners[k].address));
  for (std::size_t k = 0; k < listeners.size(); ++k)
    log::announce("listening", {{"name", listeners[k].cfg->name},
                                {"address", net::to_string(listeners[k].address)},
                                {"tls", listeners[k].tls != nullptr},
                                {"workers", n}});

  if (cfg->admin.enabled) {
    auto addr = net::resolve_host(cfg->admin.address.host);
    if (!addr) return addr.error();
    auto* raw = impl.get();
    auto admin = AdminServer::start(
        impl->control, net::tcp::endpoint(*addr, cfg->admin.address.port),
        [raw](const std::string& m, const std::string& t) { return raw->handle_admin(m, t); });
    if (!admin)
      return make_error(ErrorKind::config, ErrorSource::internal,
                        fmt::format("admin.listen: {} (hint: pick a free port, or --admin off)",
                                    admin.error().message));
    impl->admin = std::move(*admin);
    impl->bound.emplace_back("admin", net::to_string(impl->admin->bound()));
    log::announce("listening",
                  {{"name", "admin"}, {"address", net::to_string(impl->admin->bound())}});
  }
  for (auto& w : impl->workers) w->start();
  impl->health.bind(*rt);
  impl->dns.bind(*rt);
  return std::unique_ptr<Gateway>(new Gateway(std::move(impl)));
}

int Gateway::run() {
  auto& d = *impl_;
  d.on_signal();
  if (!d.opts.watch_path.empty()) d.watch_loop();
  d.control.run();
  for (auto& w : d.workers) w->stop_and_join();
  log::info("stopped", {{"exit_code", d.exit_code}});
  return d.exit_code;
}

std::string Gateway::bound(std::string_view name) const {
  for (const auto& [n, addr] : impl_->bound)
    if (n == name) return addr;
  return {};
}

void Gateway::stop() {
  asio::post(impl_->control, [this] {
    if (!impl_->draining) impl_->begin_drain("stop");
  });
}

}  // namespace sluice::gateway
