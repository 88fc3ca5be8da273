#include "slowloris.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>
#include <vector>

namespace sluice::chaos::detail {

namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr std::string_view kPrefix = "GET / HTTP/1.1\r\nHost: slowloris\r\n";
constexpr std::string_view kLine = "X-Slowloris: 1\r\n";  // repeated; the blank line never comes

// Byte `i` of the endless head.
char head_byte(std::uint64_t i) {
  if (i < kPrefix.size()) return kPrefix[i];
  return kLine[(i - kPrefix.size()) % kLine.size()];
}

struct Conn {
  int fd = -1;
  enum class State { connecting, open, closed } state = State::connecting;
  SteadyClock::time_point opened;
  std::uint64_t sent = 0;
  std::string reply;  // the first bytes the server sent
};

double ms_between(SteadyClock::time_point a, SteadyClock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

bool parse_address(const std::string& address, sockaddr_in& out) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos) return false;
  std::memset(&out, 0, sizeof out);
  out.sin_family = AF_INET;
  int port = std::atoi(address.c_str() + colon + 1);
  if (port <= 0 || port > 65535) return false;
  out.sin_port = htons(static_cast<std::uint16_t>(port));
  return ::inet_pton(AF_INET, address.substr(0, colon).c_str(), &out.sin_addr) == 1;
}

// "HTTP/1.1 408 ..." -> 408; 0 when the reply is not a status line.
int status_of(const std::string& reply) {
  if (reply.size() < 12 || reply.compare(0, 5, "HTTP/") != 0) return 0;
  auto sp = reply.find(' ');
  if (sp == std::string::npos || sp + 4 > reply.size()) return 0;
  int code = 0;
  for (std::size_t i = sp + 1; i < sp + 4; ++i) {
    if (reply[i] < '0' || reply[i] > '9') return 0;
    code = code * 10 + (reply[i] - '0');
  }
  return code;
}

}  // namespace

SlowlorisStats run_slowloris(const Slowloris& s, const std::string& address,
                             SteadyClock::time_point start, SteadyClock::time_point end,
                             const std::atomic<bool>& stop) {
  SlowlorisStats st;
  sockaddr_in addr{};
  if (!parse_address(address, addr)) {
    st.connect_errors = s.connections;
    return st;
  }
  std::vector<Conn> conns(s.connections);
  auto close_conn = [&](Conn& c, SteadyClock::time_point now, bool by_server) {
    if (c.state == Conn::State::open) {
      st.held_ms.push_back(ms_between(c.opened, now));
      if (by_server) {
        ++st.closed;
        if (int code = status_of(c.reply)) ++st.by_status[code];
      } else {
        ++st.open;
      }
    } else if (c.state == Conn::State::connecting) {
      ++st.connect_errors;
    }
    if (c.fd >= 0) ::close(c.fd);
    c.fd = -1;
    c.state = Conn::State::closed;
  };

  for (auto& c : conns) {
    c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) {
      ++st.connect_errors;
      c.state = Conn::State::closed;
      continue;
    }
    ++st.connections;
    int r = ::connect(c.fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
    if (r == 0) {
      c.state = Conn::State::open;
      c.opened = SteadyClock::now();
    } else if (errno != EINPROGRESS) {
      close_conn(c, SteadyClock::now(), false);
    }
  }

  auto next_write = start;
  std::vector<pollfd> fds;
  std::vector<Conn*> owners;
  for (;;) {
    auto now = SteadyClock::now();
    if (now >= end || stop.load()) break;
    if (now >= next_write) {
      for (auto& c : conns) {
        if (c.state != Conn::State::open) continue;
        char buf[65536];
        for (std::uint32_t i = 0; i < s.bytes; ++i) buf[i] = head_byte(c.sent + i);
        ssize_t n = ::send(c.fd, buf, s.bytes, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
          c.sent += static_cast<std::uint64_t>(n);
        } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
          close_conn(c, now, true);
        }
      }
      next_write += std::chrono::duration_cast<SteadyClock::duration>(s.interval);
      if (next_write <= now)
        next_write = now + std::chrono::duration_cast<SteadyClock::duration>(s.interval);
    }
    fds.clear();
    owners.clear();
    for (auto& c : conns) {
      if (c.state == Conn::State::closed) continue;
      short events = c.state == Conn::State::connecting ? POLLOUT : POLLIN;
      fds.push_back({c.fd, events, 0});
      owners.push_back(&c);
    }
    auto wake = std::min(next_write, end);
    auto wait_ms = std::chrono::duration_cast<std::chrono::milliseconds>(wake - now).count();
    int timeout = static_cast<int>(std::clamp<long long>(wait_ms, 1, 50));
    if (fds.empty()) {
      ::poll(nullptr, 0, timeout);
      continue;
    }
    int r = ::poll(fds.data(), fds.size(), timeout);
    if (r <= 0) continue;
    now = SteadyClock::now();
    for (std::size_t i = 0; i < fds.size(); ++i) {
      Conn& c = *owners[i];
      if (fds[i].revents == 0) continue;
      if (c.state == Conn::State::connecting) {
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
          close_conn(c, now, false);
        } else {
          c.state = Conn::State::open;
          c.opened = now;
        }
        continue;
      }
      char buf[4096];
      ssize_t n = ::recv(c.fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) {
        if (c.reply.size() < 256) c.reply.append(buf, static_cast<std::size_t>(n));
        continue;  // a response; the close follows
      }
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
        close_conn(c, now, true);
    }
  }
  auto now = SteadyClock::now();
  for (auto& c : conns)
    if (c.state != Conn::State::closed) close_conn(c, now, false);
  return st;
}

void merge(SlowlorisStats& into, const SlowlorisStats& o) {
  into.connections += o.connections;
  into.connect_errors += o.connect_errors;
  into.closed += o.closed;
  into.open += o.open;
  for (const auto& [status, n] : o.by_status) into.by_status[status] += n;
  into.held_ms.insert(into.held_ms.end(), o.held_ms.begin(), o.held_ms.end());
}

}  // namespace sluice::chaos::detail
