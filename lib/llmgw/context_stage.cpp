// The request body's preparation before the provider sees it: a server-side session's history,
// injected instructions, and the context-window policy (trim, or summarise what is dropped).
#include <algorithm>
#include <cmath>
#include <ctime>
#include <set>

#include <fmt/format.h>

#include "request_policy.hpp"
#include "services.hpp"
#include "sluice/core/clock.hpp"
#include "sluice/llm/context_count.hpp"
#include "sluice/llm/context_policy.hpp"
#include "summarizer.hpp"

namespace sluice::llmgw {

namespace {

constexpr std::string_view kSummaryLead = "Summary of the earlier conversation:\n";

bool valid_session_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (unsigned char c : id)
    if (c <= 0x20 || c >= 0x7f) return false;
  return true;
}

std::size_t leading_system(const llm::RawChat& chat) {
  std::size_t n = 0;
  while (n < chat.messages.size() && chat.messages[n].role == llm::Role::system) ++n;
  return n;
}

// Where a stored history may start. The store's message cap drops the oldest messages one at a
// time, which can leave a tool result whose call is gone (every provider refuses that with a 400)
// or, for Anthropic, a first message that is not the user's. The history sent starts at its
// oldest user turn; what comes before it is skipped (the store keeps it until the cap drops it).
std::size_t history_start(const std::vector<std::string>& history, llm::WireFormat format) {
  // Only the leading messages are read, one at a time: usually the first is the user's.
  for (std::size_t i = 0; i < history.size(); ++i) {
    const std::string one = fmt::format("{{\"messages\":[{}]}}", history[i]);
    auto chat = llm::split_chat(one, format);
    if (!chat || chat->messages.size() != 1) return i;  // unreadable: left to the provider
    if (chat->messages[0].role == llm::Role::user && !chat->messages[0].results_only) return i;
  }
  return history.size();
}

// Anthropic refuses messages whose first is not the user's. A trimmed conversation can start
// with an assistant reply (or its tool results): those are dropped too, up to the oldest kept
// user turn. The newest user turn and what follows it are always kept.
void anthropic_user_first(const std::vector<llm::Turn>& turns, std::vector<bool>& keep) {
  std::size_t newest_user = turns.size();
  for (std::size_t i = turns.size(); i-- > 0;)
    if (turns[i].role == llm::Role::user) {
      newest_user = i;
      break;
    }
  for (std::size_t i = 0; i < newest_user; ++i) {
    if (!keep[i] || turns[i].role == llm::Role::system) continue;
    if (turns[i].role == llm::Role::user) return;
    for (std::size_t j = newest_user; j < turns.size(); ++j)
      for (const auto& id : turns[j].results)
        if (std::find(turns[i].calls.begin(), turns[i].calls.end(), id) != turns[i].calls.end())
          return;  // its results are in the mandatory suffix: the group stays whole
    keep[i] = false;
  }
}

llm::ContextStrategy strategy_of(config::ContextStrategy s) {
  switch (s) {
    case config::ContextStrategy::reject:
      return llm::ContextStrategy::reject;
    case config::ContextStrategy::truncate_oldest:
      return llm::ContextStrategy::truncate_oldest;
    case config::ContextStrategy::middle_out:
      return llm::ContextStrategy::middle_out;
    case config::ContextStrategy::summarize:
      return llm::ContextStrategy::summarize;
  }
  return llm::ContextStrategy::truncate_oldest;
}

std::size_t scale(std::size_t n, double factor) {
  return factor == 1.0 ? n : static_cast<std::size_t>(std::ceil(static_cast<double>(n) * factor));
}

}  // namespace

