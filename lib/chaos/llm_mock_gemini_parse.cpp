// Gemini's GenerateContentRequest (v1beta) into the neutral ChatRequest, for the mock Gemini
// provider (lib/llm writes Gemini requests but has no reason to read them). Every read checks the
// JSON type; errors name the field ("contents[1].parts[0].text: expected a string").
#include <fmt/format.h>

#include "llm_mock_internal.hpp"

namespace sluice::chaos::detail {

using Json = nlohmann::json;

namespace {

Error bad(const std::string& field, std::string_view what) {
  return make_error(ErrorKind::protocol, ErrorSource::downstream,
                    fmt::format("{}: {}", field, what));
}

// The member under its camelCase or snake_case name (the API takes both), or nullptr.
const Json* member(const Json& o, std::string_view camel, std::string_view snake = {}) {
  if (auto it = o.find(camel); it != o.end()) return &*it;
  if (!snake.empty())
    if (auto it = o.find(snake); it != o.end()) return &*it;
  return nullptr;
}

Result<std::string> string_at(const Json& o, std::string_view key, const std::string& field) {
  const Json* v = member(o, key);
  if (!v) return std::string();
  if (!v->is_string()) return bad(field + "." + std::string(key), "expected a string");
  return v->get<std::string>();
}

// One part; results (functionResponse) go to results, everything else to parts.
Result<void> read_part(const Json& p, const std::string& field, std::vector<llm::Part>& parts,
                       std::vector<llm::Part>& results) {
  if (!p.is_object()) return bad(field, "expected an object");
  llm::Part part;
  if (const Json* t = member(p, "text")) {
    if (!t->is_string()) return bad(field + ".text", "expected a string");
    part.text = t->get<std::string>();
    parts.push_back(std::move(part));
  } else if (const Json* d = member(p, "inlineData", "inline_data")) {
    if (!d->is_object()) return bad(field + ".inlineData", "expected an object");
    part.kind = llm::Part::Kind::image;
    auto mime = string_at(*d, "mimeType", field + ".inlineData");
    if (!mime) return mime.take_error();
    auto data = string_at(*d, "data", field + ".inlineData");
    if (!data) return data.take_error();
    part.media_type = std::move(*mime);
    part.data = std::move(*data);
    parts.push_back(std::move(part));
  } else if (const Json* f = member(p, "fileData", "file_data")) {
    if (!f->is_object()) return bad(field + ".fileData", "expected an object");
    part.kind = llm::Part::Kind::image;
    auto uri = string_at(*f, "fileUri", field + ".fileData");
    if (!uri) return uri.take_error();
    auto mime = string_at(*f, "mimeType", field + ".fileData");
    if (!mime) return mime.take_error();
    part.url = std::move(*uri);
    part.media_type = std::move(*mime);
    parts.push_back(std::move(part));
  } else if (const Json* c = member(p, "functionCall", "function_call")) {
    if (!c->is_object()) return bad(field + ".functionCall", "expected an object");
    part.kind = llm::Part::Kind::tool_call;
    auto name = string_at(*c, "name", field + ".functionCall");
    if (!name) return name.take_error();
    part.name = std::move(*name);
    auto id = string_at(*c, "id", field + ".functionCall");
    if (!id) return id.take_error();
    part.id = id->empty() ? part.name : std::move(*id);
    const Json* args = member(*c, "args");
    part.text = args ? args->dump() : "{}";
    parts.push_back(std::move(part));
  } else if (const Json* r = member(p, "functionResponse", "function_response")) {
    if (!r->is_object()) return bad(field + ".functionResponse", "expected an object");
    part.kind = llm::Part::Kind::tool_result;
    auto name = string_at(*r, "name", field + ".functionResponse");
    if (!name) return name.take_error();
    part.name = std::move(*name);
    auto id = string_at(*r, "id", field + ".functionResponse");
    if (!id) return id.take_error();
    part.id = id->empty() ? part.name : std::move(*id);
    const Json* resp = member(*r, "response");
    // {"content": "text"} is how a plain text result travels; anything else stays JSON.
    if (resp && resp->is_object() && resp->size() == 1 && resp->contains("content") &&
        resp->at("content").is_string())
      part.text = resp->at("content").get<std::string>();
    else
      part.text = resp ? resp->dump() : "{}";
    results.push_back(std::move(part));
  }
  // Other parts (thoughts, executable code) carry nothing the mock needs.
  return {};
}

Result<void> read_contents(const Json& contents, llm::ChatRequest& req) {
  if (!contents.is_array()) return bad("contents", "expected an array");
  for (std::size_t i = 0; i < contents.size(); ++i) {
    const std::string field = fmt::format("contents[{}]", i);
    const Json& c = contents[i];
    if (!c.is_object()) return bad(field, "expected an object");
    auto role = string_at(c, "role", field);
    if (!role) return role.take_error();
    llm::Message m;
    if (*role == "model") {
      m.role = llm::Role::assistant;
    } else if (role->empty() || *role == "user" || *role == "function") {
      m.role = llm::Role::user;
    } else {
      return bad(field + ".role", fmt::format("expected \"user\" or \"model\", got \"{}\"", *role));
    }
    const Json* parts = member(c, "parts");
    if (!parts || !parts->is_array()) return bad(field + ".parts", "expected an array");
    std::vector<llm::Part> results;
    for (std::size_t k = 0; k < parts->size(); ++k) {
      auto r = read_part((*parts)[k], fmt::format("{}.parts[{}]", field, k), m.parts, results);
      if (!r) return r.take_error();
    }
    for (auto& r : results) req.messages.push_back(llm::Message{llm::Role::tool, {std::move(r)}});
    if (!m.parts.empty()) req.messages.push_back(std::move(m));
  }
  return {};
}

Result<void> read_tools(const Json& tools, llm::ChatRequest& req) {
  if (!tools.is_array()) return bad("tools", "expected an array");
  for (std::size_t i = 0; i < tools.size(); ++i) {
    const std::string field = fmt::format("tools[{}]", i);
    if (!tools[i].is_object()) return bad(field, "expected an object");
    const Json* decls = member(tools[i], "functionDeclarations", "function_declarations");
    if (!decls) continue;  // search and code-execution tools
    if (!decls->is_array()) return bad(field + ".functionDeclarations", "expected an array");
    for (std::size_t k = 0; k < decls->size(); ++k) {
      const std::string f = fmt::format("{}.functionDeclarations[{}]", field, k);
      const Json& d = (*decls)[k];
      if (!d.is_object()) return bad(f, "expected an object");
      llm::Tool t;
      auto name = string_at(d, "name", f);
      if (!name) return name.take_error();
      if (name->empty()) return bad(f + ".name", "missing");
      t.name = std::move(*name);
      auto desc = string_at(d, "description", f);
      if (!desc) return desc.take_error();
      t.description = std::move(*desc);
      if (const Json* s = member(d, "parametersJsonSchema", "parameters_json_schema"))
        t.parameters = s->dump();
      else if (const Json* s2 = member(d, "parameters"))
        t.parameters = s2->dump();
      req.tools.push_back(std::move(t));
    }
  }
  return {};
}

Result<void> read_config(const Json& g, llm::ChatRequest& req) {
  if (!g.is_object()) return bad("generationConfig", "expected an object");
  if (const Json* v = member(g, "maxOutputTokens", "max_output_tokens")) {
    if (!v->is_number_integer())
      return bad("generationConfig.maxOutputTokens", "expected an integer");
    req.max_tokens = v->get<std::int64_t>();
  }
  if (const Json* v = member(g, "temperature")) {
    if (!v->is_number()) return bad("generationConfig.temperature", "expected a number");
    req.temperature = v->get<double>();
  }
  if (const Json* v = member(g, "topP", "top_p")) {
    if (!v->is_number()) return bad("generationConfig.topP", "expected a number");
    req.top_p = v->get<double>();
  }
  if (const Json* v = member(g, "seed")) {
    if (!v->is_number_integer()) return bad("generationConfig.seed", "expected an integer");
    req.seed = v->get<std::int64_t>();
  }
  if (const Json* v = member(g, "stopSequences", "stop_sequences")) {
    if (!v->is_array()) return bad("generationConfig.stopSequences", "expected an array");
    for (const auto& s : *v) {
      if (!s.is_string()) return bad("generationConfig.stopSequences", "expected strings");
      req.stop.push_back(s.get<std::string>());
    }
  }
  return {};
}

}  // namespace

Result<llm::ChatRequest> parse_gemini_request(Json&& body) {
  llm::ChatRequest req;
  if (!body.is_object()) return bad("body", "expected a JSON object");
  if (const Json* sys = member(body, "systemInstruction", "system_instruction")) {
    if (!sys->is_object()) return bad("systemInstruction", "expected an object");
    const Json* parts = member(*sys, "parts");
    if (!parts || !parts->is_array()) return bad("systemInstruction.parts", "expected an array");
    std::vector<llm::Part> results;
    for (std::size_t k = 0; k < parts->size(); ++k) {
      auto r = read_part((*parts)[k], fmt::format("systemInstruction.parts[{}]", k), req.system,
                         results);
      if (!r) return r.take_error();
    }
  }
  if (const Json* c = member(body, "contents")) {
    auto r = read_contents(*c, req);
    if (!r) return r.take_error();
  }
  if (const Json* t = member(body, "tools")) {
    auto r = read_tools(*t, req);
    if (!r) return r.take_error();
  }
  if (const Json* g = member(body, "generationConfig", "generation_config")) {
    auto r = read_config(*g, req);
    if (!r) return r.take_error();
  }
  return req;
}

}  // namespace sluice::chaos::detail
