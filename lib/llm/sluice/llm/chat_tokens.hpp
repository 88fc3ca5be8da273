// Counting a chat-completions request as OpenAI bills it, after the rules OpenAI publishes in
// its cookbook ("How to count tokens with tiktoken", num_tokens_from_messages and
// num_tokens_for_tools):
//   - every message costs per_message tokens (3), plus the tokens of each of its string fields
//     (role, content, name, tool_call_id, ...), plus per_name (1) when it has a name;
//   - content given as parts counts its text parts; an image part is an estimate (85 tokens at
//     detail "low", 765 otherwise: a 1024x1024 image at "high"), and marks the count an estimate;
//   - tool calls, which the cookbook does not cover, count the tokens of each call's function
//     name and arguments, plus 3 per call (Sluice's rule, documented in sluice-tokens(1));
//   - tool definitions cost func_init per function, the tokens of "name:description" (one
//     final "." dropped), prop_init when it has properties, and per property prop_key plus the
//     tokens of "key:type:description", with enum_init and enum_item plus each item's tokens
//     for enums; func_end once after all functions (7/3/3/-3/3/12 for o200k models, 10/... for
//     cl100k models);
//   - every reply is primed with 3 tokens.
// Message counts are cached by content hash (MessageCache), so a conversation re-sent every turn
// costs only its new messages.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sluice/core/error.hpp"
#include "sluice/llm/models.hpp"
#include "sluice/llm/token_cache.hpp"
#include "sluice/llm/tokenizer.hpp"

namespace sluice::llm {

struct ToolRules {
  int func_init = 7, prop_init = 3, prop_key = 3, enum_init = -3, enum_item = 3, func_end = 12;
};

struct ChatRules {
  int per_message = 3;
  int per_name = 1;
  int reply_priming = 3;
  int per_tool_call = 3;
  ToolRules tools;
};

// The rules of a model: gpt-3.5-turbo-0301 has its own message costs; cl100k models start each
// tool definition with 10 tokens instead of 7.
ChatRules chat_rules_for(std::string_view model, Encoding e);

struct MessageTokens {
  std::string role;
  std::size_t tokens = 0;
  bool cached = false;
};

struct ChatCount {
  std::size_t total = 0;
  std::vector<MessageTokens> messages;
  std::size_t tools = 0;    // tool (or legacy function) definitions
  std::size_t priming = 0;  // the reply's priming
  bool estimate = false;    // an image part was estimated
  std::size_t cache_hits = 0;
};

// One message of a chat-completions request (everything but the reply priming), as count_chat
// counts it; the context window counts raw messages with it too. where names the message in
// errors ("messages[2]").
struct MessageCount {
  std::size_t tokens = 0;
  bool estimate = false;  // an image (or an uncounted part) was estimated
};
Result<MessageCount> count_chat_message(const nlohmann::json& message, std::string_view where,
                                        const Tokenizer& tok, const ChatRules& rules);

// Tool (or legacy function) definitions: an array of {"type":"function","function":{...}} or of
// bare functions ({"name","description","parameters"}).
Result<std::size_t> count_tool_definitions(const nlohmann::json& tools, std::string_view where,
                                           const Tokenizer& tok, const ToolRules& rules);

// Counts request (a chat-completions request: "messages", optional "tools" or "functions").
// cache may be null. Errors name the offending field ("messages[2].content: ...").
Result<ChatCount> count_chat(const nlohmann::json& request, const Tokenizer& tok,
                             const ChatRules& rules, MessageCache* cache = nullptr);

}  // namespace sluice::llm
