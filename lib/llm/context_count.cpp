#include "sluice/llm/context_count.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace sluice::llm {

namespace {

using Json = nlohmann::json;

// Cached counts carry the estimate flag in the top bit, so an image in the history is not
// parsed again on every turn.
constexpr std::size_t kEstimateBit = std::size_t{1} << (sizeof(std::size_t) * 8 - 1);

Error bad(std::string_view where, std::string_view what) {
  return make_error(ErrorKind::protocol, ErrorSource::downstream,
                    fmt::format("{}: {}", where, what));
}

std::string_view str(const Json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return {};
  return it->get_ref<const std::string&>();
}

Json text_part(std::string_view text) {
  return Json{{"type", "text"}, {"text", text}};
}

// The parts of an Anthropic tool_result's content (a string or text and image blocks).
void add_result_parts(const Json& content, Json& parts) {
  if (content.is_string()) {
    parts.push_back(text_part(content.get_ref<const std::string&>()));
  } else if (content.is_array()) {
    for (const auto& b : content) {
      if (!b.is_object()) continue;
      std::string_view type = str(b, "type");
      if (type == "text")
        parts.push_back(text_part(str(b, "text")));
      else if (type == "image")
        parts.push_back(Json{{"type", "image_url"}, {"image_url", Json::object()}});
      else
        parts.push_back(Json{{"type", type}});
    }
  }
}

// An Anthropic message (or the system value, as role system) as the OpenAI message that counts
// the same.
Result<Json> openai_equivalent(const Json& content, std::string_view role, std::string_view where) {
  Json m = {{"role", role}};
  if (content.is_string() || content.is_null()) {
    m["content"] = content;
    return m;
  }
  if (!content.is_array()) return bad(where, "expected a string or an array of blocks");
  Json parts = Json::array();
  Json calls = Json::array();
  for (std::size_t i = 0; i < content.size(); ++i) {
    const Json& b = content[i];
    if (!b.is_object()) return bad(fmt::format("{}[{}]", where, i), "expected an object");
    std::string_view type = str(b, "type");
    if (type == "text") {
      parts.push_back(text_part(str(b, "text")));
    } else if (type == "image") {
      parts.push_back(Json{{"type", "image_url"}, {"image_url", Json::object()}});
    } else if (type == "tool_use") {
      auto input = b.find("input");
      std::string args = input == b.end()
                             ? std::string("{}")
                             : input->dump(-1, ' ', false, Json::error_handler_t::replace);
      calls.push_back(Json{{"function", {{"name", str(b, "name")}, {"arguments", args}}}});
    } else if (type == "tool_result") {
      parts.push_back(text_part(str(b, "tool_use_id")));
      if (auto c = b.find("content"); c != b.end()) add_result_parts(*c, parts);
    } else if (type == "thinking") {
      parts.push_back(text_part(str(b, "thinking")));
    } else {
      parts.push_back(Json{{"type", type}});  // documents, redacted thinking: estimated
    }
  }
  m["content"] = std::move(parts);
  if (!calls.empty()) m["tool_calls"] = std::move(calls);
  return m;
}

Result<MessageCount> count_raw_message(const RawMessage& rm, std::size_t i, WireFormat format,
                                       const Tokenizer& tok, const ChatRules& rules) {
  const std::string where = fmt::format("messages[{}]", i);
  Json j = Json::parse(rm.json, nullptr, false);
  if (!j.is_object()) return bad(where, "not an object");
  if (format != WireFormat::anthropic) return count_chat_message(j, where, tok, rules);
  auto content = j.find("content");
  auto m = openai_equivalent(content == j.end() ? Json() : *content,
                             rm.role == Role::assistant ? "assistant" : "user", where + ".content");
  if (!m) return m.take_error();
  return count_chat_message(*m, where, tok, rules);
}

Result<MessageCount> count_system(std::string_view raw, const Tokenizer& tok,
                                  const ChatRules& rules) {
  Json j = Json::parse(raw, nullptr, false);
  if (j.is_discarded()) return bad("system", "not valid JSON");
  if (j.is_null()) return MessageCount{};
  auto m = openai_equivalent(j, "system", "system");
  if (!m) return m.take_error();
  return count_chat_message(*m, "system", tok, rules);
}

Result<std::size_t> count_tools(std::string_view raw, WireFormat format, const Tokenizer& tok,
                                const ChatRules& rules) {
  Json j = Json::parse(raw, nullptr, false);
  if (j.is_discarded()) return bad("tools", "not valid JSON");
  if (format == WireFormat::anthropic && j.is_array()) {
    // {name, description, input_schema} counts as an OpenAI function with those parameters.
    Json fns = Json::array();
    for (const auto& t : j) {
      if (!t.is_object()) return bad("tools", "expected objects");
      Json f = {{"name", str(t, "name")}, {"description", str(t, "description")}};
      if (auto s = t.find("input_schema"); s != t.end()) f["parameters"] = *s;
      fns.push_back(std::move(f));
    }
    j = std::move(fns);
  }
  return count_tool_definitions(j, "tools", tok, rules.tools);
}

}  // namespace

