// The hosts-file overlay: hosts(5) parsing, names from the file before the fallback resolver,
// re-reading on change, and keeping the last answers when the file goes away.
#include "sluice/upstream/hosts_file.hpp"

#include <unistd.h>

#include <cstdio>
#include <fstream>

#include <catch2/catch.hpp>

#include "fake_resolver.hpp"

namespace up = sluice::upstream;

namespace {

std::string temp_path() {
  static int n = 0;
  return "/tmp/sluice-hosts-test-" + std::to_string(::getpid()) + "-" + std::to_string(n++);
}

void write(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::trunc) << text;
}

std::vector<std::string> texts(const std::vector<sluice::net::asio::ip::address>& v) {
  std::vector<std::string> out;
  for (const auto& a : v) out.push_back(a.to_string());
  return out;
}

}  // namespace

TEST_CASE("hosts file: addresses, aliases, comments and repeated names", "[dns]") {
  auto t = up::parse_hosts(
      "# a comment\n"
      "127.0.0.3  svc.test  alias.test # trailing comment\n"
      "\n"
      "127.0.0.2\tSVC.test\n"
      "not-an-address svc.test\n"
      "127.0.0.4\n"
      "::1 six.test\n");
  CHECK(texts(t.names["svc.test"]) == std::vector<std::string>{"127.0.0.3", "127.0.0.2"});
  CHECK(texts(t.names["alias.test"]) == std::vector<std::string>{"127.0.0.3"});
  CHECK(texts(t.names["six.test"]) == std::vector<std::string>{"::1"});
  CHECK(t.bad_lines == std::vector<std::size_t>{5, 6});
}

TEST_CASE("hosts file: listed names resolve from the file, others fall through", "[dns]") {
  sluice::test::FakeResolver fallback;
  fallback.set("other.test", {"127.0.0.9"});
  auto path = temp_path();
  write(path, "127.0.0.3 svc.test\n127.0.0.2 svc.test\n");
  auto r = up::HostsFileResolver::open(path, fallback);
  REQUIRE(r);
  auto all = (*r)->resolve_all("Svc.Test");
  REQUIRE(all);
  CHECK(texts(*all) == std::vector<std::string>{"127.0.0.2", "127.0.0.3"});  // sorted
  auto one = (*r)->resolve("svc.test");
  REQUIRE(one);
  CHECK(one->to_string() == "127.0.0.3");  // the first in file order
  auto other = (*r)->resolve_all("other.test");
  REQUIRE(other);
  CHECK(texts(*other) == std::vector<std::string>{"127.0.0.9"});

  // An edit is seen at the next resolution (the size changes, so the stamp does too).
  write(path, "127.0.0.4 svc.test\n");
  all = (*r)->resolve_all("svc.test");
  REQUIRE(all);
  CHECK(texts(*all) == std::vector<std::string>{"127.0.0.4"});

  // A file that disappears keeps the last answers.
  std::remove(path.c_str());
  all = (*r)->resolve_all("svc.test");
  REQUIRE(all);
  CHECK(texts(*all) == std::vector<std::string>{"127.0.0.4"});
}

TEST_CASE("hosts file: an unreadable file is an error at open", "[dns]") {
  sluice::test::FakeResolver fallback;
  auto r = up::HostsFileResolver::open("/nonexistent/sluice-hosts", fallback);
  REQUIRE_FALSE(r);
  CHECK(r.error().message.find("/nonexistent/sluice-hosts") != std::string::npos);
}
