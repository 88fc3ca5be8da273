// What chaos assertions read of the requests an LLM mock recorded (llm_mock.hpp): the model, the
// system prompt, the messages, the prompt tokens the mock counted and the body as JSON. Keep this
// list in step with man/sluice-scenario.5 (ASSERTION NAMES) and run_scope_mocks.cpp.
//
//   REQ.provider          "openai", "anthropic" or "gemini"; null for requests to other mocks
//   REQ.model             the model asked for (Gemini: from the URL)
//   REQ.system            the system prompt's text ("" when there is none)
//   REQ.messages          list of message objects, the system prompt first when there is one;
//                         each has role, content (its text) and tool_calls (the names called)
//   REQ.message(I)        one of them (-1: the last)
//   REQ.message_count     how many; REQ.roles the list of their roles
//   REQ.tools             the names of the tools offered
//   REQ.stream            whether a stream was asked for
//   REQ.max_tokens        the max tokens asked for, or null
//   REQ.prompt_tokens     the prompt tokens the mock counted (null when it did not count)
//   REQ.completion_tokens the tokens of its reply (null when it did not answer)
//   REQ.json              the body as JSON: objects give members by key (null when absent),
//                         arrays give lists
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <memory>

#include <fmt/format.h>

#include "run_scope.hpp"
#include "sluice/chaos/llm_mock.hpp"

