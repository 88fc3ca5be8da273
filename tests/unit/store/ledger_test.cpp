// Both ledgers sum the same rows the same way; the SQLite one persists and writes on close.
#include "sluice/store/ledger.hpp"

#include <catch2/catch.hpp>

#include "sluice/store/utc.hpp"
#include "store_test_util.hpp"

using namespace sluice::store;
using sluice::store::test::TempDir;

namespace {

constexpr std::int64_t kDay1 = 1709164800000;  // 2024-02-29T00:00:00Z
constexpr std::int64_t kDay2 = kDay1 + 86'400'000;

UsageRow row(std::int64_t ts, std::string key, std::string model, std::int64_t in, std::int64_t out,
             double cost) {
  UsageRow r;
  r.ts_ms = ts;
  r.request_id = "req-" + std::to_string(ts);
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

void record_sample(Ledger& l) {
  l.record(row(kDay1 + 1000, "alice", "gpt-4o", 100, 10, 0.25));
  l.record(row(kDay1 + 2000, "bob", "claude-haiku", 200, 20, 0.5));
  l.record(row(kDay2 + 3000, "alice", "claude-haiku", 300, 30, 1.0));
  l.record(row(kDay2 + 4000, "alice", "gpt-4o", 400, 40, 2.0));
}

void check_sample(Ledger& l) {
  auto by_key = l.query({UsageBy::key, {}, {}, ""});
  REQUIRE(by_key.ok());
  REQUIRE(by_key->size() == 2);
  CHECK((*by_key)[0].group == "alice");
  CHECK((*by_key)[0].requests == 3);
  CHECK((*by_key)[0].input_tokens == 800);
  CHECK((*by_key)[0].output_tokens == 80);
  CHECK((*by_key)[0].cost_usd == Approx(3.25));
  CHECK((*by_key)[1].group == "bob");
  CHECK((*by_key)[1].requests == 1);

  auto by_model = l.query({UsageBy::model, {}, {}, ""});
  REQUIRE(by_model->size() == 2);
  CHECK((*by_model)[0].group == "claude-haiku");
  CHECK((*by_model)[0].cost_usd == Approx(1.5));
  CHECK((*by_model)[1].group == "gpt-4o");
  CHECK((*by_model)[1].input_tokens == 500);

  auto by_day = l.query({UsageBy::day, {}, {}, ""});
  REQUIRE(by_day->size() == 2);
  CHECK((*by_day)[0].group == "2024-02-29");
  CHECK((*by_day)[0].requests == 2);
  CHECK((*by_day)[1].group == "2024-03-01");
  CHECK((*by_day)[1].cost_usd == Approx(3.0));

  auto providers = l.query({UsageBy::provider, {}, {}, ""});
  REQUIRE(providers->size() == 2);
  CHECK((*providers)[0].group == "anthropic");
  auto aliases = l.query({UsageBy::alias, {}, {}, ""});
  REQUIRE(aliases->size() == 2);
  CHECK((*aliases)[1].group == "smart");

  auto since = l.query({UsageBy::key, kDay2, {}, ""});
  REQUIRE(since->size() == 1);
  CHECK((*since)[0].requests == 2);
  auto until = l.query({UsageBy::key, {}, kDay1 + 2000, ""});  // until is exclusive
  REQUIRE(until->size() == 1);
  CHECK((*until)[0].group == "alice");
  auto bob = l.query({UsageBy::model, {}, {}, "bob"});
  REQUIRE(bob->size() == 1);
  CHECK((*bob)[0].group == "claude-haiku");
  CHECK(l.query({UsageBy::key, kDay2 * 2, {}, ""})->empty());

  CHECK(*l.spent("alice", kDay2) == Approx(3.0));
  CHECK(*l.spent("alice", 0) == Approx(3.25));
  CHECK(*l.spent("nobody", 0) == 0.0);
}

}  // namespace

TEST_CASE("the memory ledger sums by key, model, day, provider and alias", "[store][ledger]") {
  auto l = make_memory_ledger();
  record_sample(*l);
  check_sample(*l);
}

TEST_CASE("the SQLite ledger sums the same and persists across reopen", "[store][ledger]") {
  TempDir dir;
  {
    auto l = open_sqlite_ledger(dir.file("state.db"));
    REQUIRE(l.ok());
    record_sample(**l);
    check_sample(**l);  // query flushes first
  }
  auto l = open_sqlite_ledger(dir.file("state.db"));
  REQUIRE(l.ok());
  check_sample(**l);
  CHECK((*l)->dropped() == 0);
}

TEST_CASE("the SQLite ledger writes queued rows on close", "[store][ledger]") {
  TempDir dir;
  {
    auto l = open_sqlite_ledger(dir.file("state.db"));
    REQUIRE(l.ok());
    for (int i = 0; i < 5000; ++i) (*l)->record(row(kDay1 + i, "k", "gpt-4o", 1, 2, 0.001));
  }  // no flush: the destructor writes them
  auto ro = open_sqlite_ledger_readonly(dir.file("state.db"));
  REQUIRE(ro.ok());
  auto g = (*ro)->query({UsageBy::key, {}, {}, ""});
  REQUIRE(g.ok());
  REQUIRE(g->size() == 1);
  CHECK((*g)[0].requests == 5000);
  CHECK((*g)[0].output_tokens == 10000);
  (*ro)->record(row(kDay1, "k", "gpt-4o", 1, 1, 1));
  CHECK((*ro)->dropped() == 1);
}

TEST_CASE("the ledger and the sessions share one file", "[store][ledger]") {
  TempDir dir;
  auto l = open_sqlite_ledger(dir.file("state.db"));
  REQUIRE(l.ok());
  (*l)->record(row(kDay1, "k", "gpt-4o", 1, 1, 1));
  (*l)->flush();
  auto again = open_sqlite_ledger(dir.file("state.db"));  // a second connection, migrated
  REQUIRE(again.ok());
  CHECK((*again)->query({UsageBy::key, {}, {}, ""})->size() == 1);
}

TEST_CASE("a read-only ledger explains a missing or foreign file", "[store][ledger]") {
  TempDir dir;
  auto missing = open_sqlite_ledger_readonly(dir.file("nope.db"));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message.find("nope.db: no such file") != std::string::npos);
}
