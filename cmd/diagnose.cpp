// `sluice diagnose [--config F] [--admin URL]`: explain, endpoint by endpoint, why there is (or
// would be) "no healthy upstream". See man sluice-diagnose.1.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "commands.hpp"
#include "sluice/core/config/load.hpp"
#include "sluice/core/units.hpp"
#include "sluice/probe/diagnose.hpp"

namespace sluice::cmd {
namespace {

namespace diag = probe::diag;

struct DiagnoseFlags {
  std::string config;
  std::string admin;
  std::string timeout = "3s";
  std::size_t concurrency = 10;
  std::string slow = "1s";
  std::string cert_warning = "14d";
  std::string format = "text";
  std::vector<std::string> reports;
};

struct ReportSpec {
  std::string format;
  std::string path;
};

bool no_color() {
  const char* v = std::getenv("NO_COLOR");
  return v != nullptr && *v != '\0';
}

int usage(const std::string& message) {
  fmt::print(stderr, "sluice diagnose: {}\n", message);
  return 2;
}

std::optional<std::string> duration_flag(std::string_view flag, const std::string& text,
                                         Duration& out) {
  auto d = parse_duration(text);
  if (!d) return fmt::format("{} \"{}\": {}", flag, text, d.error().message);
  if (d->count() <= 0)
    return fmt::format("{} \"{}\": must be greater than zero (hint: e.g. {} 3s)", flag, text, flag);
  out = *d;
  return std::nullopt;
}

std::optional<std::string> report_specs(const DiagnoseFlags& f, std::vector<ReportSpec>& specs) {
  for (const auto& r : f.reports) {
    auto colon = r.find(':');
    std::string format = r.substr(0, colon);
    if (colon == std::string::npos || colon + 1 == r.size() || !diag::is_report_format(format))
      return fmt::format(
          "--report {}: expected FORMAT:PATH with FORMAT text, json or junit (hint: --report "
          "junit:diagnose.xml)",
          r);
    ReportSpec spec{format, r.substr(colon + 1)};
    auto dir = std::filesystem::path(spec.path).parent_path();
    std::error_code ec;
    if (!dir.empty() && !std::filesystem::is_directory(dir, ec))
      return fmt::format("--report {}: no directory {} (hint: create it first)", r, dir.string());
    specs.push_back(std::move(spec));
  }
  return std::nullopt;
}

int run(const DiagnoseFlags& f) {
  if (f.config.empty() && f.admin.empty())
    return usage(
        "nothing to diagnose (hint: --config sluice.toml probes every endpoint of the config; "
        "--admin http://127.0.0.1:9901 asks a running gateway)");
  std::vector<ReportSpec> specs;
  if (auto e = report_specs(f, specs)) return usage(*e);
  diag::Options options;
  if (auto e = duration_flag("--timeout", f.timeout, options.timeout)) return usage(*e);
  if (auto e = duration_flag("--slow", f.slow, options.thresholds.slow)) return usage(*e);
  if (auto e = duration_flag("--cert-warning", f.cert_warning, options.thresholds.cert_warning))
    return usage(*e);
  if (f.concurrency == 0)
    return usage("--concurrency 0: must be at least 1 (hint: e.g. --concurrency 10)");
  options.concurrency = f.concurrency;

  std::vector<diag::Planned> from_config;
  if (!f.config.empty()) {
    auto c = config::load_file(f.config);
    if (!c) return usage(c.error().message);
    auto plan = diag::plan_from_config(*c);
    if (!plan) return usage(plan.error().message);
    from_config = std::move(*plan);
  }

  std::optional<std::vector<diag::GatewayCluster>> gateway;
  std::optional<std::string> admin_error;
  if (!f.admin.empty()) {
    auto g = diag::fetch_admin_upstreams(f.admin, options.timeout);
    if (!g && g.error().kind == ErrorKind::usage) return usage(g.error().message);
    if (g) {
      gateway = std::move(*g);
    } else {
      admin_error = g.error().message;
      fmt::print(stderr, "sluice diagnose: {}{}\n", *admin_error,
                 f.config.empty() ? "" : "; diagnosing from the config alone");
    }
  }

  std::vector<diag::Planned> plan;
  if (gateway) {
    auto p = diag::plan_from_admin(*gateway, from_config);
    if (!p) return usage(p.error().message);
    plan = std::move(*p);
  } else {
    plan = std::move(from_config);
  }

  probe::Environment env = probe::system_environment();
  auto d = diag::run(plan, gateway ? &*gateway : nullptr, options, env);
  d.admin_error = admin_error;
  if (gateway || admin_error) d.mode = "admin";
  d.source = f.config;
  if (!f.admin.empty()) d.source += (d.source.empty() ? "" : " + ") + f.admin;

  const bool color = ::isatty(STDOUT_FILENO) != 0 && !no_color() && f.format == "text";
  fmt::print("{}", diag::render_report(f.format, d, color));
  std::fflush(stdout);
  int code = diag::exit_status(d);
  for (const auto& spec : specs) {
    std::ofstream out(spec.path, std::ios::binary | std::ios::trunc);
    out << diag::render_report(spec.format, d, false);
    out.close();
    if (!out) {
      fmt::print(stderr,
                 "sluice diagnose: --report {}:{}: cannot write the report (hint: check the "
                 "path)\n",
                 spec.format, spec.path);
      if (code == 0) code = 2;
    }
  }
  return code;
}

}  // namespace

void add_diagnose(CLI::App& app) {
  auto f = std::make_shared<DiagnoseFlags>();
  auto* cmd = app.add_subcommand(
      "diagnose",
      "Explain, endpoint by endpoint, why there is (or would be) \"no healthy upstream\"; exit 1 "
      "when a cluster has no usable endpoint, 3 when the admin URL cannot be reached");
  cmd->add_option(
      "-c,--config", f->config,
      "Gateway config: probe every endpoint of every cluster as its health check would");
  cmd->add_option("-a,--admin", f->admin,
                  "Admin URL of a running gateway (e.g. http://127.0.0.1:9901): its view of the "
                  "upstreams, plus probes from here");
  cmd->add_option("--timeout", f->timeout, "Time limit of each check (default 3s)");
  cmd->add_option("--concurrency", f->concurrency, "Endpoints probed at once (default 10)")
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--slow", f->slow, "A health answer slower than this is \"slow\" (default 1s)");
  cmd->add_option("--cert-warning", f->cert_warning,
                  "A certificate expiring sooner is \"cert_expiring\" (default 14d)");
  cmd->add_option("--format", f->format, "Report on stdout: text, json or junit")
      ->check(CLI::IsMember({"text", "json", "junit"}));
  cmd->add_option("--report", f->reports,
                  "Also write a report file, FORMAT:PATH (text, json, junit); repeatable")
      ->allow_extra_args(false);
  cmd->callback([f] { exit_code = run(*f); });
}

}  // namespace sluice::cmd
