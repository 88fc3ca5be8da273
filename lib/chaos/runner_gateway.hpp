// The gateway process a chaos run starts (private to lib/chaos): `sluice serve` on port 0, its
// listening lines read from stderr, and its shutdown.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "sluice/core/error.hpp"

namespace sluice::chaos::detail {

class GatewayProcess {
 public:
  GatewayProcess() = default;
  ~GatewayProcess();
  GatewayProcess(const GatewayProcess&) = delete;
  GatewayProcess& operator=(const GatewayProcess&) = delete;

  // Writes `config` to a temp file, spawns `binary serve --config FILE --admin 127.0.0.1:0` and
  // waits up to `timeout` for the listening lines of `listeners`. The error carries the tail of
  // the gateway's stderr.
  Result<void> start(const std::string& binary, const std::string& config,
                     const std::vector<std::string>& listeners, std::chrono::milliseconds timeout);
  // The address a listener reported ("127.0.0.1:PORT"); empty when unknown.
  std::string address(const std::string& listener) const;
  // Rewrites the config file atomically (write, then rename) and sends SIGHUP.
  Result<void> reload(const std::string& config);
  void send_signal(int sig);
  // The exit code (128+N when killed by signal N) once it has exited; polls without blocking.
  std::optional<int> exit_code();
  // SIGTERM, up to `grace` to exit, then SIGKILL. Returns the exit code. Idempotent.
  int stop(std::chrono::milliseconds grace);
  // The last lines of stderr, for error messages.
  std::string stderr_tail() const;

 private:
  void read_stderr(int fd);
  bool eof_seen() const;

  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::string config_path_;
  std::thread reader_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> tail_;
  std::map<std::string, std::string> addresses_;
  bool eof_ = false;
};

}  // namespace sluice::chaos::detail
