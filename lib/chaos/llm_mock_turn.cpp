// One chat turn of a mock LLM provider: parse the request as received, count its prompt with the
// exact tokenizer, refuse it when it does not fit the window, and pick the deterministic reply.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "llm_mock_internal.hpp"
#include "sluice/core/text.hpp"
#include "sluice/llm/chat_tokens.hpp"
#include "sluice/llm/tokenizer.hpp"
#include "sluice/llm/wire.hpp"

namespace sluice::chaos {

Result<llm::ChatRequest> parse_llm_mock_request(LlmProvider p, std::string_view body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return make_error(ErrorKind::protocol, ErrorSource::downstream,
                      "the request body is not a JSON object");
  switch (p) {
    case LlmProvider::openai:
      return llm::parse_openai_request(std::move(j));
    case LlmProvider::anthropic:
      return llm::parse_anthropic_request(std::move(j));
    case LlmProvider::gemini:
      return detail::parse_gemini_request(std::move(j));
  }
  return make_error(ErrorKind::internal, ErrorSource::internal, "unknown provider");
}

namespace detail {

llm::ModelEncoding mock_encoding(LlmProvider p, std::string_view model) {
  std::string_view family = to_string(p);
  if (auto e = llm::encoding_for_model(model); e && e->family == family) return *e;
  switch (p) {
    case LlmProvider::openai:
      return *llm::encoding_for_model("gpt-4o");
    case LlmProvider::anthropic:
      return *llm::encoding_for_model("claude");
    case LlmProvider::gemini:
      return *llm::encoding_for_model("gemini");
  }
  return llm::ModelEncoding{};
}

std::int64_t count_tokens(const llm::ModelEncoding& e, std::string_view text) {
  return static_cast<std::int64_t>(
      llm::scaled_count(e, llm::Tokenizer::get(e.encoding).count(text)));
}

namespace {

std::string invalid_type(LlmProvider p) {
  return p == LlmProvider::gemini ? "INVALID_ARGUMENT" : "invalid_request_error";
}

std::string joined_text(const std::vector<llm::Part>& parts) {
  std::string out;
  for (const auto& part : parts) {
    if (part.kind != llm::Part::Kind::text) continue;
    if (!out.empty()) out += "\n";
    out += part.text;
  }
  return out;
}

// The prompt's tokens: OpenAI's body counted as sent (OpenAI's published rules), the others
// counted the same way from their OpenAI translation, scaled for the provider's estimate.
std::int64_t count_prompt(LlmProvider p, const nlohmann::json& raw, const llm::ChatRequest& req,
                          const llm::ModelEncoding& enc) {
  const auto& tok = llm::Tokenizer::get(enc.encoding);
  const auto rules = llm::chat_rules_for(req.model, enc.encoding);
  if (p == LlmProvider::openai) {
    if (auto c = llm::count_chat(raw, tok, rules)) return static_cast<std::int64_t>(c->total);
  } else if (auto as_openai = llm::write_request(req, llm::WireFormat::openai)) {
    if (auto c = llm::count_chat(*as_openai, tok, rules))
      return static_cast<std::int64_t>(llm::scaled_count(enc, c->total));
  }
  // A body the counting rules do not take: its text, plainly.
  std::size_t n = 0;
  for (const auto& s : req.system) n += tok.count(s.text);
  for (const auto& m : req.messages)
    for (const auto& part : m.parts) n += tok.count(part.text);
  return static_cast<std::int64_t>(llm::scaled_count(enc, n));
}

// The window check; true when the request fits (else the exchange is answered).
bool fits_window(LlmMockState& st, MockExchange& ex, const ChatTurn& t) {
  const LlmProvider p = st.spec.provider;
  const std::int64_t window = st.spec.window();
  const std::int64_t prompt = t.prompt_tokens;
  const std::int64_t max = t.req.max_tokens.value_or(0);
  std::string message;
  switch (p) {
    case LlmProvider::openai:
      if (prompt > window)
        message = fmt::format(
            "This model's maximum context length is {} tokens. However, your messages resulted in "
            "{} tokens. Please reduce the length of the messages.",
            window, prompt);
      else if (max > 0 && prompt + max > window)
        message = fmt::format(
            "This model's maximum context length is {} tokens. However, you requested {} tokens "
            "({} in the messages, {} in the completion). Please reduce the length of the "
            "messages or completion.",
            window, prompt + max, prompt, max);
      break;
    case LlmProvider::anthropic:
      if (prompt > window)
        message = fmt::format("prompt is too long: {} tokens > {} maximum", prompt, window);
      else if (prompt + max > window)
        message = fmt::format(
            "input length and `max_tokens` exceed context limit: {} + {} > {}, decrease input "
            "length or `max_tokens` and try again",
            prompt, max, window);
      break;
    case LlmProvider::gemini:
      if (prompt > window)
        message = fmt::format(
            "The input token count ({}) exceeds the maximum number of tokens allowed ({}).", prompt,
            window);
      break;
  }
  if (message.empty()) return true;
  ex.note("llm.rejected", "context_length_exceeded");
  auto body = error_body(p, 400, invalid_type(p), message, "messages");
  if (p == LlmProvider::openai) body["error"]["code"] = "context_length_exceeded";
  respond_json(ex, 400, body);
  return false;
}

bool wants_tool_call(const LlmMockSpec& spec, const llm::ChatRequest& req) {
  if (!spec.tool_call || req.tools.empty() || req.messages.empty()) return false;
  const auto& last = req.messages.back();
  if (last.role == llm::Role::tool) return false;
  return std::none_of(last.parts.begin(), last.parts.end(),
                      [](const llm::Part& p) { return p.kind == llm::Part::Kind::tool_result; });
}

std::string echo_of(const llm::ChatRequest& req) {
  for (auto it = req.messages.rbegin(); it != req.messages.rend(); ++it)
    if (it->role == llm::Role::user) return "echo: " + joined_text(it->parts);
  return "echo: ";
}

// Cuts text to at most max tokens (scaled), at a whole character.
std::string cut_to(const llm::ModelEncoding& enc, const std::string& text, std::int64_t max) {
  const auto& tok = llm::Tokenizer::get(enc.encoding);
  auto ids = tok.encode(text);
  auto n = static_cast<std::size_t>(std::max<std::int64_t>(
      0, static_cast<std::int64_t>(std::floor(static_cast<double>(max) / enc.factor))));
  n = std::min(n, ids.size());
  while (n > 0 && static_cast<std::int64_t>(llm::scaled_count(enc, n)) > max) --n;
  ids.resize(n);
  std::string out = tok.decode(ids);
  out.resize(text::valid_utf8_prefix(out));
  return out;
}

void pick_reply(LlmMockState& st, ChatTurn& t) {
  if (wants_tool_call(st.spec, t.req)) {
    llm::ToolCall call;
    call.name = st.spec.tool_call->name;
    call.arguments = st.spec.tool_call->arguments;
    t.completion_tokens = count_tokens(t.enc, call.arguments);
    t.tool_call = std::move(call);
    t.finish = llm::FinishReason::tool_calls;
    return;
  }
  if (st.spec.replies.empty()) {
    t.text = echo_of(t.req);
  } else {
    auto i = st.turn.fetch_add(1) % st.spec.replies.size();
    t.text = st.spec.replies[i];
  }
  t.completion_tokens = count_tokens(t.enc, t.text);
  if (t.req.max_tokens && *t.req.max_tokens >= 0 && t.completion_tokens > *t.req.max_tokens) {
    t.text = cut_to(t.enc, t.text, *t.req.max_tokens);
    t.completion_tokens = count_tokens(t.enc, t.text);
    t.finish = llm::FinishReason::length;
  }
}

}  // namespace

std::optional<ChatTurn> accept_chat(LlmMockState& st, MockExchange& ex,
                                    std::optional<std::string> gemini_model) {
  const LlmProvider p = st.spec.provider;
  ex.note("llm.provider", std::string(to_string(p)));
  auto raw = nlohmann::json::parse(ex.body(), nullptr, false);
  if (raw.is_discarded() || !raw.is_object()) {
    reject(ex, p, 400, invalid_type(p),
           "We could not parse the JSON body of your request. The body must be a JSON object.");
    return std::nullopt;
  }
  if (p == LlmProvider::anthropic && !raw.contains("max_tokens")) {
    reject(ex, p, 400, "invalid_request_error", "max_tokens: Field required");
    return std::nullopt;
  }
  auto parsed = p == LlmProvider::gemini      ? parse_gemini_request(nlohmann::json(raw))
                : p == LlmProvider::anthropic ? llm::parse_anthropic_request(nlohmann::json(raw))
                                              : llm::parse_openai_request(nlohmann::json(raw));
  if (!parsed) {
    reject(ex, p, 400, invalid_type(p), parsed.error().message);
    return std::nullopt;
  }
  ChatTurn t;
  t.req = std::move(*parsed);
  if (gemini_model) t.req.model = std::move(*gemini_model);
  if (t.req.messages.empty()) {
    reject(ex, p, 400, invalid_type(p),
           p == LlmProvider::gemini ? "* GenerateContentRequest.contents: contents is not specified"
           : p == LlmProvider::anthropic ? "messages: at least one message is required"
                                         : "[] is too short - 'messages'");
    return std::nullopt;
  }
  if (t.req.model.empty()) {
    reject(ex, p, 400, invalid_type(p),
           p == LlmProvider::anthropic ? "model: Field required"
                                       : "you must provide a model parameter");
    return std::nullopt;
  }
  if (auto bad = tool_pairing_problem(p, raw)) {
    reject(ex, p, 400, invalid_type(p), bad->message, bad->param);
    return std::nullopt;
  }
  t.enc = mock_encoding(p, t.req.model);
  t.prompt_tokens = count_prompt(p, raw, t.req, t.enc);
  ex.note("llm.prompt_tokens", std::to_string(t.prompt_tokens));
  if (!fits_window(st, ex, t)) return std::nullopt;
  pick_reply(st, t);
  t.seq = st.next_id();
  ex.note("llm.completion_tokens", std::to_string(t.completion_tokens));
  return t;
}

}  // namespace detail
llm::ChatResponse detail::turn_response(const detail::ChatTurn& t, std::string_view id_prefix,
                                        std::string_view call_prefix) {
  llm::ChatResponse r;
  r.id = fmt::format("{}{}", id_prefix, t.seq);
  r.model = t.req.model;
  r.text = t.text;
  if (t.tool_call) {
    r.tool_calls.push_back(*t.tool_call);
    r.tool_calls.back().id = fmt::format("{}{}", call_prefix, t.seq);
  }
  r.finish = t.finish;
  r.usage = llm::Usage{t.prompt_tokens, t.completion_tokens, 0, 0};
  return r;
}

}  // namespace sluice::chaos
