// `sluice probe TARGET... [--file F] [--config F]`: probe HTTP(S), TCP, gRPC health and DNS
// targets, judge them by conditions, and report in the format a pipeline reads. See
// man sluice-probe.1.
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "commands.hpp"
#include "sluice/core/units.hpp"
#include "sluice/probe/config_targets.hpp"
#include "sluice/probe/report.hpp"
#include "sluice/probe/runner.hpp"
#include "sluice/probe/targets_file.hpp"

namespace sluice::cmd {
namespace {

using probe::Kind;

struct ProbeFlags {
  std::vector<std::string> targets;
  std::vector<std::string> files;
  std::vector<std::string> configs;
  std::vector<std::string> expect;
  std::string method = "GET";
  std::vector<std::string> headers;
  std::string body;
  bool follow_redirects = false;
  long max_redirects = 10;
  std::string http_version;
  std::string ca_file, cert_file, key_file, key_password_env, sni;
  bool insecure = false;
  std::string service, send, receive;
  std::string probe_timeout = "5s";
  std::string connect_timeout;
  std::size_t repeat = 0;
  std::string interval = "1s";
  bool wait = false;
  std::string timeout;
  std::size_t success_threshold = 0;
  std::size_t concurrency = 10;
  std::string format = "text";
  std::vector<std::string> reports;
};

struct ReportSpec {
  std::string format;
  std::string path;
};

// A usage error: printed as "sluice probe: FLAG: what (hint: how)" and exit status 2.
struct UsageError {
  std::string message;
};

bool no_color() {
  const char* v = std::getenv("NO_COLOR");
  return v != nullptr && *v != '\0';
}

std::optional<UsageError> duration_flag(std::string_view flag, const std::string& text,
                                        Duration& out) {
  auto d = parse_duration(text);
  if (!d) return UsageError{fmt::format("{} \"{}\": {}", flag, text, d.error().message)};
  if (d->count() <= 0)
    return UsageError{
        fmt::format("{} \"{}\": must be greater than zero (hint: e.g. {} 5s)", flag, text, flag)};
  out = *d;
  return std::nullopt;
}

// --send takes C escapes, since a shell argument cannot easily hold \r\n: \r \n \t \\ \0 \xHH.
std::optional<UsageError> unescape(const std::string& text, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\' || i + 1 == text.size()) {
      out += text[i];
      continue;
    }
    char e = text[++i];
    switch (e) {
      case 'r':
        out += '\r';
        break;
      case 'n':
        out += '\n';
        break;
      case 't':
        out += '\t';
        break;
      case '0':
        out += '\0';
        break;
      case '\\':
        out += '\\';
        break;
      case 'x':
        if (i + 2 < text.size() && std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
            std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
          auto hex = [](char c) {
            return std::isdigit(static_cast<unsigned char>(c))
                       ? c - '0'
                       : (std::tolower(static_cast<unsigned char>(c)) - 'a' + 10);
          };
          out += static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2]));
          i += 2;
          break;
        }
        [[fallthrough]];
      default:
        return UsageError{fmt::format(
            "--send: unknown escape \\{} (hint: the escapes are \\r, \\n, \\t, \\0, \\\\ and "
            "\\xHH)",
            e)};
    }
  }
  return std::nullopt;
}

std::optional<UsageError> readable(std::string_view flag, const std::string& path) {
  if (path.empty()) return std::nullopt;
  std::ifstream in(path);
  std::error_code ec;
  if (!in || std::filesystem::is_directory(path, ec))
    return UsageError{
        fmt::format("{} {}: cannot read the file (hint: check the path)", flag, path)};
  return std::nullopt;
}

