// Both session stores behave the same: order, TTL, caps, remove, list, format conflicts; the
// SQLite one also persists and explains a bad file.
#include "sluice/store/session_store.hpp"

#include <fstream>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "store_test_util.hpp"

using namespace std::chrono_literals;
using namespace sluice::store;
using sluice::store::test::TempDir;

namespace {

std::unique_ptr<SessionStore> make_store(bool sqlite, const TempDir& dir, SessionLimits limits) {
  if (!sqlite) return make_memory_sessions(limits);
  auto s = open_sqlite_sessions(dir.file("state.db"), limits);
  REQUIRE(s.ok());
  return std::move(*s);
}

std::vector<std::string> msgs(std::initializer_list<const char*> list) {
  return {list.begin(), list.end()};
}

}  // namespace

TEST_CASE("sessions keep messages in order and expire after the TTL", "[store][sessions]") {
  bool sqlite = GENERATE(false, true);
  INFO((sqlite ? "sqlite" : "memory"));
  TempDir dir;
  auto store = make_store(sqlite, dir, {10s, 100, 1 << 20});
  REQUIRE(store->append("s1", "openai", msgs({R"({"role":"user","content":"a"})"}), 1000).ok());
  REQUIRE(store->append("s1", "openai", msgs({"b", "c"}), 2000).ok());
  auto s = store->load("s1", 3000);
  REQUIRE(s.ok());
  REQUIRE(s->has_value());
  CHECK((*s)->messages == msgs({R"({"role":"user","content":"a"})", "b", "c"}));
  CHECK((*s)->format == "openai");
  CHECK((*s)->updated_ms == 2000);
  CHECK((*s)->bytes == 29 + 2);
  CHECK_FALSE(store->load("unknown", 3000)->has_value());

  CHECK(store->load("s1", 12000)->has_value());  // updated_ms + ttl == now: still alive
  CHECK_FALSE(store->load("s1", 12001)->has_value());
  CHECK(store->list(0, 10)->empty());  // removed when found expired

  // An expired session starts afresh on append, in any format.
  REQUIRE(store->append("s2", "openai", msgs({"x"}), 0).ok());
  REQUIRE(store->append("s2", "anthropic", msgs({"y"}), 20000).ok());
  CHECK((*store->load("s2", 20000))->messages == msgs({"y"}));
}

TEST_CASE("sessions drop the oldest messages to keep the caps", "[store][sessions]") {
  bool sqlite = GENERATE(false, true);
  INFO((sqlite ? "sqlite" : "memory"));
  TempDir dir;
  auto store = make_store(sqlite, dir, {1h, 3, 10});
  REQUIRE(store->append("s", "openai", msgs({"1", "2", "3", "4"}), 0).ok());
  CHECK((*store->load("s", 0))->messages == msgs({"2", "3", "4"}));
  REQUIRE(store->append("s", "openai", msgs({"55555", "666"}), 1).ok());  // 1+5+3 = 9 bytes
  auto s = *store->load("s", 1);
  CHECK(s->messages == msgs({"4", "55555", "666"}));
  CHECK(s->bytes == 9);
  REQUIRE(store->append("s", "openai", msgs({"77"}), 2).ok());  // 5+3+2 = 10
  CHECK((*store->load("s", 2))->messages == msgs({"55555", "666", "77"}));

  auto big = store->append("s", "openai", msgs({"12345678901"}), 3);
  REQUIRE_FALSE(big.ok());
  CHECK(big.error().kind == sluice::ErrorKind::usage);
  CHECK((*store->load("s", 3))->messages.size() == 3);  // nothing stored
}

TEST_CASE("sessions refuse another wire format, remove and list", "[store][sessions]") {
  bool sqlite = GENERATE(false, true);
  INFO((sqlite ? "sqlite" : "memory"));
  TempDir dir;
  auto store = make_store(sqlite, dir, {10s, 100, 1000});
  REQUIRE(store->append("a", "openai", msgs({"1"}), 1000).ok());
  auto conflict = store->append("a", "anthropic", msgs({"2"}), 1000);
  REQUIRE_FALSE(conflict.ok());
  CHECK(conflict.error().kind == sluice::ErrorKind::usage);
  CHECK(conflict.error().source == sluice::ErrorSource::downstream);
  CHECK(conflict.error().message.find("anthropic") != std::string::npos);

  REQUIRE(store->append("b", "anthropic", msgs({"22", "3"}), 2000).ok());
  REQUIRE(store->append("c", "openai", msgs({"4"}), 500).ok());
  auto listed = store->list(10600, 10);
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 2);  // c expired
  CHECK((*listed)[0].id == "b");
  CHECK((*listed)[0].messages == 2);
  CHECK((*listed)[0].bytes == 3);
  CHECK((*listed)[1].id == "a");
  CHECK(store->list(0, 1)->size() == 1);

  CHECK(*store->remove("a"));
  CHECK_FALSE(*store->remove("a"));
  CHECK_FALSE(store->load("a", 1000)->has_value());
  CHECK(*store->purge_expired(11000) == 1);  // c; b is alive until 12000
  CHECK(store->load("b", 11000)->has_value());
}

