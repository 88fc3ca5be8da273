// `sluice serve`: the gateway from a config file, from --to (quick mode), or --demo (the gateway
// in front of built-in mock upstreams).
#include <filesystem>
#include <memory>

#include <fmt/format.h>

#include "commands.hpp"
#include "demo.hpp"
#include "sluice/llmgw/handler.hpp"
#include "sluice/core/config/load.hpp"
#include "sluice/core/log.hpp"
#include "sluice/gateway/gateway.hpp"

namespace sluice::cmd {
namespace {

struct ServeFlags {
  std::string config_path;
  std::string listen;
  std::vector<std::string> to;
  std::string admin;
  std::string access_log;
  std::string log_level;
  int workers = -1;
  bool watch = false;
  bool demo = false;
};

// Flags win over the file, on start and on every reload.
Result<std::shared_ptr<const config::Config>> apply_flags(config::Config c, const ServeFlags& f) {
  if (!f.admin.empty()) {
    if (f.admin == "off") {
      c.admin.enabled = false;
    } else {
      auto hp = config::parse_host_port(f.admin);
      if (!hp)
        return make_error(ErrorKind::usage, ErrorSource::internal,
                          "--admin: " + hp.error().message);
      c.admin.enabled = true;
      c.admin.address = *hp;
    }
  }
  if (!f.access_log.empty()) {
    if (f.access_log == "off")
      c.log.access = config::AccessLogTarget::off;
    else if (f.access_log == "stdout")
      c.log.access = config::AccessLogTarget::stdout_;
    else if (f.access_log == "stderr")
      c.log.access = config::AccessLogTarget::stderr_;
    else {
      c.log.access = config::AccessLogTarget::file;
      c.log.access_path = f.access_log;
    }
  }
  if (!f.log_level.empty()) c.log.level = f.log_level;
  if (f.workers >= 0) c.server.workers = static_cast<unsigned>(f.workers);
  if (!f.listen.empty() && !c.listeners.empty() && f.to.empty()) {
    auto hp = config::parse_host_port(f.listen);
    if (!hp)
      return make_error(ErrorKind::usage, ErrorSource::internal, "--listen: " + hp.error().message);
    c.listeners.front().address = *hp;
  }
  return std::shared_ptr<const config::Config>(std::make_shared<config::Config>(std::move(c)));
}

int fail(const Error& e) {
  fmt::print(stderr, "{}\n", e.message);
  return 2;
}

int run_serve(const ServeFlags& f) {
  std::unique_ptr<Demo> demo;
  Result<config::Config> base = config::Config{};
  std::string path = f.config_path;
  if (f.demo) {
    if (!f.config_path.empty() || !f.to.empty())
      return fail(make_error(ErrorKind::usage, ErrorSource::internal,
                             "--demo: cannot be combined with --config or --to (hint: pick one)"));
    demo = std::make_unique<Demo>();
    base = config::load_string(demo->config_toml(), "<demo>");
  } else if (!f.to.empty()) {
    if (!f.config_path.empty())
      return fail(make_error(
          ErrorKind::usage, ErrorSource::internal,
          "--to: cannot be combined with --config (hint: put the endpoints in the config file)"));
    base = config::quick(f.listen.empty() ? "127.0.0.1:8080" : f.listen, f.to);
  } else {
    if (path.empty()) {
      if (!std::filesystem::exists("sluice.toml")) {
        fmt::print(stderr,
                   "sluice serve: no ./sluice.toml here, and neither --config, --to nor --demo was "
                   "given.\n"
                   "Start with one of:\n"
                   "  sluice serve --demo                                  # gateway + built-in "
                   "mock upstreams\n"
                   "  sluice serve --listen 127.0.0.1:8080 --to http://127.0.0.1:9000\n"
                   "  sluice config example > sluice.toml && sluice serve\n");
        return 2;
      }
      path = "sluice.toml";
    }
    base = config::load_file(path);
  }
  if (!base) return fail(base.error());
  auto cfg = apply_flags(std::move(*base), f);
  if (!cfg) return fail(cfg.error());

  gateway::GatewayOptions opts;
  opts.handlers = llmgw::handler_factory();
  if (!path.empty()) {
    opts.reload_source = [path, f]() -> Result<std::shared_ptr<const config::Config>> {
      auto c = config::load_file(path);
      if (!c) return c.error();
      return apply_flags(std::move(*c), f);
    };
    if (f.watch) opts.watch_path = path;
  } else if (f.watch) {
    return fail(make_error(ErrorKind::usage, ErrorSource::internal,
                           "--watch: there is no config file to watch (hint: use --config FILE)"));
  }
  auto gw = gateway::Gateway::start(*cfg, std::move(opts));
  if (!gw) return fail(gw.error());
  if (demo) demo->print_banner((*gw)->bound("main"), (*gw)->bound("admin"));
  return (*gw)->run();
}

}  // namespace

void add_serve(CLI::App& app) {
  auto f = std::make_shared<ServeFlags>();
  auto* sub = app.add_subcommand("serve", "Run the gateway");
  sub->add_option("-c,--config", f->config_path, "Config file (default: ./sluice.toml)")
      ->check(CLI::ExistingFile);
  sub->add_option("--listen", f->listen,
                  "HOST:PORT to listen on (quick and demo modes; with a config file it replaces "
                  "the first listener's address)");
  sub->add_option("--to", f->to, "Upstream URLs for quick mode, comma separated or repeated")
      ->delimiter(',');
  sub->add_option("--admin", f->admin, "Admin listener HOST:PORT, or off (default 127.0.0.1:9901)");
  sub->add_option("--workers", f->workers, "Worker threads (default: one per core)")
      ->check(CLI::Range(0, 4096));
  sub->add_option("--access-log", f->access_log, "Access log: off, stdout, stderr or a file path");
  sub->add_option("--log-level", f->log_level, "Event log level: error, warn, info or debug")
      ->check(CLI::IsMember({"error", "warn", "info", "debug"}));
  sub->add_flag("--watch", f->watch, "Reload when the config file changes");
  sub->add_flag("--demo", f->demo,
                "Run in front of built-in mock upstreams, with curl lines to try");
  sub->callback([f] { exit_code = run_serve(*f); });
}

}  // namespace sluice::cmd
