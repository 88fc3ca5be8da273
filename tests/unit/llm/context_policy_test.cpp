// plan_context's rules checked on thousands of generated conversations (seeded, so a failure
// reproduces): the plan fits, keeps the leading system prompt and the newest exchange, keeps or
// drops tool-call groups whole, and refuses exactly when the mandatory part cannot fit.
#include "sluice/llm/context_policy.hpp"

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include <catch2/catch.hpp>

using namespace sluice::llm;

namespace {

struct Gen {
  std::mt19937_64 rng;
  int next_id = 0;
  explicit Gen(std::uint64_t seed) : rng(seed) {}
  std::size_t uniform(std::size_t lo, std::size_t hi) {
    return std::uniform_int_distribution<std::size_t>(lo, hi)(rng);
  }
  bool chance(double p) { return std::bernoulli_distribution(p)(rng); }
  std::size_t tokens() { return chance(0.1) ? uniform(500, 4000) : uniform(1, 300); }
  std::string id() { return "call_" + std::to_string(next_id++); }
};

Turn turn(Role r, std::size_t tokens) {
  Turn t;
  t.role = r;
  t.tokens = tokens;
  return t;
}

std::vector<Turn> conversation(Gen& g) {
  std::vector<Turn> ts;
  for (std::size_t i = g.uniform(0, 2); i > 0; --i) ts.push_back(turn(Role::system, g.tokens()));
  std::size_t exchanges = g.uniform(0, 25);
  for (std::size_t e = 0; e < exchanges; ++e) {
    if (g.chance(0.05)) ts.push_back(turn(Role::system, g.tokens()));  // a system message midway
    Turn u = turn(Role::user, g.tokens());
    ts.push_back(u);
    for (std::size_t k = g.uniform(0, 3); k > 0; --k) {
      Turn a = turn(Role::assistant, g.tokens());
      std::size_t calls = g.uniform(1, 3);
      for (std::size_t c = 0; c < calls; ++c) a.calls.push_back(g.id());
      ts.push_back(a);
      bool one_message = g.chance(0.3);  // Anthropic: all results in one user message
      if (one_message) {
        Turn r = turn(g.chance(0.2) ? Role::user : Role::tool, g.tokens());  // user: with text
        r.results = a.calls;
        if (g.chance(0.03)) r.results.pop_back();  // an unanswered call
        ts.push_back(r);
      } else {
        for (const auto& id : a.calls) {
          if (g.chance(0.03)) continue;  // an unanswered call
          Turn r = turn(Role::tool, g.tokens());
          r.results.push_back(id);
          ts.push_back(r);
        }
      }
      if (g.chance(0.03)) {  // an orphan result
        Turn r = turn(Role::tool, g.tokens());
        r.results.push_back("missing_" + g.id());
        ts.push_back(r);
      }
    }
    if (e + 1 < exchanges || g.chance(0.2)) ts.push_back(turn(Role::assistant, g.tokens()));
  }
  if (g.chance(0.1) && !ts.empty()) std::shuffle(ts.begin(), ts.end(), g.rng);  // anything goes
  return ts;
}

// The oracle's view: groups by id, the leading system count, the mandatory start.
struct Oracle {
  std::size_t lead = 0, m = 0, sys = 0, mand = 0, all = 0;
  std::map<std::string, std::set<std::size_t>> members;  // id -> turns making or answering it
  std::map<std::string, bool> paired;                    // id -> has a caller and an answerer
  std::set<std::size_t> broken;                          // turns grouped with an unpaired id

