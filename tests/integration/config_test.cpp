// Config errors: exit status 2 and FILE:LINE:COL: key.path messages.
#include <regex>

#include <catch2/catch.hpp>

#include "common.hpp"

using namespace sluice::test;

namespace {

// Line 3 holds the error: workers must be an integer.
const char* kBadType = R"([server]
header_timeout = "1s"
workers = "two"
)";

}  // namespace

TEST_CASE("a bad config exits with status 2 and names the line", "[integration][config]") {
  std::string path = temp_path("bad", ".toml");
  write_file(path, kBadType);
  std::regex where(std::regex_replace(path, std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)") +
                   R"(:3:[0-9]+: server\.workers: )");

  SECTION("serve --config") {
    auto r = run_sluice({"serve", "--config", path});
    INFO("stderr: " << r.err);
    CHECK_FALSE(r.timed_out);
    CHECK(r.exit_code == 2);
    CHECK(std::regex_search(r.err, where));
  }
  SECTION("config validate") {
    auto r = run_sluice({"config", "validate", path});
    INFO("stderr: " << r.err);
    CHECK_FALSE(r.timed_out);
    CHECK(r.exit_code == 2);
    CHECK(std::regex_search(r.err, where));
  }
  std::remove(path.c_str());
}

TEST_CASE("an unknown config key gets a did-you-mean", "[integration][config]") {
  std::string path = temp_path("typo", ".toml");
  write_file(path, "[server]\nworkrs = 2\n");
  auto r = run_sluice({"config", "validate", path});
  INFO("stderr: " << r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find(path + ":2:") != std::string::npos);
  CHECK(r.err.find("workers") != std::string::npos);
  std::remove(path.c_str());
}

TEST_CASE("a valid config validates", "[integration][config]") {
  std::string path = temp_path("good", ".toml");
  write_file(path, proxy_config({"127.0.0.1:9"}));
  auto r = run_sluice({"config", "validate", path});
  INFO("stdout: " << r.out << "\nstderr: " << r.err);
  CHECK(r.exit_code == 0);
  std::remove(path.c_str());
}
