// Gemini generateContent (v1beta), provider side: requests out, responses in. Field names follow
// Google's API reference (GenerateContentRequest: contents with roles user and model and parts
// text, inlineData, fileData, functionCall, functionResponse; systemInstruction; tools with
// functionDeclarations, whose parametersJsonSchema takes a JSON schema as is; toolConfig's
// functionCallingConfig mode AUTO/ANY/NONE; generationConfig stopSequences, temperature, topP,
// maxOutputTokens, seed, responseMimeType, responseJsonSchema. GenerateContentResponse:
// candidates[].content.parts, finishReason, usageMetadata, modelVersion, responseId).
#include "formats.hpp"

#include <unordered_map>

#include "wire_util.hpp"

namespace sluice::llm {

using namespace wire;

namespace {

// fileData needs a MIME type; an image URL gives it only by its extension.
std::string media_type_of_url(std::string_view url) {
  auto q = url.find_first_of("?#");
  if (q != std::string_view::npos) url = url.substr(0, q);
  auto ends = [&](std::string_view ext) {
    return url.size() >= ext.size() && url.substr(url.size() - ext.size()) == ext;
  };
  if (ends(".png")) return "image/png";
  if (ends(".gif")) return "image/gif";
  if (ends(".webp")) return "image/webp";
  return "image/jpeg";
}

Json part_json(const Part& p, const std::unordered_map<std::string_view, std::string_view>& names,
               std::optional<Error>& err) {
  switch (p.kind) {
    case Part::Kind::text:
      return {{"text", p.text}};
    case Part::Kind::image:
      if (!p.url.empty())
        return {{"fileData", {{"mimeType", media_type_of_url(p.url)}, {"fileUri", p.url}}}};
      return {{"inlineData", {{"mimeType", p.media_type}, {"data", p.data}}}};
    case Part::Kind::tool_call:
      return {{"functionCall",
               {{"name", p.name}, {"args", object_from_text(p.text, "tool call arguments", err)}}}};
    case Part::Kind::tool_result: {
      // Gemini answers a call by function name; the neutral result names the call's id.
      auto it = names.find(p.id);
      if (it == names.end()) {
        err = bad("messages", fmt::format("tool result '{}' answers no earlier tool call", p.id));
        return {};
      }
      // response must be an object: a JSON object result is passed as is, anything else is
      // wrapped.
      Json parsed = Json::parse(p.text, nullptr, false);
      Json response = parsed.is_object() ? std::move(parsed) : Json{{"content", p.text}};
      if (p.is_error) response = {{"error", p.text}};
      return {{"functionResponse", {{"name", it->second}, {"response", std::move(response)}}}};
    }
  }
  return {};
}

}  // namespace

Result<Json> write_gemini_request(const ChatRequest& req) {
  Json body = Json::object();
  std::optional<Error> err;

  Json sys = Json::array();
  for (const auto& p : req.system) sys.push_back({{"text", p.text}});
  for (const auto& m : req.messages)
    if (m.role == Role::system)
      for (const auto& p : m.parts) sys.push_back({{"text", p.text}});
  if (!sys.empty()) body["systemInstruction"] = {{"parts", std::move(sys)}};

  std::unordered_map<std::string_view, std::string_view> names;  // tool call id -> function
  Json contents = Json::array();
  for (const auto& m : req.messages) {
    if (m.role == Role::system) continue;
    const char* role = m.role == Role::assistant ? "model" : "user";
    for (const auto& p : m.parts) {
      if (p.kind == Part::Kind::text && p.text.empty()) continue;  // Gemini rejects empty parts
      if (p.kind == Part::Kind::tool_call) names[p.id] = p.name;
      if (contents.empty() || contents.back()["role"] != role)
        contents.push_back({{"role", role}, {"parts", Json::array()}});
      contents.back()["parts"].push_back(part_json(p, names, err));
      if (err) return *err;
    }
  }
  body["contents"] = std::move(contents);

  if (!req.tools.empty()) {
    Json decls = Json::array();
    for (const auto& t : req.tools) {
      Json d = {{"name", t.name}};
      if (!t.description.empty()) d["description"] = t.description;
      if (!t.parameters.empty())
        d["parametersJsonSchema"] = object_from_text(t.parameters, "tools", err);
      if (err) return *err;
      decls.push_back(std::move(d));
    }
    body["tools"] = Json::array({{{"functionDeclarations", std::move(decls)}}});
  }
  if (req.tool_choice.mode != ToolChoice::Mode::unset) {
    Json fc;
    switch (req.tool_choice.mode) {
      case ToolChoice::Mode::none:
        fc["mode"] = "NONE";
        break;
      case ToolChoice::Mode::required:
        fc["mode"] = "ANY";
        break;
      case ToolChoice::Mode::function:
        fc["mode"] = "ANY";
        fc["allowedFunctionNames"] = Json::array({req.tool_choice.name});
        break;
      default:
        fc["mode"] = "AUTO";
        break;
    }
    body["toolConfig"] = {{"functionCallingConfig", std::move(fc)}};
  }

  Json gc = Json::object();
  if (!req.stop.empty()) gc["stopSequences"] = req.stop;
  if (req.temperature) gc["temperature"] = *req.temperature;
  if (req.top_p) gc["topP"] = *req.top_p;
  if (req.max_tokens) gc["maxOutputTokens"] = *req.max_tokens;
  if (req.seed) gc["seed"] = *req.seed;
  if (req.response_format.kind != ResponseFormat::Kind::text) {
    gc["responseMimeType"] = "application/json";
    if (req.response_format.kind == ResponseFormat::Kind::json_schema)
      gc["responseJsonSchema"] =
          object_from_text(req.response_format.schema, "response_format", err);
    if (err) return *err;
  }
  if (!gc.empty()) body["generationConfig"] = std::move(gc);
  return body;
}

Usage gemini_usage(const Json& u) {
  Usage out;
  out.input = int_or_zero(u, "promptTokenCount");
  // Thinking tokens are billed as output.
  out.output = int_or_zero(u, "candidatesTokenCount") + int_or_zero(u, "thoughtsTokenCount");
  out.cached_input = int_or_zero(u, "cachedContentTokenCount");
  return out;
}

Result<ChatResponse> parse_gemini_response(Json&& body) {
  if (!body.is_object()) return bad("body", "expected a JSON object");
  ChatResponse r;
  if (auto e = take_string(body, "responseId", r.id, "")) return *e;
  if (auto e = take_string(body, "modelVersion", r.model, "")) return *e;
  Json* cands = member(body, "candidates");
  if (cands && !cands->is_array()) return bad("candidates", "expected an array");
  if (cands && !cands->empty()) {
    Json& c = (*cands)[0];
    if (Json* content = member(c, "content"); content && content->is_object()) {
      Json* parts = member(*content, "parts");
      if (parts && !parts->is_array())
        return bad("candidates[0].content.parts", "expected an array");
      for (std::size_t i = 0; parts && i < parts->size(); ++i) {
        auto w = path("candidates[0].content.parts", i);
        Json& p = (*parts)[i];
        if (Json* thought = member(p, "thought");
            thought && thought->is_boolean() && thought->get<bool>())
          continue;
        if (member(p, "text")) {
          std::string t;
          if (auto e = take_string(p, "text", t, w)) return *e;
          r.text += t;
        } else if (Json* fc = member(p, "functionCall"); fc && fc->is_object()) {
          ToolCall call;
          if (auto e = take_string(*fc, "name", call.name, path(w, "functionCall"))) return *e;
          if (auto e = take_string(*fc, "id", call.id, path(w, "functionCall"))) return *e;
          // Gemini's calls have no id unless it sends one; clients need one to answer.
          if (call.id.empty()) call.id = fmt::format("call_{}", r.tool_calls.size());
          Json* args = member(*fc, "args");
          call.arguments = args && args->is_object() ? args->dump() : "{}";
          r.tool_calls.push_back(std::move(call));
        }
      }
    }
    if (auto e = take_string(c, "finishReason", r.finish_raw, "candidates[0]")) return *e;
    r.finish = finish_from_gemini(r.finish_raw);
    // Gemini says STOP after a function call; clients expect tool_calls / tool_use.
    if (r.finish == FinishReason::stop && !r.tool_calls.empty())
      r.finish = FinishReason::tool_calls;
  } else if (const Json* fb = member(body, "promptFeedback"); fb && fb->is_object()) {
    // The prompt itself was blocked: no candidates, a blockReason.
    r.finish_raw = std::string(string_or_empty(*fb, "blockReason"));
    r.finish = FinishReason::content_filter;
  }
  if (const Json* u = member(body, "usageMetadata"); u && u->is_object())
    r.usage = gemini_usage(*u);
  return r;
}

}  // namespace sluice::llm
