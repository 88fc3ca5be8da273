// ThreadPerConnectionServer: the listener, the acceptor loop, the connection records and stop().
#include "sluice/chaos/thread_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <list>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>

#include <fmt/format.h>

namespace sluice::chaos {

namespace {

struct Conn {
  int fd = -1;
  std::thread thread;
  std::atomic<bool> done{false};
  bool closed = false;  // guarded by ThreadPerConnectionServer::Impl::mu
};

}  // namespace

struct ThreadPerConnectionServer::Impl {
  Handler on_connection;
  int listen_fd = -1;
  std::uint16_t port = 0;
  std::mutex mu;
  bool stopping = false;                   // guarded by mu
  std::list<std::unique_ptr<Conn>> conns;  // guarded by mu
  std::thread accept_thread;

  void close_conn(Conn& c) {
    std::lock_guard lk(mu);
    if (c.closed) return;
    ::close(c.fd);
    c.closed = true;
  }

  // Joins and forgets the connections whose threads have finished. Called with mu held.
  void reap() {
    for (auto it = conns.begin(); it != conns.end();) {
      if ((*it)->done.load()) {
        if ((*it)->thread.joinable()) (*it)->thread.join();
        it = conns.erase(it);
      } else {
        ++it;
      }
    }
  }

  void accept_loop();
};

void ThreadPerConnectionServer::Impl::accept_loop() {
  for (;;) {
    const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    std::unique_lock lk(mu);
    if (stopping) {
      if (fd >= 0) ::close(fd);
      return;
    }
    if (fd < 0) {
      // EMFILE and the like: back off briefly rather than spin.
      lk.unlock();
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    reap();
    try {
      auto conn = std::make_unique<Conn>();
      conn->fd = fd;
      Conn* c = conn.get();
      conns.push_back(std::move(conn));
      try {
        c->thread = std::thread([this, c] {
          try {
            on_connection(c->fd);
          } catch (...) {
            // Out of memory in a test server: drop the connection, keep serving.
          }
          close_conn(*c);
          c->done.store(true);
        });
      } catch (...) {
        conns.pop_back();
        ::close(fd);
      }
    } catch (...) {
      ::close(fd);
    }
  }
}

ThreadPerConnectionServer::ThreadPerConnectionServer(std::uint16_t port, Handler on_connection,
                                                     const ErrorText& errors)
    : impl_(std::make_unique<Impl>()) {
  impl_->on_connection = std::move(on_connection);
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(fmt::format("{}: {}", errors.socket_error, strerror(errno)));
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t addr_len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 128) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &addr_len) != 0) {
    const int err = errno;
    ::close(fd);
    throw std::runtime_error(fmt::format("{}: {}", errors.bind_error, strerror(err)));
  }
  impl_->listen_fd = fd;
  impl_->port = ntohs(addr.sin_port);
  impl_->accept_thread = std::thread([impl = impl_.get()] { impl->accept_loop(); });
}

ThreadPerConnectionServer::~ThreadPerConnectionServer() {
  stop();
}

std::uint16_t ThreadPerConnectionServer::port() const {
  return impl_->port;
}

void ThreadPerConnectionServer::stop() {
  {
    std::lock_guard lk(impl_->mu);
    if (!impl_->stopping) {
      impl_->stopping = true;
      if (impl_->listen_fd >= 0) ::shutdown(impl_->listen_fd, SHUT_RDWR);
    }
    for (auto& c : impl_->conns) {
      if (!c->closed) ::shutdown(c->fd, SHUT_RDWR);
    }
  }
  if (impl_->accept_thread.joinable()) impl_->accept_thread.join();
  if (impl_->listen_fd >= 0) {
    ::close(impl_->listen_fd);
    impl_->listen_fd = -1;
  }
  // The acceptor thread is gone, so the list no longer changes.
  for (auto& c : impl_->conns) {
    if (c->thread.joinable()) c->thread.join();
  }
  std::lock_guard lk(impl_->mu);
  impl_->conns.clear();
}

}  // namespace sluice::chaos
