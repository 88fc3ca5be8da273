// OpenAI chat completions, both directions. Field names and values follow OpenAI's API
// reference for POST /v1/chat/completions (messages with roles system, developer, user,
// assistant and tool; content parts text and image_url; tool_calls; response_format;
// stream_options.include_usage; finish_reason stop, length, tool_calls, content_filter).
#include "formats.hpp"

#include "wire_util.hpp"

namespace sluice::llm {

using namespace wire;

namespace {

// "data:image/png;base64,AAAA" into media type and data; false for any other URL.
bool split_data_url(std::string& url, Part& p) {
  constexpr std::string_view prefix = "data:";
  if (url.rfind(prefix, 0) != 0) return false;
  auto comma = url.find(',');
  if (comma == std::string::npos) return false;
  std::string_view meta(url.data() + prefix.size(), comma - prefix.size());
  constexpr std::string_view b64 = ";base64";
  if (meta.size() < b64.size() || meta.substr(meta.size() - b64.size()) != b64) return false;
  p.media_type = std::string(meta.substr(0, meta.size() - b64.size()));
  p.data = url.substr(comma + 1);
  return true;
}

std::optional<Error> parse_text_parts(Json& content, std::string_view where,
                                      std::vector<Part>& out) {
  if (content.is_null()) return std::nullopt;
  if (content.is_string()) {
    out.push_back(text_part(std::move(content.get_ref<std::string&>())));
    return std::nullopt;
  }
  if (!content.is_array()) return bad(where, "expected a string or an array of parts");
  for (std::size_t i = 0; i < content.size(); ++i) {
    auto w = path(where, i);
    Json& part = content[i];
    if (!part.is_object()) return bad(w, "expected an object");
    auto type = string_or_empty(part, "type");
    if (type == "text") {
      Part p;
      if (auto e = take_string(part, "text", p.text, w)) return e;
      out.push_back(std::move(p));
    } else if (type == "image_url") {
      Json* iu = member(part, "image_url");
      if (!iu || !iu->is_object()) return bad(path(w, "image_url"), "expected an object");
      Part p;
      p.kind = Part::Kind::image;
      std::string url;
      if (auto e = take_string(*iu, "url", url, path(w, "image_url"))) return e;
      if (url.empty()) return bad(path(w, "image_url.url"), "missing");
      if (auto e = take_string(*iu, "detail", p.detail, path(w, "image_url"))) return e;
      if (!split_data_url(url, p)) p.url = std::move(url);
      out.push_back(std::move(p));
    } else {
      return bad(path(w, "type"), fmt::format("unsupported content part type '{}'", type));
    }
  }
  return std::nullopt;
}

std::optional<Error> parse_message(Json& m, std::string_view where, ChatRequest& req) {
  if (!m.is_object()) return bad(where, "expected an object");
  auto role = string_or_empty(m, "role");
  Json null_content;
  Json* content = member(m, "content");
  if (!content) content = &null_content;
  auto cw = path(where, "content");
  if (role == "system" || role == "developer") {
    std::vector<Part> parts;
    if (auto e = parse_text_parts(*content, cw, parts)) return e;
    for (auto& p : parts)
      if (p.kind != Part::Kind::text) return bad(cw, "a system message takes text only");
    // Leading system messages are the system prompt; later ones keep their place.
    if (req.messages.empty()) {
      for (auto& p : parts) req.system.push_back(std::move(p));
    } else {
      req.messages.push_back(Message{Role::system, std::move(parts)});
    }
  } else if (role == "user") {
    Message msg{Role::user, {}};
    if (auto e = parse_text_parts(*content, cw, msg.parts)) return e;
    req.messages.push_back(std::move(msg));
  } else if (role == "assistant") {
    Message msg{Role::assistant, {}};
    if (auto e = parse_text_parts(*content, cw, msg.parts)) return e;
    if (Json* calls = member(m, "tool_calls"); calls && !calls->is_null()) {
      auto tw = path(where, "tool_calls");
      if (!calls->is_array()) return bad(tw, "expected an array");
      for (std::size_t i = 0; i < calls->size(); ++i) {
        auto w = path(tw, i);
        Json& c = (*calls)[i];
        Json* fn = member(c, "function");
        if (!fn || !fn->is_object()) return bad(path(w, "function"), "expected an object");
        Part p;
        p.kind = Part::Kind::tool_call;
        if (auto e = take_string(c, "id", p.id, w)) return e;
        if (auto e = take_string(*fn, "name", p.name, path(w, "function"))) return e;
        if (p.name.empty()) return bad(path(w, "function.name"), "missing");
        if (Json* args = member(*fn, "arguments"); args && !args->is_null())
          p.text = json_text(std::move(*args));
        msg.parts.push_back(std::move(p));
      }
    }
    req.messages.push_back(std::move(msg));
  } else if (role == "tool") {
    Part p;
    p.kind = Part::Kind::tool_result;
    if (auto e = take_string(m, "tool_call_id", p.id, where)) return e;
    if (p.id.empty()) return bad(path(where, "tool_call_id"), "missing");
    std::vector<Part> parts;
    if (auto e = parse_text_parts(*content, cw, parts)) return e;
    for (auto& t : parts) {
      if (t.kind != Part::Kind::text) return bad(cw, "a tool message takes text only");
      p.text += t.text;
    }
    req.messages.push_back(Message{Role::tool, {std::move(p)}});
  } else {
    return bad(path(where, "role"), fmt::format("unsupported role '{}'", role));
  }
  return std::nullopt;
}

std::optional<Error> parse_tools(Json& tools, ChatRequest& req) {
  if (tools.is_null()) return std::nullopt;
  if (!tools.is_array()) return bad("tools", "expected an array");
  for (std::size_t i = 0; i < tools.size(); ++i) {
    auto w = path("tools", i);
    Json* fn = member(tools[i], "function");
    if (string_or_empty(tools[i], "type") != "function" || !fn || !fn->is_object())
      return bad(w, "expected a function tool ({\"type\":\"function\",\"function\":{...}})");
    Tool t;
    auto fw = path(w, "function");
    if (auto e = take_string(*fn, "name", t.name, fw)) return e;
    if (t.name.empty()) return bad(path(fw, "name"), "missing");
    if (auto e = take_string(*fn, "description", t.description, fw)) return e;
    if (Json* params = member(*fn, "parameters"); params && !params->is_null()) {
      if (!params->is_object()) return bad(path(fw, "parameters"), "expected an object");
      t.parameters = params->dump();
    }
    req.tools.push_back(std::move(t));
  }
  return std::nullopt;
}

std::optional<Error> parse_tool_choice(Json& tc, ChatRequest& req) {
  if (tc.is_null()) return std::nullopt;
  if (tc.is_string()) {
    auto s = tc.get_ref<const std::string&>();
    if (s == "auto")
      req.tool_choice.mode = ToolChoice::Mode::auto_;
    else if (s == "none")
      req.tool_choice.mode = ToolChoice::Mode::none;
    else if (s == "required")
      req.tool_choice.mode = ToolChoice::Mode::required;
    else
      return bad("tool_choice", fmt::format("unsupported value '{}'", s));
    return std::nullopt;
  }
  Json* fn = member(tc, "function");
  if (!fn || !fn->is_object()) return bad("tool_choice", "expected a string or a function");
  req.tool_choice.mode = ToolChoice::Mode::function;
  if (auto e = take_string(*fn, "name", req.tool_choice.name, "tool_choice.function")) return e;
  return std::nullopt;
}

std::optional<Error> parse_response_format(Json& rf, ChatRequest& req) {
  if (rf.is_null()) return std::nullopt;
  if (!rf.is_object()) return bad("response_format", "expected an object");
  auto type = string_or_empty(rf, "type");
  if (type == "text") return std::nullopt;
  if (type == "json_object") {
    req.response_format.kind = ResponseFormat::Kind::json_object;
    return std::nullopt;
  }
  if (type != "json_schema")
    return bad("response_format.type", fmt::format("unsupported value '{}'", type));
  Json* js = member(rf, "json_schema");
  if (!js || !js->is_object()) return bad("response_format.json_schema", "expected an object");
  auto& f = req.response_format;
  f.kind = ResponseFormat::Kind::json_schema;
  if (auto e = take_string(*js, "name", f.name, "response_format.json_schema")) return e;
  if (Json* s = member(*js, "schema"); s && !s->is_null()) f.schema = s->dump();
  if (Json* s = member(*js, "strict"); s && s->is_boolean()) f.strict = s->get<bool>();
  return std::nullopt;
}

Json image_url_json(const Part& p) {
  Json iu = {
      {"url", p.url.empty() ? fmt::format("data:{};base64,{}", p.media_type, p.data) : p.url}};
  if (!p.detail.empty()) iu["detail"] = p.detail;
  return Json{{"type", "image_url"}, {"image_url", std::move(iu)}};
}

// Content as a string when it is text only (the common, compact form), else as parts.
Json content_json(const std::vector<Part>& parts) {
  std::size_t texts = 0, images = 0;
  for (const auto& p : parts) {
    if (p.kind == Part::Kind::text) ++texts;
    if (p.kind == Part::Kind::image) ++images;
  }
  if (images == 0 && texts == 1)
    for (const auto& p : parts)
      if (p.kind == Part::Kind::text) return p.text;
  Json arr = Json::array();
  for (const auto& p : parts) {
    if (p.kind == Part::Kind::text) arr.push_back({{"type", "text"}, {"text", p.text}});
    if (p.kind == Part::Kind::image) arr.push_back(image_url_json(p));
  }
  return arr;
}

Json usage_json(const Usage& u) {
  Json j = {{"prompt_tokens", u.input},
            {"completion_tokens", u.output},
            {"total_tokens", u.input + u.output}};
  if (u.cached_input > 0) j["prompt_tokens_details"] = {{"cached_tokens", u.cached_input}};
  return j;
}

}  // namespace

Result<ChatRequest> parse_openai_request(Json&& body) {
  if (!body.is_object()) return bad("body", "expected a JSON object");
  ChatRequest req;
  if (auto e = take_string(body, "model", req.model, "")) return *e;
  Json* messages = member(body, "messages");
  if (!messages || !messages->is_array()) return bad("messages", "expected an array");
  req.messages.reserve(messages->size());
  for (std::size_t i = 0; i < messages->size(); ++i)
    if (auto e = parse_message((*messages)[i], path("messages", i), req)) return *e;
  if (Json* t = member(body, "tools"))
    if (auto e = parse_tools(*t, req)) return *e;
  if (Json* t = member(body, "tool_choice"))
    if (auto e = parse_tool_choice(*t, req)) return *e;
  if (Json* s = member(body, "stop"); s && !s->is_null()) {
    if (s->is_string()) {
      req.stop.push_back(s->get<std::string>());
    } else if (s->is_array()) {
      for (std::size_t i = 0; i < s->size(); ++i) {
        if (!(*s)[i].is_string()) return bad(path("stop", i), "expected a string");
        req.stop.push_back((*s)[i].get<std::string>());
      }
    } else {
      return bad("stop", "expected a string or an array of strings");
    }
  }
  if (auto e = take_number(body, "temperature", req.temperature, "")) return *e;
  if (auto e = take_number(body, "top_p", req.top_p, "")) return *e;
  if (auto e = take_number(body, "max_completion_tokens", req.max_tokens, "")) return *e;
  if (!req.max_tokens)
    if (auto e = take_number(body, "max_tokens", req.max_tokens, "")) return *e;
  if (auto e = take_number(body, "seed", req.seed, "")) return *e;
  if (Json* rf = member(body, "response_format"))
    if (auto e = parse_response_format(*rf, req)) return *e;
  if (Json* s = member(body, "stream"); s && !s->is_null()) {
    if (!s->is_boolean()) return bad("stream", "expected a boolean");
    req.stream = s->get<bool>();
  }
  if (Json* so = member(body, "stream_options"); so && so->is_object())
    if (Json* iu = member(*so, "include_usage"); iu && iu->is_boolean())
      req.include_usage = iu->get<bool>();
  return req;
}

Result<Json> write_openai_request(const ChatRequest& req, WireFormat provider) {
  Json body = Json::object();
  body["model"] = req.model;
  Json msgs = Json::array();
  for (const auto& p : req.system) msgs.push_back({{"role", "system"}, {"content", p.text}});
  for (const auto& m : req.messages) {
    switch (m.role) {
      case Role::system:
      case Role::user:
        msgs.push_back({{"role", m.role == Role::system ? "system" : "user"},
                        {"content", content_json(m.parts)}});
        break;
      case Role::assistant: {
        std::string text;
        Json calls = Json::array();
        for (const auto& p : m.parts) {
          if (p.kind == Part::Kind::text) text += p.text;
          if (p.kind == Part::Kind::tool_call)
            calls.push_back(
                {{"id", p.id},
                 {"type", "function"},
                 {"function", {{"name", p.name}, {"arguments", p.text.empty() ? "{}" : p.text}}}});
        }
        Json msg = {{"role", "assistant"},
                    {"content", text.empty() && !calls.empty() ? Json() : Json(text)}};
        if (!calls.empty()) msg["tool_calls"] = std::move(calls);
        msgs.push_back(std::move(msg));
        break;
      }
      case Role::tool:
        for (const auto& p : m.parts)
          if (p.kind == Part::Kind::tool_result)
            msgs.push_back({{"role", "tool"}, {"tool_call_id", p.id}, {"content", p.text}});
        break;
    }
  }
  body["messages"] = std::move(msgs);
  if (!req.tools.empty()) {
    Json tools = Json::array();
    for (const auto& t : req.tools) {
      std::optional<Error> err;
      Json fn = {{"name", t.name}};
      if (!t.description.empty()) fn["description"] = t.description;
      if (!t.parameters.empty()) fn["parameters"] = object_from_text(t.parameters, "tools", err);
      if (err) return *err;
      tools.push_back({{"type", "function"}, {"function", std::move(fn)}});
    }
    body["tools"] = std::move(tools);
  }
  switch (req.tool_choice.mode) {
    case ToolChoice::Mode::unset:
      break;
    case ToolChoice::Mode::auto_:
      body["tool_choice"] = "auto";
      break;
    case ToolChoice::Mode::none:
      body["tool_choice"] = "none";
      break;
    case ToolChoice::Mode::required:
      body["tool_choice"] = "required";
      break;
    case ToolChoice::Mode::function:
      body["tool_choice"] = {{"type", "function"}, {"function", {{"name", req.tool_choice.name}}}};
      break;
  }
  if (!req.stop.empty()) body["stop"] = req.stop;
  if (req.temperature) body["temperature"] = *req.temperature;
  if (req.top_p) body["top_p"] = *req.top_p;
  // OpenAI's reasoning models take only max_completion_tokens; compatible servers (vLLM,
  // llama.cpp, Ollama) have long known max_tokens and not always the newer name.
  if (req.max_tokens)
    body[provider == WireFormat::openai ? "max_completion_tokens" : "max_tokens"] = *req.max_tokens;
  if (req.seed) body["seed"] = *req.seed;
  switch (req.response_format.kind) {
    case ResponseFormat::Kind::text:
      break;
    case ResponseFormat::Kind::json_object:
      body["response_format"] = {{"type", "json_object"}};
      break;
    case ResponseFormat::Kind::json_schema: {
      std::optional<Error> err;
      Json js = {{"name", req.response_format.name.empty() ? "response" : req.response_format.name},
                 {"schema", object_from_text(req.response_format.schema, "response_format", err)}};
      if (err) return *err;
      if (req.response_format.strict) js["strict"] = true;
      body["response_format"] = {{"type", "json_schema"}, {"json_schema", std::move(js)}};
      break;
    }
  }
  if (req.stream) {
    body["stream"] = true;
    body["stream_options"] = {{"include_usage", true}};
  }
  return body;
}

Result<ChatResponse> parse_openai_response(Json&& body) {
  if (!body.is_object()) return bad("body", "expected a JSON object");
  ChatResponse r;
  if (auto e = take_string(body, "id", r.id, "")) return *e;
  if (auto e = take_string(body, "model", r.model, "")) return *e;
  Json* choices = member(body, "choices");
  if (!choices || !choices->is_array() || choices->empty())
    return bad("choices", "expected a non-empty array");
  Json& c = (*choices)[0];
  Json* msg = member(c, "message");
  if (!msg || !msg->is_object()) return bad("choices[0].message", "expected an object");
  if (auto e = take_string(*msg, "content", r.text, "choices[0].message")) return *e;
  if (Json* calls = member(*msg, "tool_calls"); calls && !calls->is_null()) {
    if (!calls->is_array()) return bad("choices[0].message.tool_calls", "expected an array");
    for (std::size_t i = 0; i < calls->size(); ++i) {
      auto w = path("choices[0].message.tool_calls", i);
      Json& tc = (*calls)[i];
      Json* fn = member(tc, "function");
      if (!fn || !fn->is_object()) return bad(path(w, "function"), "expected an object");
      ToolCall call;
      if (auto e = take_string(tc, "id", call.id, w)) return *e;
      if (auto e = take_string(*fn, "name", call.name, path(w, "function"))) return *e;
      if (Json* args = member(*fn, "arguments"); args && !args->is_null())
        call.arguments = json_text(std::move(*args));
      r.tool_calls.push_back(std::move(call));
    }
  }
  if (auto e = take_string(c, "finish_reason", r.finish_raw, "choices[0]")) return *e;
  r.finish = finish_from_openai(r.finish_raw);
  if (const Json* u = member(body, "usage"); u && u->is_object()) r.usage = openai_usage(*u);
  return r;
}

Usage openai_usage(const Json& u) {
  Usage out;
  out.input = int_or_zero(u, "prompt_tokens");
  out.output = int_or_zero(u, "completion_tokens");
  if (const Json* d = member(u, "prompt_tokens_details"); d && d->is_object())
    out.cached_input = int_or_zero(*d, "cached_tokens");
  return out;
}

Json openai_usage_json(const Usage& u) {
  return usage_json(u);
}

Json write_openai_response(const ChatResponse& r, const WriteOptions& opt) {
  Json msg = {{"role", "assistant"},
              {"content", r.text.empty() && !r.tool_calls.empty() ? Json() : Json(r.text)}};
  if (!r.tool_calls.empty()) {
    Json calls = Json::array();
    for (const auto& c : r.tool_calls)
      calls.push_back(
          {{"id", c.id},
           {"type", "function"},
           {"function",
            {{"name", c.name}, {"arguments", c.arguments.empty() ? "{}" : c.arguments}}}});
    msg["tool_calls"] = std::move(calls);
  }
  Json body = {{"id", r.id},
               {"object", "chat.completion"},
               {"created", opt.created},
               {"model", r.model},
               {"choices",
                {{{"index", 0},
                  {"message", std::move(msg)},
                  {"logprobs", nullptr},
                  {"finish_reason",
                   r.finish == FinishReason::none ? Json() : Json(finish_to_openai(r.finish))}}}}};
  if (r.usage) body["usage"] = usage_json(*r.usage);
  return body;
}

}  // namespace sluice::llm
