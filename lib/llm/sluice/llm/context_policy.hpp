// Which messages of a conversation to keep so that the prompt and the reserved output fit a
// model's context window. Pure: it sees turns (role, token count, tool-call ids), never JSON.
// The gateway splits and counts the body (raw_chat.hpp, context_count.hpp), plans here, and
// rebuilds the body from the kept messages.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "sluice/llm/chat.hpp"

namespace sluice::llm {

struct RawChat;
struct ContextCount;

enum class ContextStrategy { reject, truncate_oldest, middle_out, summarize };
std::string_view to_string(ContextStrategy s);
// "reject", "truncate_oldest", "middle_out", "summarize"; anything else gives nullopt.
std::optional<ContextStrategy> context_strategy_named(std::string_view name);

struct Turn {
  // A message that only answers tool calls has Role::tool (OpenAI's tool messages, Anthropic's
  // user messages made only of tool_result blocks); a user turn is Role::user.
  Role role = Role::user;
  std::size_t tokens = 0;
  std::vector<std::string> calls, results;  // tool-call ids made / answered
};

// The turns of a split and counted chat (RawMessage roles, ids and counts).
std::vector<Turn> turns_of(const RawChat& chat, const ContextCount& count);

struct ContextBudget {
  std::size_t window = 0;
  std::size_t reserve_output = 0;
  std::size_t fixed = 0;            // Anthropic system + tools + reply priming
  std::size_t summary_reserve = 0;  // summarize: room kept for the summary note
  std::size_t fixed_system = 0;     // the part of fixed that is a system prompt (for messages)
};

struct ContextPlan {
  std::vector<std::size_t> keep;     // indices into turns, ascending
  std::vector<std::size_t> dropped;  // ascending
  // The dropped tool calls and results whose partner is missing from the conversation (or a
  // call with an unanswered id): dropped whenever anything is, so no orphan is left. A subset
  // of dropped; for summarize, dropped minus unpaired is the prefix to summarise.
  std::vector<std::size_t> unpaired;
  // The whole prompt (fixed + messages); after excludes the summary.
  std::size_t tokens_before = 0, tokens_after = 0;
  bool changed() const { return !dropped.empty(); }
};

struct ContextRefusal {
  std::size_t window = 0, reserve_output = 0;
  std::size_t required = 0;       // system + newest exchange + fixed + reserve (+ summary)
  std::size_t system_tokens = 0;  // leading system messages (+ fixed_system)
  std::size_t newest_tokens = 0;  // the newest user turn and everything after it
  std::size_t total = 0;          // the whole conversation + fixed + reserve
  std::string message;            // what would have to shrink, with the numbers
};

// The rules (tests/unit/llm/context_policy_test.cpp checks them on random conversations):
// - Everything fits (fixed + messages + reserve_output <= window): all kept, for every strategy.
// - Leading system messages are never dropped; a system message further on is an ordinary turn.
// - The mandatory suffix, from the newest user turn to the end, is never dropped; a tool-call
//   group reaching into it is mandatory too (the suffix grows back to cover it). Without a user
//   turn the suffix is the last message.
// - A group (the message making tool calls and every message answering them) is kept or dropped
//   whole; an unpaired call or result outside the suffix is dropped when anything is.
// - reject refuses whatever does not fit. truncate_oldest keeps the newest groups that fit,
//   stopping at the first that does not (a contiguous tail). middle_out keeps the first exchange
//   (up to the second user turn) when it fits beside the suffix, then the newest groups that fit.
//   summarize is truncate_oldest with summary_reserve set aside; it drops a prefix.
// - If the system prompt + mandatory suffix + fixed + reserve (+ summary_reserve) do not fit,
//   every strategy refuses. A plan always fits: fixed + kept + reserve (+ summary) <= window.
std::variant<ContextPlan, ContextRefusal> plan_context(std::span<const Turn> turns,
                                                       const ContextBudget& b, ContextStrategy s);

}  // namespace sluice::llm
