// `sluice tokens count` end to end: the count alone on stdout, JSON details with ids, a chat
// request counted as fixtures/chat/expected.json says, estimates labelled, and usage errors
// (exit 2) that say how to fix them.
#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "common.hpp"

using namespace sluice::test;
using Json = nlohmann::json;

namespace {

std::string file_with(std::string_view text, std::string_view ext = ".txt") {
  std::string path = temp_path("tokens", std::string(ext));
  write_file(path, text);
  return path;
}

std::string slurp_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("tokens count prints the count alone", "[integration][tokens]") {
  auto path = file_with("Hello, world!");
  auto r = run_sluice({"tokens", "count", path});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out == "4\n");
  auto cl = run_sluice({"tokens", "count", "--encoding", "cl100k_base", path});
  CHECK(cl.out == "4\n");
}

TEST_CASE("tokens count --format json --ids lists the ids", "[integration][tokens]") {
  auto path = file_with("hi <|endoftext|>");
  auto r = run_sluice({"tokens", "count", "--model", "gpt-4", "--format", "json", "--ids", path});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto j = Json::parse(r.out);
  CHECK(j["encoding"] == "cl100k_base");
  CHECK(j["model"] == "gpt-4");
  CHECK(j["estimate"] == false);
  CHECK(j["bytes"] == 16);
  // The special-token look-alike is ordinary text: several ids, none of them 100257.
  REQUIRE(j["ids"].is_array());
  CHECK(j["ids"].size() == j["tokens"].get<std::size_t>());
  CHECK(j["ids"].size() > 3);
  for (const auto& id : j["ids"]) CHECK(id != 100257);
}

TEST_CASE("tokens count --chat counts a request as the reference does", "[integration][tokens]") {
  auto cases =
      Json::parse(slurp_file(std::string(SLUICE_SOURCE_DIR) + "/fixtures/chat/requests.json"));
  auto expected =
      Json::parse(slurp_file(std::string(SLUICE_SOURCE_DIR) + "/fixtures/chat/expected.json"));
  for (std::size_t i : {0u, 5u, 7u}) {  // plain, tools, tool calls
    INFO(cases[i]["name"]);
    auto path = file_with(cases[i]["request"].dump(), ".json");
    auto r = run_sluice({"tokens", "count", "--chat", path});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out == std::to_string(expected[i]["tokens"].get<int>()) + "\n");
  }
  auto path = file_with(cases[7]["request"].dump(), ".json");
  auto j = run_sluice({"tokens", "count", "--chat", "--format", "json", path});
  REQUIRE(j.exit_code == 0);
  auto d = Json::parse(j.out);
  CHECK(d["messages"].size() == 4);
  CHECK(d["reply_priming"] == 3);
}

TEST_CASE("tokens count labels Anthropic and Gemini counts as estimates", "[integration][tokens]") {
  auto path = file_with("The quick brown fox jumps over the lazy dog.");
  auto r =
      run_sluice({"tokens", "count", "--model", "claude-sonnet-4-5", "--format", "json", path});
  REQUIRE(r.exit_code == 0);
  auto j = Json::parse(r.out);
  CHECK(j["estimate"] == true);
  CHECK(j.contains("exact_cl100k_base"));
  CHECK(j["tokens"].get<int>() >= j["exact_cl100k_base"].get<int>());
}

TEST_CASE("tokens count usage errors exit 2 with a hint", "[integration][tokens]") {
  auto path = file_with("x");
  auto unknown = run_sluice({"tokens", "count", "--model", "llama-3", path});
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.err.find("unknown model \"llama-3\" (hint:") != std::string::npos);
  auto both =
      run_sluice({"tokens", "count", "--model", "gpt-4o", "--encoding", "o200k_base", path});
  CHECK(both.exit_code == 2);
  auto missing = run_sluice({"tokens", "count", "/nonexistent/file.txt"});
  CHECK(missing.exit_code == 2);
  CHECK(missing.err.find("cannot read /nonexistent/file.txt") != std::string::npos);
  auto bad_chat =
      run_sluice({"tokens", "count", "--chat", file_with("{\"messages\": 3}", ".json")});
  CHECK(bad_chat.exit_code == 2);
  CHECK(bad_chat.err.find("messages: expected an array") != std::string::npos);
  auto not_json = run_sluice({"tokens", "count", "--chat", path});
  CHECK(not_json.exit_code == 2);
  CHECK(not_json.err.find("not valid JSON") != std::string::npos);
}
