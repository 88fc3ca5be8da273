// `sluice version`: the version and the libraries it was built with.
#include <boost/version.hpp>
#include <fmt/format.h>
#include <openssl/opensslv.h>

#include "commands.hpp"

namespace sluice::cmd {

void add_version(CLI::App& app) {
  auto* sub = app.add_subcommand("version", "Print the version and build details");
  sub->callback([] {
    fmt::print("sluice {}\nboost {}.{}.{}\n{}\n", SLUICE_VERSION, BOOST_VERSION / 100000,
               BOOST_VERSION / 100 % 1000, BOOST_VERSION % 100, OPENSSL_VERSION_TEXT);
    exit_code = 0;
  });
}

}  // namespace sluice::cmd