namespace sluice::chaos::detail {

using expr::Arguments;
using expr::Kind;
using expr::Object;
using expr::Value;
using Json = nlohmann::json;

namespace {

struct MessageView {
  std::string role;
  std::string content;
  std::vector<std::string> tool_calls;
};

struct JsonView {
  std::shared_ptr<const Json> root;
  const Json* at = nullptr;
};

std::string_view role_name(llm::Role r) {
  switch (r) {
    case llm::Role::system:
      return "system";
    case llm::Role::user:
      return "user";
    case llm::Role::assistant:
      return "assistant";
    case llm::Role::tool:
      return "tool";
  }
  return "user";
}

std::string text_of(const std::vector<llm::Part>& parts) {
  std::string out;
  for (const auto& p : parts) {
    if (p.kind != llm::Part::Kind::text && p.kind != llm::Part::Kind::tool_result) continue;
    if (!out.empty()) out += "\n";
    out += p.text;
  }
  return out;
}

Value json_value(const std::shared_ptr<const Json>& root, const Json& j, const std::string& id) {
  switch (j.type()) {
    case Json::value_t::null:
    case Json::value_t::discarded:
      return Value::null();
    case Json::value_t::boolean:
      return Value::boolean(j.get<bool>());
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float:
      return Value::number(j.get<double>());
    case Json::value_t::string:
      return Value::string(j.get<std::string>());
    case Json::value_t::array: {
      std::vector<Value> items;
      for (std::size_t i = 0; i < j.size(); ++i)
        items.push_back(json_value(root, j[i], fmt::format("{}[{}]", id, i)));
      return Value::list(std::move(items));
    }
    default:
      return Value::object(Object{"json", id, std::make_shared<JsonView>(JsonView{root, &j})});
  }
}

Value note_number(const RecordedRequest& r, std::string_view key) {
  const std::string* v = r.note(key);
  if (!v) return Value::null();
  char* end = nullptr;
  double n = std::strtod(v->c_str(), &end);
  return end && *end == '\0' ? Value::number(n) : Value::null();
}

// The request parsed, with the system prompt as a first message.
struct Parsed {
  llm::ChatRequest req;
  std::vector<MessageView> messages;
};

Result<Parsed> parse(const Object& o, const RecordedRequest& r, LlmProvider p) {
  if (r.body.size() < r.body_bytes)
    return scope_error(fmt::format(
        "{}: the body was cut at {} bytes in the record, so its messages cannot be read "
        "(hint: prompt_tokens and the counts still hold)",
        o.id, r.body.size()));
  auto req = parse_llm_mock_request(p, r.body);
  if (!req) return scope_error(fmt::format("{}: {}", o.id, req.error().message));
  Parsed out;
  out.req = std::move(*req);
  if (p == LlmProvider::gemini) {
    std::string_view path =
        std::string_view(r.request.target).substr(0, r.request.target.find('?'));
    auto at = path.rfind("/models/");
    if (at != std::string_view::npos) {
      std::string_view rest = path.substr(at + 8);
      out.req.model = std::string(rest.substr(0, rest.rfind(':')));
    }
    out.req.stream = path.ends_with(":streamGenerateContent");
  }
  if (!out.req.system.empty()) out.messages.push_back({"system", text_of(out.req.system), {}});
  for (const auto& m : out.req.messages) {
    MessageView v{std::string(role_name(m.role)), text_of(m.parts), {}};
    for (const auto& part : m.parts)
      if (part.kind == llm::Part::Kind::tool_call) v.tool_calls.push_back(part.name);
    out.messages.push_back(std::move(v));
  }
  return out;
}

Value message_value(const std::string& id, std::size_t i, const MessageView& m) {
  return Value::object(
      Object{"message", fmt::format("{}.message({})", id, i), std::make_shared<MessageView>(m)});
}

const std::vector<std::string> kLlmMembers = {
    "provider", "model",  "system",     "messages",      "message_count",     "roles",
    "tools",    "stream", "max_tokens", "prompt_tokens", "completion_tokens", "json"};

}  // namespace

const std::vector<std::string>& llm_request_members() {
  return kLlmMembers;
}

std::optional<std::string> llm_system_text(const RecordedRequest& r) {
  const std::string* provider = r.note("llm.provider");
  if (!provider || r.body.size() < r.body_bytes) return std::nullopt;
  auto req =
      parse_llm_mock_request(llm_provider_named(*provider).value_or(LlmProvider::openai), r.body);
  if (!req) return std::nullopt;
  return text_of(req->system);
}

std::optional<Result<Value>> llm_request_member(const Object& o, const RecordedRequest& r,
                                                std::string_view name) {
  if (std::find(kLlmMembers.begin(), kLlmMembers.end(), name) == kLlmMembers.end() &&
      name != "message")
    return std::nullopt;
  if (name == "message")
    return Result<Value>(scope_error(
        fmt::format("{}.message is a method (hint: call it, as in {}.message(0))", o.id, o.id)));
  if (name == "prompt_tokens") return Result<Value>(note_number(r, "llm.prompt_tokens"));
  if (name == "completion_tokens") return Result<Value>(note_number(r, "llm.completion_tokens"));
  const std::string* provider = r.note("llm.provider");
  if (name == "provider") return Result<Value>(provider ? Value::string(*provider) : Value::null());
  if (name == "json") {
    auto j = std::make_shared<Json>(Json::parse(r.body, nullptr, false));
    if (j->is_discarded())
      return Result<Value>(scope_error(fmt::format("{}: the body is not JSON", o.id)));
    return Result<Value>(json_value(j, *j, o.id + ".json"));
  }
  if (!provider)
    return Result<Value>(scope_error(
        fmt::format("{}.{}: the request did not go to an LLM mock (hint: give the mock a "
                    "[mocks.llm] table)",
                    o.id, name)));
  auto p = llm_provider_named(*provider).value_or(LlmProvider::openai);
  auto parsed = parse(o, r, p);
  if (!parsed) return Result<Value>(parsed.take_error());
  const auto& req = parsed->req;
  if (name == "model") return Result<Value>(Value::string(req.model));
  if (name == "system") return Result<Value>(Value::string(text_of(req.system)));
  if (name == "stream") return Result<Value>(Value::boolean(req.stream));
  if (name == "max_tokens")
    return Result<Value>(req.max_tokens ? Value::number(static_cast<double>(*req.max_tokens))
                                        : Value::null());
  if (name == "message_count")
    return Result<Value>(Value::number(static_cast<double>(parsed->messages.size())));
  std::vector<Value> items;
  if (name == "tools") {
    for (const auto& t : req.tools) items.push_back(Value::string(t.name));
  } else if (name == "roles") {
    for (const auto& m : parsed->messages) items.push_back(Value::string(m.role));
  } else {  // messages
    for (std::size_t i = 0; i < parsed->messages.size(); ++i)
      items.push_back(message_value(o.id, i, parsed->messages[i]));
  }
  return Result<Value>(Value::list(std::move(items)));
}

std::optional<Result<Value>> llm_request_method(const Object& o, const RecordedRequest& r,
                                                std::string_view name, const Arguments& args) {
  if (name != "message") return std::nullopt;
  if (args.positional.size() != 1 || !args.keyword.empty() || !args.positional[0].is(Kind::number))
    return Result<Value>(scope_error(
        fmt::format("message takes an index, as in {}.message(0) (-1: the last)", o.id)));
  auto all = llm_request_member(o, r, "messages");
  if (!all->ok()) return all;
  const auto& list = (*all)->as_list();
  double i = args.positional[0].as_number();
  auto n = static_cast<double>(list.size());
  if (i < 0) i += n;
  if (i < 0 || i >= n || i != std::floor(i))
    return Result<Value>(
        scope_error(fmt::format("{}.message({}): the request has {} message{}", o.id,
                                expr::format_number(args.positional[0].as_number()), list.size(),
                                list.size() == 1 ? "" : "s")));
  return Result<Value>(list[static_cast<std::size_t>(i)]);
}

void fill_llm_scope(expr::MapScope& scope) {
  scope.members("message", [](const Object& o, std::string_view name) -> Result<Value> {
    const auto* m = static_cast<const MessageView*>(o.data.get());
    if (name == "role") return Value::string(m->role);
    if (name == "content") return Value::string(m->content);
    if (name == "tool_calls") {
      std::vector<Value> names;
      for (const auto& t : m->tool_calls) names.push_back(Value::string(t));
      return Value::list(std::move(names));
    }
    return expr::unknown_member(Value::object(o), name, {"role", "content", "tool_calls"});
  });
  scope.members("json", [](const Object& o, std::string_view name) -> Result<Value> {
    const auto* v = static_cast<const JsonView*>(o.data.get());
    auto it = v->at->find(name);
    if (it == v->at->end()) return Value::null();
    return json_value(v->root, *it, fmt::format("{}.{}", o.id, name));
  });
}

}  // namespace sluice::chaos::detail
