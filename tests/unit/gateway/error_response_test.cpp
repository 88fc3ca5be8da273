// Gateway-generated errors: one JSON shape, a correct Content-Length, and Connection: close
// only when asked.
#include "sluice/gateway/error_response.hpp"

#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "sluice/net/headers.hpp"
#include "sluice/net/http_parser.hpp"

using sluice::gateway::GatewayError;
using sluice::gateway::reason_phrase;
using sluice::gateway::write_error_response;
using sluice::net::HttpParser;
using sluice::net::ParseError;

namespace {

struct Response {
  std::string raw;
  std::string status_line;
  std::string body;
  int status = 0;
  std::string content_type, content_length, request_id, connection;
  bool has_connection = false;
  std::size_t field_count = 0;
};

// Parses the whole response with HttpParser, so framing mistakes show up as parse errors.
Response parse(std::string raw) {
  Response r;
  r.raw = std::move(raw);
  HttpParser p(HttpParser::Kind::response);
  p.reset(64 * 1024, 1 << 20);
  ParseError err = ParseError::none;
  std::size_t used = 0;
  while (!p.done() && used < r.raw.size()) {
    p.body_pieces().clear();
    used += p.feed(r.raw.data() + used, r.raw.size() - used, err);
    REQUIRE(err == ParseError::none);
    for (auto piece : p.body_pieces()) r.body += piece;
  }
  REQUIRE(p.done());
  CHECK(used == r.raw.size());  // nothing after the body
  r.status_line = r.raw.substr(0, r.raw.find("\r\n"));
  r.status = p.head().status;
  r.content_type = p.head().get("content-type");
  r.content_length = p.head().get("content-length");
  r.request_id = p.head().get("x-request-id");
  r.connection = p.head().get("connection");
  r.field_count = p.head().fields.size();
  for (const auto& f : p.head().fields)
    if (sluice::net::iequals(f.name, "connection")) r.has_connection = true;
  return r;
}

}  // namespace

TEST_CASE("error response: the JSON shape", "[gateway][error_response]") {
  GatewayError e{503, "no_healthy_upstream", "no healthy endpoint in cluster \"api\""};
  e.details = {{"cluster", "api"},
               {"endpoints", {{{"address", "10.0.0.1:80"}, {"state", "ejected"}}}}};
  std::string out = "previous";
  write_error_response(out, e, "req-123", false);
  auto r = parse(out);

  CHECK(r.status_line == "HTTP/1.1 503 Service Unavailable");
  CHECK(r.status == 503);
  CHECK(r.content_type == "application/json");
  CHECK(r.request_id == "req-123");
  CHECK(r.content_length == std::to_string(r.body.size()));
  CHECK_FALSE(r.has_connection);
  CHECK(r.field_count == 3);

  auto j = nlohmann::json::parse(r.body);
  REQUIRE(j.is_object());
  CHECK(j.size() == 1);
  const auto& err = j.at("error");
  CHECK(err.size() == 5);
  CHECK(err.at("message") == "no healthy endpoint in cluster \"api\"");
  CHECK(err.at("type") == "no_healthy_upstream");
  CHECK(err.at("code") == "503");  // a string, as in OpenAI's error object
  CHECK(err.at("request_id") == "req-123");
  CHECK(err.at("details") == e.details);
}

TEST_CASE("error response: details default to an empty object", "[gateway][error_response]") {
  GatewayError e{431, "request_header_too_large", "request head over 64 KiB"};
  std::string out;
  write_error_response(out, e, "r", false);
  auto r = parse(out);
  CHECK(r.status_line == "HTTP/1.1 431 Request Header Fields Too Large");
  auto j = nlohmann::json::parse(r.body);
  CHECK(j["error"]["details"].is_object());
  CHECK(j["error"]["details"].empty());
  CHECK(j["error"]["code"] == "431");
}

TEST_CASE("error response: Connection: close only when asked", "[gateway][error_response]") {
  GatewayError e{400, "bad_request", "malformed request"};
  std::string out;
  write_error_response(out, e, "r1", true);
  auto closing = parse(out);
  CHECK(closing.connection == "close");
  CHECK(closing.content_length == std::to_string(closing.body.size()));

  write_error_response(out, e, "r1", false);
  auto open = parse(out);
  CHECK_FALSE(open.has_connection);
}

TEST_CASE("error response: awkward messages stay valid JSON of the right length",
          "[gateway][error_response]") {
  // Quotes, backslashes, control characters, UTF-8 and an invalid UTF-8 byte.
  GatewayError e{502, "upstream_reset",
                 std::string("a \"quoted\" \\ path\n\t\x01 caf\xc3\xa9 \xff end")};
  std::string out;
  write_error_response(out, e, "rid", false);
  auto r = parse(out);
  CHECK(r.content_length == std::to_string(r.body.size()));
  nlohmann::json j;
  REQUIRE_NOTHROW(j = nlohmann::json::parse(r.body));
  auto msg = j["error"]["message"].get<std::string>();
  CHECK(msg.rfind("a \"quoted\" \\ path\n\t\x01 caf\xc3\xa9 ", 0) == 0);
  CHECK(msg.size() >= 4);
  CHECK(msg.substr(msg.size() - 4) == " end");
}

TEST_CASE("error response: reason phrases", "[gateway][error_response]") {
  CHECK(reason_phrase(400) == "Bad Request");
  CHECK(reason_phrase(404) == "Not Found");
  CHECK(reason_phrase(413) == "Content Too Large");
  CHECK(reason_phrase(429) == "Too Many Requests");
  CHECK(reason_phrase(431) == "Request Header Fields Too Large");
  CHECK(reason_phrase(502) == "Bad Gateway");
  CHECK(reason_phrase(503) == "Service Unavailable");
  CHECK(reason_phrase(504) == "Gateway Timeout");
  CHECK(reason_phrase(599) == "Error");

  GatewayError e{504, "upstream_timeout", "timed out"};
  std::string out;
  write_error_response(out, e, "r", false);
  CHECK(out.rfind("HTTP/1.1 504 Gateway Timeout\r\n", 0) == 0);
}
