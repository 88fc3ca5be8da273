// Splitting a provider's event stream into events, whatever the read boundaries.
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "../../../lib/llmgw/sse.hpp"

using sluice::llmgw::SseSplitter;

namespace {

std::vector<std::pair<std::string, std::string>> split(const std::string& body, std::size_t step,
                                                       bool finish = true) {
  SseSplitter s;
  std::vector<std::pair<std::string, std::string>> out;
  auto f = [&](std::string_view e, std::string_view d) { out.emplace_back(e, d); };
  for (std::size_t i = 0; i < body.size(); i += step) s.feed(body.substr(i, step), f);
  if (finish) s.finish(f);
  return out;
}

}  // namespace

TEST_CASE("sse: events, multi-line data, comments and CRLF at any read boundary", "[llmgw]") {
  std::string body =
      ": keep-alive\r\n\r\n"
      "event: message_start\r\ndata: {\"a\":1}\r\n\r\n"
      "data: line1\ndata: line2\n\n"
      "event: ping\ndata:{}\n\n"
      "data: [DONE]\n\n";
  for (std::size_t step : {1, 2, 3, 7, 64, 1000}) {
    auto ev = split(body, step);
    REQUIRE(ev.size() == 4);
    CHECK(ev[0] == std::make_pair(std::string("message_start"), std::string("{\"a\":1}")));
    CHECK(ev[1].second == "line1\nline2");
    CHECK(ev[2] == std::make_pair(std::string("ping"), std::string("{}")));
    CHECK(ev[3].second == "[DONE]");
  }
}

TEST_CASE("sse: an event cut before its blank line is dispatched only at the end", "[llmgw]") {
  CHECK(split("data: a\n\ndata: b", 3, false).size() == 1);
  auto all = split("data: a\n\ndata: b", 3, true);
  REQUIRE(all.size() == 2);
  CHECK(all[1].second == "b");
}
