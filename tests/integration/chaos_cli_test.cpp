// `sluice chaos run` end to end: verdicts, exit codes and reports.
#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>

#include "common.hpp"

using namespace sluice::test;

namespace {

const char* kScenario = R"(name = "NAME"
[[mocks]]
name = "a"
[[phases]]
name = "p"
duration = "500ms"
rate = 20
target = "mock.a"
[[assertions]]
name = "some traffic"
expect = "client.requests > 0"
[[assertions]]
name = "the impossible"
expect = "EXPECT"
)";

std::string scenario(std::string_view name, std::string_view expect) {
  std::string s = kScenario;
  s.replace(s.find("NAME"), 4, name);
  s.replace(s.find("EXPECT"), 6, expect);
  std::string path = temp_path("scenario", ".toml");
  write_file(path, s);
  return path;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("chaos run fails with a clear message when an assertion cannot hold",
          "[integration][chaos]") {
  std::string file = scenario("cannot hold", "client.requests == 0");
  std::string junit = temp_path("report", ".xml");
  auto r = run_sluice({"chaos", "run", file, "--report", "junit:" + junit}, 60s);
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  // The failure names the assertion and shows the value that broke it.
  CHECK(r.out.find("the impossible") != std::string::npos);
  CHECK(r.out.find("client.requests (") != std::string::npos);
  std::string xml = slurp(junit);
  CHECK(xml.find("<testsuites") != std::string::npos);
  CHECK(xml.find("<failure") != std::string::npos);
  CHECK(xml.find("name=\"the impossible\"") != std::string::npos);
}

TEST_CASE("chaos run passes, and says so, when every assertion holds", "[integration][chaos]") {
  std::string file = scenario("holds", "client.errors == 0");
  auto r = run_sluice({"chaos", "run", "--format", "json", file}, 60s);
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  REQUIRE(j.is_object());
  CHECK(j.value("passed", false));
}

TEST_CASE("chaos run exits 2 naming the line of an invalid scenario", "[integration][chaos]") {
  std::string path = temp_path("scenario", ".toml");
  write_file(path, "name = \"x\"\n[[phases]]\nname = \"p\"\nduraton = \"1s\"\n");
  auto r = run_sluice({"chaos", "run", path}, 30s);
  INFO(r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find(path + ":4:") != std::string::npos);
  CHECK(r.err.find("did you mean \"duration\"") != std::string::npos);
}
