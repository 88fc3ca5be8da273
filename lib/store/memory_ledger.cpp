// The ledger in memory: rows in a vector, summed on query. Lost on restart.
#include <map>
#include <mutex>

#include "sluice/store/ledger.hpp"

namespace sluice::store {
namespace {

class MemoryLedger final : public Ledger {
 public:
  void record(UsageRow row) override {
    std::lock_guard lock(mu_);
    rows_.push_back(std::move(row));
  }
  void flush() override {}

  Result<std::vector<UsageGroup>> query(const UsageQuery& q) override {
    std::map<std::string, UsageGroup> groups;
    {
      std::lock_guard lock(mu_);
      for (const auto& row : rows_) {
        if (!matches(q, row)) continue;
        auto& g = groups[group_of(q.by, row)];
        ++g.requests;
        g.input_tokens += row.input_tokens;
        g.output_tokens += row.output_tokens;
        g.cost_usd += row.cost_usd;
      }
    }
    std::vector<UsageGroup> out;
    for (auto& [name, g] : groups) {
      g.group = name;
      out.push_back(std::move(g));
    }
    return out;
  }

  Result<double> spent(std::string_view key, std::int64_t since_ms) override {
    std::lock_guard lock(mu_);
    double sum = 0;
    for (const auto& row : rows_)
      if (row.key == key && row.ts_ms >= since_ms) sum += row.cost_usd;
    return sum;
  }

  std::uint64_t dropped() const override { return 0; }

 private:
  std::mutex mu_;
  std::vector<UsageRow> rows_;
};

}  // namespace

std::unique_ptr<Ledger> make_memory_ledger() {
  return std::make_unique<MemoryLedger>();
}

}  // namespace sluice::store
