// `sluice chaos run FILE...` (run scenario drills and report the verdict) and
// `sluice chaos mock --config FILE` (the scenario's mocks and proxies standalone, with the live
// control API). See man sluice-chaos.1.
#include <signal.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "commands.hpp"
#include "sluice/chaos/control_server.hpp"
#include "sluice/chaos/fault_plan.hpp"
#include "sluice/chaos/mock_routes.hpp"
#include "sluice/chaos/mock_server.hpp"
#include "sluice/chaos/report.hpp"
#include "sluice/chaos/runner.hpp"
#include "sluice/chaos/scenario.hpp"
#include "sluice/chaos/tcp_proxy.hpp"
#include "sluice/core/log.hpp"

namespace sluice::cmd {
namespace {

// NO_COLOR (https://no-color.org): set and not empty disables color.
bool no_color() {
  const char* v = std::getenv("NO_COLOR");
  return v != nullptr && *v != '\0';
}

struct RunFlags {
  std::vector<std::string> files;
  std::string format = "text";
  std::vector<std::string> reports;
  std::uint64_t seed = 0;
  bool seed_set = false;
  std::string sluice_binary;
};

struct ReportSpec {
  std::string format;
  std::string path;
};

std::string render(std::string_view format, const std::vector<chaos::ScenarioResult>& results,
                   bool color) {
  if (format == "json") return chaos::report_json(results);
  if (format == "junit") return chaos::report_junit(results);
  return chaos::report_text(results, color);
}

int run(const RunFlags& f) {
  // The report specs first: a typo there should not cost a whole run.
  std::vector<ReportSpec> specs;
  for (const auto& r : f.reports) {
    auto colon = r.find(':');
    std::string format = r.substr(0, colon);
    if (colon == std::string::npos || colon + 1 == r.size() ||
        (format != "text" && format != "json" && format != "junit")) {
      fmt::print(stderr,
                 "--report {}: expected FORMAT:PATH with FORMAT text, json or junit (hint: "
                 "--report junit:chaos.xml)\n",
                 r);
      return 2;
    }
    ReportSpec spec{format, r.substr(colon + 1)};
    auto dir = std::filesystem::path(spec.path).parent_path();
    std::error_code ec;
    if (!dir.empty() && !std::filesystem::is_directory(dir, ec)) {
      fmt::print(stderr, "--report {}: no directory {} (hint: create it first)\n", r, dir.string());
      return 2;
    }
    specs.push_back(std::move(spec));
  }

  // Every file is loaded and checked before any runs.
  std::vector<chaos::Scenario> scenarios;
  bool invalid = false;
  for (const auto& file : f.files) {
    auto s = chaos::load_scenario_file(file);
    if (!s) {
      fmt::print(stderr, "{}\n", s.error().message);
      invalid = true;
      continue;
    }
    scenarios.push_back(std::move(*s));
  }
  if (invalid) return 2;

  const bool progress = ::isatty(STDERR_FILENO) != 0;
  const bool color_err = progress && !no_color();
  const bool color_out = ::isatty(STDOUT_FILENO) != 0 && !no_color();
  auto dim = [&](std::string_view s) {
    return color_err ? fmt::format("\x1b[2m{}\x1b[0m", s) : std::string(s);
  };

  std::vector<chaos::ScenarioResult> results;
  for (std::size_t i = 0; i < scenarios.size(); ++i) {
    const auto& sc = scenarios[i];
    chaos::RunOptions opts;
    if (f.seed_set) opts.seed = f.seed;
    opts.sluice_binary = f.sluice_binary;
    std::string tag = fmt::format("[{}/{}] {}", i + 1, scenarios.size(), sc.name);
    if (progress) {
      fmt::print(stderr, "{} {}\n", tag, dim(fmt::format("({})", sc.source)));
      opts.progress = [&](std::string_view line) {
        fmt::print(stderr, "{}\n", dim(fmt::format("  {}", line)));
      };
    }
    auto r = chaos::run_scenario(sc, opts);
    if (progress) {
      std::string verdict = !r.setup_error.empty() ? "ERROR" : r.passed() ? "PASS" : "FAIL";
      if (color_err)
        verdict = fmt::format("\x1b[{}m{}\x1b[0m",
                              verdict == "PASS"   ? "32"
                              : verdict == "FAIL" ? "31"
                                                  : "33",
                              verdict);
      fmt::print(stderr, "{} {} in {:.2f}s\n", tag, verdict,
                 std::chrono::duration<double>(r.elapsed).count());
    }
    results.push_back(std::move(r));
  }
  if (progress) fmt::print(stderr, "\n");

  fmt::print("{}", render(f.format, results, color_out && f.format == "text"));
  std::fflush(stdout);

  int code = 0;
  for (const auto& r : results) {
    if (!r.setup_error.empty())
      code = 3;
    else if (!r.passed() && code == 0)
      code = 1;
  }
  for (const auto& spec : specs) {
    std::ofstream out(spec.path, std::ios::binary | std::ios::trunc);
    out << render(spec.format, results, false);
    out.close();
    if (!out) {
      fmt::print(stderr, "--report {}:{}: cannot write the report (hint: check the path)\n",
                 spec.format, spec.path);
      if (code == 0) code = 2;
    }
  }
  return code;
}

struct MockFlags {
  std::string config;
  std::string control = "127.0.0.1:0";
};

int mock(const MockFlags& f) {
  auto sc = chaos::load_scenario_file(f.config, chaos::ScenarioUse::mocks_only);
  if (!sc) {
    fmt::print(stderr, "{}\n", sc.error().message);
    return 2;
  }
  if (sc->mocks.empty() && sc->proxies.empty()) {
    fmt::print(stderr,
               "{}: the scenario has no [[mocks]] or [[proxies]] to run (hint: chaos mock starts "
               "those; chaos run runs the whole drill)\n",
               f.config);
    return 2;
  }
  const std::uint64_t seed = sc->seed.value_or(1);

  // SIGTERM and SIGINT are taken by sigwait below; block them before any thread starts so that
  // every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto control = chaos::ControlServer::start({.listen = f.control, .seed = seed});
  if (!control) {
    fmt::print(stderr, "--control {}: {}\n", f.control, control.error().message);
    return 2;
  }

  std::vector<std::unique_ptr<chaos::MockServer>> mocks;
  std::vector<std::unique_ptr<chaos::TcpProxy>> proxies;
  auto shutdown = [&] {
    (*control)->stop();
    for (auto& p : proxies) p->stop();
    for (auto& m : mocks) m->stop();
  };

  std::uint64_t n = 0;
  for (const auto& m : sc->mocks) {
    try {
      auto server = std::make_unique<chaos::MockServer>(m.name, chaos::routes_of(m));
      if (!m.faults.empty())
        server->set_faults(std::make_shared<chaos::FaultPlan>(m.faults, seed + ++n));
      mocks.push_back(std::move(server));
    } catch (const std::exception& e) {
      fmt::print(stderr, "{}:{}:{}: mocks: cannot start mock \"{}\": {}\n", m.pos.file, m.pos.line,
                 m.pos.column, m.name, e.what());
      shutdown();
      return 2;
    }
    if (auto r = (*control)->api().add_mock(*mocks.back()); !r) {
      fmt::print(stderr, "mock \"{}\": {}\n", m.name, r.error().message);
      shutdown();
      return 2;
    }
  }
  for (const auto& p : sc->proxies) {
    chaos::TcpProxyOptions opts;
    opts.name = p.name;
    opts.seed = seed + ++n;
    if (!p.upstream_mock.empty()) {
      for (const auto& m : mocks)
        if (m->name() == p.upstream_mock) opts.upstream = m->address();
    } else {
      opts.upstream = p.upstream_address;
    }
    auto proxy = chaos::TcpProxy::start(std::move(opts));
    if (!proxy) {
      fmt::print(stderr, "{}:{}:{}: proxies: cannot start proxy \"{}\": {}\n", p.pos.file,
                 p.pos.line, p.pos.column, p.name, proxy.error().message);
      shutdown();
      return 2;
    }
    proxies.push_back(std::move(*proxy));
    for (const auto& t : p.toxics) {
      if (auto r = proxies.back()->add_toxic(t); !r) {
        fmt::print(stderr, "proxy \"{}\": {}\n", p.name, r.error().message);
        shutdown();
        return 2;
      }
    }
    if (auto r = (*control)->api().add_proxy(*proxies.back()); !r) {
      fmt::print(stderr, "proxy \"{}\": {}\n", p.name, r.error().message);
      shutdown();
      return 2;
    }
  }

  for (const auto& m : mocks)
    log::announce("listening", {{"name", "mock." + m->name()}, {"address", m->address()}});
  for (const auto& p : proxies)
    log::announce("listening", {{"name", "proxy." + p->name()}, {"address", p->address()}});
  log::announce("listening", {{"name", "control"}, {"address", (*control)->address()}});

  int sig = 0;
  while (sigwait(&signals, &sig) != 0) {
  }
  log::info("stopping", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
  shutdown();
  return 0;
}

}  // namespace

void add_chaos(CLI::App& app) {
  auto* chaos = app.add_subcommand("chaos", "Run chaos drills, or their mocks standalone");
  chaos->require_subcommand(1);

  auto rf = std::make_shared<RunFlags>();
  auto* run_cmd = chaos->add_subcommand(
      "run", "Run scenario files in order; exit 1 when an assertion fails, 3 when one cannot run");
  run_cmd->add_option("FILE", rf->files, "Scenario files (man sluice-scenario.5)")
      ->required()
      ->check(CLI::ExistingFile);
  run_cmd->add_option("--format", rf->format, "Report on stdout: text, json or junit")
      ->check(CLI::IsMember({"text", "json", "junit"}));
  run_cmd->add_option("--report", rf->reports,
                      "Also write a report file, FORMAT:PATH (text, json or junit); repeatable");
  auto* seed =
      run_cmd->add_option("--seed", rf->seed, "Seed for every scenario (overrides theirs)");
  run_cmd
      ->add_option("--sluice", rf->sluice_binary,
                   "The sluice binary to start as the gateway (default: this one)")
      ->check(CLI::ExistingFile);
  run_cmd->callback([rf, seed] {
    rf->seed_set = seed->count() > 0;
    exit_code = run(*rf);
  });

  auto mf = std::make_shared<MockFlags>();
  auto* mock_cmd = chaos->add_subcommand(
      "mock", "Run a scenario's mocks and TCP proxies standalone, with the control API");
  mock_cmd->add_option("-c,--config", mf->config, "Scenario file with [[mocks]] and [[proxies]]")
      ->required()
      ->check(CLI::ExistingFile);
  mock_cmd->add_option("--control", mf->control,
                       "Control API HOST:PORT, loopback only (default 127.0.0.1:0)");
  mock_cmd->callback([mf] { exit_code = mock(*mf); });
}

}  // namespace sluice::cmd
