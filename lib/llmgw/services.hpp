// Private to llmgw: the state every LLM route of the process shares and that survives reloads:
// the usage ledger, budgets, token buckets, per-message token counts and the summaries. One set
// per [store] configuration.
#pragma once

#include <memory>
#include <set>
#include <string>

#include "sluice/core/config/schema.hpp"
#include "sluice/core/error.hpp"
#include "sluice/llm/response_cache.hpp"
#include "sluice/llm/token_cache.hpp"
#include "sluice/store/budget.hpp"
#include "sluice/store/ledger.hpp"
#include "sluice/store/session_store.hpp"
#include "sluice/store/token_bucket.hpp"

namespace sluice::llmgw {

struct Services {
  config::Store store;
  std::unique_ptr<store::Ledger> ledger;
  store::BudgetBook budgets;
  std::set<std::string> seeded;  // keys whose budgets were read from the ledger (under the lock)
  store::BucketSet buckets;
  llm::MessageCache tokens{1 << 18};
  // Summaries of dropped conversation prefixes, by the prefix's hash and the summarizer.
  llm::ResponseCache summaries{100000, 256ull << 20, std::chrono::hours(24)};
};

// The process's services for this store, created on first use (the ledger file opened, the
// budgets seeded from it for cfg's keys).
Result<std::shared_ptr<Services>> shared_services(const config::Config& cfg);

// A session store for a route's [routes.llm.sessions], in memory or in the store's SQLite file.
Result<std::shared_ptr<store::SessionStore>> open_sessions(const config::Store& st,
                                                           const config::SessionsConfig& sc);

}  // namespace sluice::llmgw
