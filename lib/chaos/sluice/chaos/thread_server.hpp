// ThreadPerConnectionServer: the accept-and-stop scaffolding of the blocking loopback mocks. It
// owns the listening socket on 127.0.0.1, the acceptor thread, and one record per connection (its
// descriptor, its thread, whether it is closed). What is said on a connection is the handler's.
//
// The server owns every accepted descriptor: the handler reads and writes it but never closes it;
// the connection thread closes it, under the server mutex, once the handler returns (or throws).
// So stop() never shuts down a descriptor number that has been reused.
//
// stop() shuts down the listening socket (which wakes a blocked accept on Linux) and every open
// connection (which wakes blocked reads and writes), joins the acceptor, closes the listener,
// then joins the connection threads. Finished connection threads are reaped at each accept, so a
// long-running mock does not accumulate them.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace sluice::chaos {

class ThreadPerConnectionServer {
 public:
  // Runs on a new thread per accepted connection. Exceptions are swallowed (the connection is
  // dropped, the server keeps serving).
  using Handler = std::function<void(int fd)>;

  // The std::runtime_error thrown when the listener cannot be made says "<socket_error>: <reason>"
  // when socket() fails and "<bind_error>: <reason>" when bind, listen or getsockname does.
  struct ErrorText {
    std::string socket_error;
    std::string bind_error;
  };

  // Binds 127.0.0.1:port (0 picks a free port), listens, and starts accepting.
  ThreadPerConnectionServer(std::uint16_t port, Handler on_connection, const ErrorText& errors);
  ~ThreadPerConnectionServer();  // stop()
  ThreadPerConnectionServer(const ThreadPerConnectionServer&) = delete;
  ThreadPerConnectionServer& operator=(const ThreadPerConnectionServer&) = delete;

  std::uint16_t port() const;

  // Closes the listener and every connection, then joins all threads. Idempotent.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::chaos
