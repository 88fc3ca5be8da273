#include "sluice/llm/raw_chat.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <simdjson.h>

#include <nlohmann/json.hpp>

#include "sluice/core/text.hpp"

namespace sluice::llm {

namespace {

namespace od = simdjson::ondemand;

Error bad(std::string message) {
  return make_error(ErrorKind::protocol, ErrorSource::downstream, std::move(message));
}

bool is_ws(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

std::string_view trim_end(std::string_view s) {
  while (!s.empty() && is_ws(s.back())) s.remove_suffix(1);
  return s;
}

// The body copied into a padded buffer (simdjson reads up to SIMDJSON_PADDING bytes past the
// end). One per thread, reused: a 100 KB body costs a memcpy, not an allocation.
struct Padded {
  std::string buf;
  simdjson::padded_string_view view(std::string_view body) {
    buf.reserve(body.size() + simdjson::SIMDJSON_PADDING);
    buf.assign(body);
    return simdjson::padded_string_view(buf.data(), buf.size(), buf.capacity());
  }
};

// Where a value's raw bytes are, relative to base. Objects and arrays are consumed.
simdjson::error_code value_range(od::value& v, const char* base, std::size_t& begin,
                                 std::size_t& end) {
  od::json_type t;
  if (auto e = v.type().get(t)) return e;
  std::string_view raw;
  if (t == od::json_type::object) {
    od::object o;
    if (auto e = v.get_object().get(o)) return e;
    if (auto e = o.raw_json().get(raw)) return e;
  } else if (t == od::json_type::array) {
    od::array a;
    if (auto e = v.get_array().get(a)) return e;
    if (auto e = a.raw_json().get(raw)) return e;
  } else {
    raw = v.raw_json_token();
  }
  raw = trim_end(raw);
  begin = static_cast<std::size_t>(raw.data() - base);
  end = begin + raw.size();
  return simdjson::SUCCESS;
}

std::optional<Role> role_named(std::string_view s, WireFormat f) {
  if (s == "user") return Role::user;
  if (s == "assistant") return Role::assistant;
  if (f == WireFormat::anthropic) return std::nullopt;
  if (s == "system" || s == "developer") return Role::system;
  if (s == "tool" || s == "function") return Role::tool;
  return std::nullopt;
}

// OpenAI assistant tool_calls: the ids.
simdjson::error_code read_openai_calls(od::value& v, std::vector<std::string>& calls) {
  od::json_type t;
  if (auto e = v.type().get(t)) return e;
  if (t != od::json_type::array) return simdjson::SUCCESS;
  od::array a;
  if (auto e = v.get_array().get(a)) return e;
  for (auto el : a) {
    od::object call;
    if (el.get_object().get(call)) continue;
    for (auto f : call) {
      std::string_view k;
      if (auto e = f.unescaped_key().get(k)) return e;
      if (k != "id") continue;
      std::string_view id;
      if (!f.value().get_string().get(id)) calls.emplace_back(id);
    }
  }
  return simdjson::SUCCESS;
}

// Anthropic content blocks: tool_use ids (calls), tool_result tool_use_ids (results), and
// whether every block is a tool_result.
simdjson::error_code read_anthropic_blocks(od::value& v, RawMessage& m) {
  od::json_type t;
  if (auto e = v.type().get(t)) return e;
  if (t != od::json_type::array) return simdjson::SUCCESS;
  od::array a;
  if (auto e = v.get_array().get(a)) return e;
  bool all_results = true, any = false;
  for (auto el : a) {
    any = true;
    od::object block;
    if (el.get_object().get(block)) {
      all_results = false;
      continue;
    }
    std::string_view type;
    std::string id, use_id;
    for (auto f : block) {
      std::string_view k;
      if (auto e = f.unescaped_key().get(k)) return e;
      std::string_view s;
      if (k == "type") {
        if (!f.value().get_string().get(s)) type = s;
        // type's view lives in the parser's string buffer until the next document.
      } else if (k == "id") {
        if (!f.value().get_string().get(s)) id = s;
      } else if (k == "tool_use_id") {
        if (!f.value().get_string().get(s)) use_id = s;
      }
    }
    if (type == "tool_use") m.calls.push_back(std::move(id));
    if (type == "tool_result")
      m.results.push_back(std::move(use_id));
    else
      all_results = false;
  }
  m.results_only = any && all_results;
  return simdjson::SUCCESS;
}

Result<RawMessage> read_message(od::value& v, std::size_t i, WireFormat format, const char* base,
                                std::string_view body) {
  const std::string where = fmt::format("messages[{}]", i);
  od::object obj;
  od::json_type t;
  if (v.type().get(t)) return bad(where + ": not valid JSON");
  if (t != od::json_type::object) return bad(where + ": not an object");
  if (v.get_object().get(obj)) return bad(where + ": not an object");
  RawMessage m;
  bool has_role = false;
  for (auto f : obj) {
    std::string_view k;
    if (f.unescaped_key().get(k)) return bad(where + ": not valid JSON");
    od::value fv;
    if (f.value().get(fv)) return bad(fmt::format("{}.{}: not valid JSON", where, k));
    if (k == "role") {
      std::string_view s;
      if (fv.get_string().get(s)) return bad(where + ".role: expected a string");
      auto r = role_named(s, format);
      if (!r) return bad(fmt::format("{}.role: unknown role \"{}\"", where, s));
      m.role = *r;
      has_role = true;
    } else if (format == WireFormat::anthropic) {
      if (k == "content" && read_anthropic_blocks(fv, m))
        return bad(where + ".content: not valid JSON");
    } else if (k == "tool_calls") {
      if (read_openai_calls(fv, m.calls)) return bad(where + ".tool_calls: not valid JSON");
    } else if (k == "tool_call_id") {
      std::string_view s;
      if (!fv.get_string().get(s)) m.results.emplace_back(s);
    }
  }
  if (!has_role) return bad(where + ".role: required");
  // The calls/results read above belong to the role they appear under.
  if (format == WireFormat::anthropic) {
    if (m.role != Role::assistant) m.calls.clear();
    if (m.role != Role::user) {
      m.results.clear();
      m.results_only = false;
    }
  } else {
    if (m.role != Role::assistant) m.calls.clear();
    if (m.role != Role::tool) m.results.clear();
  }
  std::string_view raw;
  if (obj.reset().error() || obj.raw_json().get(raw)) return bad(where + ": not valid JSON");
  raw = trim_end(raw);
  m.json = body.substr(static_cast<std::size_t>(raw.data() - base), raw.size());
  return m;
}

}  // namespace

std::string_view role_name(Role role, WireFormat format) {
  switch (role) {
    case Role::system:
      return format == WireFormat::anthropic ? "user" : "system";
    case Role::user:
      return "user";
    case Role::assistant:
      return "assistant";
    case Role::tool:
      return format == WireFormat::anthropic ? "user" : "tool";
  }
  return "user";
}

Result<RawChat> split_chat(std::string_view body, WireFormat format) {
  if (format == WireFormat::gemini) return bad("split_chat: gemini bodies are not supported");
  if (format == WireFormat::openai_compatible) format = WireFormat::openai;
  thread_local od::parser parser;
  thread_local Padded padded;
  auto view = padded.view(body);
  const char* base = padded.buf.data();
  od::document doc;
  if (parser.iterate(view).get(doc)) return bad("the request body is not valid JSON");
  od::object root;
  if (auto e = doc.get_object().get(root))
    return bad(e == simdjson::INCORRECT_TYPE ? "the request body is not a JSON object"
                                             : "the request body is not valid JSON");
  RawChat chat;
  chat.format = format;
  chat.body = body;
  bool has_messages = false;
  for (auto field : root) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return bad("the request body is not valid JSON");
    od::value v;
    if (field.value().get(v)) return bad(fmt::format("{}: not valid JSON", key));
    if (key == "messages") {
      od::json_type t;
      if (v.type().get(t)) return bad("messages: not valid JSON");
      if (t != od::json_type::array) return bad("messages: expected an array");
      const char* open = nullptr;
      if (v.current_location().get(open)) return bad("messages: not valid JSON");
      chat.messages_begin = static_cast<std::size_t>(open - base);
      od::array arr;
      if (v.get_array().get(arr)) return bad("messages: expected an array");
      chat.messages.clear();
      std::size_t i = 0;
      for (auto el : arr) {
        od::value ev;
        if (el.get(ev)) return bad(fmt::format("messages[{}]: not valid JSON", i));
        auto m = read_message(ev, i, format, base, body);
        if (!m) return m.take_error();
        chat.messages.push_back(std::move(*m));
        ++i;
      }
      // Past the last element only whitespace can precede the ']'.
      std::size_t end =
          chat.messages.empty()
              ? chat.messages_begin + 1
              : static_cast<std::size_t>(chat.messages.back().json.data() - body.data()) +
                    chat.messages.back().json.size();
      while (end < body.size() && body[end] != ']') ++end;
      if (end >= body.size()) return bad("messages: not valid JSON");
      chat.messages_end = end + 1;
      has_messages = true;
    } else if (key == "system" && format == WireFormat::anthropic) {
      if (value_range(v, base, chat.system_begin, chat.system_end))
        return bad("system: not valid JSON");
      chat.system = body.substr(chat.system_begin, chat.system_end - chat.system_begin);
    } else if (key == "model") {
      if (value_range(v, base, chat.model_begin, chat.model_end))
        return bad("model: not valid JSON");
      chat.model = body.substr(chat.model_begin, chat.model_end - chat.model_begin);
    } else if (key == "tools") {
      std::size_t b = 0, e = 0;
      if (value_range(v, base, b, e)) return bad("tools: not valid JSON");
      chat.tools = body.substr(b, e - b);
      chat.has_tools = chat.tools != "null";
      if (!chat.has_tools) chat.tools = {};
    } else if (key == "max_tokens" || key == "max_completion_tokens") {
      od::json_type t;
      if (v.type().get(t)) return bad(fmt::format("{}: not valid JSON", key));
      if (t == od::json_type::null) continue;
      std::int64_t n = 0;
      if (v.get_int64().get(n)) return bad(fmt::format("{}: expected an integer", key));
      // OpenAI's max_completion_tokens wins over the deprecated max_tokens.
      if (key == "max_completion_tokens" || !chat.max_tokens) chat.max_tokens = n;
    }
  }
  const char* rest = nullptr;  // anything after the root object
  if (doc.current_location().get(rest) != simdjson::OUT_OF_BOUNDS)
    return bad("the request body is not valid JSON");
  if (!has_messages) return bad("messages: required");
  return chat;
}

namespace {

struct Edit {
  std::size_t begin, end;
  std::string text;
};

std::string json_string(std::string_view s) {
  return text::json_escape_string(s);
}

std::string joined_notes(const std::vector<std::string>& notes) {
  std::string out;
  for (const auto& n : notes) {
    if (!out.empty()) out += "\n\n";
    out += n;
  }
  return out;
}

std::string text_block(std::string_view text) {
  return fmt::format("{{\"type\":\"text\",\"text\":{}}}", json_string(text));
}

// The role of one raw message (only the leading few are read, to place system notes).
std::optional<Role> role_of(std::string_view raw) {
  auto j = nlohmann::json::parse(raw, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  auto it = j.find("role");
  if (it == j.end() || !it->is_string()) return std::nullopt;
  return role_named(it->get_ref<const std::string&>(), WireFormat::openai);
}

// The new Anthropic "system" value, or nullopt when it stays as it is.
std::optional<std::string> anthropic_system(const RawChat& chat, const Rebuild& r) {
  if (r.system_notes.empty() && r.system_prepend.empty()) return std::nullopt;
  std::string_view sys = chat.system;
  if (sys.empty() || sys == "null") {
    std::vector<std::string> all = r.system_prepend;
    all.insert(all.end(), r.system_notes.begin(), r.system_notes.end());
    return json_string(joined_notes(all));
  }
  if (sys.front() == '"') {
    auto old = nlohmann::json::parse(sys, nullptr, false);
    std::string text = old.is_string() ? old.get<std::string>() : std::string();
    std::string out = joined_notes(r.system_prepend);
    if (!out.empty()) out += "\n\n";
    out += text;
    if (!r.system_notes.empty()) out += "\n\n" + joined_notes(r.system_notes);
    return json_string(out);
  }
  if (sys.front() == '[') {
    std::string_view inner = sys.substr(1, sys.size() - 2);
    while (!inner.empty() && is_ws(inner.front())) inner.remove_prefix(1);
    inner = trim_end(inner);
    std::string out = "[";
    auto add = [&](std::string_view piece) {
      if (out.size() > 1) out += ',';
      out += piece;
    };
    for (const auto& n : r.system_prepend) add(text_block(n));
    if (!inner.empty()) add(inner);
    for (const auto& n : r.system_notes) add(text_block(n));
    out += ']';
    return out;
  }
  return std::nullopt;  // not a string or array: the provider will say so
}

}  // namespace

std::string rebuild(const RawChat& chat, const Rebuild& r) {
  const bool anthropic = chat.format == WireFormat::anthropic;
  std::vector<Edit> edits;
  // The messages array.
  {
    std::size_t lead = 0;
    if (!anthropic && !r.system_notes.empty()) {
      if (r.leading_system) {
        lead = std::min(*r.leading_system, r.messages.size());
      } else {
        while (lead < r.messages.size() && role_of(r.messages[lead]) == Role::system) ++lead;
      }
    }
    std::size_t size = 2;
    for (auto m : r.messages) size += m.size() + 1;
    std::string arr;
    arr.reserve(size + 64);
    arr += '[';
    auto add = [&](std::string_view piece) {
      if (arr.size() > 1) arr += ',';
      arr += piece;
    };
    if (!anthropic)
      for (const auto& n : r.system_prepend) add(text_message_json(Role::system, n, chat.format));
    for (std::size_t i = 0; i < r.messages.size(); ++i) {
      if (!anthropic && i == lead)
        for (const auto& n : r.system_notes) add(text_message_json(Role::system, n, chat.format));
      add(r.messages[i]);
    }
    if (!anthropic && lead == r.messages.size())
      for (const auto& n : r.system_notes) add(text_message_json(Role::system, n, chat.format));
    arr += ']';
    edits.push_back({chat.messages_begin, chat.messages_end, std::move(arr)});
  }
  if (anthropic) {
    if (auto sys = anthropic_system(chat, r)) {
      if (chat.system.empty()) {
        // Absent: a new first member, right after the root's '{'.
        std::size_t brace = chat.body.find('{');
        edits.push_back({brace + 1, brace + 1, fmt::format("\"system\":{},", *sys)});
      } else {
        edits.push_back({chat.system_begin, chat.system_end, std::move(*sys)});
      }
    }
  }
  if (r.model) {
    if (!chat.model.empty()) {
      edits.push_back({chat.model_begin, chat.model_end, json_string(*r.model)});
    } else {
      std::size_t brace = chat.body.find('{');
      edits.push_back({brace + 1, brace + 1, fmt::format("\"model\":{},", json_string(*r.model))});
    }
  }
  std::sort(edits.begin(), edits.end(), [](const Edit& a, const Edit& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  std::size_t size = chat.body.size();
  for (const auto& e : edits) size += e.text.size();
  std::string out;
  out.reserve(size);
  std::size_t at = 0;
  for (const auto& e : edits) {
    out.append(chat.body.substr(at, e.begin - at));
    out += e.text;
    at = e.end;
  }
  out.append(chat.body.substr(at));
  return out;
}

Result<std::string> add_text_to_message(std::string_view raw_message, std::string_view text,
                                        bool prepend) {
  auto m = nlohmann::ordered_json::parse(raw_message, nullptr, false);
  if (m.is_discarded()) return bad("message: not valid JSON");
  if (!m.is_object()) return bad("message: not an object");
  auto it = m.find("content");
  std::string add(text);
  if (it == m.end() || it->is_null()) {
    m["content"] = add;
  } else if (it->is_string()) {
    const std::string& old = it->get_ref<const std::string&>();
    *it = prepend ? add + "\n\n" + old : old + "\n\n" + add;
  } else if (it->is_array()) {
    nlohmann::ordered_json part = {{"type", "text"}, {"text", add}};
    if (prepend)
      it->insert(it->begin(), std::move(part));
    else
      it->push_back(std::move(part));
  } else {
    return bad("message.content: expected a string, an array or null");
  }
  return m.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::string text_message_json(Role role, std::string_view text, WireFormat format) {
  return fmt::format("{{\"role\":\"{}\",\"content\":{}}}", role_name(role, format),
                     json_string(text));
}

}  // namespace sluice::llm