Result<void> RequestPolicy::apply_session(std::string& body) {
  if (!route_.sessions()) return {};
  std::string_view id = io_.head().get("x-sluice-session");
  if (id.empty()) return {};
  if (!valid_session_id(id))
    return Error{ErrorKind::protocol, ErrorSource::downstream, Retryable::no,
                 "x-sluice-session: a session id is 1 to 128 printable ASCII characters "
                 "without spaces"};
  auto chat = llm::split_chat(body, ingress_);
  if (!chat) return chat.error();
  // A virtual key's sessions are its own: stored as "KEYNAME ID" (ids have no spaces), so
  // another key, or a client without one, naming the same id gets a different session.
  std::string stored_id = key_ ? fmt::format("{} {}", key_->name, id) : std::string(id);
  auto stored = route_.sessions()->load(stored_id, unix_ms(SystemClock::instance().wall()));
  if (!stored) return stored.error();
  const std::string_view format = llm::to_string(ingress_);
  if (*stored && !(*stored)->format.empty() && (*stored)->format != format)
    return Error{ErrorKind::usage, ErrorSource::downstream, Retryable::no,
                 fmt::format("session \"{}\" holds {} messages; this request is {} (hint: use "
                             "one API per session, or a new session id)",
                             id, (*stored)->format, format)};
  session_id_ = std::move(stored_id);
  // The system prompt is the request's own: it is not stored (send it every time, or inject it).
  const std::size_t sys = leading_system(*chat);
  llm::Rebuild rb;
  for (std::size_t i = 0; i < sys; ++i) rb.messages.push_back(chat->messages[i].json);
  if (*stored) {
    const auto& history = (*stored)->messages;
    for (std::size_t i = history_start(history, ingress_); i < history.size(); ++i)
      rb.messages.push_back(history[i]);
  }
  for (std::size_t i = sys; i < chat->messages.size(); ++i) {
    rb.messages.push_back(chat->messages[i].json);
    session_new_.emplace_back(chat->messages[i].json);
  }
  rb.leading_system = sys;
  if (!*stored || (*stored)->messages.empty()) return {};
  std::string rebuilt = llm::rebuild(*chat, rb);
  body = std::move(rebuilt);
  rewrote_ = true;
  return {};
}

std::string RequestPolicy::expand(std::string_view text, std::string_view model) const {
  if (text.find("{{") == std::string_view::npos) return std::string(text);
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char date[16], datetime[32];
  std::strftime(date, sizeof date, "%Y-%m-%d", &tm);
  std::strftime(datetime, sizeof datetime, "%Y-%m-%dT%H:%M:%SZ", &tm);
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    auto open = text.find("{{", i);
    auto close = open == std::string_view::npos ? open : text.find("}}", open + 2);
    if (close == std::string_view::npos) {
      out.append(text.substr(i));
      break;
    }
    out.append(text.substr(i, open - i));
    std::string_view name = text.substr(open + 2, close - open - 2);
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
    while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
    if (name == "date") {
      out += date;
    } else if (name == "datetime") {
      out += datetime;
    } else if (name == "route") {
      out += route_.route().name;
    } else if (name == "model") {
      out += model;
    } else if (name == "key") {
      out += key_name();
    } else if (name.starts_with("key.")) {
      if (key_)
        if (auto it = key_->metadata.find(std::string(name.substr(4))); it != key_->metadata.end())
          out += it->second;
    } else {
      out.append(text.substr(open, close + 2 - open));  // unknown: left as written
    }
    i = close + 2;
  }
  return out;
}

void RequestPolicy::apply_injections(std::string& body, const AliasRt& alias,
                                     std::string_view client_model) {
  std::vector<const config::Injection*> all;
  for (const auto& in : route_.route().llm->inject) all.push_back(&in);
  for (const auto& in : alias.cfg->inject) all.push_back(&in);
  if (key_)
    for (const auto& in : key_->inject) all.push_back(&in);
  if (all.empty()) return;
  auto chat = llm::split_chat(body, ingress_);
  if (!chat) return;  // the exchange reports the body's error itself
  llm::Rebuild rb;
  std::vector<std::string> edited(chat->messages.size());
  std::optional<std::size_t> newest_user;
  for (std::size_t i = chat->messages.size(); i-- > 0;)
    if (chat->messages[i].role == llm::Role::user && !chat->messages[i].results_only) {
      newest_user = i;
      break;
    }
  for (const auto* in : all) {
    std::string text = expand(in->text, client_model);
    bool prepend = in->position == config::Injection::Position::prepend;
    if (in->role == config::Injection::Role::system) {
      if (prepend)
        rb.system_prepend.push_back(std::move(text));
      else
        rb.system_notes.push_back(std::move(text));
    } else if (newest_user) {
      std::string_view current = edited[*newest_user].empty()
                                     ? chat->messages[*newest_user].json
                                     : std::string_view(edited[*newest_user]);
      if (auto m = llm::add_text_to_message(current, text, prepend)) edited[*newest_user] = *m;
    }
  }
  for (std::size_t i = 0; i < chat->messages.size(); ++i)
    rb.messages.push_back(edited[i].empty() ? chat->messages[i].json : std::string_view(edited[i]));
  std::string rebuilt = llm::rebuild(*chat, rb);
  body = std::move(rebuilt);
  rewrote_ = true;
}

