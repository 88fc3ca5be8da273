// Target URLs: what each scheme accepts, and the errors with hints for what it does not.
#include <catch2/catch.hpp>

#include "sluice/probe/target.hpp"

using namespace sluice;
using namespace sluice::probe;

namespace {

std::string error_of(std::string_view text) {
  auto t = parse_target(text);
  REQUIRE_FALSE(t.ok());
  CHECK(t.error().kind == ErrorKind::usage);
  return t.error().message;
}

}  // namespace

TEST_CASE("probe targets: http and https URLs", "[probe][target]") {
  auto t = parse_target("http://127.0.0.1:8080/health?full=1");
  REQUIRE(t.ok());
  CHECK(t->kind == Kind::http);
  CHECK_FALSE(t->tls);
  CHECK(t->host == "127.0.0.1");
  CHECK(t->port == 8080);
  CHECK(t->path == "/health?full=1");
  CHECK(t->url == "http://127.0.0.1:8080/health?full=1");
  CHECK(t->name == t->url);

  auto s = parse_target("HTTPS://example.internal");
  REQUIRE(s.ok());
  CHECK(s->tls);
  CHECK(s->port == 443);
  CHECK(s->path == "/");

  auto v6 = parse_target("http://[::1]:9000/");
  REQUIRE(v6.ok());
  CHECK(v6->host == "::1");
  CHECK(v6->port == 9000);
}

TEST_CASE("probe targets: tcp, grpc and dns", "[probe][target]") {
  auto tcp = parse_target("tcp://localhost:5432");
  REQUIRE(tcp.ok());
  CHECK(tcp->kind == Kind::tcp);
  CHECK(tcp->host == "localhost");
  CHECK(tcp->port == 5432);

  auto g = parse_target("grpc://127.0.0.1:50051/my.pkg.Greeter");
  REQUIRE(g.ok());
  CHECK(g->kind == Kind::grpc);
  CHECK_FALSE(g->tls);
  CHECK(grpc_service(*g) == "my.pkg.Greeter");
  CHECK(g->url == "http://127.0.0.1:50051/grpc.health.v1.Health/Check");

  auto gs = parse_target("grpcs://[::1]:443");
  REQUIRE(gs.ok());
  CHECK(gs->tls);
  CHECK(grpc_service(*gs).empty());
  CHECK(gs->url == "https://[::1]:443/grpc.health.v1.Health/Check");
  gs->options.service = "other.Service";
  CHECK(grpc_service(*gs) == "other.Service");

  auto d = parse_target("dns://localhost");
  REQUIRE(d.ok());
  CHECK(d->kind == Kind::dns);
  CHECK(d->host == "localhost");
}

TEST_CASE("probe targets: mistakes get a reason and a hint", "[probe][target]") {
  CHECK(error_of("").find("empty") != std::string::npos);
  CHECK(error_of("127.0.0.1:8080").find("no scheme (hint: write http://127.0.0.1:8080/") !=
        std::string::npos);
  CHECK(error_of("ftp://x").find("unsupported scheme \"ftp\"") != std::string::npos);
  CHECK(error_of("tcp://localhost").find("the port is missing") != std::string::npos);
  CHECK(error_of("grpc://localhost").find("grpc://127.0.0.1:50051") != std::string::npos);
  CHECK(error_of("http://host:99999/").find("port \"99999\" is not a number from 1 to 65535") !=
        std::string::npos);
  CHECK(error_of("http://host:abc/").find("port \"abc\"") != std::string::npos);
  CHECK(error_of("http://::1:80/").find("IPv6 addresses as [::1]:8080") != std::string::npos);
  CHECK(error_of("http://[::1/").find("unclosed [") != std::string::npos);
  CHECK(error_of("http://ho st/").find("space") != std::string::npos);
  CHECK(error_of("http:///path").find("no host") != std::string::npos);
  CHECK(error_of("dns://localhost:53").find("no port") != std::string::npos);
  CHECK(error_of("dns://a/b").find("no path") != std::string::npos);
  CHECK(error_of("tcp://a:1/x").find("no path") != std::string::npos);
  CHECK(error_of("tcp://u:p@a:1").find("no user name") != std::string::npos);
  CHECK(error_of("grpc://a:1/x/y").find("not a gRPC service name") != std::string::npos);
  CHECK(error_of("http://-bad/").find("not a valid host name") != std::string::npos);
}

TEST_CASE("probe targets: passwords in URLs are redacted from names", "[probe][target]") {
  CHECK(redact_url("https://user:s3cret@host:8443/x?y=1") == "https://user:***@host:8443/x?y=1");
  CHECK(redact_url("https://user@host/") == "https://user@host/");
  CHECK(redact_url("http://host/a@b") == "http://host/a@b");
  CHECK(redact_url("not a url") == "not a url");
  auto t = parse_target("https://bob:hunter2@127.0.0.1/");
  REQUIRE(t.ok());
  CHECK(t->name == "https://bob:***@127.0.0.1/");
  CHECK(t->url.find("hunter2") != std::string::npos);  // libcurl still needs it
}

TEST_CASE("probe targets: sensitive headers and header flags", "[probe][target]") {
  CHECK(is_sensitive_header("Authorization"));
  CHECK(is_sensitive_header("proxy-authorization"));
  CHECK(is_sensitive_header("Cookie"));
  CHECK(is_sensitive_header("X-Api-Key"));
  CHECK(is_sensitive_header("X-Upstream-Token"));
  CHECK(is_sensitive_header("X-Client-Secret"));
  CHECK_FALSE(is_sensitive_header("Accept"));
  CHECK_FALSE(is_sensitive_header("Content-Type"));

  auto h = parse_header("Accept:  application/json ");
  REQUIRE(h.ok());
  CHECK(h->first == "Accept");
  CHECK(h->second == "application/json");
  auto empty = parse_header("X-Empty:");
  REQUIRE(empty.ok());
  CHECK(empty->second.empty());
  CHECK_FALSE(parse_header("no colon").ok());
  CHECK_FALSE(parse_header(": value").ok());
  CHECK_FALSE(parse_header("Bad Name: x").ok());
  CHECK_FALSE(parse_header("X: a\r\nInjected: b").ok());

  CHECK(*parse_http_version("1.1") == HttpVersion::http1_1);
  CHECK(*parse_http_version("2") == HttpVersion::http2);
  CHECK_FALSE(parse_http_version("3").ok());
}
