// ResourceLimits (hard caps, overflow counters, threads hammering) and Bulkhead (FIFO admission,
// the queue bound, cancellation and simulated queue timeouts, isolation between instances).
#include "sluice/upstream/limits.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "sluice/core/clock.hpp"

using namespace std::chrono_literals;
using sluice::ManualClock;
using sluice::TimePoint;
using sluice::upstream::Bulkhead;
using sluice::upstream::Resource;
using sluice::upstream::ResourceLimits;
using Status = Bulkhead::Entry::Status;

namespace {

sluice::config::Breaker limits(std::uint32_t n) {
  sluice::config::Breaker c;
  c.max_connections = n;
  c.max_pending = n;
  c.max_requests = n;
  c.max_retries = n;
  return c;
}

sluice::config::Bulkhead bulkhead(std::uint32_t concurrent, std::uint32_t queue) {
  sluice::config::Bulkhead c;
  c.max_concurrent = concurrent;
  c.max_queue = queue;
  c.queue_timeout = 1s;
  return c;
}

// A waiter as a request coroutine would keep it: the permit once granted.
struct Waiter {
  std::string name;
  std::vector<std::string>* order;
  std::shared_ptr<Bulkhead::Permit> permit = std::make_shared<Bulkhead::Permit>();
  std::shared_ptr<int> calls = std::make_shared<int>(0);

  Bulkhead::Waiter callback() {
    return [name = name, order = order, permit = permit, calls = calls](Bulkhead::Permit p) {
      ++*calls;
      if (p) order->push_back(name);
      *permit = std::move(p);
    };
  }
};

}  // namespace

TEST_CASE("resource limits cap each resource and count overflows", "[upstream][limits]") {
  sluice::config::Breaker c;
  c.max_connections = 2;
  c.max_pending = 1;
  c.max_requests = 3;
  c.max_retries = 0;
  ResourceLimits l(c);
  auto c1 = l.try_acquire(Resource::connections);
  auto c2 = l.try_acquire(Resource::connections);
  REQUIRE(c1);
  REQUIRE(c2);
  CHECK_FALSE(l.try_acquire(Resource::connections));
  CHECK_FALSE(l.try_acquire(Resource::connections));
  CHECK(l.in_use(Resource::connections) == 2);
  CHECK(l.overflows(Resource::connections) == 2);
  // Other resources are counted apart.
  CHECK(l.try_acquire(Resource::pending));
  CHECK(l.in_use(Resource::pending) == 0);  // the guard above was a temporary
  CHECK(l.overflows(Resource::pending) == 0);
  CHECK_FALSE(l.try_acquire(Resource::retries));  // max 0 admits nothing
  CHECK(l.overflows(Resource::retries) == 1);
  CHECK(l.max(Resource::requests) == 3);
  c1.reset();
  CHECK(l.in_use(Resource::connections) == 1);
  CHECK(l.try_acquire(Resource::connections));
  CHECK(sluice::upstream::to_string(Resource::pending) == "pending");
}

TEST_CASE("resource limit guards release once when moved or released early", "[upstream][limits]") {
  ResourceLimits l(limits(2));
  auto g = l.try_acquire(Resource::requests);
  REQUIRE(g);
  ResourceLimits::Guard moved = std::move(*g);
  CHECK_FALSE(g->held());
  CHECK(moved.held());
  CHECK(moved.resource() == Resource::requests);
  g.reset();
  CHECK(l.in_use(Resource::requests) == 1);
  auto other = l.try_acquire(Resource::requests);
  REQUIRE(other);
  CHECK(l.in_use(Resource::requests) == 2);
  moved = std::move(*other);  // releases moved's own unit, takes other's
  CHECK(l.in_use(Resource::requests) == 1);
  moved.release();
  moved.release();
  CHECK(l.in_use(Resource::requests) == 0);
}

