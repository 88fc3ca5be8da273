// The TCP probe: resolve, connect (non-blocking, one address after another until the deadline),
// then optionally send bytes and read until the reply matches the `receive` pattern.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "resolver.hpp"
#include "sluice/core/expr/expr.hpp"
#include "sluice/core/expr/scope.hpp"
#include "sluice/probe/probe.hpp"

namespace sluice::probe {
namespace {

Error tcp_error(ErrorKind kind, std::string message) {
  return make_error(kind, ErrorSource::upstream, std::move(message));
}

class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

int millis_until(TimePoint deadline, const Clock& clock) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock.now()).count();
  return static_cast<int>(std::clamp<long long>(left, 0, 1 << 30));
}

// Waits for `events` on fd until the deadline: 1 ready, 0 timed out, -1 error.
int wait_for(int fd, short events, TimePoint deadline, const Clock& clock) {
  while (true) {
    pollfd p{fd, events, 0};
    int rc = ::poll(&p, 1, millis_until(deadline, clock));
    if (rc < 0 && errno == EINTR) continue;
    return rc;
  }
}

// Connects to one address; the fd on success, or the errno (ETIMEDOUT at the deadline).
int connect_one(const detail::Address& a, TimePoint deadline, const Clock& clock, int& err) {
  int fd = ::socket(a.storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    err = errno;
    return -1;
  }
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&a.storage), a.length) == 0) return fd;
  if (errno != EINPROGRESS) {
    err = errno;
    ::close(fd);
    return -1;
  }
  int rc = wait_for(fd, POLLOUT, deadline, clock);
  if (rc <= 0) {
    err = rc == 0 ? ETIMEDOUT : errno;
    ::close(fd);
    return -1;
  }
  socklen_t len = sizeof err;
  err = 0;
  ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

ProbeResult probe_tcp(const Target& t, Duration timeout, const Clock& clock) {
  ProbeResult r;
  const TimePoint start = clock.now();
  const TimePoint deadline = start + timeout;
  auto finish = [&] {
    r.timings.total = clock.now() - start;
    return r;
  };
  auto addresses = detail::resolve(t.host, t.port, timeout);
  r.timings.dns = clock.now() - start;
  if (!addresses) {
    r.error = addresses.take_error();
    return finish();
  }
  const TimePoint connect_start = clock.now();
  const TimePoint connect_deadline =
      std::min(deadline, connect_start + t.options.connect_timeout.value_or(timeout));
  int err = 0;
  int fd = -1;
  for (const auto& a : *addresses) {
    fd = connect_one(a, connect_deadline, clock, err);
    if (fd >= 0 || err == ETIMEDOUT) break;
  }
  if (fd < 0) {
    r.error =
        tcp_error(ErrorKind::connect,
                  err == ETIMEDOUT
                      ? fmt::format("connect timed out after {}",
                                    expr::format_duration_short(connect_deadline - connect_start))
                      : fmt::format("connect to {}:{}: {}", t.host, t.port, std::strerror(err)));
    return finish();
  }
  Socket sock(fd);
  r.connected = true;
  r.timings.connect = clock.now() - connect_start;

  std::string_view pending = t.options.send;
  while (!pending.empty()) {
    ssize_t n = ::send(fd, pending.data(), pending.size(), MSG_NOSIGNAL);
    if (n > 0) {
      pending.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (wait_for(fd, POLLOUT, deadline, clock) > 0) continue;
      r.error = tcp_error(ErrorKind::timeout, fmt::format("could not send within {}",
                                                          expr::format_duration_short(timeout)));
      return finish();
    }
    r.error = tcp_error(ErrorKind::reset, fmt::format("send: {}", std::strerror(errno)));
    return finish();
  }
  if (t.options.receive.empty()) return finish();

  // The same pattern the implicit condition `received ~ RECEIVE` checks, so reading stops exactly
  // when that condition would hold.
  auto wanted = expr::parse("received ~ " + expr::quote(t.options.receive));
  expr::MapScope scope;
  char buf[16 * 1024];
  while (r.received.size() < kMaxBodyBytes) {
    int ready = wait_for(fd, POLLIN, deadline, clock);
    if (ready == 0) {
      r.note = fmt::format("no matching reply within {}", expr::format_duration_short(timeout));
      break;
    }
    ssize_t n = ::recv(fd, buf, std::min(sizeof buf, kMaxBodyBytes - r.received.size()), 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) {
      if (n < 0)
        r.note = fmt::format("recv: {}", std::strerror(errno));
      else
        r.note = "the peer closed the connection";
      break;
    }
    if (r.received.empty()) r.timings.ttfb = clock.now() - start;
    r.received.append(buf, static_cast<std::size_t>(n));
    if (!wanted) break;
    scope.set("received", expr::Value::string(r.received));
    auto holds = expr::holds(*wanted, scope);
    if (holds.ok() && *holds) break;
  }
  return finish();
}

}  // namespace sluice::probe
