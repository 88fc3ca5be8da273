#include "sluice/net/pool.hpp"

namespace sluice::net {

std::unique_ptr<Stream> ConnectionPool::take(const std::string& key, TimePoint now,
                                             std::chrono::nanoseconds probe_after) {
  auto it = idle_.find(key);
  if (it == idle_.end()) return nullptr;
  auto& list = it->second;
  while (!list.empty()) {
    Idle idle = std::move(list.back());
    list.pop_back();
    bool fresh = now - idle.since < probe_after;
    if (idle.expires > now && (fresh || idle_connection_alive(idle.conn->socket()))) {
      ++counters_.reused;
      return std::move(idle.conn);
    }
    ++counters_.stale;
    idle.conn->close();
  }
  return nullptr;
}

void ConnectionPool::put(const std::string& key, std::unique_ptr<Stream> conn, TimePoint now,
                         std::chrono::nanoseconds idle_timeout, std::uint32_t max_idle) {
  auto& list = idle_[key];
  if (list.size() >= max_idle || idle_timeout.count() <= 0) {
    conn->close();
    return;
  }
  list.push_back(Idle{std::move(conn), now, now + idle_timeout});
}

void ConnectionPool::sweep(TimePoint now) {
  for (auto it = idle_.begin(); it != idle_.end();) {
    auto& list = it->second;
    while (!list.empty() && list.front().expires <= now) {
      list.front().conn->close();
      list.pop_front();
      ++counters_.expired;
    }
    // Entries are in insertion order; one whose timeout a reload shortened is caught by take().
    if (list.empty())
      it = idle_.erase(it);
    else
      ++it;
  }
}

bool ConnectionPool::close_oldest(std::string_view prefix) {
  auto oldest = idle_.end();
  for (auto it = idle_.begin(); it != idle_.end(); ++it)
    if (!it->second.empty() && std::string_view(it->first).starts_with(prefix) &&
        (oldest == idle_.end() || it->second.front().since < oldest->second.front().since))
      oldest = it;
  if (oldest == idle_.end()) return false;
  oldest->second.front().conn->close();
  oldest->second.pop_front();
  if (oldest->second.empty()) idle_.erase(oldest);
  return true;
}

void ConnectionPool::clear() {
  for (auto& [key, list] : idle_)
    for (auto& i : list) i.conn->close();
  idle_.clear();
}

}  // namespace sluice::net
