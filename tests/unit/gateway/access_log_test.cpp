// The JSON-lines access log: string escaping and whole lines written through a LineSink.
#include "sluice/gateway/access_log.hpp"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "sluice/core/log.hpp"

using sluice::gateway::AccessLog;
using sluice::gateway::AccessRecord;
using sluice::gateway::append_json_escaped;

namespace {

std::string escaped(std::string_view s) {
  std::string out = "prefix:";
  append_json_escaped(out, s);
  return out.substr(7);
}

// A temporary file removed at the end of the test.
class TempFile {
 public:
  TempFile() {
    char tmpl[] = "/tmp/sluice-access-XXXXXX";
    int fd = ::mkstemp(tmpl);
    REQUIRE(fd >= 0);
    ::close(fd);
    path_ = tmpl;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }
  std::string read() const {
    std::ifstream f(path_, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), {}};
  }
  std::vector<std::string> lines() const {
    std::vector<std::string> out;
    std::istringstream in(read());
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }

 private:
  std::string path_;
};

std::shared_ptr<sluice::log::LineSink> open_sink(const TempFile& f) {
  std::string err;
  auto sink = sluice::log::LineSink::open(f.path(), err);
  INFO(err);
  REQUIRE(sink);
  return sink;
}

AccessRecord sample_record() {
  AccessRecord r;
  r.request_id = "req-1";
  r.listener = "main";
  r.client = "192.0.2.7:51234";
  r.method = "POST";
  r.path = "/api/users";
  r.route = "api";
  r.cluster = "backend";
  r.endpoint = "10.0.0.1:8080";
  r.status = 201;
  r.bytes_in = 123;
  r.bytes_out = 4567;
  r.total_ms = 12.3456;
  r.connect_ms = 0.5;
  r.ttfb_ms = 10.25;
  r.attempts = 2;
  return r;
}

}  // namespace

TEST_CASE("append_json_escaped: quotes, backslashes and control characters",
          "[gateway][access_log]") {
  CHECK(escaped("plain /path?x=1") == "plain /path?x=1");
  CHECK(escaped("a\"b") == "a\\\"b");
  CHECK(escaped("a\\b") == "a\\\\b");
  CHECK(escaped("\n\r\t") == "\\n\\r\\t");
  CHECK(escaped(std::string_view("\0", 1)) == "\\u0000");
  CHECK(escaped("\x01") == "\\u0001");
  CHECK(escaped("\x08\x0c") == "\\u0008\\u000c");
  CHECK(escaped("\x1f") == "\\u001f");
  CHECK(escaped("\x7f") == "\x7f");                // DEL needs no escaping in JSON
  CHECK(escaped("caf\xc3\xa9") == "caf\xc3\xa9");  // UTF-8 passes through
  CHECK(escaped("") == "");

  std::string out = "kept";
  append_json_escaped(out, "\"");
  CHECK(out == "kept\\\"");  // appends
}

TEST_CASE("append_json_escaped: every ASCII character round-trips through a JSON parser",
          "[gateway][access_log]") {
  std::string all;
  for (int c = 0; c < 128; ++c) all += static_cast<char>(c);
  std::string doc = "\"";
  append_json_escaped(doc, all);
  doc += '"';
  nlohmann::json j;
  REQUIRE_NOTHROW(j = nlohmann::json::parse(doc));
  CHECK(j.get<std::string>() == all);
}

