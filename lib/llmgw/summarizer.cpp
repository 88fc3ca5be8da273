#include "summarizer.hpp"

#include <fmt/format.h>

#include "sluice/gateway/upstream_call.hpp"
#include "sluice/gateway/worker.hpp"
#include "sluice/llm/wire.hpp"
#include "walker.hpp"

namespace sluice::llmgw {

namespace {

constexpr std::string_view kInstruction =
    "You condense the earlier part of a conversation so that it can continue without it. Write "
    "a brief summary that keeps every fact, name, number, decision, tool result and open "
    "question the conversation may still need. Write only the summary.";

// A member's text, or "" when it is absent or not a string (never a type_error).
std::string str(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string content_text(const nlohmann::json& content) {
  if (content.is_string()) return content.get<std::string>();
  std::string out;
  if (!content.is_array()) return out;
  for (const auto& part : content) {
    if (!part.is_object()) continue;
    std::string type = str(part, "type");
    std::string piece;
    if ((type == "text" || type == "input_text") && part.contains("text") &&
        part["text"].is_string()) {
      piece = part["text"].get<std::string>();
    } else if (type == "tool_use") {
      piece = fmt::format(
          "[called {}({})]", str(part, "name"),
          part.contains("input")
              ? part["input"].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
              : "");
    } else if (type == "tool_result") {
      piece = "[tool result] " +
              content_text(part.contains("content") ? part["content"] : nlohmann::json());
    } else if (type == "image_url" || type == "image") {
      piece = "[image]";
    }
    if (piece.empty()) continue;
    if (!out.empty()) out += '\n';
    out += piece;
  }
  return out;
}

}  // namespace

std::string transcript_of(const std::vector<std::string_view>& messages, llm::WireFormat format) {
  std::string out;
  for (auto raw : messages) {
    auto m = nlohmann::json::parse(raw, nullptr, false);
    if (!m.is_object()) continue;
    std::string role =
        m.contains("role") && m["role"].is_string() ? m["role"].get<std::string>() : "user";
    std::string text = m.contains("content") ? content_text(m["content"]) : "";
    if (m.contains("tool_calls") && m["tool_calls"].is_array())
      for (const auto& c : m["tool_calls"]) {
        if (!c.is_object() || !c.contains("function") || !c["function"].is_object()) continue;
        const auto& f = c["function"];
        text += fmt::format("{}[called {}({})]", text.empty() ? "" : "\n", str(f, "name"),
                            str(f, "arguments"));
      }
    if (text.empty()) continue;
    out += fmt::format("{}: {}\n\n", role, text);
  }
  return out;
}

net::awaitable<Result<std::string>> run_summarizer(const LlmRoute& route, gateway::HandlerIo& io,
                                                   const AliasRt& alias,
                                                   const config::ContextPolicy& pol,
                                                   std::string transcript) {
  const auto deadline = std::chrono::steady_clock::now() + pol.summary_timeout;
  llm::ChatRequest req;
  req.system.push_back(llm::text_part(std::string(kInstruction)));
  llm::Message m;
  m.role = llm::Role::user;
  m.parts.push_back(llm::text_part(std::move(transcript)));
  req.messages.push_back(std::move(m));
  req.max_tokens = pol.summary_max_tokens;
  req.temperature = 0;
  std::string why = "no target could be tried";
  TargetWalker walk(route, alias, walk_rng());
  for (const TargetRt* t = walk.next(coarse_now()); t; t = walk.next(coarse_now())) {
    auto left = std::chrono::duration_cast<Duration>(deadline - std::chrono::steady_clock::now());
    if (left <= Duration::zero()) {
      why = fmt::format(
          "the summary took longer than {} ms",
          std::chrono::duration_cast<std::chrono::milliseconds>(pol.summary_timeout).count());
      break;
    }
    const Provider& p = route.providers()[t->provider];
    const upstream::Cluster* cluster = io.runtime().cluster(p.name());
    if (!cluster) continue;
    req.model = t->cfg->model.empty() ? alias.cfg->name : t->cfg->model;
    llm::WriteOptions opt;
    auto j = llm::write_request(req, p.format(), opt);
    if (!j) {
      why = j.error().message;
      continue;
    }
    std::string body = j->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    std::string target = p.chat_target(req.model, false);
    gateway::UpstreamRequest ur;
    ur.method = "POST";
    ur.target = target;
    ur.host = p.config().host_header;
    ur.headers = &p.headers();
    ur.body = body;
    ur.timeout = std::min(left, p.config().timeout);
    ur.idle_timeout = ur.timeout;
    gateway::UpstreamCall call(io.worker(), *cluster);
    gateway::CallError e = co_await call.start(ur);
    if (e != gateway::CallError::none) {
      why = fmt::format("provider {}: {}", p.name(), gateway::to_string(e));
      continue;
    }
    std::string resp;
    e = co_await call.read_all(resp, route.max_body_bytes());
    if (e != gateway::CallError::none) {
      why = fmt::format("provider {}: {}", p.name(), gateway::to_string(e));
      continue;
    }
    if (call.status() < 200 || call.status() >= 300) {
      why = fmt::format("provider {} answered {}", p.name(), call.status());
      if (call.status() == 429 || call.status() >= 500)
        t->state->failure(alias.cooldown, coarse_now(), std::nullopt);
      continue;
    }
    auto parsed_json = nlohmann::json::parse(resp, nullptr, false);
    if (parsed_json.is_discarded()) {
      why = fmt::format("provider {} answered with a body that is not JSON", p.name());
      continue;
    }
    auto parsed = llm::parse_response(std::move(parsed_json), p.format());
    if (!parsed || parsed->text.empty()) {
      why = fmt::format("provider {} gave no summary text", p.name());
      continue;
    }
    t->state->success(call.ttfb_ms());
    co_return parsed->text;
  }
  co_return Error{ErrorKind::no_upstream, ErrorSource::upstream, Retryable::yes,
                  fmt::format("summarizer \"{}\": {}", alias.cfg->name, why)};
}

}  // namespace sluice::llmgw
