// Operations: reload on file change, the connection limit, readiness while draining, the demo.
#include <signal.h>

#include <set>
#include <thread>

#include <catch2/catch.hpp>

#include "common.hpp"
#include "sluice/chaos/mock_server.hpp"

using namespace sluice::test;
using sluice::chaos::MockServer;

TEST_CASE("serve --watch reloads when the config file changes", "[integration][reload][watch]") {
  MockServer a("a"), b("b");
  SluiceProcess::Options opts;
  opts.extra_args = {"--watch"};
  SluiceProcess proc(proxy_config({a.address()}), opts);
  auto before = http_get(proc.port(), "/echo");
  REQUIRE(before);
  CHECK(before->json().value("name", "") == "a");

  std::size_t from = proc.stderr_line_count();
  proc.rewrite_config(proxy_config({b.address()}));
  auto line = proc.wait_for_event("reload", 10s, from);
  INFO(proc.stderr_text());
  REQUIRE(line);
  CHECK(line->find("\"trigger\":\"watch\"") != std::string::npos);
  auto after = http_get(proc.port(), "/echo");
  REQUIRE(after);
  CHECK(after->json().value("name", "") == "b");

  // A broken edit is reported and the running config stays.
  from = proc.stderr_line_count();
  proc.rewrite_config("[server]\nworkers = \"two\"\n");
  REQUIRE(proc.wait_for_event("reload_failed", 10s, from));
  auto still = http_get(proc.port(), "/echo");
  REQUIRE(still);
  CHECK(still->json().value("name", "") == "b");
}

TEST_CASE("connections over server.max_connections get 503 and are closed",
          "[integration][limits][connections]") {
  MockServer mock("up");
  std::string cfg = proxy_config({mock.address()});
  cfg.replace(cfg.find("workers = 2"), 11, "workers = 1\nmax_connections = 2");
  SluiceProcess proc(cfg);

  // Two kept-alive connections, each proven accepted by a completed request.
  Connection first(proc.port()), second(proc.port());
  for (Connection* c : {&first, &second}) {
    auto r = c->request(make_request("GET", "/echo"));
    REQUIRE(r);
    REQUIRE(r->status == 200);
  }
  Connection third(proc.port());
  auto r = third.read_response();
  INFO(third.error());
  REQUIRE(r);
  CHECK(r->status == 503);
  CHECK(has_error_shape(*r, "too_many_connections"));
  CHECK(third.wait_closed(5s));

  // Once one closes, a new connection is served again.
  first.shutdown_write();
  CHECK(first.wait_closed(5s));
  bool served = eventually(
      [&] {
        auto ok = http_get(proc.port(), "/echo");
        return ok && ok->status == 200;
      },
      5s);
  CHECK(served);
}

TEST_CASE("/ready answers 503 while draining, /live stays 200", "[integration][drain][admin]") {
  MockServer mock("slow");
  SluiceProcess proc(proxy_config({mock.address()}));
  auto ready = http_get(proc.admin_port(), "/ready");
  REQUIRE(ready);
  CHECK(ready->status == 200);

  std::thread slow([&] {
    Connection c(proc.port(), 15s);
    auto r = c.request(make_request("GET", "/delay/1500"));
    CHECK((r && r->status == 200));
  });
  REQUIRE(eventually([&] { return mock.requests() >= 1; }, 5s));
  proc.send_signal(SIGTERM);
  bool not_ready = eventually(
      [&] {
        auto r = http_get(proc.admin_port(), "/ready");
        return r && r->status == 503;
      },
      5s);
  CHECK(not_ready);
  auto live = http_get(proc.admin_port(), "/live");
  CHECK((live && live->status == 200));
  slow.join();
  auto code = proc.wait_exit(15s);
  REQUIRE(code);
  CHECK(*code == 0);
}

TEST_CASE("a chunked body over max_body_bytes gets 413", "[integration][limits][body]") {
  MockServer mock("up");
  ServerSettings s;
  s.max_body_bytes = "1KiB";
  SluiceProcess proc(proxy_config({mock.address()}, s));
  std::string body = "1000\r\n" + std::string(4096, 'c') + "\r\n0\r\n\r\n";
  Connection c(proc.port());
  auto r = c.request("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + body);
  INFO(c.error());
  REQUIRE(r);
  CHECK(r->status == 413);
  CHECK(has_error_shape(*r, "request_body_too_large"));
}

TEST_CASE("serve --demo fronts two built-in mock upstreams", "[integration][demo]") {
  SluiceProcess::Options opts;
  opts.with_config = false;
  opts.extra_args = {"--demo", "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"};
  SluiceProcess proc("", opts);
  std::set<std::string> upstreams;
  for (int i = 0; i < 4; ++i) {
    auto r = http_get(proc.port(), "/echo");
    REQUIRE(r);
    REQUIRE(r->status == 200);
    upstreams.insert(r->json().value("name", ""));
  }
  CHECK(upstreams == std::set<std::string>{"api-1", "api-2"});
  // The banner names the bound address, not port 0.
  auto banner = proc.wait_for_stderr(fmt::format("http://127.0.0.1:{}/echo", proc.port()), 5s);
  CHECK(banner);
}