  explicit Oracle(const std::vector<Turn>& ts) {
    const std::size_t n = ts.size();
    while (lead < n && ts[lead].role == Role::system) ++lead;
    std::map<std::string, std::pair<bool, bool>> seen;
    for (std::size_t i = lead; i < n; ++i) {
      for (const auto& c : ts[i].calls) members[c].insert(i), seen[c].first = true;
      for (const auto& r : ts[i].results) members[r].insert(i), seen[r].second = true;
    }
    for (auto& [id, s] : seen) paired[id] = s.first && s.second;
    // Connected groups: ids sharing a turn are one group.
    bool grew = true;
    std::map<std::string, std::set<std::size_t>> group = members;
    while (grew) {
      grew = false;
      for (auto& [id, g] : group)
        for (auto& [id2, g2] : group)
          if (id != id2 && std::any_of(g2.begin(), g2.end(), [&](auto i) { return g.count(i); }))
            for (auto i : g2) grew |= g.insert(i).second;
    }
    for (auto& [id, g] : group)
      if (!paired[id])
        for (auto i : g) broken.insert(i);
    m = n;
    for (std::size_t i = n; i > lead; --i)
      if (ts[i - 1].role == Role::user) {
        m = i - 1;
        break;
      }
    if (m == n && n > lead) m = n - 1;
    grew = true;
    while (grew) {
      grew = false;
      for (auto& [id, g] : group)
        if (std::any_of(g.begin(), g.end(), [&](auto i) { return i >= m; }) && *g.begin() < m) {
          m = *g.begin();
          grew = true;
        }
    }
    for (std::size_t i = 0; i < n; ++i) {
      all += ts[i].tokens;
      if (i < lead) sys += ts[i].tokens;
      if (i >= m) mand += ts[i].tokens;
    }
  }
};

void check(const std::vector<Turn>& ts, const ContextBudget& b, ContextStrategy s,
           std::map<std::string, int>& outcomes) {
  Oracle o(ts);
  const std::size_t n = ts.size();
  const std::size_t summary = s == ContextStrategy::summarize ? b.summary_reserve : 0;
  const bool fits = b.fixed + o.all + b.reserve_output <= b.window;
  const bool mandatory_fits = b.fixed + o.sys + o.mand + b.reserve_output + summary <= b.window;
  auto result = plan_context(ts, b, s);
  if (auto* refusal = std::get_if<ContextRefusal>(&result)) {
    outcomes["refused"]++;
    REQUIRE(!fits);
    REQUIRE((s == ContextStrategy::reject || !mandatory_fits));
    CHECK(!refusal->message.empty());
    CHECK(refusal->window == b.window);
    if (!mandatory_fits) CHECK(refusal->required > b.window);
    return;
  }
  REQUIRE((fits || (s != ContextStrategy::reject && mandatory_fits)));
  const auto& p = std::get<ContextPlan>(result);
  // keep and dropped partition the turns, ascending.
  REQUIRE(std::is_sorted(p.keep.begin(), p.keep.end()));
  REQUIRE(std::is_sorted(p.dropped.begin(), p.dropped.end()));
  std::vector<char> kept(n, 0);
  for (auto i : p.keep) kept[i] = 1;
  REQUIRE(p.keep.size() + p.dropped.size() == n);
  for (auto i : p.dropped) REQUIRE(!kept[i]);
  std::size_t kept_tokens = 0;
  for (auto i : p.keep) kept_tokens += ts[i].tokens;
  CHECK(p.tokens_before == b.fixed + o.all);
  CHECK(p.tokens_after == b.fixed + kept_tokens);
  if (fits) {
    outcomes["fits"]++;
    REQUIRE(!p.changed());
    return;
  }
  outcomes["changed"]++;
  REQUIRE(p.changed());
  REQUIRE(b.fixed + kept_tokens + b.reserve_output + summary <= b.window);
  for (std::size_t i = 0; i < o.lead; ++i) REQUIRE(kept[i]);
  for (std::size_t i = o.m; i < n; ++i) REQUIRE(kept[i]);
  // Groups whole; nothing unpaired left outside the mandatory suffix.
  for (const auto& [id, who] : o.members) {
    bool any_kept = std::any_of(who.begin(), who.end(), [&](auto i) { return kept[i]; });
    bool all_kept = std::all_of(who.begin(), who.end(), [&](auto i) { return kept[i]; });
    INFO("id " << id);
    REQUIRE(any_kept == all_kept);
    if (any_kept && *who.begin() < o.m) REQUIRE(o.paired.at(id));
  }
  for (auto i : p.unpaired) REQUIRE((o.broken.count(i) && !kept[i]));
  std::set<std::size_t> unpaired(p.unpaired.begin(), p.unpaired.end());
  // Droppable turns [lead, m) minus the unpaired: which pattern the strategy leaves.
  std::vector<std::size_t> kept_mid, dropped_mid;
  for (std::size_t i = o.lead; i < o.m; ++i) {
    if (unpaired.count(i)) continue;
    (kept[i] ? kept_mid : dropped_mid).push_back(i);
  }
  auto tail = [&] {  // every dropped turn comes before every kept one
    return dropped_mid.empty() || kept_mid.empty() || dropped_mid.back() < kept_mid.front();
  };
  if (s == ContextStrategy::truncate_oldest || s == ContextStrategy::summarize) {
    REQUIRE(tail());
  } else if (s == ContextStrategy::middle_out) {
    // kept = a prefix (the first exchange) and a suffix: at most one run of dropped turns.
    std::vector<char> seq;
    for (std::size_t i = o.lead; i < o.m; ++i)
      if (!unpaired.count(i)) seq.push_back(kept[i]);
    std::size_t runs = 0;
    for (std::size_t j = 0; j < seq.size(); ++j)
      if (!seq[j] && (j == 0 || seq[j - 1])) ++runs;
    REQUIRE(runs <= 1);
  }
}

void run(ContextStrategy s, std::uint64_t seed) {
  std::map<std::string, int> outcomes;
  for (int k = 0; k < 2500; ++k) {
    Gen g(seed * 1000003 + static_cast<std::uint64_t>(k));
    auto ts = conversation(g);
    std::size_t all = 0;
    for (const auto& t : ts) all += t.tokens;
    ContextBudget b;
    b.reserve_output = g.chance(0.2) ? 0 : g.uniform(1, 4000);
    b.fixed = g.chance(0.3) ? 0 : g.uniform(0, 2000);
    b.summary_reserve = g.uniform(0, 500);
    // Windows around the conversation's size, so every outcome happens.
    std::size_t need = all + b.fixed + b.reserve_output;
    b.window = g.uniform(need / 4, need + need / 4 + 1);
    INFO("strategy " << to_string(s) << " seed " << seed << " case " << k);
    check(ts, b, s, outcomes);
  }
  INFO("strategy " << to_string(s));
  CHECK(outcomes["fits"] > 100);
  CHECK(outcomes["refused"] > 100);
  if (s != ContextStrategy::reject) CHECK(outcomes["changed"] > 500);
}

}  // namespace

