// The SQLite wrapper: a value that cannot be bound is an error at step(), naming the file, not
// a query run with a missing parameter.
#include "sluice/store/sqlite_db.hpp"

#include <catch2/catch.hpp>

#include "store_test_util.hpp"

using namespace sluice::store;
using sluice::store::test::TempDir;

TEST_CASE("a failed bind is reported by step, and reset clears it", "[store][sqlite]") {
  TempDir dir;
  auto db = Db::open(dir.file("state.db"), Db::Mode::read_write);
  REQUIRE(db.ok());
  auto q = (*db)->prepare("SELECT ?1");
  REQUIRE(q.ok());
  q->bind(2, std::int64_t{7});  // there is no parameter 2
  auto r = q->step();
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == sluice::ErrorKind::io);
  CHECK_THAT(r.error().message,
             Catch::Contains("state.db") && Catch::Contains("a value could not be bound"));
  // The statement is usable again.
  q->bind(1, std::string_view("ok"));
  auto again = q->step();
  REQUIRE(again.ok());
  CHECK(*again);
  CHECK(q->text(0) == "ok");
}
