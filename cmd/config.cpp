// `sluice config validate FILE` and `sluice config example`.
#include <fmt/format.h>

#include "commands.hpp"
#include "sluice/core/config/load.hpp"

namespace sluice::cmd {

void add_config(CLI::App& app) {
  auto* cfg = app.add_subcommand("config", "Check or generate configuration files");
  cfg->require_subcommand(1);

  auto* validate = cfg->add_subcommand("validate", "Check a config file; exit 2 naming the line of each error");
  static std::vector<std::string> files;
  validate->add_option("FILE", files, "Config files to check")->required()->check(CLI::ExistingFile);
  validate->callback([] {
    exit_code = 0;
    for (const auto& f : files) {
      auto c = config::load_file(f);
      if (!c) {
        fmt::print(stderr, "{}\n", c.error().message);
        exit_code = 2;
        continue;
      }
      fmt::print("{}: ok ({} listeners, {} routes, {} clusters)\n", f, c->listeners.size(),
                 c->routes.size(), c->clusters.size());
    }
  });

  auto* example = cfg->add_subcommand("example", "Print a commented example config");
  example->callback([] {
    fmt::print("{}", config::example());
    exit_code = 0;
  });
}

}  // namespace sluice::cmd