TEST_CASE("context plans keep the system prompt, the newest exchange and whole tool groups",
          "[llm][context]") {
  run(ContextStrategy::reject, 1);
  run(ContextStrategy::truncate_oldest, 2);
  run(ContextStrategy::middle_out, 3);
  run(ContextStrategy::summarize, 4);
}

TEST_CASE("truncate_oldest drops the oldest exchanges first", "[llm][context]") {
  std::vector<Turn> ts = {turn(Role::system, 10),     turn(Role::user, 100),
                          turn(Role::assistant, 100), turn(Role::user, 100),
                          turn(Role::assistant, 100), turn(Role::user, 50)};
  ContextBudget b{.window = 400, .reserve_output = 100, .fixed = 3};
  auto r = plan_context(ts, b, ContextStrategy::truncate_oldest);
  auto* p = std::get_if<ContextPlan>(&r);
  REQUIRE(p);
  CHECK(p->keep == std::vector<std::size_t>{0, 3, 4, 5});
  CHECK(p->dropped == std::vector<std::size_t>{1, 2});
  CHECK(p->tokens_before == 463);
  CHECK(p->tokens_after == 263);

  auto mo = std::get<ContextPlan>(plan_context(ts, b, ContextStrategy::middle_out));
  CHECK(mo.keep == std::vector<std::size_t>{0, 1, 2, 5});

  auto rej = plan_context(ts, b, ContextStrategy::reject);
  REQUIRE(std::holds_alternative<ContextRefusal>(rej));
  CHECK(std::get<ContextRefusal>(rej).total == 563);
}

TEST_CASE("a refusal says which parts do not fit", "[llm][context]") {
  std::vector<Turn> ts = {turn(Role::system, 300), turn(Role::user, 100),
                          turn(Role::assistant, 100), turn(Role::user, 500)};
  ContextBudget b{.window = 1000, .reserve_output = 300, .fixed = 10};
  auto r = plan_context(ts, b, ContextStrategy::truncate_oldest);
  auto* no = std::get_if<ContextRefusal>(&r);
  REQUIRE(no);
  CHECK(no->required == 1110);
  CHECK(no->system_tokens == 300);
  CHECK(no->newest_tokens == 500);
  CHECK(no->message.find("system prompt (300 tokens)") != std::string::npos);
  CHECK(no->message.find("(500)") != std::string::npos);
  CHECK(no->message.find("the window is 1000") != std::string::npos);
  CHECK(no->message.find("max_tokens") != std::string::npos);
}

TEST_CASE("a tool call and its results go together, and orphans go first", "[llm][context]") {
  Turn call = turn(Role::assistant, 50);
  call.calls = {"a", "b"};
  Turn ra = turn(Role::tool, 50);
  ra.results = {"a"};
  Turn rb = turn(Role::tool, 50);
  rb.results = {"b"};
  Turn orphan = turn(Role::tool, 5);
  orphan.results = {"zzz"};
  std::vector<Turn> ts = {turn(Role::user, 10), call, ra, rb, orphan, turn(Role::assistant, 10),
                          turn(Role::user, 10)};
  // Room for the group (150) but not the first user message as well: the orphan goes too.
  ContextBudget b{.window = 189, .reserve_output = 10, .fixed = 0};
  auto p = std::get<ContextPlan>(plan_context(ts, b, ContextStrategy::truncate_oldest));
  CHECK(p.keep == std::vector<std::size_t>{1, 2, 3, 5, 6});
  CHECK(p.unpaired == std::vector<std::size_t>{4});
  // A window too small for the group drops all of it.
  b.window = 100;
  p = std::get<ContextPlan>(plan_context(ts, b, ContextStrategy::truncate_oldest));
  CHECK(p.keep == std::vector<std::size_t>{5, 6});
}

TEST_CASE("strategies are named", "[llm][context]") {
  for (auto s : {ContextStrategy::reject, ContextStrategy::truncate_oldest,
                 ContextStrategy::middle_out, ContextStrategy::summarize})
    CHECK(context_strategy_named(to_string(s)) == s);
  CHECK(!context_strategy_named("drop"));
}
