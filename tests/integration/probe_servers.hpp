// Small loopback servers for the probe tests: a TCP server that answers every read with a fixed
// reply, and a blackhole that accepts connections (in the kernel) but never answers.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace sluice::test {

// Binds 127.0.0.1:port (0 picks one) and listens; returns the fd, or throws.
inline int listen_loopback(std::uint16_t port, int backlog, std::uint16_t* bound) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(fd, backlog) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot listen on loopback");
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  *bound = ntohs(addr.sin_port);
  return fd;
}

// Connections complete in the kernel's accept queue and are never accepted, read or answered:
// a probe connects, sends its request and waits until its timeout.
class Blackhole {
 public:
  Blackhole() { fd_ = listen_loopback(0, 4096, &port_); }
  ~Blackhole() { ::close(fd_); }
  Blackhole(const Blackhole&) = delete;
  Blackhole& operator=(const Blackhole&) = delete;
  std::uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

// Answers each chunk it reads with `reply` (e.g. "+PONG\r\n" to "PING\r\n"); with an empty
// reply it only accepts and reads.
class ReplyServer {
 public:
  explicit ReplyServer(std::string reply) : reply_(std::move(reply)) {
    fd_ = listen_loopback(0, 128, &port_);
    thread_ = std::thread([this] { serve(); });
  }
  ~ReplyServer() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
    std::lock_guard lock(mu_);
    for (auto& t : conns_) t.join();
  }
  ReplyServer(const ReplyServer&) = delete;
  ReplyServer& operator=(const ReplyServer&) = delete;
  std::uint16_t port() const { return port_; }
  std::string received() {
    std::lock_guard lock(mu_);
    return received_;
  }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      std::lock_guard lock(mu_);
      conns_.emplace_back([this, c] { handle(c); });
    }
  }
  void handle(int c) {
    char buf[4096];
    while (!stop_) {
      pollfd p{c, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      auto n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) break;
      {
        std::lock_guard lock(mu_);
        received_.append(buf, static_cast<std::size_t>(n));
      }
      if (!reply_.empty()) ::send(c, reply_.data(), reply_.size(), MSG_NOSIGNAL);
    }
    ::close(c);
  }

  std::string reply_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::thread> conns_;
  std::string received_;
};

}  // namespace sluice::test
