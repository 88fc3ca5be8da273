// The pass-through scan of an OpenAI request body: model, stream, and swapping the model.
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "sluice/llmgw/request_scan.hpp"

using namespace sluice::llmgw;

TEST_CASE("request scan: finds the model and stream flag at the top level only", "[llmgw]") {
  std::string body =
      R"({"messages":[{"role":"user","content":"say \"model\": x","model":"inner"}],)"
      R"( "model" : "gpt-4o\"x", "stream": true, "stream_options": {"stream": false}})";
  auto s = scan_openai_request(body);
  REQUIRE(s);
  CHECK(s->model == "gpt-4o\"x");
  CHECK(s->stream);
  auto out = replace_model(body, *s, "other/model");
  auto j = nlohmann::json::parse(out);
  CHECK(j["model"] == "other/model");
  CHECK(j["messages"][0]["model"] == "inner");
  CHECK(j["stream"] == true);
}

TEST_CASE("request scan: bad bodies are errors, never crashes", "[llmgw]") {
  for (std::string body : {std::string(""), std::string("[]"), std::string("{\"model\": 5}"),
                           std::string("{\"stream\": \"yes\", \"model\":\"m\"}"),
                           std::string("{\"model\": \"m\""), std::string("not json")}) {
    INFO(body);
    CHECK_FALSE(scan_openai_request(body));
  }
  std::string no_model = R"({"messages":[]})";
  auto s = scan_openai_request(no_model);
  REQUIRE(s);
  CHECK_FALSE(s->has_model);
  std::string null_stream = R"({"model":"m","stream":null})";
  auto n = scan_openai_request(null_stream);
  REQUIRE(n);
  CHECK_FALSE(n->stream);
}