TEST_CASE("resource limits hold under threads hammering", "[upstream][limits]") {
  constexpr std::uint32_t kMax = 5;
  ResourceLimits l(limits(kMax));
  std::atomic<int> holding{0};
  std::atomic<int> most{0};
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5000; ++i) {
        auto g = l.try_acquire(Resource::requests);
        if (!g) continue;
        granted.fetch_add(1);
        int now = holding.fetch_add(1) + 1;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        if (l.in_use(Resource::requests) > kMax) most.store(1000);
        holding.fetch_sub(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(most.load() <= static_cast<int>(kMax));
  CHECK(most.load() >= 1);
  CHECK(l.in_use(Resource::requests) == 0);
  CHECK(granted.load() + static_cast<int>(l.overflows(Resource::requests)) == 4 * 5000);
}

TEST_CASE("bulkhead admits up to the limit then queues in order", "[upstream][bulkhead]") {
  Bulkhead b(bulkhead(2, 3));
  std::vector<std::string> order;
  auto a = b.try_enter(nullptr);
  auto bb = b.try_enter(nullptr);
  REQUIRE(a.status == Status::admitted);
  REQUIRE(bb.status == Status::admitted);
  CHECK(b.in_flight() == 2);
  Waiter c{"c", &order}, d{"d", &order}, e{"e", &order}, f{"f", &order};
  auto ec = b.try_enter(c.callback());
  auto ed = b.try_enter(d.callback());
  auto ee = b.try_enter(e.callback());
  CHECK(ec.status == Status::queued);
  CHECK(ed.status == Status::queued);
  CHECK(ee.status == Status::queued);
  CHECK(b.queued() == 3);
  auto ef = b.try_enter(f.callback());
  CHECK(ef.status == Status::rejected);
  CHECK(b.rejected_total() == 1);
  CHECK(*f.calls == 0);

  a.permit.release();  // the slot passes to the oldest waiter
  CHECK(order == std::vector<std::string>{"c"});
  CHECK(b.in_flight() == 2);
  bb.permit = Bulkhead::Permit{};
  CHECK(order == std::vector<std::string>{"c", "d"});
  *c.permit = Bulkhead::Permit{};
  CHECK(order == std::vector<std::string>{"c", "d", "e"});
  CHECK(b.queued() == 0);
  CHECK(b.in_flight() == 2);
  // The queue has room again, and a free slot admits at once.
  *d.permit = Bulkhead::Permit{};
  CHECK(b.try_enter(nullptr).status == Status::admitted);
  CHECK(b.admitted_total() == 6);
  CHECK(b.queued_total() == 3);
}

TEST_CASE("bulkhead cancel removes a waiter so it is never called", "[upstream][bulkhead]") {
  Bulkhead b(bulkhead(1, 2));
  std::vector<std::string> order;
  auto first = b.try_enter(nullptr);
  Waiter c{"c", &order}, d{"d", &order};
  auto ec = b.try_enter(c.callback());
  auto ed = b.try_enter(d.callback());
  REQUIRE(ec.status == Status::queued);
  CHECK(b.cancel(ec.ticket));
  CHECK_FALSE(b.cancel(ec.ticket));
  CHECK(b.cancelled_total() == 1);
  CHECK(b.queued() == 1);
  first.permit.release();
  CHECK(*c.calls == 0);
  CHECK(order == std::vector<std::string>{"d"});
}

TEST_CASE("bulkhead queue timeout on a manual clock", "[upstream][bulkhead]") {
  ManualClock clock;
  Bulkhead b(bulkhead(1, 4));
  std::vector<std::string> order;
  auto holder = b.try_enter(nullptr);
  Waiter w{"w", &order};
  auto e = b.try_enter(w.callback());
  REQUIRE(e.status == Status::queued);
  // The waiter's own timer: fire it once queue_timeout has passed.
  TimePoint expires = clock.now() + b.queue_timeout();
  clock.advance(999ms);
  CHECK(clock.now() < expires);
  CHECK(b.queued() == 1);
  clock.advance(1ms);
  REQUIRE(clock.now() >= expires);
  CHECK(b.cancel(e.ticket));  // timed out while queued: the caller answers 503 itself
  holder.permit.release();
  CHECK(*w.calls == 0);
  CHECK(b.in_flight() == 0);
}

TEST_CASE("bulkhead cancel after a grant releases the slot when the permit is dropped",
          "[upstream][bulkhead]") {
  Bulkhead b(bulkhead(1, 4));
  std::vector<std::string> order;
  auto holder = b.try_enter(nullptr);
  Waiter late{"late", &order}, next{"next", &order};
  auto el = b.try_enter(late.callback());
  auto en = b.try_enter(next.callback());
  holder.permit.release();  // granted to `late`; its timer fires right after
  REQUIRE(order == std::vector<std::string>{"late"});
  CHECK_FALSE(b.cancel(el.ticket));
  CHECK(b.in_flight() == 1);
  // `late` gave up: dropping the permit it was handed passes the slot on.
  *late.permit = Bulkhead::Permit{};
  CHECK(order == std::vector<std::string>{"late", "next"});
  *next.permit = Bulkhead::Permit{};
  CHECK(b.in_flight() == 0);
  CHECK(b.cancelled_total() == 0);
  (void)en;
}

TEST_CASE("bulkhead saturation does not affect another bulkhead", "[upstream][bulkhead]") {
  Bulkhead busy(bulkhead(1, 0));
  Bulkhead calm(bulkhead(1, 0));
  auto held = busy.try_enter(nullptr);
  REQUIRE(held.status == Status::admitted);
  CHECK(busy.try_enter(nullptr).status == Status::rejected);  // no queue at all
  CHECK(busy.rejected_total() == 0);  // a now-or-never try is not a queue overflow
  auto other = calm.try_enter(nullptr);
  CHECK(other.status == Status::admitted);
  CHECK(calm.rejected_total() == 0);
}

TEST_CASE("bulkhead close refuses waiters and newcomers", "[upstream][bulkhead]") {
  Bulkhead b(bulkhead(1, 4));
  std::vector<std::string> order;
  auto held = b.try_enter(nullptr);
  Waiter w{"w", &order};
  auto e = b.try_enter(w.callback());
  REQUIRE(e.status == Status::queued);
  b.close();
  CHECK(*w.calls == 1);
  CHECK_FALSE(*w.permit);
  CHECK(order.empty());
  CHECK(b.try_enter(nullptr).status == Status::rejected);
  held.permit.release();
  CHECK(b.in_flight() == 0);
}

TEST_CASE("bulkhead with max_concurrent 0 admits everything", "[upstream][bulkhead]") {
  Bulkhead b(bulkhead(0, 0));
  std::vector<Bulkhead::Entry> entries;
  for (int i = 0; i < 100; ++i) entries.push_back(b.try_enter(nullptr));
  CHECK(std::all_of(entries.begin(), entries.end(),
                    [](const auto& e) { return e.status == Status::admitted; }));
  CHECK(b.in_flight() == 100);
  entries.clear();
  CHECK(b.in_flight() == 0);
}

TEST_CASE("bulkhead under threads never exceeds the limit and strands no waiter",
          "[upstream][bulkhead]") {
  constexpr int kMax = 3;
  Bulkhead b(bulkhead(kMax, 8));
  std::atomic<int> holding{0};
  std::atomic<int> most{0};
  std::atomic<int> granted_later{0};
  auto hold = [&] {
    int now = holding.fetch_add(1) + 1;
    int seen = most.load();
    while (now > seen && !most.compare_exchange_weak(seen, now)) {
    }
    holding.fetch_sub(1);
  };
  std::atomic<int> queued{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 3000; ++i) {
        auto e = b.try_enter([&](Bulkhead::Permit p) {
          if (!p) return;
          hold();
          granted_later.fetch_add(1);
        });
        if (e.status == Status::admitted) hold();
        if (e.status == Status::queued) queued.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(most.load() <= kMax);
  CHECK(granted_later.load() == queued.load());
  CHECK(b.queued() == 0);
  CHECK(b.in_flight() == 0);
}

TEST_CASE("bulkhead never strands a waiter behind a slot released while it queued",
          "[upstream][bulkhead]") {
  // Each round: the slot is held; one thread releases it while another enters. Whatever the
  // interleaving, the entrant must end up admitted, so both counts are back to zero.
  Bulkhead b(bulkhead(1, 1));
  constexpr int kRounds = 10000;
  std::atomic<int> go{0};
  std::atomic<int> done{0};
  std::optional<Bulkhead::Permit> held;
  int stranded = 0;
  auto releaser = std::thread([&] {
    for (int r = 1; r <= kRounds; ++r) {
      while (go.load() < r) std::this_thread::yield();
      held.reset();
      done.fetch_add(1);
    }
  });
  auto entrant = std::thread([&] {
    for (int r = 1; r <= kRounds; ++r) {
      while (go.load() < r) std::this_thread::yield();
      b.try_enter([](Bulkhead::Permit) {});  // a permit, if any, is dropped right away
      done.fetch_add(1);
    }
  });
  for (int r = 1; r <= kRounds; ++r) {
    auto e = b.try_enter(nullptr);
    REQUIRE(e.status == Status::admitted);
    held.emplace(std::move(e.permit));
    go.store(r);
    while (done.load() < 2 * r) std::this_thread::yield();
    if (b.queued() != 0 || b.in_flight() != 0) {
      ++stranded;
      break;  // the threads run out their rounds alone; the destructor drops the waiter
    }
  }
  go.store(kRounds);
  releaser.join();
  entrant.join();
  CHECK(stranded == 0);
}
