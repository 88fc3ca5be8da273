// Slow clients for chaos phases (private to lib/chaos): connections that send a request head a few
// bytes at a time and never finish it, the way slowloris ties up a server's connection slots.
#pragma once

#include <atomic>
#include <chrono>
#include <string>

#include "sluice/chaos/runner.hpp"
#include "sluice/chaos/scenario.hpp"

namespace sluice::chaos::detail {

// Opens s.connections connections to `address` (numeric "host:port") at `start` and writes s.bytes
// bytes of an endless request head to each every s.interval, until `end` or `stop`. Notes when the
// server closes each one, and the status of any response it sent first. All on one thread.
SlowlorisStats run_slowloris(const Slowloris& s, const std::string& address,
                             std::chrono::steady_clock::time_point start,
                             std::chrono::steady_clock::time_point end,
                             const std::atomic<bool>& stop);

// Adds o's figures to into.
void merge(SlowlorisStats& into, const SlowlorisStats& o);

}  // namespace sluice::chaos::detail