net::awaitable<std::optional<PolicyRefusal>> RequestPolicy::apply_context(std::string& body,
                                                                          const AliasRt& alias) {
  const config::ContextPolicy* pol =
      alias.cfg->context ? &*alias.cfg->context
                         : (route_.route().llm->context ? &*route_.route().llm->context : nullptr);
  if (!pol) co_return std::nullopt;
  std::optional<std::int64_t> window = pol->window;
  if (!window)
    for (const auto& t : alias.targets)
      if (t.cfg->context_window && (!window || *t.cfg->context_window < *window))
        window = t.cfg->context_window;
  if (!window) co_return std::nullopt;
  auto chat = llm::split_chat(body, ingress_);
  if (!chat) co_return std::nullopt;  // the exchange reports the body's error itself
  const auto rules = llm::chat_rules_for("", encoding_);
  auto count = llm::count_context(*chat, tokenizer(), rules, &route_.services().tokens);
  if (!count) co_return std::nullopt;
  std::vector<llm::Turn> turns = llm::turns_of(*chat, *count);
  for (auto& t : turns) t.tokens = scale(t.tokens, count_factor_);
  llm::ContextBudget b;
  b.window = static_cast<std::size_t>(*window);
  b.fixed = scale(count->system + count->tools + count->priming, count_factor_);
  b.fixed_system = scale(count->system, count_factor_);
  b.reserve_output = static_cast<std::size_t>(
      chat->max_tokens && *chat->max_tokens > 0 ? *chat->max_tokens : pol->reserve_output);
  const bool summarize = pol->strategy == config::ContextStrategy::summarize;
  const std::size_t note_overhead =
      llm::count_text_message(kSummaryLead, llm::Role::system, tokenizer(), rules);
  if (summarize)
    b.summary_reserve = scale(
        note_overhead + static_cast<std::size_t>(summary_budget(*pol, b.window)), count_factor_);
  auto planned = llm::plan_context(turns, b, strategy_of(pol->strategy));
  context_.applied = true;
  if (auto* refusal = std::get_if<llm::ContextRefusal>(&planned)) {
    PolicyRefusal r;
    r.status = 400;
    r.type = "context_length_exceeded";
    r.message = refusal->message;
    context_.before = refusal->total - refusal->reserve_output;  // the prompt, as on a 200
    co_return r;
  }
  auto plan = std::get<llm::ContextPlan>(std::move(planned));
  context_.before = plan.tokens_before;
  context_.after = plan.tokens_after;
  prompt_tokens_ = plan.tokens_after;
  if (!plan.changed()) co_return std::nullopt;

  std::vector<bool> keep(turns.size(), false);
  for (auto i : plan.keep) keep[i] = true;
  std::string note;
  if (summarize) {
    auto summary = co_await summarize_prefix(*chat, turns, plan, b, *pol, keep);
    if (summary) {
      note = std::string(kSummaryLead) + *summary;
    } else if (!pol->summary_fallback_truncate) {
      PolicyRefusal r;
      r.status = 400;
      r.type = "context_length_exceeded";
      r.message = fmt::format(
          "the conversation ({} tokens) does not fit the window of {} and its summary failed: "
          "{}",
          plan.tokens_before, b.window, summary.error().message);
      co_return r;
    } else {
      // Truncation instead: the same plan without room for a summary.
      auto fallback = llm::plan_context(turns, b, llm::ContextStrategy::truncate_oldest);
      if (auto* p = std::get_if<llm::ContextPlan>(&fallback)) {
        plan = std::move(*p);
        keep.assign(turns.size(), false);
        for (auto i : plan.keep) keep[i] = true;
      }
    }
  }
  if (ingress_ == llm::WireFormat::anthropic) anthropic_user_first(turns, keep);
  llm::Rebuild rb;
  std::size_t kept_tokens = 0, dropped = 0;
  for (std::size_t i = 0; i < turns.size(); ++i) {
    if (keep[i]) {
      rb.messages.push_back(chat->messages[i].json);
      kept_tokens += turns[i].tokens;
    } else {
      ++dropped;
    }
  }
  rb.leading_system = leading_system(*chat);
  if (!note.empty()) rb.system_notes.push_back(note);
  context_.dropped = dropped;
  context_.after =
      b.fixed + kept_tokens +
      (note.empty() ? 0
                    : scale(llm::count_text_message(note, llm::Role::system, tokenizer(), rules),
                            count_factor_));
  prompt_tokens_ = context_.after;
  route_.metrics().context(alias.cfg->name, dropped);
  std::string rebuilt = llm::rebuild(*chat, rb);
  body = std::move(rebuilt);
  rewrote_ = true;
  co_return std::nullopt;
}

}  // namespace sluice::llmgw
