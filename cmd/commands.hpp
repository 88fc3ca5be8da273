// Each subcommand registers its flags on the CLI11 app and runs when chosen. Exit codes follow
// design.md: 0 ok, 1 check failed, 2 usage or config error, 3 target unreachable.
#pragma once

#include <CLI/CLI.hpp>

namespace sluice::cmd {

// Set by the chosen subcommand's callback.
inline int exit_code = 0;

void add_serve(CLI::App& app);
void add_config(CLI::App& app);
void add_chaos(CLI::App& app);
void add_probe(CLI::App& app);
void add_diagnose(CLI::App& app);
void add_tokens(CLI::App& app);
void add_usage(CLI::App& app);
void add_version(CLI::App& app);

}  // namespace sluice::cmd
