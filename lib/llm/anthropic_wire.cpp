// Anthropic messages, both directions. Field names and values follow Anthropic's API reference
// for POST /v1/messages: a top-level system (string or text blocks), user and assistant
// messages whose content is a string or blocks (text, image with a base64 or url source,
// tool_use, tool_result), tools with input_schema, tool_choice auto/any/tool/none,
// stop_sequences, a required max_tokens, and stop_reason end_turn, max_tokens, stop_sequence,
// tool_use, pause_turn, refusal.
#include "formats.hpp"
#include "wire_util.hpp"

namespace sluice::llm {

using namespace wire;

namespace {

std::optional<Error> parse_image(Json& block, std::string_view w, Part& p) {
  Json* src = member(block, "source");
  if (!src || !src->is_object()) return bad(path(w, "source"), "expected an object");
  auto sw = path(w, "source");
  auto type = string_or_empty(*src, "type");
  p.kind = Part::Kind::image;
  if (type == "base64") {
    if (auto e = take_string(*src, "media_type", p.media_type, sw)) return e;
    if (auto e = take_string(*src, "data", p.data, sw)) return e;
    if (p.data.empty()) return bad(path(sw, "data"), "missing");
  } else if (type == "url") {
    if (auto e = take_string(*src, "url", p.url, sw)) return e;
    if (p.url.empty()) return bad(path(sw, "url"), "missing");
  } else {
    return bad(path(sw, "type"), fmt::format("unsupported image source '{}'", type));
  }
  return std::nullopt;
}

// Blocks of one message. Tool results go to results (they become Role::tool messages), the
// rest to parts.
std::optional<Error> parse_blocks(Json& content, std::string_view w, std::vector<Part>& parts,
                                  std::vector<Part>* results) {
  if (content.is_string()) {
    parts.push_back(text_part(std::move(content.get_ref<std::string&>())));
    return std::nullopt;
  }
  if (!content.is_array()) return bad(w, "expected a string or an array of content blocks");
  for (std::size_t i = 0; i < content.size(); ++i) {
    auto bw = path(w, i);
    Json& b = content[i];
    if (!b.is_object()) return bad(bw, "expected an object");
    auto type = string_or_empty(b, "type");
    Part p;
    if (type == "text") {
      if (auto e = take_string(b, "text", p.text, bw)) return e;
    } else if (type == "image") {
      if (auto e = parse_image(b, bw, p)) return e;
    } else if (type == "tool_use") {
      p.kind = Part::Kind::tool_call;
      if (auto e = take_string(b, "id", p.id, bw)) return e;
      if (auto e = take_string(b, "name", p.name, bw)) return e;
      if (p.name.empty()) return bad(path(bw, "name"), "missing");
      if (Json* in = member(b, "input"); in && !in->is_null()) {
        if (!in->is_object()) return bad(path(bw, "input"), "expected an object");
        p.text = in->dump();
      }
    } else if (type == "tool_result" && results) {
      p.kind = Part::Kind::tool_result;
      if (auto e = take_string(b, "tool_use_id", p.id, bw)) return e;
      if (p.id.empty()) return bad(path(bw, "tool_use_id"), "missing");
      if (Json* ie = member(b, "is_error"); ie && ie->is_boolean()) p.is_error = ie->get<bool>();
      if (Json* c = member(b, "content"); c && !c->is_null()) {
        std::vector<Part> inner;
        if (auto e = parse_blocks(*c, path(bw, "content"), inner, nullptr)) return e;
        for (auto& t : inner) {
          if (t.kind != Part::Kind::text)
            return bad(path(bw, "content"), "only text tool results are supported");
          p.text += t.text;
        }
      }
      results->push_back(std::move(p));
      continue;
    } else {
      return bad(path(bw, "type"), fmt::format("unsupported content block type '{}'", type));
    }
    parts.push_back(std::move(p));
  }
  return std::nullopt;
}

Json block_json(const Part& p, std::optional<Error>& err) {
  switch (p.kind) {
    case Part::Kind::text:
      return {{"type", "text"}, {"text", p.text}};
    case Part::Kind::image:
      if (!p.url.empty()) return {{"type", "image"}, {"source", {{"type", "url"}, {"url", p.url}}}};
      return {{"type", "image"},
              {"source", {{"type", "base64"}, {"media_type", p.media_type}, {"data", p.data}}}};
    case Part::Kind::tool_call:
      return {{"type", "tool_use"},
              {"id", p.id},
              {"name", p.name},
              {"input", object_from_text(p.text, "tool call arguments", err)}};
    case Part::Kind::tool_result: {
      Json b = {{"type", "tool_result"}, {"tool_use_id", p.id}, {"content", p.text}};
      if (p.is_error) b["is_error"] = true;
      return b;
    }
  }
  return {};
}

std::string json_instruction(const ResponseFormat& f) {
  // Anthropic has no JSON mode; an instruction is the documented way to ask for JSON.
  if (f.kind == ResponseFormat::Kind::json_object)
    return "Respond with a single JSON object and nothing else.";
  return "Respond with a single JSON object and nothing else, matching this JSON schema: " +
         f.schema;
}

}  // namespace

Result<ChatRequest> parse_anthropic_request(Json&& body) {
  if (!body.is_object()) return bad("body", "expected a JSON object");
  ChatRequest req;
  if (auto e = take_string(body, "model", req.model, "")) return *e;
  if (auto e = take_number(body, "max_tokens", req.max_tokens, "")) return *e;
  if (Json* sys = member(body, "system"); sys && !sys->is_null()) {
    if (auto e = parse_blocks(*sys, "system", req.system, nullptr)) return *e;
    for (auto& p : req.system)
      if (p.kind != Part::Kind::text) return bad("system", "expected text blocks");
  }
  Json* messages = member(body, "messages");
  if (!messages || !messages->is_array()) return bad("messages", "expected an array");
  req.messages.reserve(messages->size());
  for (std::size_t i = 0; i < messages->size(); ++i) {
    auto w = path("messages", i);
    Json& m = (*messages)[i];
    if (!m.is_object()) return bad(w, "expected an object");
    auto role = string_or_empty(m, "role");
    if (role != "user" && role != "assistant")
      return bad(path(w, "role"), fmt::format("unsupported role '{}'", role));
    Json* content = member(m, "content");
    if (!content) return bad(path(w, "content"), "missing");
    Message msg{role == "user" ? Role::user : Role::assistant, {}};
    std::vector<Part> results;
    if (auto e = parse_blocks(*content, path(w, "content"), msg.parts,
                              msg.role == Role::user ? &results : nullptr))
      return *e;
    // Tool results answer the previous turn's calls, so they come first (as OpenAI's tool
    // messages must).
    for (auto& r : results) req.messages.push_back(Message{Role::tool, {std::move(r)}});
    if (!msg.parts.empty() || results.empty()) req.messages.push_back(std::move(msg));
  }
  if (Json* tools = member(body, "tools"); tools && !tools->is_null()) {
    if (!tools->is_array()) return bad("tools", "expected an array");
    for (std::size_t i = 0; i < tools->size(); ++i) {
      auto w = path("tools", i);
      Json& t = (*tools)[i];
      if (!t.is_object()) return bad(w, "expected an object");
      auto type = string_or_empty(t, "type");
      if (!type.empty() && type != "custom")
        return bad(path(w, "type"), fmt::format("unsupported tool type '{}'", type));
      Tool tool;
      if (auto e = take_string(t, "name", tool.name, w)) return *e;
      if (tool.name.empty()) return bad(path(w, "name"), "missing");
      if (auto e = take_string(t, "description", tool.description, w)) return *e;
      if (Json* s = member(t, "input_schema"); s && !s->is_null()) {
        if (!s->is_object()) return bad(path(w, "input_schema"), "expected an object");
        tool.parameters = s->dump();
      }
      req.tools.push_back(std::move(tool));
    }
  }
  if (Json* tc = member(body, "tool_choice"); tc && !tc->is_null()) {
    if (!tc->is_object()) return bad("tool_choice", "expected an object");
    auto type = string_or_empty(*tc, "type");
    auto& c = req.tool_choice;
    if (type == "auto")
      c.mode = ToolChoice::Mode::auto_;
    else if (type == "any")
      c.mode = ToolChoice::Mode::required;
    else if (type == "none")
      c.mode = ToolChoice::Mode::none;
    else if (type == "tool")
      c.mode = ToolChoice::Mode::function;
    else
      return bad("tool_choice.type", fmt::format("unsupported value '{}'", type));
    if (auto e = take_string(*tc, "name", c.name, "tool_choice")) return *e;
  }
  if (Json* s = member(body, "stop_sequences"); s && !s->is_null()) {
    if (!s->is_array()) return bad("stop_sequences", "expected an array");
    for (std::size_t i = 0; i < s->size(); ++i) {
      if (!(*s)[i].is_string()) return bad(path("stop_sequences", i), "expected a string");
      req.stop.push_back((*s)[i].get<std::string>());
    }
  }
  if (auto e = take_number(body, "temperature", req.temperature, "")) return *e;
  if (auto e = take_number(body, "top_p", req.top_p, "")) return *e;
  if (Json* s = member(body, "stream"); s && !s->is_null()) {
    if (!s->is_boolean()) return bad("stream", "expected a boolean");
    req.stream = s->get<bool>();
  }
  return req;
}

Result<Json> write_anthropic_request(const ChatRequest& req, const WriteOptions& opt) {
  Json body = Json::object();
  body["model"] = req.model;
  body["max_tokens"] = req.max_tokens ? *req.max_tokens : opt.anthropic_default_max_tokens;
  std::optional<Error> err;

  // System: the leading prompts, then any mid-conversation system messages, then the JSON
  // instruction.
  Json system = Json::array();
  for (const auto& p : req.system) system.push_back({{"type", "text"}, {"text", p.text}});
  for (const auto& m : req.messages)
    if (m.role == Role::system)
      for (const auto& p : m.parts) system.push_back({{"type", "text"}, {"text", p.text}});
  if (req.response_format.kind != ResponseFormat::Kind::text)
    system.push_back({{"type", "text"}, {"text", json_instruction(req.response_format)}});
  if (system.size() == 1)
    body["system"] = std::move(system[0]["text"]);
  else if (!system.empty())
    body["system"] = std::move(system);

  // Messages: tool results travel in user messages; consecutive turns of one role are merged
  // (Anthropic alternates user and assistant). Anthropic rejects empty text blocks, which
  // OpenAI clients send beside tool calls ("content": ""), and empty messages.
  Json msgs = Json::array();
  for (const auto& m : req.messages) {
    if (m.role == Role::system) continue;
    const char* role = m.role == Role::assistant ? "assistant" : "user";
    for (const auto& p : m.parts) {
      if (p.kind == Part::Kind::text && p.text.empty()) continue;
      if (msgs.empty() || msgs.back()["role"] != role)
        msgs.push_back({{"role", role}, {"content", Json::array()}});
      msgs.back()["content"].push_back(block_json(p, err));
      if (err) return *err;
    }
  }
  body["messages"] = std::move(msgs);

  if (!req.tools.empty()) {
    Json tools = Json::array();
    for (const auto& t : req.tools) {
      Json tool = {{"name", t.name}};
      if (!t.description.empty()) tool["description"] = t.description;
      // input_schema is required; a function without parameters takes an empty object.
      tool["input_schema"] = t.parameters.empty()
                                 ? Json{{"type", "object"}, {"properties", Json::object()}}
                                 : object_from_text(t.parameters, "tools", err);
      if (err) return *err;
      tools.push_back(std::move(tool));
    }
    body["tools"] = std::move(tools);
  }
  switch (req.tool_choice.mode) {
    case ToolChoice::Mode::unset:
      break;
    case ToolChoice::Mode::auto_:
      body["tool_choice"] = {{"type", "auto"}};
      break;
    case ToolChoice::Mode::none:
      body["tool_choice"] = {{"type", "none"}};
      break;
    case ToolChoice::Mode::required:
      body["tool_choice"] = {{"type", "any"}};
      break;
    case ToolChoice::Mode::function:
      body["tool_choice"] = {{"type", "tool"}, {"name", req.tool_choice.name}};
      break;
  }
  if (!req.stop.empty()) body["stop_sequences"] = req.stop;
  if (req.temperature) body["temperature"] = *req.temperature;
  if (req.top_p) body["top_p"] = *req.top_p;
  if (req.stream) body["stream"] = true;
  return body;
}

Usage anthropic_usage(const Json& u) {
  Usage out;
  out.cached_input = int_or_zero(u, "cache_read_input_tokens");
  out.cache_creation = int_or_zero(u, "cache_creation_input_tokens");
  out.input = int_or_zero(u, "input_tokens") + out.cached_input + out.cache_creation;
  out.output = int_or_zero(u, "output_tokens");
  return out;
}

Json anthropic_usage_json(const Usage& u) {
  Json j = {{"input_tokens", u.input - u.cached_input - u.cache_creation},
            {"output_tokens", u.output}};
  if (u.cache_creation > 0) j["cache_creation_input_tokens"] = u.cache_creation;
  if (u.cached_input > 0) j["cache_read_input_tokens"] = u.cached_input;
  return j;
}

Result<ChatResponse> parse_anthropic_response(Json&& body) {
  if (!body.is_object()) return bad("body", "expected a JSON object");
  ChatResponse r;
  if (auto e = take_string(body, "id", r.id, "")) return *e;
  if (auto e = take_string(body, "model", r.model, "")) return *e;
  Json* content = member(body, "content");
  if (!content || !content->is_array()) return bad("content", "expected an array");
  for (std::size_t i = 0; i < content->size(); ++i) {
    auto w = path("content", i);
    Json& b = (*content)[i];
    auto type = string_or_empty(b, "type");
    if (type == "text") {
      std::string t;
      if (auto e = take_string(b, "text", t, w)) return *e;
      r.text += t;
    } else if (type == "tool_use") {
      ToolCall c;
      if (auto e = take_string(b, "id", c.id, w)) return *e;
      if (auto e = take_string(b, "name", c.name, w)) return *e;
      if (Json* in = member(b, "input"); in && !in->is_null()) c.arguments = in->dump();
      r.tool_calls.push_back(std::move(c));
    }
    // thinking and redacted_thinking blocks have no place in the neutral reply.
  }
  if (auto e = take_string(body, "stop_reason", r.finish_raw, "")) return *e;
  if (auto e = take_string(body, "stop_sequence", r.stop_sequence, "")) return *e;
  r.finish = finish_from_anthropic(r.finish_raw);
  if (const Json* u = member(body, "usage"); u && u->is_object()) r.usage = anthropic_usage(*u);
  return r;
}

Json write_anthropic_response(const ChatResponse& r) {
  Json content = Json::array();
  if (!r.text.empty()) content.push_back({{"type", "text"}, {"text", r.text}});
  for (const auto& c : r.tool_calls) {
    std::optional<Error> err;  // arguments that are not an object become {}
    content.push_back({{"type", "tool_use"},
                       {"id", c.id},
                       {"name", c.name},
                       {"input", object_from_text(c.arguments, "arguments", err)}});
  }
  Json stop = r.finish == FinishReason::none ? Json() : Json(finish_to_anthropic(r.finish));
  if (r.finish == FinishReason::stop && !r.stop_sequence.empty()) stop = "stop_sequence";
  return {{"id", r.id},
          {"type", "message"},
          {"role", "assistant"},
          {"model", r.model},
          {"content", std::move(content)},
          {"stop_reason", std::move(stop)},
          {"stop_sequence", r.stop_sequence.empty() ? Json() : Json(r.stop_sequence)},
          {"usage", anthropic_usage_json(r.usage.value_or(Usage{}))}};
}

}  // namespace sluice::llm