// The flags that shape a request, as the base every target starts from.
std::optional<UsageError> request_options(const ProbeFlags& f, probe::RequestOptions& o) {
  std::string method = f.method;
  for (auto& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (method.empty() || !std::all_of(method.begin(), method.end(), [](char c) {
        return std::isupper(static_cast<unsigned char>(c)) || c == '-' || c == '_';
      }))
    return UsageError{
        fmt::format("--method \"{}\": not an HTTP method (hint: GET, HEAD, POST, ...)", f.method)};
  o.method = method;
  for (const auto& h : f.headers) {
    auto parsed = probe::parse_header(h);
    if (!parsed) return UsageError{fmt::format("--header \"{}\": {}", h, parsed.error().message)};
    o.headers.push_back(std::move(*parsed));
  }
  if (f.body.starts_with('@')) {
    std::string path = f.body.substr(1);
    if (readable("--body", path))
      return UsageError{
          fmt::format("--body {}: cannot read the file (hint: check the path)", f.body)};
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    o.body = text.str();
  } else {
    o.body = f.body;
  }
  o.follow_redirects = f.follow_redirects;
  o.max_redirects = f.max_redirects;
  if (!f.http_version.empty()) {
    auto v = probe::parse_http_version(f.http_version);
    if (!v) return UsageError{fmt::format("--http-version: {}", v.error().message)};
    o.http_version = *v;
  }
  if (auto e = readable("--cacert", f.ca_file)) return e;
  if (auto e = readable("--cert", f.cert_file)) return e;
  if (auto e = readable("--key", f.key_file)) return e;
  if (f.cert_file.empty() != f.key_file.empty())
    return UsageError{"--cert and --key go together (hint: give both, or neither)"};
  o.tls.ca_file = f.ca_file;
  o.tls.cert_file = f.cert_file;
  o.tls.key_file = f.key_file;
  if (!f.key_password_env.empty()) {
    const char* pw = std::getenv(f.key_password_env.c_str());
    if (!pw)
      return UsageError{
          fmt::format("--key-password-env {}: the variable is not set (hint: export it first)",
                      f.key_password_env)};
    o.tls.key_password = pw;
  }
  o.tls.sni = f.sni;
  o.tls.insecure = f.insecure;
  o.service = f.service;
  if (auto e = unescape(f.send, o.send)) return e;
  o.receive = f.receive;
  if (!f.connect_timeout.empty()) {
    Duration d{};
    if (auto e = duration_flag("--connect-timeout", f.connect_timeout, d)) return e;
    o.connect_timeout = d;
  }
  return std::nullopt;
}

std::optional<UsageError> run_options(const ProbeFlags& f, probe::RunOptions& o) {
  if (auto e = duration_flag("--probe-timeout", f.probe_timeout, o.probe_timeout)) return e;
  if (auto e = duration_flag("--interval", f.interval, o.interval)) return e;
  if (f.concurrency == 0)
    return UsageError{"--concurrency 0: must be at least 1 (hint: e.g. --concurrency 10)"};
  o.concurrency = f.concurrency;
  if (f.wait && f.repeat > 0)
    return UsageError{
        "--wait and --repeat do not go together (hint: --wait probes until healthy, --repeat "
        "probes N times for latency figures)"};
  if (!f.wait && !f.timeout.empty())
    return UsageError{
        "--timeout applies to --wait (hint: the limit of one probe is --probe-timeout)"};
  if (!f.wait && f.success_threshold > 0)
    return UsageError{"--success-threshold applies to --wait (hint: add --wait)"};
  if (f.wait) {
    o.mode = probe::Mode::wait;
    if (!f.timeout.empty())
      if (auto e = duration_flag("--timeout", f.timeout, o.wait_timeout)) return e;
    o.success_threshold = std::max<std::size_t>(1, f.success_threshold);
  } else if (f.repeat > 0) {
    o.mode = probe::Mode::repeat;
    o.repeat = f.repeat;
  }
  return std::nullopt;
}

// Every target from the command line, the targets files and the gateway configs.
std::optional<UsageError> collect(const ProbeFlags& f, const probe::RequestOptions& base,
                                  std::vector<probe::Target>& out) {
  std::vector<probe::ConditionText> expect;
  for (const auto& e : f.expect) expect.push_back({e, "--expect"});
  for (const auto& text : f.targets) {
    auto t = probe::parse_target(text);
    if (!t) return UsageError{fmt::format("\"{}\": {}", text, t.error().message)};
    t->options = base;
    t->origin = "command line";
    if (auto r = probe::build_conditions(*t, expect); !r) return UsageError{r.error().message};
    out.push_back(std::move(*t));
  }
  for (const auto& file : f.files) {
    auto list = probe::load_targets_file(file, base, expect);
    if (!list) return UsageError{list.error().message};
    for (auto& t : *list) out.push_back(std::move(t));
  }
  for (const auto& file : f.configs) {
    auto list = probe::load_config_targets(file, base, expect);
    if (!list) return UsageError{list.error().message};
    for (auto& t : *list) out.push_back(std::move(t));
  }
  if (out.empty())
    return UsageError{
        "no targets (hint: give a URL such as http://127.0.0.1:8080/health, --file targets.toml "
        "or --config sluice.toml)"};
  auto has = [&](Kind k) {
    return std::any_of(out.begin(), out.end(), [&](const auto& t) { return t.kind == k; });
  };
  if ((!f.send.empty() || !f.receive.empty()) && !has(Kind::tcp))
    return UsageError{"--send and --receive apply to tcp:// targets, and there are none"};
  if (!f.service.empty() && !has(Kind::grpc))
    return UsageError{"--service applies to grpc:// targets, and there are none"};
  // Reports key on names (JUnit suites, Prometheus labels): keep them unique.
  std::map<std::string, int> seen;
  for (auto& t : out)
    if (int n = ++seen[t.name]; n > 1) t.name = fmt::format("{} #{}", t.name, n);
  return std::nullopt;
}

std::optional<UsageError> report_specs(const ProbeFlags& f, std::vector<ReportSpec>& specs) {
  for (const auto& r : f.reports) {
    auto colon = r.find(':');
    std::string format = r.substr(0, colon);
    if (colon == std::string::npos || colon + 1 == r.size() || !probe::is_report_format(format))
      return UsageError{fmt::format(
          "--report {}: expected FORMAT:PATH with FORMAT text, json, junit or prom (hint: "
          "--report junit:probe.xml)",
          r)};
    ReportSpec spec{format, r.substr(colon + 1)};
    auto dir = std::filesystem::path(spec.path).parent_path();
    std::error_code ec;
    if (!dir.empty() && !std::filesystem::is_directory(dir, ec))
      return UsageError{
          fmt::format("--report {}: no directory {} (hint: create it first)", r, dir.string())};
    specs.push_back(std::move(spec));
  }
  return std::nullopt;
}

// On a terminal, one dim line per probe on standard error, so a long --wait shows it is alive.
probe::AttemptObserver progress(const probe::RunOptions& o, std::size_t targets, bool color) {
  auto mu = std::make_shared<std::mutex>();
  auto done = std::make_shared<std::size_t>(0);
  return [=](const probe::Target& t, std::size_t n, const probe::Attempt& a) {
    std::lock_guard lock(*mu);
    std::string verdict(probe::to_string(a.verdict));
    std::string line;
    if (o.mode == probe::Mode::once)
      line = fmt::format("[{}/{}] {} {}", ++*done, targets, t.name, verdict);
    else if (o.mode == probe::Mode::repeat)
      line = fmt::format("{}: probe {}/{} {} in {:.1f}ms", t.name, n, o.repeat, verdict,
                         std::chrono::duration<double, std::milli>(a.result.timings.total).count());
    else
      line = fmt::format("{}: attempt {} {}", t.name, n, verdict);
    if (!a.reason.empty()) line += ": " + a.reason.substr(0, a.reason.find('\n'));
    fmt::print(stderr, "{}\n", color ? fmt::format("\x1b[2m{}\x1b[0m", line) : line);
  };
}

int run(const ProbeFlags& f) {
  auto fail = [](const UsageError& e) {
    fmt::print(stderr, "sluice probe: {}\n", e.message);
    return 2;
  };
  std::vector<ReportSpec> specs;
  if (auto e = report_specs(f, specs)) return fail(*e);
  probe::RunOptions options;
  if (auto e = run_options(f, options)) return fail(*e);
  probe::RequestOptions base;
  if (auto e = request_options(f, base)) return fail(*e);
  std::vector<probe::Target> targets;
  if (auto e = collect(f, base, targets)) return fail(*e);

  const bool tty_err = ::isatty(STDERR_FILENO) != 0;
  const bool color_out = ::isatty(STDOUT_FILENO) != 0 && !no_color();
  probe::Environment env = probe::system_environment();
  probe::AttemptObserver observer;
  if (tty_err && (options.mode != probe::Mode::once || targets.size() > 5))
    observer = progress(options, targets.size(), !no_color());

  const TimePoint start = env.clock->now();
  auto reports = probe::run(targets, options, env, observer);
  probe::ReportContext ctx{options.mode, env.clock->now() - start, env.clock->wall()};

  fmt::print("{}", probe::render_report(f.format, reports, ctx, color_out && f.format == "text"));
  std::fflush(stdout);
  int code = probe::exit_status(reports);
  for (const auto& spec : specs) {
    std::ofstream out(spec.path, std::ios::binary | std::ios::trunc);
    out << probe::render_report(spec.format, reports, ctx, false);
    out.close();
    if (!out) {
      fmt::print(stderr,
                 "sluice probe: --report {}:{}: cannot write the report (hint: check the "
                 "path)\n",
                 spec.format, spec.path);
      if (code == 0) code = 2;
    }
  }
  return code;
}

}  // namespace

