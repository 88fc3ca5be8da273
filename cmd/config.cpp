// `sluice config validate FILE...` and `sluice config example`.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "sluice/core/config/load.hpp"

namespace sluice::cmd {
namespace {

std::string plural(std::size_t n, std::string_view word) {
  return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s");
}

struct ValidateFlags {
  std::vector<std::string> files;
  std::string format = "text";
};

// Every file is checked, even after a bad one; the exit code is 2 if any was invalid.
int validate(const ValidateFlags& f) {
  int code = 0;
  nlohmann::json report = nlohmann::json::array();
  for (const auto& file : f.files) {
    auto c = config::load_file(file);
    nlohmann::json entry = {{"file", file}, {"ok", c.ok()}};
    if (c) {
      if (f.format == "text")
        fmt::print("{}: ok ({}, {}, {})\n", file, plural(c->listeners.size(), "listener"),
                   plural(c->routes.size(), "route"), plural(c->clusters.size(), "cluster"));
      entry["listeners"] = c->listeners.size();
      entry["routes"] = c->routes.size();
      entry["clusters"] = c->clusters.size();
    } else {
      code = 2;
      fmt::print(stderr, "{}\n", c.error().message);
      nlohmann::json errors = nlohmann::json::array();
      std::string_view rest = c.error().message;
      while (!rest.empty()) {
        auto nl = rest.find('\n');
        errors.push_back(std::string(rest.substr(0, nl)));
        rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
      }
      entry["errors"] = errors;
    }
    report.push_back(entry);
  }
  if (f.format == "json") fmt::print("{}\n", report.dump(2));
  return code;
}

}  // namespace

void add_config(CLI::App& app) {
  auto* cfg = app.add_subcommand("config", "Check or generate configuration files");
  cfg->require_subcommand(1);

  auto flags = std::make_shared<ValidateFlags>();
  auto* v =
      cfg->add_subcommand("validate", "Check config files; exit 2 naming the line of each error");
  v->add_option("FILE", flags->files, "Config files to check")->required();
  v->add_option("--format", flags->format, "Output on stdout: text or json")
      ->check(CLI::IsMember({"text", "json"}));
  v->callback([flags] { exit_code = validate(*flags); });

  auto* example = cfg->add_subcommand("example", "Print a commented example config");
  example->callback([] {
    fmt::print("{}", config::example());
    exit_code = 0;
  });
}

}  // namespace sluice::cmd
