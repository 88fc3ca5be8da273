// Per-cluster admission limits shared by every worker thread: the resource limits of
// [clusters.breaker] (connections, pending, requests, retries) and the [clusters.bulkhead].
//
// Lifetime: guards and permits hold a plain pointer to the object that issued them, so the
// ResourceLimits or Bulkhead must outlive them (the cluster's shared state owns both, and every
// request holds that state).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string_view>
#include <utility>

#include "sluice/core/config/resilience.hpp"
#include "sluice/core/units.hpp"

namespace sluice::upstream {

enum class Resource : std::uint8_t { connections, pending, requests, retries };
inline constexpr std::size_t kResourceCount = 4;

// "connections", "pending", "requests", "retries": the metric label.
std::string_view to_string(Resource r);

// Lock-free counters with hard caps. Acquiring never lets a counter exceed its max (a CAS loop,
// not add-then-undo), so in_use() is always <= max(). A max of 0 admits nothing.
class ResourceLimits {
 public:
  // Releases its unit on destruction, or earlier with release().
  class Guard {
   public:
    Guard(Guard&& o) noexcept : owner_(std::exchange(o.owner_, nullptr)), r_(o.r_) {}
    Guard& operator=(Guard&& o) noexcept;
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;
    ~Guard() { release(); }

    void release();
    Resource resource() const { return r_; }
    bool held() const { return owner_ != nullptr; }

   private:
    friend class ResourceLimits;
    Guard(ResourceLimits* owner, Resource r) : owner_(owner), r_(r) {}
    ResourceLimits* owner_;
    Resource r_;
  };

  explicit ResourceLimits(const config::Breaker& cfg);
  ResourceLimits(const ResourceLimits&) = delete;
  ResourceLimits& operator=(const ResourceLimits&) = delete;

  // nullopt when the resource is at its max; that also bumps overflows(r).
  std::optional<Guard> try_acquire(Resource r);

  std::uint32_t in_use(Resource r) const;
  std::uint32_t max(Resource r) const { return max_[index(r)]; }
  std::uint64_t overflows(Resource r) const;

 private:
  static std::size_t index(Resource r) { return static_cast<std::size_t>(r); }
  void release(Resource r);

  std::array<std::uint32_t, kResourceCount> max_;
  // One cache line each: different resources are hit by different hot paths.
  struct alignas(64) Counter {
    std::atomic<std::uint32_t> in_use{0};
    std::atomic<std::uint64_t> overflows{0};
  };
  std::array<Counter, kResourceCount> counters_;
};

// A concurrency limit with a bounded FIFO queue, shared by workers on different threads.
//
// The fast path (a slot is free, nobody waits) is one CAS on the in-flight count. Waiting
// requests sit in a queue under a small mutex, each with a callback. When a slot is released and
// someone waits, the slot passes straight to the oldest waiter: its callback is invoked, on the
// releasing thread and outside the lock, with a Permit that owns the slot. The callback must
// not block: it posts the Permit to its own io_context.
//
// Queue timeout: the waiter arms its own timer (queue_timeout()) and on expiry calls
// cancel(ticket). If the ticket is still queued, cancel removes it, returns true and the
// callback is never invoked. If it returns false the slot has already been granted: the callback
// has run or is running with a Permit, and the waiter, having given up, just drops that Permit
// when it arrives, which releases the slot. So a grant and a timeout that race never leak a slot.
//
// close() (and the destructor) invoke every queued callback with an empty Permit: not admitted.
class Bulkhead {
 public:
  using Ticket = std::uint64_t;

  // Owns one slot; releases it on destruction. An empty Permit means "not admitted".
  class Permit {
   public:
    Permit() = default;
    Permit(Permit&& o) noexcept : owner_(std::exchange(o.owner_, nullptr)) {}
    Permit& operator=(Permit&& o) noexcept;
    Permit(const Permit&) = delete;
    Permit& operator=(const Permit&) = delete;
    ~Permit() { release(); }

    explicit operator bool() const { return owner_ != nullptr; }
    void release();

   private:
    friend class Bulkhead;
    explicit Permit(Bulkhead* owner) : owner_(owner) {}
    Bulkhead* owner_ = nullptr;
  };

  using Waiter = std::function<void(Permit)>;

  struct Entry {
    enum class Status : std::uint8_t { admitted, queued, rejected };
    Status status = Status::rejected;
    Permit permit;      // when admitted
    Ticket ticket = 0;  // when queued: for cancel()
  };

  // max_concurrent == 0 turns the limit off: everything is admitted at once (and counted).
  explicit Bulkhead(const config::Bulkhead& cfg);
  Bulkhead(const Bulkhead&) = delete;
  Bulkhead& operator=(const Bulkhead&) = delete;
  ~Bulkhead();

  // Admitted now, queued (on_ready will get the Permit later) or rejected (queue full, or
  // closed). on_ready is only kept when the entry is queued; it may run on another thread
  // before try_enter has even returned. An empty on_ready never queues: it means "now or never".
  Entry try_enter(Waiter on_ready);
  // true: removed from the queue (its callback will never run). false: not queued any more.
  bool cancel(Ticket t);
  void close();

  Duration queue_timeout() const { return cfg_.queue_timeout; }
  std::uint32_t in_flight() const { return in_flight_.load(std::memory_order_acquire); }
  std::size_t queued() const { return waiting_.load(std::memory_order_acquire); }
  std::uint64_t admitted_total() const { return admitted_.load(std::memory_order_relaxed); }
  std::uint64_t queued_total() const { return queued_total_.load(std::memory_order_relaxed); }
  // Turned away by a full queue (or a closed bulkhead); a now-or-never try is not counted.
  std::uint64_t rejected_total() const { return rejected_.load(std::memory_order_relaxed); }
  std::uint64_t cancelled_total() const { return cancelled_.load(std::memory_order_relaxed); }

 private:
  struct Waiting {
    Ticket ticket;
    Waiter on_ready;
  };

  bool try_take_slot();
  void release_slot();
  // Under mu_: moves waiters at the head of the queue into `ready` while slots are free.
  void grant_locked(std::deque<Waiting>& ready);
  void notify(std::deque<Waiting>& ready, Ticket mine, Entry* entry);

  config::Bulkhead cfg_;
  std::atomic<std::uint32_t> in_flight_{0};
  std::atomic<std::size_t> waiting_{0};  // == queue_.size(), readable without the lock
  std::mutex mu_;
  std::deque<Waiting> queue_;
  Ticket next_ticket_ = 1;
  std::atomic<bool> closed_{false};
  std::atomic<std::uint64_t> admitted_{0};
  std::atomic<std::uint64_t> queued_total_{0};
  std::atomic<std::uint64_t> rejected_{0};
  std::atomic<std::uint64_t> cancelled_{0};
};

}  // namespace sluice::upstream