void add_probe(CLI::App& app) {
  auto f = std::make_shared<ProbeFlags>();
  auto* cmd = app.add_subcommand(
      "probe",
      "Probe HTTP(S), TCP, gRPC and DNS targets; exit 1 when a condition fails, 3 when a target "
      "is unreachable");
  cmd->add_option("TARGET", f->targets,
                  "http(s)://..., tcp://HOST:PORT, grpc(s)://HOST:PORT[/SERVICE] or dns://NAME");
  cmd->add_option("-f,--file", f->files, "Targets file (TOML, man sluice-probe.1); repeatable")
      ->allow_extra_args(false);
  cmd->add_option("-c,--config", f->configs,
                  "Gateway config: probe every endpoint of every cluster; repeatable")
      ->allow_extra_args(false);
  cmd->add_option("-e,--expect", f->expect,
                  "Condition, e.g. 'status == 200' (man sluice-expressions.7); repeatable")
      ->allow_extra_args(false);
  cmd->add_option("-X,--method", f->method, "HTTP method (default GET)");
  cmd->add_option("-H,--header", f->headers, "Request header 'Name: value'; repeatable")
      ->allow_extra_args(false);
  cmd->add_option("-d,--body", f->body, "Request body, or @FILE to read it from a file");
  cmd->add_flag("-L,--follow-redirects", f->follow_redirects, "Follow redirects");
  cmd->add_option("--max-redirects", f->max_redirects, "Most redirects to follow (default 10)")
      ->check(CLI::Range(0, 50));
  cmd->add_option("--http-version", f->http_version, "HTTP version to speak: 1.1 or 2")
      ->check(CLI::IsMember({"1.1", "2"}));
  cmd->add_option("--cacert", f->ca_file, "CA certificates (PEM) to verify servers with");
  cmd->add_option("--cert", f->cert_file, "Client certificate (PEM)");
  cmd->add_option("--key", f->key_file, "Client certificate's private key (PEM)");
  cmd->add_option("--key-password-env", f->key_password_env,
                  "Environment variable holding the client key's password");
  cmd->add_option("--sni", f->sni, "Server name for TLS (SNI, verification and Host)");
  cmd->add_flag("-k,--insecure", f->insecure, "Do not verify server certificates");
  cmd->add_option("--service", f->service, "gRPC service to check (default: the URL's path)");
  cmd->add_option("--send", f->send, "tcp: bytes to send once connected (\\r \\n \\xHH escapes)");
  cmd->add_option("--receive", f->receive, "tcp: regular expression the reply must match");
  cmd->add_option("--probe-timeout", f->probe_timeout, "Time limit of one probe (default 5s)");
  cmd->add_option("--connect-timeout", f->connect_timeout,
                  "Time limit of connecting (default: the probe timeout)");
  cmd->add_option("--repeat", f->repeat, "Probe each target N times; report min/median/p95/max")
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--interval", f->interval, "Pause between probes of a target (default 1s)");
  cmd->add_flag("--wait", f->wait, "Probe until healthy, or fail at --timeout");
  cmd->add_option("--timeout", f->timeout, "--wait: give up after this long (default 60s)");
  cmd->add_option("--success-threshold", f->success_threshold,
                  "--wait: consecutive passes needed (default 1)")
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--concurrency", f->concurrency, "Targets probed at once (default 10)")
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--format", f->format, "Report on stdout: text, json, junit or prom")
      ->check(CLI::IsMember({"text", "json", "junit", "prom"}));
  cmd->add_option("--report", f->reports,
                  "Also write a report file, FORMAT:PATH (text, json, junit, prom); repeatable")
      ->allow_extra_args(false);
  cmd->callback([f] { exit_code = run(*f); });
}

}  // namespace sluice::cmd
