// The wire parsers never throw, whatever the JSON holds: every node of every golden input is
// replaced in turn by a value of another type, and the result is parsed, written and dumped.
#include <catch2/catch.hpp>

#include "golden.hpp"
#include "sluice/llm/provider_error.hpp"
#include "sluice/llm/stream.hpp"
#include "sluice/llm/wire.hpp"

using namespace sluice::llm;
using golden::Json;

namespace {

void pointers(const Json& j, const Json::json_pointer& at, std::vector<Json::json_pointer>& out) {
  out.push_back(at);
  if (j.is_object())
    for (auto it = j.begin(); it != j.end(); ++it) pointers(it.value(), at / it.key(), out);
  if (j.is_array())
    for (std::size_t i = 0; i < j.size(); ++i) pointers(j[i], at / i, out);
}

// Each variant of doc with one node replaced by a value of another type.
template <class F>
void for_each_mutation(const Json& doc, F&& f, std::size_t kinds = 9) {
  static const Json replacements[] = {
      5, -1, 2.5, "x", Json::array(), Json::object(), nullptr, true, Json(std::uint64_t(1) << 63)};
  std::vector<Json::json_pointer> all;
  pointers(doc, Json::json_pointer(), all);
  for (const auto& p : all)
    for (std::size_t k = 0; k < kinds; ++k) {
      const Json& r = replacements[k];
      Json copy = doc;
      copy[p] = r;
      f(std::move(copy));
    }
}

void write_everywhere(const ChatRequest& req) {
  for (auto p : {WireFormat::openai, WireFormat::openai_compatible, WireFormat::anthropic,
                 WireFormat::gemini}) {
    auto body = write_request(req, p);
    if (body) (void)body->dump();
  }
}

}  // namespace

TEST_CASE("request parsers survive every wrong type", "[llm][robustness]") {
  for (const char* name : {"openai_chat", "anthropic_messages"}) {
    INFO(name);
    bool anthropic = std::string(name) == "anthropic_messages";
    for_each_mutation(golden::load(std::string("requests/") + name + ".json"), [&](Json j) {
      REQUIRE_NOTHROW([&] {
        auto req =
            anthropic ? parse_anthropic_request(std::move(j)) : parse_openai_request(std::move(j));
        if (req) write_everywhere(*req);
      }());
    });
  }
}

TEST_CASE("response parsers survive every wrong type", "[llm][robustness]") {
  const std::pair<const char*, WireFormat> cases[] = {{"openai_tools", WireFormat::openai},
                                                      {"anthropic_tools", WireFormat::anthropic},
                                                      {"gemini_tools", WireFormat::gemini}};
  for (const auto& [name, provider] : cases) {
    INFO(name);
    for_each_mutation(golden::load(std::string("responses/") + name + ".json"), [&](Json j) {
      REQUIRE_NOTHROW([&] {
        auto resp = parse_response(std::move(j), provider);
        if (resp) {
          (void)write_response(*resp, WireFormat::openai).dump();
          (void)write_response(*resp, WireFormat::anthropic).dump();
        }
      }());
    });
  }
}

TEST_CASE("stream parsers survive every wrong type in any event", "[llm][robustness]") {
  const std::pair<const char*, WireFormat> cases[] = {{"openai_tools", WireFormat::openai},
                                                      {"anthropic_tools", WireFormat::anthropic},
                                                      {"gemini_tools", WireFormat::gemini}};
  for (const auto& [name, provider] : cases) {
    INFO(name);
    auto events = golden::parse_sse(golden::read(std::string("streams/") + name + ".sse"));
    for (std::size_t i = 0; i < events.size(); ++i) {
      Json data = Json::parse(events[i].data, nullptr, false);
      if (data.is_discarded()) continue;
      for_each_mutation(
          data,
          [&](Json j) {
            auto mutated = events;
            mutated[i].data = j.dump();
            for (auto ingress : {WireFormat::openai, WireFormat::anthropic}) {
              REQUIRE_NOTHROW([&] {
                StreamTranslator t(provider, ingress, true);
                std::string out;
                for (const auto& ev : mutated) t.feed(ev.event, ev.data, out);
                t.close(out);
              }());
            }
          },
          4);  // a number, a string, an array, an object: every stream is replayed each time
    }
  }
}

TEST_CASE("error parsing survives every wrong type", "[llm][robustness]") {
  for (const auto& c : golden::load("errors/cases.json")) {
    if (!c["body"].is_object()) continue;
    for_each_mutation(c["body"], [&](Json j) {
      REQUIRE_NOTHROW([&] {
        auto e = parse_provider_error(WireFormat::gemini, 400, j.dump());
        (void)write_error(e, WireFormat::openai).dump();
        (void)write_error(e, WireFormat::anthropic).dump();
      }());
    });
  }
  // Not JSON, and not UTF-8 either.
  auto e = parse_provider_error(WireFormat::openai, 502, "\xff\xfe<html>\xc3");
  REQUIRE_NOTHROW(write_error(e, WireFormat::openai).dump());
}
