// Token counts of a split chat (raw_chat.hpp), message by message, by the rules of count_chat
// (chat_tokens.hpp). Each message's count is cached by a hash of its raw bytes, so a
// conversation re-sent every turn tokenises only its new messages; a miss parses that one
// element. Anthropic content blocks are counted as their OpenAI equivalents: text blocks as
// text parts, tool_use as a tool call (name and input JSON), tool_result as its text (and id),
// images as image estimates.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "sluice/core/error.hpp"
#include "sluice/llm/chat_tokens.hpp"
#include "sluice/llm/raw_chat.hpp"
#include "sluice/llm/token_cache.hpp"
#include "sluice/llm/tokenizer.hpp"

namespace sluice::llm {

struct ContextCount {
  std::vector<std::size_t> message_tokens;  // one per RawChat::messages
  std::size_t system = 0;  // Anthropic's system value (OpenAI's system messages are messages)
  std::size_t tools = 0;
  std::size_t priming = 0;
  bool estimate = false;  // an image or an uncounted block was estimated
  std::size_t cache_hits = 0;
  std::size_t total() const;
};

// cache may be null. Errors name the message ("messages[3].content[0]: ...").
Result<ContextCount> count_context(const RawChat& chat, const Tokenizer& tok,
                                   const ChatRules& rules, MessageCache* cache);

// The tokens a message of just this text costs (a system note, an injected instruction).
std::size_t count_text_message(std::string_view text, Role role, const Tokenizer& tok,
                               const ChatRules& rules);

}  // namespace sluice::llm
