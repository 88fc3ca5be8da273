// sluice: one binary, one subcommand per job. main only dispatches.
#include <CLI/CLI.hpp>

#include "commands.hpp"

int main(int argc, char** argv) {
  CLI::App app{"sluice: an API and LLM gateway that keeps upstreams healthy and proves it"};
  app.name("sluice");
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("sluice ") + SLUICE_VERSION);
  sluice::cmd::add_serve(app);
  sluice::cmd::add_config(app);
  sluice::cmd::add_version(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  return sluice::cmd::exit_code;
}
