// A chat request body (OpenAI chat completions or Anthropic messages) split into the raw bytes of
// its messages, without a JSON tree, and rebuilt from kept messages: whatever the context policy
// does not touch (tools, sampling, unknown keys) is copied byte for byte.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/core/error.hpp"
#include "sluice/llm/chat.hpp"

namespace sluice::llm {

struct RawMessage {
  std::string_view json;   // the element's raw bytes in the body
  Role role = Role::user;  // OpenAI "developer" counts as system, legacy "function" as tool
  // Tool-call ids this message makes (OpenAI assistant tool_calls[].id; Anthropic assistant
  // content blocks of type tool_use, .id).
  std::vector<std::string> calls;
  // Tool-call ids this message answers (OpenAI role tool, .tool_call_id; Anthropic user content
  // blocks of type tool_result, .tool_use_id).
  std::vector<std::string> results;
  // An Anthropic user message made only of tool_result blocks: a tool result, not a user turn.
  // (OpenAI's tool messages have Role::tool.)
  bool results_only = false;
};

struct RawChat {
  WireFormat format = WireFormat::openai;  // openai or anthropic
  std::string_view body;
  std::size_t messages_begin = 0, messages_end = 0;  // the "messages" array, '[' .. past ']'
  std::vector<RawMessage> messages;
  std::string_view system;  // anthropic: the raw "system" value (string or array); empty if absent
  std::size_t system_begin = 0, system_end = 0;  // its byte range when present
  std::string_view model;                        // the raw "model" value; empty if absent
  std::size_t model_begin = 0, model_end = 0;
  std::optional<std::int64_t> max_tokens;  // max_tokens / max_completion_tokens
  bool has_tools = false;
  std::string_view tools;  // the raw "tools" value if any (for counting)
};

// Splits body (openai, openai_compatible or anthropic). Spans point into body, which must
// outlive the result. Errors name the field: "messages: required", "messages[3]: not an
// object", "messages[2].role: required".
Result<RawChat> split_chat(std::string_view body, WireFormat format);

struct Rebuild {
  // The raw JSON of the messages, in order (they may come from other buffers: stored history).
  std::vector<std::string_view> messages;
  // Text appended to the system prompt. OpenAI: one {"role":"system","content":note} message per
  // note, inserted right after the leading system/developer messages. Anthropic: appended to
  // "system" (a string becomes "old\n\nnote", an array gets a {"type":"text","text":note} block,
  // an absent one becomes a string).
  std::vector<std::string> system_notes;
  // The same, before the existing system prompt (OpenAI: inserted as the first messages).
  std::vector<std::string> system_prepend;
  std::optional<std::string> model;  // replaces the model value when set
  // OpenAI: how many of messages are the leading system prompt (where notes go). Unset: found
  // by reading the roles of the first messages.
  std::optional<std::size_t> leading_system;
};

// chat's body with its messages (and system, model) replaced as r says; everything else is
// copied byte for byte.
std::string rebuild(const RawChat& chat, const Rebuild& r);

// "User instruction injection": raw_message (one message object) with text added to its
// content. A string content becomes "text\n\nold" (prepend) or "old\n\ntext"; an array gets a
// {"type":"text","text":text} part first or last; null or absent content becomes text. Key order
// is kept; the message is re-serialised (compact).
Result<std::string> add_text_to_message(std::string_view raw_message, std::string_view text,
                                        bool prepend);

// {"role":"...","content":"text"}. Anthropic has no system role in messages: system gives
// "user" there (system prompts go through Rebuild::system_notes). Tool results need a call id
// and are not made here: tool gives "user" (Anthropic) or "tool" without a tool_call_id.
std::string text_message_json(Role role, std::string_view text, WireFormat format);

std::string_view role_name(Role role, WireFormat format);

}  // namespace sluice::llm
