// The ledger in a SQLite file. record() only queues; a writer thread inserts the queue in one
// transaction per batch, at least every 200 ms, and on flush() and close.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <limits>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "sluice/store/ledger.hpp"
#include "sluice/store/sqlite_db.hpp"

namespace sluice::store {
namespace {

constexpr auto kBatchInterval = std::chrono::milliseconds(200);
constexpr std::size_t kBatchWakeup = 1000;  // wake the writer early once this many are queued

const char* group_column(UsageBy by) {
  switch (by) {
    case UsageBy::key:
      return "key";
    case UsageBy::model:
      return "model";
    case UsageBy::day:
      return "strftime('%Y-%m-%d', ts_ms / 1000, 'unixepoch')";
    case UsageBy::alias:
      return "alias";
    case UsageBy::provider:
      return "provider";
  }
  return "key";
}

class SqliteLedger final : public Ledger {
 public:
  enum class Access { read_write, read_only };

  SqliteLedger(std::unique_ptr<Db> db, Access access) : db_(std::move(db)) {
    if (access == Access::read_write) writer_ = std::thread([this] { write_loop(); });
  }

  ~SqliteLedger() override {
    {
      std::lock_guard lock(qmu_);
      stop_ = true;
    }
    wake_.notify_all();
    if (writer_.joinable()) writer_.join();
  }

  void record(UsageRow row) override {
    std::unique_lock lock(qmu_);
    if (!writer_.joinable()) {
      ++dropped_;
      return;
    }
    space_.wait(lock, [&] { return queue_.size() < kMaxQueued || stop_; });
    queue_.push_back(std::move(row));
    ++enqueued_;
    if (queue_.size() >= kBatchWakeup) wake_.notify_one();
  }

  void flush() override {
    std::unique_lock lock(qmu_);
    if (!writer_.joinable()) return;
    std::uint64_t target = enqueued_;
    flush_asked_ = true;
    wake_.notify_one();
    done_.wait(lock, [&] { return written_ >= target; });
  }

  Result<std::vector<UsageGroup>> query(const UsageQuery& q) override {
    flush();
    std::lock_guard lock(dbmu_);
    auto sql = fmt::format(
        "SELECT {} AS g, COUNT(*), SUM(input_tokens), SUM(output_tokens), SUM(cost_usd) "
        "FROM usage WHERE ts_ms >= ?1 AND ts_ms < ?2 AND (?3 = '' OR key = ?3) "
        "GROUP BY g ORDER BY g",
        group_column(q.by));
    auto s = db_->prepare(sql.c_str());
    if (!s) return s.take_error();
    s->bind(1, q.since_ms.value_or(std::numeric_limits<std::int64_t>::min()))
        .bind(2, q.until_ms.value_or(std::numeric_limits<std::int64_t>::max()))
        .bind(3, std::string_view(q.key));
    std::vector<UsageGroup> out;
    Result<bool> row = s->step();
    for (; row && *row; row = s->step())
      out.push_back({s->text(0), static_cast<std::uint64_t>(s->int64(1)), s->int64(2), s->int64(3),
                     s->real(4)});
    if (!row) return row.take_error();
    return out;
  }

  Result<double> spent(std::string_view key, std::int64_t since_ms) override {
    flush();
    std::lock_guard lock(dbmu_);
    auto s = db_->prepare("SELECT TOTAL(cost_usd) FROM usage WHERE key = ? AND ts_ms >= ?");
    if (!s) return s.take_error();
    s->bind(1, key).bind(2, since_ms);
    auto row = s->step();
    if (!row) return row.take_error();
    return *row ? s->real(0) : 0.0;
  }

  std::uint64_t dropped() const override { return dropped_; }

 private:
  void write_loop() {
    std::unique_lock lock(qmu_);
    for (;;) {
      wake_.wait_for(lock, kBatchInterval,
                     [&] { return stop_ || flush_asked_ || queue_.size() >= kBatchWakeup; });
      std::deque<UsageRow> batch;
      batch.swap(queue_);
      flush_asked_ = false;
      bool stopping = stop_;
      lock.unlock();
      space_.notify_all();
      if (!batch.empty() && !write(batch)) dropped_ += batch.size();
      lock.lock();
      written_ += batch.size();
      done_.notify_all();
      if (stopping && queue_.empty()) return;
    }
  }

  // One transaction for the whole batch.
  bool write(const std::deque<UsageRow>& batch) {
    std::lock_guard lock(dbmu_);
    if (!db_->exec("BEGIN IMMEDIATE")) return false;
    auto s = db_->prepare(
        "INSERT INTO usage (ts_ms, request_id, key, route, alias, provider, model, input_tokens, "
        "output_tokens, cost_usd, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    bool ok = s.ok();
    for (const auto& r : batch) {
      if (!ok) break;
      s->bind(1, r.ts_ms).bind(2, std::string_view(r.request_id)).bind(3, std::string_view(r.key));
      s->bind(4, std::string_view(r.route)).bind(5, std::string_view(r.alias));
      s->bind(6, std::string_view(r.provider)).bind(7, std::string_view(r.model));
      s->bind(8, r.input_tokens).bind(9, r.output_tokens).bind(10, r.cost_usd);
      s->bind(11, static_cast<std::int64_t>(r.status));
      ok = s->run().ok();
    }
    if (ok && db_->exec("COMMIT")) return true;
    (void)db_->exec("ROLLBACK");
    return false;
  }

  std::unique_ptr<Db> db_;
  std::mutex dbmu_;

  std::mutex qmu_;
  std::condition_variable wake_, space_, done_;
  std::deque<UsageRow> queue_;
  std::uint64_t enqueued_ = 0, written_ = 0;
  bool flush_asked_ = false, stop_ = false;
  std::atomic<std::uint64_t> dropped_{0};
  std::thread writer_;  // last: started once the rest is ready
};

}  // namespace

Result<std::unique_ptr<Ledger>> open_sqlite_ledger(const std::string& path) {
  auto db = Db::open(path, Db::Mode::read_write);
  if (!db) return db.take_error();
  return std::unique_ptr<Ledger>(
      new SqliteLedger(std::move(*db), SqliteLedger::Access::read_write));
}

Result<std::unique_ptr<Ledger>> open_sqlite_ledger_readonly(const std::string& path) {
  auto db = Db::open(path, Db::Mode::read_only);
  if (!db) return db.take_error();
  return std::unique_ptr<Ledger>(new SqliteLedger(std::move(*db), SqliteLedger::Access::read_only));
}

}  // namespace sluice::store
