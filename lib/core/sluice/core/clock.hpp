// Injected time and randomness: real implementations for production, manual ones for tests.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <random>
#include <time.h>

namespace sluice {

using TimePoint = std::chrono::steady_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
  // Wall-clock time, for log lines and reports only.
  virtual std::chrono::system_clock::time_point wall() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::steady_clock::now(); }
  std::chrono::system_clock::time_point wall() const override {
    return std::chrono::system_clock::now();
  }
  static SystemClock& instance();
};

// A wall-clock time as Unix milliseconds (the stores' timestamps: sessions, ledger, budgets).
inline std::int64_t unix_ms(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// A clock that only moves when a test says so.
class ManualClock final : public Clock {
 public:
  TimePoint now() const override { return TimePoint{std::chrono::nanoseconds{ns_.load()}}; }
  std::chrono::system_clock::time_point wall() const override {
    return std::chrono::system_clock::time_point{
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::nanoseconds{ns_.load()})};
  }
  void advance(std::chrono::nanoseconds d) { ns_ += d.count(); }

 private:
  std::atomic<std::int64_t> ns_{1'000'000'000};
};

// CLOCK_MONOTONIC_COARSE on steady_clock's timeline: a few ms behind, but several times cheaper
// to read. For deadlines and idle timestamps, where ticks are 100ms anyway; never for latencies.
inline TimePoint coarse_now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return TimePoint{std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec)};
}

class Rng {
 public:
  virtual ~Rng() = default;
  virtual std::uint64_t next() = 0;
  // Uniform in [0, 1).
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
};

// xoshiro-quality is not needed; splitmix64 is fast, seedable and good enough for jitter and ids.
class SeededRng final : public Rng {
 public:
  explicit SeededRng(std::uint64_t seed) : s_(seed) {}
  std::uint64_t next() override {
    std::uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  static SeededRng from_entropy() {
    return SeededRng(std::random_device{}() * 0x100000001ull ^ std::random_device{}());
  }

 private:
  std::uint64_t s_;
};

}  // namespace sluice
