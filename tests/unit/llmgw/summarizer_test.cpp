// The transcript the summarizer is given: one "role: text" paragraph per message, tool calls and
// results included, and no exception for members of the wrong type (the request path must not
// throw on a body the splitter accepted).
#include <catch2/catch.hpp>

#include "../../../lib/llmgw/summarizer.hpp"

using namespace sluice;

TEST_CASE("a transcript has each message's role and text, tool calls and results",
          "[llmgw][summary]") {
  std::vector<std::string_view> msgs = {
      R"({"role":"user","content":"where is the gate?"})",
      R"({"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"find","arguments":"{\"what\":\"gate\"}"}}]})",
      R"({"role":"tool","tool_call_id":"c1","content":"north"})",
      R"({"role":"user","content":[{"type":"text","text":"and the keeper?"},{"type":"image_url","image_url":{"url":"x"}}]})"};
  auto t = llmgw::transcript_of(msgs, llm::WireFormat::openai);
  CHECK(t ==
        "user: where is the gate?\n\nassistant: [called find({\"what\":\"gate\"})]\n\ntool: "
        "north\n\nuser: and the keeper?\n[image]\n\n");
}

TEST_CASE("a transcript skips members of the wrong type instead of throwing", "[llmgw][summary]") {
  std::vector<std::string_view> msgs = {
      R"({"role":"user","content":[{"type":5,"text":"x"},{"type":"text","text":7},{"type":"text","text":"kept"}]})",
      R"({"role":"assistant","content":[{"type":"tool_use","id":"t1","name":{"n":1},"input":{"a":1}}]})",
      R"({"role":"assistant","tool_calls":[{"function":{"name":3,"arguments":{"a":1}}}]})",
      R"({"role":7,"content":"role is not a string"})", R"(not json at all)"};
  std::string t;
  REQUIRE_NOTHROW(t = llmgw::transcript_of(msgs, llm::WireFormat::anthropic));
  CHECK(t ==
        "user: kept\n\nassistant: [called ({\"a\":1})]\n\nassistant: [called ()]\n\nuser: role "
        "is not a string\n\n");
}
