// Keys, budgets, limits and the ledger of one chat request (the context, sessions and
// injections are in context_stage.cpp).
#include "request_policy.hpp"

#include <cmath>

#include <fmt/format.h>

#include "services.hpp"
#include "sluice/core/clock.hpp"
#include "sluice/llm/context_count.hpp"
#include "sluice/llm/models.hpp"
#include "sluice/llmgw/virtual_keys.hpp"
#include "sluice/store/utc.hpp"

namespace sluice::llmgw {

namespace {

std::int64_t ceil_seconds(Duration d) {
  if (d == Duration::max()) return 60;
  return std::max<std::int64_t>(
      1, static_cast<std::int64_t>(std::ceil(std::chrono::duration<double>(d).count())));
}

}  // namespace

RequestPolicy::RequestPolicy(const LlmRoute& route, gateway::HandlerIo& io, llm::WireFormat ingress)
    : route_(route), io_(io), ingress_(ingress) {}

std::optional<PolicyRefusal> RequestPolicy::identify() {
  std::string_view presented = presented_key(io_.head());
  if (!route_.keys().empty()) key_ = route_.keys().find(presented);
  if (key_ || !route_.route().llm->require_key) return std::nullopt;
  PolicyRefusal r;
  r.status = 401;
  r.type = "invalid_api_key";
  r.message = presented.empty()
                  ? "this route requires a virtual key: send it as \"Authorization: Bearer "
                    "<key>\" or \"x-api-key: <key>\""
                  : "the key is not a virtual key of this gateway (hint: the [[keys]] table "
                    "holds each key's SHA-256)";
  return r;
}

std::optional<PolicyRefusal> RequestPolicy::check_key_and_budget(const AliasRt& alias) {
  if (!key_) return std::nullopt;
  const auto& allowed = key_->models;
  if (!allowed.empty() &&
      std::find(allowed.begin(), allowed.end(), alias.cfg->name) == allowed.end()) {
    PolicyRefusal r;
    r.status = 403;
    r.type = "model_not_allowed";
    std::string list;
    for (const auto& m : allowed) list += (list.empty() ? "" : ", ") + m;
    r.message = fmt::format("the key \"{}\" may not use the model \"{}\"; it may use: {}",
                            key_->name, alias.cfg->name, list);
    return r;
  }
  if (key_->budget_daily_usd <= 0 && key_->budget_monthly_usd <= 0) return std::nullopt;
  const std::int64_t now = unix_ms(SystemClock::instance().wall());
  std::optional<double> daily, monthly;
  if (key_->budget_daily_usd > 0) daily = key_->budget_daily_usd;
  if (key_->budget_monthly_usd > 0) monthly = key_->budget_monthly_usd;
  auto verdict = route_.services().budgets.check(key_->name, daily, monthly, now);
  if (verdict.exhausted == store::Exhausted::none) return std::nullopt;
  const bool month = verdict.exhausted == store::Exhausted::month;
  auto spent = route_.services().budgets.state(key_->name, now);
  PolicyRefusal r;
  r.status = 402;
  r.type = "budget_exceeded";
  std::int64_t reset_s = std::max<std::int64_t>(1, (verdict.resets_at_ms - now + 999) / 1000);
  r.message = fmt::format(
      "the key \"{}\" has spent ${:.6f} of its {} budget of ${:.6f}; it resets in {} s (at {})",
      key_->name, month ? spent.month_spent : spent.day_spent, month ? "monthly" : "daily",
      month ? *monthly : *daily, reset_s, store::utc_timestamp(verdict.resets_at_ms));
  r.headers.push_back({"retry-after", std::to_string(reset_s)});
  return r;
}

net::awaitable<std::optional<PolicyRefusal>> RequestPolicy::prepare(std::string& body,
                                                                    const AliasRt& alias,
                                                                    std::string_view client_model) {
  alias_ = &alias;
  std::string_view model = client_model;
  if (!alias.targets.empty() && !alias.targets.front().cfg->model.empty())
    model = alias.targets.front().cfg->model;
  if (auto enc = llm::encoding_for_model(model)) {
    encoding_ = enc->encoding;
    count_factor_ = enc->estimate ? enc->factor : 1.0;
  }
  if (auto r = check_key_and_budget(alias)) co_return r;
  if (auto s = apply_session(body); !s) {
    PolicyRefusal r;
    // The client's mistakes (a bad session id, a body that is not a chat, a session of another
    // API) are 4xx; only the store failing is the gateway's 500.
    const bool client = s.error().source == ErrorSource::downstream;
    const bool conflict = client && s.error().kind == ErrorKind::usage;
    r.status = conflict ? 409 : (client ? 400 : 500);
    r.type =
        conflict ? "session_conflict" : (client ? "invalid_request_error" : "session_store_error");
    r.message = s.error().message;
    co_return r;
  }
  apply_injections(body, alias, client_model);
  auto refused = co_await apply_context(body, alias);
  if (refused) co_return refused;
  co_return admit(body, alias);
}

std::optional<PolicyRefusal> RequestPolicy::admit(const std::string& body, const AliasRt& alias) {
  std::vector<LimitScope> scopes;
  if (key_) scopes.push_back({"key:" + key_->name, key_->limits});
  scopes.push_back({"model:" + alias.cfg->name, alias.cfg->limits});
  scopes.push_back({"route:" + route_.route().name, route_.route().llm->limits});
  const TimePoint now = coarse_now();
  admission_ = Admission(route_.services().buckets, scopes, now);
  if (!admission_.limited()) return std::nullopt;
  std::uint64_t tokens = 0;
  if (admission_.limits_tokens()) {
    auto chat = llm::split_chat(body, ingress_);
    if (chat) {
      if (!prompt_tokens_) {
        auto count = llm::count_context(*chat, tokenizer(), llm::chat_rules_for("", encoding_),
                                        &route_.services().tokens);
        if (count)
          prompt_tokens_ = static_cast<std::size_t>(
              std::ceil(static_cast<double>(count->total()) * count_factor_));
      }
      if (route_.route().llm->reserve_output && chat->max_tokens && *chat->max_tokens > 0)
        reserved_ = static_cast<std::uint64_t>(*chat->max_tokens);
    }
    tokens = prompt_tokens_.value_or(0) + reserved_;
  }
  auto refusal = admission_.admit(tokens, now);
  if (!refusal) {
    admitted_ = true;
    prompt_debited_ = admission_.limits_tokens() ? prompt_tokens_.value_or(0) : 0;
    return std::nullopt;
  }
  PolicyRefusal r;
  r.status = 429;
  r.type = "rate_limit_exceeded";
  r.message = refusal->message();
  r.headers.push_back({"retry-after", std::to_string(ceil_seconds(refusal->retry_after))});
  for (auto& h : admission_.headers(now)) r.headers.push_back({h.name, h.value});
  route_.metrics().limited(refusal->scope, refusal->tokens ? "tokens" : "requests");
  return r;
}

std::vector<gateway::Header> RequestPolicy::headers() const {
  std::vector<gateway::Header> h;
  if (context_.applied) {
    h.push_back({"x-sluice-context-tokens-before", std::to_string(context_.before)});
    h.push_back({"x-sluice-context-tokens-after", std::to_string(context_.after)});
    h.push_back({"x-sluice-context-dropped-turns", std::to_string(context_.dropped)});
    if (!context_.summary_status.empty())
      h.push_back({"x-sluice-context-summary", context_.summary_status});
  }
  if (admitted_)
    for (auto& l : admission_.headers(coarse_now())) h.push_back({l.name, l.value});
  return h;
}

const llm::Tokenizer& RequestPolicy::tokenizer() const {
  return llm::Tokenizer::get(encoding_);
}

bool RequestPolicy::on_output(std::string_view text) {
  if (!admitted_ || !admission_.limits_tokens() || text.empty()) return false;
  auto n = static_cast<std::uint64_t>(
      std::ceil(static_cast<double>(tokenizer().count(text)) * count_factor_));
  const TimePoint now = coarse_now();
  // Output covered by a reservation is already taken.
  std::uint64_t covered =
      std::min<std::uint64_t>(n, reserved_ > output_debited_ ? reserved_ - output_debited_ : 0);
  admission_.debit(n - covered, now);
  output_debited_ += n;
  return route_.route().llm->cut_streams && admission_.exhausted(now);
}

void RequestPolicy::complete(const std::optional<llm::Usage>& usage, double cost_usd, int status,
                             std::string_view provider, std::string_view model,
                             std::string_view reply) {
  if (completed_) return;
  completed_ = true;
  const TimePoint now = coarse_now();
  if (admitted_ && admission_.limits_tokens()) {
    // The provider's counts replace the gateway's (the prompt counted at admission, the output
    // as it streamed); an unused reservation goes back. A request no provider answered, with
    // nothing streamed, consumed no tokens: its prompt goes back too.
    const bool consumed = usage || output_debited_ > 0 || (status >= 200 && status < 300);
    std::uint64_t in = usage ? static_cast<std::uint64_t>(std::max<std::int64_t>(0, usage->input))
                             : (consumed ? prompt_debited_ : 0);
    std::uint64_t out = usage ? static_cast<std::uint64_t>(std::max<std::int64_t>(0, usage->output))
                              : output_debited_;
    std::uint64_t now_used = in + out;
    std::uint64_t charged = prompt_debited_ + std::max(output_debited_, reserved_);
    if (now_used > charged)
      admission_.debit(now_used - charged, now);
    else if (charged > now_used)
      admission_.credit(charged - now_used, now);
  }
  const std::int64_t ms = unix_ms(SystemClock::instance().wall());
  if (key_ && cost_usd > 0) route_.services().budgets.add(key_->name, cost_usd, ms);
  if (alias_) {
    store::UsageRow row;
    row.ts_ms = ms;
    row.request_id = io_.request_id();
    row.key = key_ ? key_->name : "";
    row.route = route_.route().name;
    row.alias = alias_->cfg->name;
    row.provider = std::string(provider);
    row.model = std::string(model);
    row.input_tokens = usage ? usage->input : 0;
    row.output_tokens = usage ? usage->output : 0;
    row.cost_usd = cost_usd;
    row.status = status;
    route_.services().ledger->record(std::move(row));
  }
  if (!session_id_.empty() && status >= 200 && status < 300 && !reply.empty()) {
    session_new_.emplace_back(reply);
    auto r = route_.sessions()->append(session_id_, llm::to_string(ingress_), session_new_, ms);
    if (!r) route_.metrics().session_error();
    (void)route_.sessions()->purge_due(ms);
  }
}

}  // namespace sluice::llmgw
