#include "sluice/upstream/limits.hpp"

namespace sluice::upstream {

std::string_view to_string(Resource r) {
  switch (r) {
    case Resource::connections:
      return "connections";
    case Resource::pending:
      return "pending";
    case Resource::requests:
      return "requests";
    case Resource::retries:
      return "retries";
  }
  return "unknown";
}

// ResourceLimits ----------------------------------------------------------------------------

ResourceLimits::ResourceLimits(const config::Breaker& cfg)
    : max_{cfg.max_connections, cfg.max_pending, cfg.max_requests, cfg.max_retries} {}

std::optional<ResourceLimits::Guard> ResourceLimits::try_acquire(Resource r) {
  Counter& c = counters_[index(r)];
  const std::uint32_t cap = max_[index(r)];
  std::uint32_t v = c.in_use.load(std::memory_order_relaxed);
  while (v < cap) {
    if (c.in_use.compare_exchange_weak(v, v + 1, std::memory_order_acq_rel,
                                       std::memory_order_relaxed))
      return Guard(this, r);
  }
  c.overflows.fetch_add(1, std::memory_order_relaxed);
  return std::nullopt;
}

void ResourceLimits::release(Resource r) {
  counters_[index(r)].in_use.fetch_sub(1, std::memory_order_acq_rel);
}

std::uint32_t ResourceLimits::in_use(Resource r) const {
  return counters_[index(r)].in_use.load(std::memory_order_acquire);
}

std::uint64_t ResourceLimits::overflows(Resource r) const {
  return counters_[index(r)].overflows.load(std::memory_order_relaxed);
}

ResourceLimits::Guard& ResourceLimits::Guard::operator=(Guard&& o) noexcept {
  if (this != &o) {
    release();
    owner_ = std::exchange(o.owner_, nullptr);
    r_ = o.r_;
  }
  return *this;
}

void ResourceLimits::Guard::release() {
  if (owner_ != nullptr) std::exchange(owner_, nullptr)->release(r_);
}

// Bulkhead ----------------------------------------------------------------------------------
//
// The lost-wakeup race: a releaser decrements in_flight_ and then reads waiting_; an enterer
// publishes waiting_ (under mu_) and then tries to take a slot. All four are seq_cst, so at
// least one of them sees the other's write: either the releaser sees a waiter and grants under
// mu_, or the enterer's own grant_locked sees the free slot. No waiter sits behind a free slot.

Bulkhead::Bulkhead(const config::Bulkhead& cfg) : cfg_(cfg) {}

Bulkhead::~Bulkhead() {
  close();
}

bool Bulkhead::try_take_slot() {
  if (cfg_.max_concurrent == 0) {
    in_flight_.fetch_add(1);
    return true;
  }
  std::uint32_t v = in_flight_.load();
  while (v < cfg_.max_concurrent) {
    if (in_flight_.compare_exchange_weak(v, v + 1)) return true;
  }
  return false;
}

void Bulkhead::grant_locked(std::deque<Waiting>& ready) {
  while (!queue_.empty() && try_take_slot()) {
    ready.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  waiting_.store(queue_.size());
}

void Bulkhead::notify(std::deque<Waiting>& ready, Ticket mine, Entry* entry) {
  for (Waiting& w : ready) {
    admitted_.fetch_add(1, std::memory_order_relaxed);
    if (entry != nullptr && w.ticket == mine) {
      entry->status = Entry::Status::admitted;
      entry->permit = Permit(this);
      entry->ticket = 0;
    } else {
      w.on_ready(Permit(this));
    }
  }
}

Bulkhead::Entry Bulkhead::try_enter(Waiter on_ready) {
  Entry e;
  if (closed_.load()) {
    rejected_.fetch_add(1, std::memory_order_relaxed);
    return e;
  }
  // Fast path. With anyone waiting, a newcomer must not jump the queue: go through the lock.
  if (waiting_.load() == 0 && try_take_slot()) {
    admitted_.fetch_add(1, std::memory_order_relaxed);
    e.status = Entry::Status::admitted;
    e.permit = Permit(this);
    return e;
  }
  std::deque<Waiting> ready;
  Ticket mine = 0;
  {
    std::lock_guard lock(mu_);
    if (closed_.load()) {
      rejected_.fetch_add(1, std::memory_order_relaxed);
      return e;
    }
    grant_locked(ready);
    if (queue_.empty() && try_take_slot()) {
      admitted_.fetch_add(1, std::memory_order_relaxed);
      e.status = Entry::Status::admitted;
      e.permit = Permit(this);
    } else if (queue_.size() >= cfg_.max_queue || !on_ready) {
      // A now-or-never try that finds no slot was not turned away from the queue.
      if (on_ready) rejected_.fetch_add(1, std::memory_order_relaxed);
    } else {
      mine = next_ticket_++;
      queue_.push_back(Waiting{mine, std::move(on_ready)});
      e.status = Entry::Status::queued;
      e.ticket = mine;
      waiting_.store(queue_.size());
      // A release may have happened between our failed CAS and the store above.
      grant_locked(ready);
    }
  }
  notify(ready, mine, &e);
  if (e.status == Entry::Status::queued) queued_total_.fetch_add(1, std::memory_order_relaxed);
  return e;
}

void Bulkhead::release_slot() {
  in_flight_.fetch_sub(1);
  if (waiting_.load() == 0) return;
  std::deque<Waiting> ready;
  {
    std::lock_guard lock(mu_);
    grant_locked(ready);
  }
  notify(ready, 0, nullptr);
}

bool Bulkhead::cancel(Ticket t) {
  std::optional<Waiting> removed;  // its callback is destroyed outside the lock
  {
    std::lock_guard lock(mu_);
    for (auto it = queue_.begin(); it != queue_.end(); ++it) {
      if (it->ticket == t) {
        removed.emplace(std::move(*it));
        queue_.erase(it);
        waiting_.store(queue_.size());
        break;
      }
    }
  }
  if (!removed) return false;
  cancelled_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void Bulkhead::close() {
  std::deque<Waiting> dropped;
  {
    std::lock_guard lock(mu_);
    closed_.store(true);
    dropped.swap(queue_);
    waiting_.store(0);
  }
  for (Waiting& w : dropped) w.on_ready(Permit{});
}

Bulkhead::Permit& Bulkhead::Permit::operator=(Permit&& o) noexcept {
  if (this != &o) {
    release();
    owner_ = std::exchange(o.owner_, nullptr);
  }
  return *this;
}

void Bulkhead::Permit::release() {
  if (owner_ != nullptr) std::exchange(owner_, nullptr)->release_slot();
}

}  // namespace sluice::upstream
