// The mock LLM providers' check of tool calls against their results, the one the real APIs make
// before anything else: OpenAI wants each assistant message with tool_calls followed by one tool
// message per call id, and no tool message that answers no call of the message before its run;
// Anthropic wants each tool_use block answered by a tool_result block in the very next message,
// and no tool_result that answers no tool_use of the message before it. A gateway that trims a
// conversation must keep or drop a call and its results together, or the provider refuses it.
#include <algorithm>

#include <fmt/format.h>

#include "llm_mock_internal.hpp"

namespace sluice::chaos::detail {

namespace {

using Json = nlohmann::json;

std::string string_member(const Json& j, const char* key) {
  if (!j.is_object()) return {};
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string joined(const std::vector<std::string>& ids) {
  std::string out;
  for (const auto& id : ids) out += (out.empty() ? "" : ", ") + id;
  return out;
}

std::optional<RequestProblem> openai_pairing(const Json& messages) {
  // The open run: the assistant message with tool_calls, its call ids, those not answered yet.
  bool open = false;
  std::size_t caller = 0;
  std::vector<std::string> calls, unanswered;
  auto close_run = [&]() -> std::optional<RequestProblem> {
    if (open && !unanswered.empty())
      return RequestProblem{
          fmt::format("An assistant message with 'tool_calls' must be followed by tool messages "
                      "responding to each 'tool_call_id'. The following tool_call_ids did not "
                      "have response messages: {}",
                      joined(unanswered)),
          fmt::format("messages.[{}].role", caller)};
    open = false;
    return std::nullopt;
  };
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const Json& m = messages[i];
    const std::string role = string_member(m, "role");
    if (role == "tool") {
      if (!open)
        return RequestProblem{
            "Invalid parameter: messages with role 'tool' must be a response to a preceeding "
            "message with 'tool_calls'.",
            fmt::format("messages.[{}].role", i)};
      const std::string id = string_member(m, "tool_call_id");
      if (std::find(calls.begin(), calls.end(), id) == calls.end())
        return RequestProblem{fmt::format("Invalid parameter: 'tool_call_id' of '{}' not found in "
                                          "'tool_calls' of previous message.",
                                          id),
                              fmt::format("messages.[{}].tool_call_id", i)};
      unanswered.erase(std::remove(unanswered.begin(), unanswered.end(), id), unanswered.end());
      continue;
    }
    if (auto p = close_run()) return p;
    auto tc = m.is_object() ? m.find("tool_calls") : m.end();
    if (role == "assistant" && tc != m.end() && tc->is_array() && !tc->empty()) {
      open = true;
      caller = i;
      calls.clear();
      for (const auto& c : *tc) calls.push_back(string_member(c, "id"));
      unanswered = calls;
    }
  }
  return close_run();
}

// The ids of the blocks of one type in an Anthropic message's content (a string has none).
std::vector<std::pair<std::size_t, std::string>> block_ids(const Json& m, std::string_view type,
                                                           const char* id_key) {
  std::vector<std::pair<std::size_t, std::string>> out;
  if (!m.is_object()) return out;
  auto content = m.find("content");
  if (content == m.end() || !content->is_array()) return out;
  for (std::size_t k = 0; k < content->size(); ++k)
    if (string_member((*content)[k], "type") == type)
      out.emplace_back(k, string_member((*content)[k], id_key));
  return out;
}

std::optional<RequestProblem> anthropic_pairing(const Json& messages) {
  std::vector<std::string> uses;  // the tool_use ids of the message before
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const Json& m = messages[i];
    auto results = block_ids(m, "tool_result", "tool_use_id");
    for (const auto& [k, id] : results)
      if (std::find(uses.begin(), uses.end(), id) == uses.end())
        return RequestProblem{
            fmt::format("messages.{}.content.{}: unexpected `tool_use_id` found in `tool_result` "
                        "blocks: {}. Each `tool_result` block must have a corresponding "
                        "`tool_use` block in the previous message.",
                        i, k, id),
            ""};
    std::vector<std::string> missing;
    for (const auto& id : uses)
      if (std::none_of(results.begin(), results.end(),
                       [&](const auto& r) { return r.second == id; }))
        missing.push_back(id);
    if (!missing.empty())
      return RequestProblem{
          fmt::format("messages.{}: `tool_use` ids were found without `tool_result` blocks "
                      "immediately after: {}. Each `tool_use` block must have a corresponding "
                      "`tool_result` block in the next message.",
                      i - 1, joined(missing)),
          ""};
    uses.clear();
    if (string_member(m, "role") == "assistant")
      for (auto& [k, id] : block_ids(m, "tool_use", "id")) uses.push_back(std::move(id));
  }
  if (!uses.empty())
    return RequestProblem{
        fmt::format("messages.{}: `tool_use` ids were found without `tool_result` blocks "
                    "immediately after: {}. Each `tool_use` block must have a corresponding "
                    "`tool_result` block in the next message.",
                    messages.size() - 1, joined(uses)),
        ""};
  return std::nullopt;
}

}  // namespace

std::optional<RequestProblem> tool_pairing_problem(LlmProvider p, const nlohmann::json& body) {
  if (p == LlmProvider::gemini || !body.is_object()) return std::nullopt;
  auto messages = body.find("messages");
  if (messages == body.end() || !messages->is_array()) return std::nullopt;
  return p == LlmProvider::openai ? openai_pairing(*messages) : anthropic_pairing(*messages);
}

}  // namespace sluice::chaos::detail
