// Integration-test harness: runs the sluice binary as a child process and talks to it over
// loopback. Every wait here is bounded.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace sluice::test {

using namespace std::chrono_literals;
using Millis = std::chrono::milliseconds;

// The sluice binary under test.
std::string sluice_bin();
// A fresh path under the temp dir (nothing is created).
std::string temp_path(std::string_view stem, std::string_view suffix);
void write_file(const std::string& path, std::string_view content);
// A loopback port that nothing listens on (bound, then released).
std::uint16_t unused_port();

struct RunResult {
  int exit_code = -1;  // 128+N when killed by signal N
  bool timed_out = false;
  std::string out;
  std::string err;
};
// Runs `sluice ARGS...` to completion (killed after timeout).
RunResult run_sluice(const std::vector<std::string>& args, Millis timeout = 15s);

// A running `sluice serve`.
class SluiceProcess {
 public:
  struct Options {
    std::vector<std::string> extra_args;  // after `serve --config FILE`
    // Listener names to wait for; "*" stands for the first listener other than "admin".
    std::vector<std::string> listeners = {"main"};
    bool admin = true;  // wait for the "admin" listener too
    Millis startup_timeout = 15s;
    bool with_config = true;  // false: run `serve EXTRA_ARGS` (quick mode), config ignored
  };

  explicit SluiceProcess(const std::string& config_toml);
  SluiceProcess(const std::string& config_toml, Options options);
  ~SluiceProcess();
  SluiceProcess(const SluiceProcess&) = delete;
  SluiceProcess& operator=(const SluiceProcess&) = delete;

  // The port of a listener by name ("*": the first listener other than "admin").
  std::uint16_t port(const std::string& name = "main") const;
  std::uint16_t admin_port() const { return port("admin"); }
  pid_t pid() const { return pid_; }
  const std::string& config_path() const { return config_path_; }
  // Replaces the config file atomically (write + rename), so a watcher never sees half a file.
  void rewrite_config(std::string_view toml);

  void send_signal(int sig);
  // The exit code (128+N when killed by signal N), or nullopt if still running after timeout.
  std::optional<int> wait_exit(Millis timeout);
  bool running();

  std::vector<std::string> stderr_lines() const;
  std::vector<std::string> stdout_lines() const;
  std::size_t stderr_line_count() const;
  // Waits until a stderr line numbered >= from_line satisfies pred. Returns that line.
  std::optional<std::string> wait_for_stderr(const std::function<bool(const std::string&)>& pred,
                                             Millis timeout, std::size_t from_line = 0);
  std::optional<std::string> wait_for_stderr(std::string_view substring, Millis timeout,
                                             std::size_t from_line = 0);
  // Waits for a JSON stderr line whose "event" equals event.
  std::optional<std::string> wait_for_event(std::string_view event, Millis timeout,
                                            std::size_t from_line = 0);
  // Everything the process printed on stderr, for failure messages.
  std::string stderr_text() const;

  // From /proc/PID/status: VmRSS and VmHWM (peak), in KiB; -1 when unavailable.
  long rss_kib() const;
  long peak_rss_kib() const;

 private:
  void start(const std::vector<std::string>& argv, const Options& options);
  void reader(int fd, bool is_stderr);
  void reap(int status);

  std::string config_path_;
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::thread out_thread_;
  std::thread err_thread_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> out_lines_;
  std::vector<std::string> err_lines_;
  std::map<std::string, std::uint16_t> ports_;
};

}  // namespace sluice::test
