// Streaming through the proxy: SSE events relayed as they come, large bodies in both directions
// with bounded memory.
#include <atomic>
#include <condition_variable>
#include <mutex>

#include <catch2/catch.hpp>

#include "common.hpp"
#include "sluice/chaos/mock_server.hpp"

using namespace sluice::test;
using sluice::chaos::MockExchange;
using sluice::chaos::MockServer;

TEST_CASE("the first SSE event reaches the client before the upstream finishes",
          "[integration][streaming][sse]") {
  // The mock sends one event, then holds the stream open until the test has seen that event
  // through the proxy (or 10 s pass, which fails the test).
  std::mutex mu;
  std::condition_variable cv;
  bool client_got_first = false;
  std::atomic<bool> released_by_client{false};
  std::atomic<bool> upstream_gave_up{false};
  MockServer mock(
      "sse",
      {{"GET", "/events", [&](MockExchange& ex) {
          ex.begin(200, {{"content-type", "text/event-stream"}, {"cache-control", "no-cache"}});
          ex.write("data: first\n\n");
          std::unique_lock lk(mu);
          bool ok = cv.wait_for(lk, std::chrono::seconds(10), [&] { return client_got_first; });
          lk.unlock();
          released_by_client = ok;
          upstream_gave_up = !ok;
          ex.write("data: second\n\n");
          ex.end();
        }}});
  SluiceProcess proc(proxy_config({mock.address()}));

  Connection c(proc.port(), 15s);
  REQUIRE(c.send(make_request("GET", "/events", {{"Accept", "text/event-stream"}})));
  auto head = c.read_head();
  REQUIRE(head);
  CHECK(head->status == 200);
  CHECK(head->header("content-type").find("text/event-stream") != std::string::npos);
  auto first = c.read_body_until(*head, "data: first\n\n");
  INFO("client error: " << c.error());
  REQUIRE(first);
  {
    INFO("the first event reached the client only after the upstream stopped waiting (10 s)");
    CHECK_FALSE(upstream_gave_up.load());
  }
  CHECK(first->find("data: second") == std::string::npos);
  {
    std::lock_guard lk(mu);
    client_got_first = true;
  }
  cv.notify_all();
  auto rest = c.read_rest(*head);
  REQUIRE(rest);
  CHECK((*first + *rest).find("data: second\n\n") != std::string::npos);
  CHECK(released_by_client.load());
}

TEST_CASE("the demo SSE stream is relayed whole", "[integration][streaming][sse]") {
  MockServer mock("demo");
  SluiceProcess proc(proxy_config({mock.address()}));
  Connection c(proc.port(), 15s);
  REQUIRE(c.send(make_request("GET", "/sse")));
  auto head = c.read_head();
  REQUIRE(head);
  CHECK(head->status == 200);
  auto body = c.read_rest(*head);
  INFO(c.error());
  REQUIRE(body);
  CHECK(*body ==
        "data: tick 1\n\ndata: tick 2\n\ndata: tick 3\n\ndata: tick 4\n\ndata: tick 5\n\n");
}

namespace {

constexpr std::uint64_t kBig = 200ull * 1000 * 1000;  // 200 MB
constexpr long kPeakRssLimitKib = 80 * 1024;

}  // namespace

TEST_CASE("the harness and the mock move 200 MB without the proxy", "[integration][harness]") {
  // A baseline for the test below: failures there are the proxy's, not the harness's.
  std::atomic<std::int64_t> last_upload{-1};
  std::vector<sluice::chaos::MockRoute> routes = sluice::chaos::demo_routes("direct");
  routes.insert(routes.begin(), {"POST", "/upload", [&](MockExchange& ex) {
                                   std::int64_t n = ex.read_body([](std::string_view) {});
                                   last_upload = n;
                                   ex.respond(200, std::to_string(n));
                                 }});
  MockServer mock("direct", routes);
  for (bool chunked : {true, false}) {
    std::string err;
    auto r = upload(mock.port(), "/upload", kBig, chunked, &err, 60s);
    INFO("chunked: " << chunked << " " << err);
    REQUIRE(r);
    CHECK(r->body == std::to_string(kBig));
    CHECK(last_upload.load() == static_cast<std::int64_t>(kBig));
  }
  std::string err;
  auto r = download(mock.port(), fmt::format("/bytes/{}", kBig), &err, 60s);
  INFO(err);
  REQUIRE(r);
  CHECK(r->body_bytes == kBig);
}

TEST_CASE("200 MB uploads and downloads stream through with bounded memory",
          "[integration][streaming][memory]") {
  std::atomic<std::int64_t> last_upload{-1};
  std::vector<sluice::chaos::MockRoute> routes = sluice::chaos::demo_routes("big");
  routes.insert(routes.begin(),
                {"POST", "/upload", [&](MockExchange& ex) {
                   std::int64_t n = ex.read_body([](std::string_view) {});
                   last_upload = n;
                   ex.respond(200, std::to_string(n), {{"content-type", "text/plain"}});
                 }});
  MockServer mock("big", routes);
  SluiceProcess proc(proxy_config({mock.address()}));

  SECTION("chunked upload") {
    std::string err;
    auto r = upload(proc.port(), "/upload", kBig, /*chunked=*/true, &err, 60s);
    INFO(err);
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body == std::to_string(kBig));
    CHECK(last_upload.load() == static_cast<std::int64_t>(kBig));
  }
  SECTION("content-length upload") {
    std::string err;
    auto r = upload(proc.port(), "/upload", kBig, /*chunked=*/false, &err, 60s);
    INFO(err);
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body == std::to_string(kBig));
    CHECK(last_upload.load() == static_cast<std::int64_t>(kBig));
  }
  SECTION("download") {
    std::string err;
    auto r = download(proc.port(), fmt::format("/bytes/{}", kBig), &err, 60s);
    INFO(err);
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body_bytes == kBig);
    CHECK(r->body.empty());
  }
  long peak = proc.peak_rss_kib();
  INFO("proxy peak RSS (VmHWM): " << peak << " KiB");
  CHECK(peak > 0);
  CHECK(peak < kPeakRssLimitKib);
}
