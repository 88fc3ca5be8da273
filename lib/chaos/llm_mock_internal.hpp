// Internal to the mock LLM providers (llm_mock*.cpp): the shared state of one mock, the steps every
// chat request goes through (count, check the window, pick the reply) and the SSE helpers.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "sluice/chaos/llm_mock.hpp"
#include "sluice/llm/chat.hpp"
#include "sluice/llm/models.hpp"
#include "sluice/llm/stream.hpp"

namespace sluice::chaos::detail {

struct LlmMockState {
  std::string name;
  LlmMockSpec spec;
  std::atomic<std::uint64_t> turn{0};  // scripted replies served
  std::atomic<std::uint64_t> ids{0};   // response ids handed out
  std::uint64_t next_id() { return ids.fetch_add(1) + 1; }
};

// OpenAI responses carry a creation time; the mock's is fixed, so replies are byte-for-byte
// repeatable (2025-01-01T00:00:00Z).
inline constexpr std::int64_t kMockCreated = 1735689600;

// The tokenizer a provider's mock counts with: the model's own when the table knows it and it
// belongs to the provider's family, else the provider's default (OpenAI o200k_base exact,
// Anthropic the Claude estimate, Gemini the o200k_base estimate).
llm::ModelEncoding mock_encoding(LlmProvider p, std::string_view model);
// Tokens of text under e (scaled for estimates).
std::int64_t count_tokens(const llm::ModelEncoding& e, std::string_view text);

// A chat request the mock accepted, and what it answers.
struct ChatTurn {
  llm::ChatRequest req;
  llm::ModelEncoding enc;
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  std::string text;                        // the reply text (may be empty with a tool call)
  std::optional<llm::ToolCall> tool_call;  // id left for the provider's writer to fill
  llm::FinishReason finish = llm::FinishReason::stop;
  std::uint64_t seq = 0;  // the response's number, for ids
};

// A request the provider refuses as malformed: its message and the offending parameter ("" for
// none).
struct RequestProblem {
  std::string message;
  std::string param;
};
// Tool calls without their results, or results without their call, refused as the provider does
// (llm_mock_tools.cpp): OpenAI and Anthropic; Gemini bodies are not checked.
std::optional<RequestProblem> tool_pairing_problem(LlmProvider p, const nlohmann::json& body);

// Reads and parses a chat request (body as received), counts its prompt, checks the window and
// picks the reply. Answers the exchange itself (and returns nullopt) when it refuses the request.
// raw_openai: for OpenAI, the body is counted as sent (count_chat); the others are counted from
// their OpenAI translation.
std::optional<ChatTurn> accept_chat(LlmMockState& st, MockExchange& ex,
                                    std::optional<std::string> gemini_model = std::nullopt);

// Answers with the provider's error and notes it on the record.
void reject(MockExchange& ex, LlmProvider p, int status, std::string_view type,
            std::string_view message, std::string_view param = {});
// Just the body of that error.
nlohmann::json error_body(LlmProvider p, int status, std::string_view type,
                          std::string_view message, std::string_view param = {});

void respond_json(MockExchange& ex, int status, const nlohmann::json& body);

// Splits text into pieces of at most chars characters, never inside a UTF-8 sequence.
std::vector<std::string> split_chars(std::string_view text, std::size_t chars);
// The reply of a turn in the neutral form; ids are id_prefix and call_prefix (tool calls) with
// the turn's number.
llm::ChatResponse turn_response(const ChatTurn& t, std::string_view id_prefix,
                                std::string_view call_prefix);
// The neutral stream of a turn, written by w: start (with start_usage), text pieces, the tool
// calls, finish, usage, end.
std::string stream_turn(const ChatTurn& t, const llm::ChatResponse& r, std::size_t chunk_chars,
                        llm::StreamWriter& w, const llm::Usage& start_usage);
// Splits SSE bytes into whole events (each with its blank line).
std::vector<std::string> split_sse(std::string_view bytes);
// Sends SSE events one write each, delay apart, then ends the body. Stops when the peer is gone.
void send_sse(MockExchange& ex, const std::vector<std::string>& events, Duration delay);

// The providers' handlers.
void openai_chat(LlmMockState& st, MockExchange& ex);
void openai_embeddings(LlmMockState& st, MockExchange& ex);
void anthropic_messages(LlmMockState& st, MockExchange& ex);
void gemini_generate(LlmMockState& st, MockExchange& ex, std::string model, bool stream);
void list_models(const LlmMockState& st, MockExchange& ex);
// True when a Gemini target asks for SSE (alt=sse); otherwise streams are one JSON array.
bool gemini_wants_sse(std::string_view target);
// Gemini's GenerateContentRequest in neutral form (llm_mock_gemini_parse.cpp); the model and
// streaming come from the URL, so they are left empty.
Result<llm::ChatRequest> parse_gemini_request(nlohmann::json&& body);

}  // namespace sluice::chaos::detail
