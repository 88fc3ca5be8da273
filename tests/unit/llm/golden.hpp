// Golden files for the translation tests: fixtures/llm/. With SLUICE_UPDATE_GOLDEN=1 in the
// environment the tests write the expected files instead of comparing (review the diff).
#pragma once

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

namespace golden {

using Json = nlohmann::json;

inline std::string fixture_path(const std::string& rel) {
  return std::string(SLUICE_SOURCE_DIR) + "/fixtures/llm/" + rel;
}

inline std::string read(const std::string& rel) {
  std::ifstream in(fixture_path(rel), std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline Json load(const std::string& rel) {
  auto j = Json::parse(read(rel), nullptr, false);
  INFO(rel);
  REQUIRE(!j.is_discarded());
  return j;
}

inline bool updating() {
  return std::getenv("SLUICE_UPDATE_GOLDEN") != nullptr;
}

// Compares parsed JSON, so key order and spacing do not matter.
inline void check_json(const std::string& rel, const Json& actual) {
  if (updating()) {
    std::ofstream(fixture_path(rel)) << actual.dump(2) << "\n";
    return;
  }
  Json expected = load(rel);
  INFO(rel << "\nexpected: " << expected.dump() << "\nactual:   " << actual.dump());
  CHECK(actual == expected);
}

struct SseEvent {
  std::string event;
  std::string data;
};

// Splits SSE text into events (event and data fields; one data line per event is all the
// fixtures use).
inline std::vector<SseEvent> parse_sse(const std::string& text) {
  std::vector<SseEvent> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto end = text.find("\n\n", pos);
    if (end == std::string::npos) end = text.size();
    std::string block = text.substr(pos, end - pos);
    pos = end + 2;
    SseEvent ev;
    std::istringstream lines(block);
    std::string line;
    bool any = false;
    while (std::getline(lines, line)) {
      if (line.rfind("event: ", 0) == 0) ev.event = line.substr(7), any = true;
      if (line.rfind("data: ", 0) == 0) ev.data = line.substr(6), any = true;
    }
    if (any) out.push_back(std::move(ev));
  }
  return out;
}

inline void check_sse(const std::string& rel, const std::string& actual) {
  if (updating()) {
    std::ofstream(fixture_path(rel)) << actual;
    return;
  }
  auto expected = parse_sse(read(rel));
  auto got = parse_sse(actual);
  INFO(rel << "\nactual:\n" << actual);
  REQUIRE(got.size() == expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO("event " << i);
    CHECK(got[i].event == expected[i].event);
    auto a = Json::parse(got[i].data, nullptr, false);
    auto e = Json::parse(expected[i].data, nullptr, false);
    if (!a.is_discarded() && !e.is_discarded())
      CHECK(a == e);
    else
      CHECK(got[i].data == expected[i].data);
  }
}

}  // namespace golden
