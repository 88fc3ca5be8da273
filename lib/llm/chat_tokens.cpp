#include "sluice/llm/chat_tokens.hpp"

#include <fmt/format.h>

namespace sluice::llm {

namespace {

using Json = nlohmann::json;

Error bad(std::string_view where, std::string_view what) {
  return make_error(ErrorKind::protocol, ErrorSource::downstream,
                    fmt::format("{}: {}", where, what));
}

// A JSON value as the text the model sees: strings as they are, anything else as JSON.
std::string text_of(const Json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

std::string_view string_field(const Json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return {};
  return it->get_ref<const std::string&>();
}

std::string drop_final_period(std::string_view s) {
  if (!s.empty() && s.back() == '.') s.remove_suffix(1);
  return std::string(s);
}

}  // namespace

Result<MessageCount> count_chat_message(const Json& m, std::string_view where, const Tokenizer& tok,
                                        const ChatRules& rules) {
  if (!m.is_object()) return bad(where, "expected an object");
  long long n = rules.per_message;
  bool estimate = false;
  for (const auto& [key, value] : m.items()) {
    if (key == "content" && value.is_array()) {
      for (std::size_t i = 0; i < value.size(); ++i) {
        const Json& part = value[i];
        std::string pwhere = fmt::format("{}.content[{}]", where, i);
        if (part.is_string()) {
          n += static_cast<long long>(tok.count(part.get_ref<const std::string&>()));
          continue;
        }
        if (!part.is_object()) return bad(pwhere, "expected a content part object");
        std::string_view type = string_field(part, "type");
        if (type == "text") {
          n += static_cast<long long>(tok.count(string_field(part, "text")));
        } else if (type == "image_url") {
          const Json* url = part.contains("image_url") ? &part["image_url"] : nullptr;
          bool low = url && url->is_object() && string_field(*url, "detail") == "low";
          n += low ? 85 : 765;
          estimate = true;
        } else if (type == "refusal") {
          n += static_cast<long long>(tok.count(string_field(part, "refusal")));
        } else {
          estimate = true;  // audio, files: not counted here
        }
      }
    } else if (key == "tool_calls" && value.is_array()) {
      for (std::size_t i = 0; i < value.size(); ++i) {
        const Json& call = value[i];
        if (!call.is_object())
          return bad(fmt::format("{}.tool_calls[{}]", where, i), "expected an object");
        auto fn = call.find("function");
        if (fn == call.end() || !fn->is_object())
          return bad(fmt::format("{}.tool_calls[{}].function", where, i), "expected an object");
        n += rules.per_tool_call;
        n += static_cast<long long>(tok.count(string_field(*fn, "name")));
        auto args = fn->find("arguments");
        if (args != fn->end() && !args->is_null())
          n += static_cast<long long>(tok.count(text_of(*args)));
      }
    } else if (key == "function_call" && value.is_object()) {  // the legacy single call
      n += static_cast<long long>(tok.count(string_field(value, "name")));
      auto args = value.find("arguments");
      if (args != value.end() && !args->is_null())
        n += static_cast<long long>(tok.count(text_of(*args)));
    } else if (value.is_string()) {
      n += static_cast<long long>(tok.count(value.get_ref<const std::string&>()));
      if (key == "name") n += rules.per_name;
    } else if (key == "content" && !value.is_null()) {
      return bad(fmt::format("{}.content", where), "expected a string, an array of parts or null");
    }
  }
  return MessageCount{static_cast<std::size_t>(std::max(0LL, n)), estimate};
}

Result<std::size_t> count_tool_definitions(const Json& tools, std::string_view where,
                                           const Tokenizer& tok, const ToolRules& r) {
  if (!tools.is_array()) return bad(where, "expected an array");
  if (tools.empty()) return std::size_t{0};
  long long n = 0;
  for (std::size_t i = 0; i < tools.size(); ++i) {
    const Json& t = tools[i];
    std::string twhere = fmt::format("{}[{}]", where, i);
    if (!t.is_object()) return bad(twhere, "expected an object");
    // {"type": "function", "function": {...}} or a legacy bare function.
    const Json& f = t.contains("function") ? t["function"] : t;
    if (!f.is_object()) return bad(twhere + ".function", "expected an object");
    n += r.func_init;
    std::string line = fmt::format("{}:{}", string_field(f, "name"),
                                   drop_final_period(string_field(f, "description")));
    n += static_cast<long long>(tok.count(line));
    auto params = f.find("parameters");
    if (params == f.end() || !params->is_object()) continue;
    auto props = params->find("properties");
    if (props == params->end() || !props->is_object() || props->empty()) continue;
    n += r.prop_init;
    for (const auto& [key, p] : props->items()) {
      n += r.prop_key;
      if (!p.is_object()) {
        n += static_cast<long long>(tok.count(key + "::"));
        continue;
      }
      auto e = p.find("enum");
      if (e != p.end() && e->is_array()) {
        n += r.enum_init;
        for (const auto& item : *e) {
          n += r.enum_item;
          n += static_cast<long long>(tok.count(text_of(item)));
        }
      }
      std::string pline = fmt::format("{}:{}:{}", key, text_of(p.value("type", Json(""))),
                                      drop_final_period(string_field(p, "description")));
      n += static_cast<long long>(tok.count(pline));
    }
  }
  n += r.func_end;
  return static_cast<std::size_t>(std::max(0LL, n));
}

ChatRules chat_rules_for(std::string_view model, Encoding e) {
  ChatRules r;
  if (model.find("gpt-3.5-turbo-0301") != std::string_view::npos) {
    r.per_message = 4;  // <|start|>{role/name}\n{content}<|end|>\n
    r.per_name = -1;    // a name replaces the role
  }
  if (e == Encoding::cl100k_base) r.tools.func_init = 10;
  return r;
}

Result<ChatCount> count_chat(const nlohmann::json& request, const Tokenizer& tok,
                             const ChatRules& rules, MessageCache* cache) {
  if (!request.is_object()) return bad("request", "expected a JSON object");
  auto msgs = request.find("messages");
  if (msgs == request.end())
    return bad("messages", "missing (a chat request has a messages array)");
  if (!msgs->is_array()) return bad("messages", "expected an array");
  ChatCount out;
  // The cache key covers everything the count depends on besides the message itself.
  const std::uint64_t seed =
      content_hash(fmt::format("{}|{}|{}|{}", to_string(tok.encoding()), rules.per_message,
                               rules.per_name, rules.per_tool_call),
                   0);
  for (std::size_t i = 0; i < msgs->size(); ++i) {
    const Json& m = (*msgs)[i];
    MessageTokens mt;
    if (m.is_object()) mt.role = std::string(string_field(m, "role"));
    std::uint64_t key = 0;
    if (cache) {
      key = content_hash(m.dump(), seed);
      if (auto hit = cache->find(key)) {
        mt.tokens = *hit;
        mt.cached = true;
        ++out.cache_hits;
        out.total += mt.tokens;
        out.messages.push_back(std::move(mt));
        continue;
      }
    }
    auto r = count_chat_message(m, fmt::format("messages[{}]", i), tok, rules);
    if (!r) return r.error();
    mt.tokens = r->tokens;
    out.estimate = out.estimate || r->estimate;
    // Estimated messages are not cached: the flag would be lost on a hit.
    if (cache && !r->estimate) cache->put(key, mt.tokens);
    out.total += mt.tokens;
    out.messages.push_back(std::move(mt));
  }
  for (const char* key : {"tools", "functions"}) {
    auto t = request.find(key);
    if (t == request.end() || t->is_null()) continue;
    auto n = count_tool_definitions(*t, key, tok, rules.tools);
    if (!n) return n.error();
    out.tools += *n;
  }
  out.priming = static_cast<std::size_t>(std::max(0, rules.reply_priming));
  out.total += out.tools + out.priming;
  return out;
}

}  // namespace sluice::llm