TEST_CASE("SQLite sessions persist across close and reopen", "[store][sessions]") {
  TempDir dir;
  {
    auto s = open_sqlite_sessions(dir.file("state.db"), {1h, 100, 1000});
    REQUIRE(s.ok());
    REQUIRE((*s)->append("kept", "anthropic", msgs({"one", "two"}), 5).ok());
  }
  auto s = open_sqlite_sessions(dir.file("state.db"), {1h, 100, 1000});
  REQUIRE(s.ok());
  auto loaded = (*s)->load("kept", 6);
  REQUIRE(loaded.ok());
  REQUIRE(loaded->has_value());
  CHECK((*loaded)->messages == msgs({"one", "two"}));
  CHECK((*loaded)->format == "anthropic");
  REQUIRE((*s)->append("kept", "anthropic", msgs({"three"}), 7).ok());
  CHECK((*(*s)->load("kept", 8))->messages == msgs({"one", "two", "three"}));
}

TEST_CASE("SQLite sessions explain a bad path", "[store][sessions]") {
  TempDir dir;
  {
    std::ofstream junk(dir.file("junk.db"));
    junk << "this is not a database, just some text that is long enough to be a header......"
         << std::string(200, 'x');
  }
  auto junk = open_sqlite_sessions(dir.file("junk.db"), {});
  REQUIRE_FALSE(junk.ok());
  CHECK(junk.error().message.find(dir.file("junk.db")) != std::string::npos);
  CHECK(junk.error().message.find("not a SQLite database") != std::string::npos);
  CHECK(junk.error().message.find("hint:") != std::string::npos);

  auto missing = open_sqlite_sessions(dir.file("no/such/dir/state.db"), {});
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message.find("does not exist") != std::string::npos);
  CHECK(missing.error().message.find("hint:") != std::string::npos);

  auto directory = open_sqlite_sessions(dir.path(), {});
  REQUIRE_FALSE(directory.ok());
  CHECK(directory.error().message.find("is a directory") != std::string::npos);
}

TEST_CASE("SQLite sessions take concurrent appends to different sessions", "[store][sessions]") {
  TempDir dir;
  auto s = open_sqlite_sessions(dir.file("state.db"), {1h, 1000, 1 << 20});
  REQUIRE(s.ok());
  auto& store = **s;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&store, t] {
      for (int i = 0; i < 25; ++i) {
        std::vector<std::string> m{std::to_string(i)};
        if (!store.append("s" + std::to_string(t), "openai", m, i).ok()) return;
      }
    });
  for (auto& t : threads) t.join();
  for (int t = 0; t < 4; ++t) {
    auto loaded = store.load("s" + std::to_string(t), 30);
    REQUIRE(loaded.ok());
    REQUIRE(loaded->has_value());
    REQUIRE((*loaded)->messages.size() == 25);
    CHECK((*loaded)->messages[24] == "24");
  }
}

TEST_CASE("purge_due purges the expired sessions at most once a minute", "[store][sessions]") {
  bool sqlite = GENERATE(false, true);
  INFO((sqlite ? "sqlite" : "memory"));
  TempDir dir;
  auto store = make_store(sqlite, dir, {10s, 100, 1 << 20});
  REQUIRE(store->append("old", "openai", msgs({"a"}), 100'000).ok());
  REQUIRE(store->append("new", "openai", msgs({"b"}), 150'000).ok());
  // The first call is due: "old" (updated at 100 s, ttl 10 s) goes, "new" stays.
  CHECK(*store->purge_due(155'000) == 1);
  auto live = store->list(0, 10);
  REQUIRE(live->size() == 1);
  CHECK((*live)[0].id == "new");
  // Within the minute nothing is purged, even what has expired by then.
  CHECK(*store->purge_due(200'000) == 0);
  CHECK(store->list(0, 10)->size() == 1);
  // A minute after the last purge it is due again.
  CHECK(*store->purge_due(215'000) == 1);
  CHECK(store->list(0, 10)->empty());
}
