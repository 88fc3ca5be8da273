#include "services.hpp"

#include <map>
#include <mutex>
#include <set>

#include "sluice/core/clock.hpp"
#include "sluice/store/utc.hpp"

namespace sluice::llmgw {

Result<std::shared_ptr<Services>> shared_services(const config::Config& cfg) {
  static std::mutex mu;
  static std::map<std::string, std::weak_ptr<Services>> live;
  const std::string id = cfg.store.kind == config::Store::Kind::sqlite ? "sqlite:" + cfg.store.path
                                                                       : std::string("memory");
  std::lock_guard lock(mu);
  std::shared_ptr<Services> s = live[id].lock();
  if (!s) {
    s = std::make_shared<Services>();
    s->store = cfg.store;
    if (cfg.store.kind == config::Store::Kind::sqlite) {
      auto ledger = store::open_sqlite_ledger(cfg.store.path);
      if (!ledger) return ledger.error();
      s->ledger = std::move(*ledger);
    } else {
      s->ledger = store::make_memory_ledger();
    }
    live[id] = s;
  }
  // Budgets start from what the ledger holds for this UTC day and month (once per key).
  const std::int64_t now = unix_ms(SystemClock::instance().wall());
  for (const auto& k : cfg.keys) {
    if (k.budget_daily_usd <= 0 && k.budget_monthly_usd <= 0) continue;
    if (!s->seeded.insert(k.name).second) continue;
    auto day = s->ledger->spent(k.name, store::utc_day_start(now));
    auto month = s->ledger->spent(k.name, store::utc_month_start(now));
    if (!day) return day.error();
    if (!month) return month.error();
    s->budgets.seed(k.name, *day, *month, now);
  }
  return s;
}

Result<std::shared_ptr<store::SessionStore>> open_sessions(const config::Store& st,
                                                           const config::SessionsConfig& sc) {
  store::SessionLimits limits;
  limits.ttl = std::chrono::duration_cast<std::chrono::milliseconds>(sc.ttl);
  limits.max_messages = sc.max_messages;
  limits.max_bytes = sc.max_bytes;
  if (st.kind == config::Store::Kind::memory)
    return std::shared_ptr<store::SessionStore>(store::make_memory_sessions(limits));
  auto s = store::open_sqlite_sessions(st.path, limits);
  if (!s) return s.error();
  return std::shared_ptr<store::SessionStore>(std::move(*s));
}

}  // namespace sluice::llmgw
