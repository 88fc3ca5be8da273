#include "sluice/llm/context_policy.hpp"

#include <algorithm>
#include <numeric>
#include <unordered_map>

#include <fmt/format.h>

#include "sluice/llm/context_count.hpp"
#include "sluice/llm/raw_chat.hpp"

namespace sluice::llm {

namespace {

struct UnionFind {
  std::vector<std::size_t> parent;
  explicit UnionFind(std::size_t n) : parent(n) { std::iota(parent.begin(), parent.end(), 0); }
  std::size_t find(std::size_t i) {
    while (parent[i] != i) i = parent[i] = parent[parent[i]];
    return i;
  }
  void join(std::size_t a, std::size_t b) {
    a = find(a);
    b = find(b);
    if (a != b) parent[std::max(a, b)] = std::min(a, b);
  }
};

struct Ids {
  std::vector<std::size_t> callers, answerers;
};

}  // namespace

std::string_view to_string(ContextStrategy s) {
  switch (s) {
    case ContextStrategy::reject:
      return "reject";
    case ContextStrategy::truncate_oldest:
      return "truncate_oldest";
    case ContextStrategy::middle_out:
      return "middle_out";
    case ContextStrategy::summarize:
      return "summarize";
  }
  return "reject";
}

std::optional<ContextStrategy> context_strategy_named(std::string_view name) {
  for (auto s : {ContextStrategy::reject, ContextStrategy::truncate_oldest,
                 ContextStrategy::middle_out, ContextStrategy::summarize})
    if (to_string(s) == name) return s;
  return std::nullopt;
}

std::vector<Turn> turns_of(const RawChat& chat, const ContextCount& count) {
  std::vector<Turn> out;
  out.reserve(chat.messages.size());
  for (std::size_t i = 0; i < chat.messages.size(); ++i) {
    const RawMessage& m = chat.messages[i];
    Turn t;
    t.role = m.results_only ? Role::tool : m.role;
    t.tokens = i < count.message_tokens.size() ? count.message_tokens[i] : 0;
    t.calls = m.calls;
    t.results = m.results;
    out.push_back(std::move(t));
  }
  return out;
}

std::variant<ContextPlan, ContextRefusal> plan_context(std::span<const Turn> turns,
                                                       const ContextBudget& b, ContextStrategy s) {
  const std::size_t n = turns.size();
  std::size_t messages = 0;
  for (const auto& t : turns) messages += t.tokens;
  ContextPlan plan;
  plan.tokens_before = b.fixed + messages;
  if (plan.tokens_before + b.reserve_output <= b.window) {
    plan.keep.resize(n);
    std::iota(plan.keep.begin(), plan.keep.end(), 0);
    plan.tokens_after = plan.tokens_before;
    return plan;
  }

  std::size_t lead = 0;
  while (lead < n && turns[lead].role == Role::system) ++lead;

  // Tool-call groups among the turns after the leading system messages.
  UnionFind uf(n);
  std::unordered_map<std::string_view, Ids> ids;
  for (std::size_t i = lead; i < n; ++i) {
    for (const auto& c : turns[i].calls) ids[c].callers.push_back(i);
    for (const auto& r : turns[i].results) ids[r].answerers.push_back(i);
  }
  std::vector<char> broken_root(n, 0);
  for (auto& [id, who] : ids) {
    std::size_t first = who.callers.empty() ? who.answerers.front() : who.callers.front();
    for (auto i : who.callers) uf.join(first, i);
    for (auto i : who.answerers) uf.join(first, i);
  }
  std::vector<std::size_t> min_idx(n, n), max_idx(n, 0);
  for (std::size_t i = lead; i < n; ++i) {
    std::size_t r = uf.find(i);
    min_idx[r] = std::min(min_idx[r], i);
    max_idx[r] = std::max(max_idx[r], i);
  }
  for (auto& [id, who] : ids)
    if (who.callers.empty() || who.answerers.empty())
      broken_root[uf.find(who.callers.empty() ? who.answerers.front() : who.callers.front())] = 1;
  auto broken = [&](std::size_t i) { return broken_root[uf.find(i)] != 0; };

  // The mandatory suffix [m, n): from the newest user turn, grown back over groups reaching in.
  std::size_t m = n;
  for (std::size_t i = n; i > lead; --i)
    if (turns[i - 1].role == Role::user) {
      m = i - 1;
      break;
    }
  if (m == n && n > lead) m = n - 1;
  for (std::size_t i = n; i > lead && i > m; --i) m = std::min(m, min_idx[uf.find(i - 1)]);

  std::size_t sys = 0, mand = 0;
  for (std::size_t i = 0; i < lead; ++i) sys += turns[i].tokens;
  for (std::size_t i = m; i < n; ++i) mand += turns[i].tokens;
  const std::size_t summary = s == ContextStrategy::summarize ? b.summary_reserve : 0;
  const std::size_t required = b.fixed + b.reserve_output + summary + sys + mand;

  auto refuse = [&](std::string message) {
    ContextRefusal r;
    r.window = b.window;
    r.reserve_output = b.reserve_output;
    r.required = required;
    r.system_tokens = sys + b.fixed_system;
    r.newest_tokens = mand;
    r.total = plan.tokens_before + b.reserve_output;
    r.message = std::move(message);
    return r;
  };
  if (required > b.window) {
    std::string other;
    if (b.fixed > b.fixed_system)
      other +=
          fmt::format(", the tool definitions and message overhead ({})", b.fixed - b.fixed_system);
    if (summary) other += fmt::format(", the room for a summary ({})", summary);
    return refuse(fmt::format(
        "the system prompt ({} tokens), the newest user turn and what follows it ({}){} and the "
        "reserved output ({}) need {} tokens; the window is {}: shorten the system prompt or the "
        "newest message, or lower max_tokens",
        sys + b.fixed_system, mand, other, b.reserve_output, required, b.window));
  }
  if (s == ContextStrategy::reject)
    return refuse(fmt::format(
        "the conversation ({} tokens) and the reserved output ({}) need {} tokens; the window is "
        "{}: drop earlier messages, or lower max_tokens",
        plan.tokens_before, b.reserve_output, plan.tokens_before + b.reserve_output, b.window));

  // Blocks: the smallest runs of [lead, m) that no group crosses, the units kept or dropped.
  struct Block {
    std::size_t begin, end, cost;
  };
  std::vector<Block> blocks;
  for (std::size_t i = lead; i < m;) {
    Block blk{i, i, 0};
    std::size_t last = max_idx[uf.find(i)];
    for (; i <= last; ++i) {
      last = std::max(last, max_idx[uf.find(i)]);
      if (!broken(i)) blk.cost += turns[i].tokens;
    }
    blk.end = i;
    blocks.push_back(blk);
  }
  std::size_t room = b.window - required;
  std::vector<char> take(blocks.size(), 0);
  std::size_t from = 0;  // the newest-first scan stops above this block
  if (s == ContextStrategy::middle_out && !blocks.empty()) {
    // The first exchange: up to the block that opens with the next user turn.
    std::size_t f = 1, cost = blocks[0].cost;
    while (f < blocks.size() && turns[blocks[f].begin].role != Role::user) cost += blocks[f++].cost;
    if (cost <= room) {
      room -= cost;
      std::fill(take.begin(), take.begin() + static_cast<std::ptrdiff_t>(f), 1);
      from = f;
    }
  }
  for (std::size_t j = blocks.size(); j > from; --j) {
    if (blocks[j - 1].cost > room) break;
    room -= blocks[j - 1].cost;
    take[j - 1] = 1;
  }

  std::vector<char> kept(n, 0);
  std::fill(kept.begin(), kept.begin() + static_cast<std::ptrdiff_t>(lead), 1);
  std::fill(kept.begin() + static_cast<std::ptrdiff_t>(m), kept.end(), 1);
  for (std::size_t j = 0; j < blocks.size(); ++j)
    if (take[j])
      for (std::size_t i = blocks[j].begin; i < blocks[j].end; ++i) kept[i] = !broken(i);
  plan.tokens_after = b.fixed;
  for (std::size_t i = 0; i < n; ++i) {
    if (kept[i]) {
      plan.keep.push_back(i);
      plan.tokens_after += turns[i].tokens;
    } else {
      plan.dropped.push_back(i);
      if (broken(i)) plan.unpaired.push_back(i);
    }
  }
  return plan;
}

}  // namespace sluice::llm
