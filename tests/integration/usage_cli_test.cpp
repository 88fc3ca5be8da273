// `sluice usage` end to end: a ledger written with the store API, summed by each grouping in each
// format, and the exit codes of bad flags (2) and of a ledger that cannot be read (3).
#include <filesystem>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "common.hpp"
#include "sluice/store/ledger.hpp"

using namespace sluice::test;
using Json = nlohmann::json;

namespace {

constexpr std::int64_t kFeb29 = 1709164800000;  // 2024-02-29T00:00:00Z
constexpr std::int64_t kMar1 = kFeb29 + 86'400'000;

sluice::store::UsageRow row(std::int64_t ts, std::string key, std::string model, std::int64_t in,
                            std::int64_t out, double cost) {
  sluice::store::UsageRow r;
  r.ts_ms = ts;
  r.request_id = "req";
  r.key = std::move(key);
  r.route = "chat";
  r.alias = model == "gpt-4o" ? "smart" : "fast";
  r.provider = model == "gpt-4o" ? "openai" : "anthropic";
  r.model = std::move(model);
  r.input_tokens = in;
  r.output_tokens = out;
  r.cost_usd = cost;
  r.status = 200;
  return r;
}

// alice: 3 requests, 800 in, 80 out, $3.25; bob, "x": 1, 200 in, 20 out, $0.50.
std::string sample_ledger() {
  std::string path = temp_path("ledger", ".db");
  auto ledger = sluice::store::open_sqlite_ledger(path);
  REQUIRE(ledger.ok());
  (*ledger)->record(row(kFeb29 + 1000, "alice", "gpt-4o", 100, 10, 0.25));
  (*ledger)->record(row(kFeb29 + 2000, "bob, \"x\"", "claude-haiku", 200, 20, 0.5));
  (*ledger)->record(row(kMar1 + 3000, "alice", "claude-haiku", 300, 30, 1.0));
  (*ledger)->record(row(kMar1 + 4000, "alice", "gpt-4o", 400, 40, 2.0));
  return path;  // the ledger is closed, its rows written
}

}  // namespace

TEST_CASE("usage sums the ledger in every grouping as JSON", "[integration][usage]") {
  auto db = sample_ledger();
  struct Expect {
    const char* by;
    const char* first;
    std::uint64_t requests;
    double cost;
  };
  for (auto e : {Expect{"key", "alice", 3, 3.25}, Expect{"model", "claude-haiku", 2, 1.5},
                 Expect{"day", "2024-02-29", 2, 0.75}, Expect{"alias", "fast", 2, 1.5},
                 Expect{"provider", "anthropic", 2, 1.5}}) {
    INFO(e.by);
    auto r = run_sluice({"usage", "--db", db, "--by", e.by, "--format", "json"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    auto j = Json::parse(r.out);
    CHECK(j["by"] == e.by);
    REQUIRE(j["groups"].size() == 2);
    CHECK(j["groups"][0]["group"] == e.first);
    CHECK(j["groups"][0]["requests"] == e.requests);
    CHECK(j["groups"][0]["cost_usd"].get<double>() == Approx(e.cost));
    CHECK(j["total"]["requests"] == 4);
    CHECK(j["total"]["input_tokens"] == 1000);
    CHECK(j["total"]["output_tokens"] == 100);
    CHECK(j["total"]["cost_usd"].get<double>() == Approx(3.75));
  }
  std::filesystem::remove(db);
}

TEST_CASE("usage prints a table and RFC 4180 CSV, with filters", "[integration][usage]") {
  auto db = sample_ledger();
  auto text = run_sluice({"usage", "--db", db});
  INFO(text.err);
  REQUIRE(text.exit_code == 0);
  CHECK(text.out.find("KEY") == 0);
  CHECK(text.out.find("alice") != std::string::npos);
  CHECK(text.out.find("3.250000") != std::string::npos);
  CHECK(text.out.find("TOTAL") != std::string::npos);
  CHECK(text.out.find("3.750000") != std::string::npos);

  auto csv = run_sluice({"usage", "--db", db, "--format", "csv"});
  REQUIRE(csv.exit_code == 0);
  CHECK(csv.out ==
        "key,requests,input_tokens,output_tokens,cost_usd\r\n"
        "alice,3,800,80,3.250000\r\n"
        "\"bob, \"\"x\"\"\",1,200,20,0.500000\r\n");

  auto since =
      run_sluice({"usage", "--db", db, "--by", "day", "--since", "2024-03-01", "--format", "csv"});
  REQUIRE(since.exit_code == 0);
  CHECK(since.out ==
        "day,requests,input_tokens,output_tokens,cost_usd\r\n"
        "2024-03-01,2,700,70,3.000000\r\n");
  auto until = run_sluice({"usage", "--db", db, "--key", "alice", "--until",
                           "2024-02-29T00:00:01.500Z", "--format", "json"});
  REQUIRE(until.exit_code == 0);
  auto j = Json::parse(until.out);
  CHECK(j["key"] == "alice");
  CHECK(j["total"]["requests"] == 1);
  CHECK(j["until"] == "2024-02-29T00:00:01.500Z");

  auto none = run_sluice({"usage", "--db", db, "--since", "1h"});
  REQUIRE(none.exit_code == 0);
  CHECK(none.out == "no usage recorded\n");
  std::filesystem::remove(db);
}

TEST_CASE("usage reads the ledger path from a config's [store] table", "[integration][usage]") {
  auto db = sample_ledger();
  auto config = temp_path("usage", ".toml");
  write_file(config, fmt::format("[store]\nkind = \"sqlite\"\npath = \"{}\"\n", db));
  auto r = run_sluice({"usage", "--config", config, "--by", "provider", "--format", "csv"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("openai,2,500,50,2.250000") != std::string::npos);

  write_file(config, "[store]\nkind = \"memory\"\n");
  auto memory = run_sluice({"usage", "--config", config});
  CHECK(memory.exit_code == 2);
  CHECK(memory.err.find("only kept with [store] kind = \"sqlite\"") != std::string::npos);
  std::filesystem::remove(config);
  std::filesystem::remove(db);
}

TEST_CASE("usage exits 2 for bad flags and 3 for a ledger it cannot read", "[integration][usage]") {
  auto db = sample_ledger();
  auto bad_by = run_sluice({"usage", "--db", db, "--by", "colour"});
  CHECK(bad_by.exit_code == 2);
  CHECK(bad_by.err.find("hint:") != std::string::npos);
  CHECK(run_sluice({"usage", "--db", db, "--since", "last week"}).exit_code == 2);
  CHECK(run_sluice({"usage", "--db", db, "--format", "xml"}).exit_code == 2);
  CHECK(run_sluice({"usage", "--db", db, "--config", "x.toml"}).exit_code == 2);
  auto no_config = run_sluice({"usage", "--config", temp_path("none", ".toml")});
  CHECK(no_config.exit_code == 2);
  CHECK(no_config.err.find("no such file") != std::string::npos);

  auto missing = run_sluice({"usage", "--db", temp_path("missing", ".db")});
  CHECK(missing.exit_code == 3);
  CHECK(missing.err.find("missing.db: no such file") != std::string::npos);
  auto junk = temp_path("junk", ".db");
  write_file(junk, std::string(4096, 'x'));
  auto not_db = run_sluice({"usage", "--db", junk});
  CHECK(not_db.exit_code == 3);
  CHECK(not_db.err.find("not a SQLite database") != std::string::npos);
  std::filesystem::remove(junk);
  std::filesystem::remove(db);
}