std::size_t ContextCount::total() const {
  std::size_t n = system + tools + priming;
  for (auto t : message_tokens) n += t;
  return n;
}

std::size_t count_text_message(std::string_view text, Role role, const Tokenizer& tok,
                               const ChatRules& rules) {
  long long n = rules.per_message;
  n += static_cast<long long>(tok.count(role_name(role, WireFormat::openai)));
  n += static_cast<long long>(tok.count(text));
  return static_cast<std::size_t>(std::max(0LL, n));
}

Result<ContextCount> count_context(const RawChat& chat, const Tokenizer& tok,
                                   const ChatRules& rules, MessageCache* cache) {
  ContextCount out;
  out.message_tokens.reserve(chat.messages.size());
  // The key covers everything a count depends on besides the bytes.
  const std::uint64_t seed = content_hash(
      fmt::format("raw|{}|{}|{}|{}|{}|{}", to_string(tok.encoding()), to_string(chat.format),
                  rules.per_message, rules.per_name, rules.per_tool_call, rules.tools.func_init),
      0);
  auto cached = [&](std::string_view raw, std::uint64_t salt, auto&& count) -> Result<std::size_t> {
    std::uint64_t key = 0;
    if (cache) {
      key = content_hash(raw, seed ^ salt);
      if (auto hit = cache->find(key)) {
        ++out.cache_hits;
        if (*hit & kEstimateBit) out.estimate = true;
        return *hit & ~kEstimateBit;
      }
    }
    Result<MessageCount> r = count();
    if (!r) return r.take_error();
    out.estimate = out.estimate || r->estimate;
    if (cache) cache->put(key, r->tokens | (r->estimate ? kEstimateBit : 0));
    return r->tokens;
  };
  for (std::size_t i = 0; i < chat.messages.size(); ++i) {
    const RawMessage& m = chat.messages[i];
    auto n = cached(m.json, 0, [&] { return count_raw_message(m, i, chat.format, tok, rules); });
    if (!n) return n.take_error();
    out.message_tokens.push_back(*n);
  }
  if (!chat.system.empty()) {
    auto n = cached(chat.system, 1, [&] { return count_system(chat.system, tok, rules); });
    if (!n) return n.take_error();
    out.system = *n;
  }
  if (chat.has_tools) {
    auto n = cached(chat.tools, 2, [&]() -> Result<MessageCount> {
      auto t = count_tools(chat.tools, chat.format, tok, rules);
      if (!t) return t.take_error();
      return MessageCount{*t, false};
    });
    if (!n) return n.take_error();
    out.tools = *n;
  }
  out.priming = static_cast<std::size_t>(std::max(0, rules.reply_priming));
  return out;
}

}  // namespace sluice::llm
