// The neutral form of a chat request, response, stream event and provider error. Every wire
// format (OpenAI chat completions, Anthropic messages, Gemini generateContent) parses into and
// writes from these types, so a translation is parse(A) then write(B).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::llm {

// The wire formats. Clients speak openai or anthropic (the ingress formats); providers are any
// of the four. openai_compatible is OpenAI's format as vLLM, llama.cpp, Ollama and the like
// accept it (max_tokens rather than max_completion_tokens).
enum class WireFormat { openai, openai_compatible, anthropic, gemini };
std::string_view to_string(WireFormat f);

enum class Role { system, user, assistant, tool };

struct Part {
  enum class Kind { text, image, tool_call, tool_result };
  Kind kind = Kind::text;
  // text: the text. tool_result: the result as text (text parts joined). tool_call: the
  // arguments as JSON text.
  std::string text;
  // image: either url (http(s)) or base64 data with its media type.
  std::string url;
  std::string media_type;
  std::string data;
  std::string detail;  // OpenAI's image detail (low, high, auto), kept for OpenAI
  // tool_call and tool_result: the call id; tool_call: the function name.
  std::string id;
  std::string name;
  bool is_error = false;  // tool_result
};

inline Part text_part(std::string text) {
  Part p;
  p.text = std::move(text);
  return p;
}

struct Message {
  Role role = Role::user;
  std::vector<Part> parts;
};

struct Tool {
  std::string name;
  std::string description;
  std::string parameters;  // a JSON schema as JSON text; empty when none was given
};

struct ToolChoice {
  enum class Mode { unset, auto_, none, required, function };
  Mode mode = Mode::unset;
  std::string name;  // function
};

struct ResponseFormat {
  enum class Kind { text, json_object, json_schema };
  Kind kind = Kind::text;
  std::string name;    // json_schema
  std::string schema;  // json_schema: JSON text
  bool strict = false;
};

// A field added here (or to Part, Message, Tool, ToolChoice, ResponseFormat) that can change the
// answer must be added to exact_cache_key (cache_key.cpp), whose static_asserts on these sizes
// fail until it is.
struct ChatRequest {
  std::string model;
  // The leading system prompt(s), in order. A system message in the middle of an OpenAI
  // conversation stays in messages (Role::system); Anthropic and Gemini writers hoist it here.
  std::vector<Part> system;
  std::vector<Message> messages;
  std::vector<Tool> tools;
  ToolChoice tool_choice;
  std::vector<std::string> stop;
  std::optional<double> temperature;
  std::optional<double> top_p;
  std::optional<std::int64_t> max_tokens;
  std::optional<std::int64_t> seed;
  ResponseFormat response_format;
  bool stream = false;
  bool include_usage = false;  // OpenAI's stream_options.include_usage, as the client asked
};

enum class FinishReason { none, stop, length, tool_calls, content_filter, other };
std::string_view to_string(FinishReason r);

struct Usage {
  // input counts every prompt token, cached ones included (OpenAI's prompt_tokens);
  // Anthropic's input_tokens excludes cache reads and writes, which are added here.
  std::int64_t input = 0;
  std::int64_t output = 0;
  std::int64_t cached_input = 0;    // read from the provider's prompt cache
  std::int64_t cache_creation = 0;  // written to it (Anthropic)
};

struct ToolCall {
  std::string id;
  std::string name;
  std::string arguments;  // JSON text
};

struct ChatResponse {
  std::string id;
  std::string model;
  std::string text;
  std::vector<ToolCall> tool_calls;
  FinishReason finish = FinishReason::none;
  std::string finish_raw;     // the provider's own word (end_turn, MAX_TOKENS, ...)
  std::string stop_sequence;  // Anthropic: the stop sequence that ended the reply
  std::optional<Usage> usage;
};

// Why a provider call failed, as retries, fallbacks and context management need it.
enum class ProviderErrorKind {
  context_length,   // the prompt does not fit the model's window
  rate_limit,       // 429
  overloaded,       // 529, 503: the provider is busy
  auth,             // 401, 403
  not_found,        // 404: unknown model or route
  invalid_request,  // any other 4xx
  server,           // 5xx
  stream,           // the stream broke or ended early
  other,
};
std::string_view to_string(ProviderErrorKind k);

struct ProviderError {
  int status = 0;
  std::string type;     // the provider's own type or status word (invalid_request_error, ...)
  std::string code;     // OpenAI's code, when given
  std::string message;  // the provider's message, verbatim
  ProviderErrorKind kind = ProviderErrorKind::other;
  std::optional<std::int64_t> retry_after_s;
  WireFormat source = WireFormat::openai;
};

// One step of a streamed reply, in neutral form. Provider stream parsers produce them; ingress
// stream writers consume them.
struct StreamEvent {
  enum class Kind {
    start,            // id, model (usage may hold input tokens already known)
    text,             // text
    tool_call_start,  // index (0-based among tool calls), id, name
    tool_call_args,   // index, text: a fragment of the arguments' JSON text
    finish,           // finish, finish_raw, stop_sequence
    usage,            // usage (the latest totals; later ones replace earlier ones)
    error,            // error: the upstream failed mid-stream
    end,              // the provider said the reply is complete
  };
  Kind kind = Kind::text;
  std::string id;
  std::string model;
  std::string text;
  std::string name;
  int index = 0;
  FinishReason finish = FinishReason::none;
  std::string finish_raw;
  std::string stop_sequence;
  std::optional<Usage> usage;
  std::optional<ProviderError> error;
};

}  // namespace sluice::llm
