// sluice: one binary, one subcommand per job. main only dispatches.
#include <csignal>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "commands.hpp"

int main(int argc, char** argv) {
  // A closed stdout (e.g. `sluice serve | head`) must give EPIPE errors, not kill the gateway.
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"sluice: an API and LLM gateway that keeps upstreams healthy and proves it"};
  app.name("sluice");
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("sluice ") + SLUICE_VERSION);
  sluice::cmd::add_serve(app);
  sluice::cmd::add_config(app);
  sluice::cmd::add_chaos(app);
  sluice::cmd::add_probe(app);
  sluice::cmd::add_diagnose(app);
  sluice::cmd::add_tokens(app);
  sluice::cmd::add_usage(app);
  sluice::cmd::add_version(app);
  // CLI11 would only say "A subcommand is required" for a mistyped command.
  if (argc > 1 && argv[1][0] != '-' &&
      app.get_subcommands([&](CLI::App* sub) { return sub->get_name() == argv[1]; }).empty()) {
    fmt::print(stderr, "sluice: unknown command \"{}\" (hint: sluice --help lists the commands)\n",
               argv[1]);
    return 2;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  return sluice::cmd::exit_code;
}
