// The mock Gemini provider: models/{model}:generateContent and :streamGenerateContent (alt=sse:
// SSE data chunks; otherwise one JSON array of the same chunks). lib/llm writes Gemini requests
// only, so the GenerateContentResponse is written here, after Google's v1beta reference: each
// chunk carries the usage so far, the last one the finishReason and the final usageMetadata.
#include <fmt/format.h>

#include "llm_mock_internal.hpp"

namespace sluice::chaos::detail {

using Json = nlohmann::json;

namespace {

std::string_view finish_word(llm::FinishReason f) {
  switch (f) {
    case llm::FinishReason::length:
      return "MAX_TOKENS";
    case llm::FinishReason::content_filter:
      return "SAFETY";
    default:
      return "STOP";  // Gemini says STOP after a function call too
  }
}

Json usage_json(std::int64_t prompt, std::int64_t output) {
  return {{"promptTokenCount", prompt},
          {"candidatesTokenCount", output},
          {"totalTokenCount", prompt + output}};
}

// One GenerateContentResponse; finish is empty for the chunks before the last.
Json chunk_json(const ChatTurn& t, const std::string& id, Json parts, std::string_view finish,
                std::int64_t output) {
  Json cand = {{"content", {{"parts", std::move(parts)}, {"role", "model"}}}, {"index", 0}};
  if (!finish.empty()) cand["finishReason"] = finish;
  return {{"candidates", Json::array({std::move(cand)})},
          {"usageMetadata", usage_json(t.prompt_tokens, output)},
          {"modelVersion", t.req.model},
          {"responseId", id}};
}

Json call_part(const llm::ToolCall& call) {
  auto args = Json::parse(call.arguments, nullptr, false);
  if (args.is_discarded() || !args.is_object()) args = Json::object();
  return {{"functionCall", {{"name", call.name}, {"args", std::move(args)}}}};
}

std::vector<Json> stream_chunks(const ChatTurn& t, const std::string& id, std::size_t chars) {
  std::vector<Json> out;
  auto pieces = split_chars(t.text, chars);
  std::string so_far;
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    so_far += pieces[i];
    const bool last = i + 1 == pieces.size() && !t.tool_call;
    Json parts = Json::array({{{"text", pieces[i]}}});
    out.push_back(chunk_json(t, id, std::move(parts), last ? finish_word(t.finish) : "",
                             last ? t.completion_tokens : count_tokens(t.enc, so_far)));
  }
  if (t.tool_call)
    out.push_back(chunk_json(t, id, Json::array({call_part(*t.tool_call)}), finish_word(t.finish),
                             t.completion_tokens));
  if (out.empty())  // an empty reply still ends with a finish reason
    out.push_back(chunk_json(t, id, Json::array({{{"text", ""}}}), finish_word(t.finish),
                             t.completion_tokens));
  return out;
}

}  // namespace

void gemini_generate(LlmMockState& st, MockExchange& ex, std::string model, bool stream) {
  auto turn = accept_chat(st, ex, std::move(model));
  if (!turn) return;
  const ChatTurn& t = *turn;
  const std::string id = fmt::format("mock{}", t.seq);
  if (!stream) {
    Json parts = Json::array();
    if (!t.text.empty() || !t.tool_call) parts.push_back({{"text", t.text}});
    if (t.tool_call) parts.push_back(call_part(*t.tool_call));
    respond_json(ex, 200,
                 chunk_json(t, id, std::move(parts), finish_word(t.finish), t.completion_tokens));
    return;
  }
  auto chunks = stream_chunks(t, id, st.spec.chunk_chars);
  if (!gemini_wants_sse(ex.request().target)) {
    respond_json(ex, 200, Json(std::move(chunks)));
    return;
  }
  std::vector<std::string> events;
  events.reserve(chunks.size());
  for (const auto& c : chunks) events.push_back("data: " + c.dump() + "\r\n\r\n");
  send_sse(ex, events, st.spec.chunk_delay);
}

}  // namespace sluice::chaos::detail
