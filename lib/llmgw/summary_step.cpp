// summarize: which prefix of the conversation to summarise, and its summary. A conversation that
// grows by one turn per request would otherwise drop one more turn, and need a new summary, on
// every request. Instead the prefix is cut a step further than needed (until the kept turns fill
// half the room), and later requests reuse that summary until the window forces the next step.
#include <fmt/format.h>

#include "request_policy.hpp"
#include "services.hpp"
#include "sluice/llm/token_cache.hpp"
#include "summarizer.hpp"

namespace sluice::llmgw {

net::awaitable<Result<std::string>> RequestPolicy::summarize_prefix(
    const llm::RawChat& chat, const std::vector<llm::Turn>& turns, const llm::ContextPlan& plan,
    const llm::ContextBudget& b, const config::ContextPolicy& pol, std::vector<bool>& keep) {
  const std::size_t n = turns.size();
  std::size_t sys = 0;
  while (sys < n && turns[sys].role == llm::Role::system) ++sys;
  std::vector<bool> unpaired(n, false);
  for (auto i : plan.unpaired) unpaired[i] = true;
  // The plan's prefix ends after its last dropped turn that is not an orphan.
  std::size_t need = sys;
  for (auto i : plan.dropped)
    if (!unpaired[i]) need = std::max(need, i + 1);
  // The newest user turn starts what may never be dropped.
  std::size_t last = n;
  for (std::size_t i = n; i-- > sys;)
    if (turns[i].role == llm::Role::user) {
      last = i;
      break;
    }
  if (last == n) last = need;
  // Valid cuts: no tool call before the cut is answered after it.
  std::vector<bool> valid(n + 1, false);
  {
    std::set<std::string> open;
    for (std::size_t j = sys; j <= n; ++j) {
      valid[j] = open.empty();
      if (j == n) break;
      for (const auto& id : turns[j].calls) open.insert(id);
      for (const auto& id : turns[j].results) open.erase(id);
    }
  }
  // The room the kept turns may fill, and the step target: half of it.
  std::size_t room = b.window;
  for (std::size_t x : {b.fixed, b.reserve_output, b.summary_reserve})
    room = room > x ? room - x : 0;
  for (std::size_t i = 0; i < sys; ++i) room = room > turns[i].tokens ? room - turns[i].tokens : 0;
  std::vector<std::size_t> tail(n + 1, 0);  // tokens of the kept turns from j on (no orphans)
  for (std::size_t j = n; j-- > sys;) tail[j] = tail[j + 1] + (unpaired[j] ? 0 : turns[j].tokens);
  // Prefix hashes, so a summary cached by an earlier request is found. The summary's token
  // budget is part of the key: one written for a larger window may not fit a smaller one.
  const auto budget = static_cast<std::uint64_t>(summary_budget(pol, b.window));
  const std::uint64_t seed =
      (0x5ab1ce5u ^ std::hash<std::string>{}(pol.summarizer)) + budget * 0x9e3779b97f4a7c15ull;
  std::vector<std::uint64_t> prefix(n + 1, seed);
  for (std::size_t j = sys; j < n; ++j)
    prefix[j + 1] = llm::content_hash(chat.messages[j].json, prefix[j] * 0x9e3779b97f4a7c15ull + j);
  auto cache_key = [&](std::size_t j) { return fmt::format("summary:{:016x}", prefix[j]); };
  std::optional<std::size_t> cut, cached;
  for (std::size_t j = need; j <= last; ++j) {
    if (!valid[j]) continue;
    if (route_.services().summaries.get(cache_key(j), coarse_now())) {
      cached = j;
      break;
    }
  }
  if (!cached) {
    for (std::size_t j = need; j <= last; ++j)
      if (valid[j]) {
        cut = j;
        if (tail[j] * 2 <= room) break;
      }
  }
  std::size_t j = cached ? *cached : cut.value_or(need);
  for (std::size_t i = sys; i < n; ++i)
    if (i < j || unpaired[i]) keep[i] = false;
  if (cached) {
    context_.summary = true;
    context_.summary_status = "hit";
    auto hit = route_.services().summaries.get(cache_key(j), coarse_now());
    if (hit) co_return hit->body;
  }
  const AliasRt* summarizer = route_.alias_named(pol.summarizer);
  if (!summarizer) {
    context_.summary_status = "failed";
    co_return Error{ErrorKind::config, ErrorSource::internal, Retryable::no,
                    fmt::format("no alias named \"{}\" for the summary", pol.summarizer)};
  }
  std::vector<std::string_view> dropped;
  for (std::size_t i = sys; i < j; ++i)
    if (!unpaired[i]) dropped.push_back(chat.messages[i].json);
  config::ContextPolicy capped = pol;
  capped.summary_max_tokens = summary_budget(pol, b.window);
  auto summary = co_await run_summarizer(route_, io_, *summarizer, capped,
                                         transcript_of(dropped, chat.format));
  if (!summary) {
    context_.summary_status = "failed";
    route_.metrics().summary("failed");
    co_return summary.error();
  }
  context_.summary = true;
  context_.summary_status = "miss";
  route_.metrics().summary("written");
  llm::CachedResponse c;
  c.status = 200;
  c.body = *summary;
  route_.services().summaries.put(cache_key(j), std::move(c), coarse_now());
  co_return std::move(*summary);
}

}  // namespace sluice::llmgw