TEST_CASE("AccessLog: one JSON line per request with the expected fields",
          "[gateway][access_log]") {
  TempFile file;
  {
    AccessLog log(open_sink(file));
    CHECK(log.enabled());
    log.write(sample_record());
    log.flush();
  }
  auto lines = file.lines();
  REQUIRE(lines.size() == 1);
  CHECK(file.read().back() == '\n');
  auto j = nlohmann::json::parse(lines[0]);
  CHECK(j.at("request_id") == "req-1");
  CHECK(j.at("listener") == "main");
  CHECK(j.at("client") == "192.0.2.7:51234");
  CHECK(j.at("method") == "POST");
  CHECK(j.at("path") == "/api/users");
  CHECK(j.at("route") == "api");
  CHECK(j.at("cluster") == "backend");
  CHECK(j.at("endpoint") == "10.0.0.1:8080");
  CHECK(j.at("status") == 201);
  CHECK(j.at("bytes_in") == 123);
  CHECK(j.at("bytes_out") == 4567);
  CHECK(j.at("total_ms").get<double>() == Approx(12.346));
  CHECK(j.at("upstream_connect_ms").get<double>() == Approx(0.5));
  CHECK(j.at("upstream_ttfb_ms").get<double>() == Approx(10.25));
  CHECK(j.at("attempts") == 2);
  CHECK(j.at("error").is_null());
  const std::string time = j.at("time").get<std::string>();
  CHECK(std::regex_match(time, std::regex(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)")));
  CHECK(lines[0].rfind("{\"time\":", 0) == 0);
}

TEST_CASE("AccessLog: missing upstream timings are null, errors are strings",
          "[gateway][access_log]") {
  TempFile file;
  {
    AccessLog log(open_sink(file));
    auto r = sample_record();
    r.status = 503;
    r.connect_ms = -1;
    r.ttfb_ms = -1;
    r.attempts = 0;
    r.route = "";
    r.error = "no_healthy_upstream";
    log.write(r);
  }  // the destructor flushes
  auto lines = file.lines();
  REQUIRE(lines.size() == 1);
  auto j = nlohmann::json::parse(lines[0]);
  CHECK(j.at("status") == 503);
  CHECK(j.at("upstream_connect_ms").is_null());
  CHECK(j.at("upstream_ttfb_ms").is_null());
  CHECK(j.at("attempts") == 0);
  CHECK(j.at("route") == "");
  CHECK(j.at("error") == "no_healthy_upstream");
}

TEST_CASE("AccessLog: hostile request text stays inside its JSON string", "[gateway][access_log]") {
  TempFile file;
  const std::string path = "/x\"},\"status\":200,\"y\":{\"\n\\\x01\x1b";
  {
    AccessLog log(open_sink(file));
    auto r = sample_record();
    r.path = path;
    r.method = "G\"ET";
    log.write(r);
  }
  auto lines = file.lines();
  REQUIRE(lines.size() == 1);  // the newline in the path was escaped, not written
  auto j = nlohmann::json::parse(lines[0]);
  CHECK(j.at("path") == path);
  CHECK(j.at("method") == "G\"ET");
  CHECK(j.at("status") == 201);
}

TEST_CASE("AccessLog: lines are batched until flush", "[gateway][access_log]") {
  TempFile file;
  AccessLog log(open_sink(file));
  auto r = sample_record();
  log.write(r);
  r.request_id = "req-2";
  log.write(r);
  CHECK(file.read().empty());
  log.flush();
  auto lines = file.lines();
  REQUIRE(lines.size() == 2);
  CHECK(nlohmann::json::parse(lines[0]).at("request_id") == "req-1");
  CHECK(nlohmann::json::parse(lines[1]).at("request_id") == "req-2");
  log.flush();  // nothing new: nothing written
  CHECK(file.lines().size() == 2);
}

TEST_CASE("AccessLog: a large batch is written without an explicit flush",
          "[gateway][access_log]") {
  TempFile file;
  AccessLog log(open_sink(file));
  auto r = sample_record();
  const std::string long_path(1000, 'p');
  r.path = long_path;
  for (int i = 0; i < 40; ++i) log.write(r);  // well over the 16 KiB batch
  auto lines = file.lines();
  CHECK(lines.size() >= 16);
  for (const auto& line : lines) CHECK(nlohmann::json::parse(line).at("path") == long_path);
}

TEST_CASE("AccessLog: without a sink it is disabled and writes nothing", "[gateway][access_log]") {
  AccessLog log(nullptr);
  CHECK_FALSE(log.enabled());
  log.write(sample_record());
  log.flush();
}

TEST_CASE("LineSink::open reports files it cannot open", "[gateway][access_log]") {
  std::string err;
  auto sink = sluice::log::LineSink::open("/nonexistent-dir/sub/access.log", err);
  CHECK(sink == nullptr);
  CHECK(err.find("/nonexistent-dir/sub/access.log") != std::string::npos);
}
