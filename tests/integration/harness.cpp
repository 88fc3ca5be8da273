#include "harness.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

extern char** environ;

namespace sluice::test {

namespace {

struct Pipe {
  int rd = -1;
  int wr = -1;
  Pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    rd = fds[0];
    wr = fds[1];
  }
};

// Spawns argv[0] with stdin from /dev/null and stdout/stderr to the given pipes. Only fds 0-2
// reach the child: sockets that tests and mocks open without CLOEXEC must not leak into it.
pid_t spawn(const std::vector<std::string>& argv, int out_fd, int err_fd) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
  posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  // The test process ignores SIGPIPE; the child starts with default dispositions.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, args[0], &fa, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) throw std::runtime_error(fmt::format("posix_spawn {}: {}", argv[0], strerror(rc)));
  return pid;
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

std::atomic<int> g_temp_counter{0};

// A peer that closes early must fail a send, not kill the test run.
[[maybe_unused]] const bool g_sigpipe_ignored = [] {
  ::signal(SIGPIPE, SIG_IGN);
  return true;
}();

long proc_status_kib(pid_t pid, std::string_view key) {
  std::ifstream in(fmt::format("/proc/{}/status", pid));
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, key.size(), key) == 0 && line.size() > key.size() &&
        line[key.size()] == ':') {
      return std::strtol(line.c_str() + key.size() + 1, nullptr, 10);
    }
  }
  return -1;
}

}  // namespace

std::string sluice_bin() {
  // SLUICE_TEST_BIN runs the suite against another build (e.g. the tsan preset's binary).
  const char* other = std::getenv("SLUICE_TEST_BIN");
  return other && *other ? other : SLUICE_BIN;
}

std::string temp_path(std::string_view stem, std::string_view suffix) {
  const char* dir = std::getenv("TMPDIR");
  return fmt::format("{}/sluice-it-{}-{}-{}{}", dir && *dir ? dir : "/tmp", ::getpid(),
                     g_temp_counter.fetch_add(1), stem, suffix);
}

void write_file(const std::string& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::uint16_t unused_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

RunResult run_sluice(const std::vector<std::string>& args, Millis timeout) {
  std::vector<std::string> argv{sluice_bin()};
  argv.insert(argv.end(), args.begin(), args.end());
  Pipe out, err;
  pid_t pid = spawn(argv, out.wr, err.wr);
  ::close(out.wr);
  ::close(err.wr);
  RunResult result;
  auto drain = [](int fd, std::string& into) {
    char buf[4096];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n > 0) {
        into.append(buf, static_cast<std::size_t>(n));
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else {
        break;
      }
    }
    ::close(fd);
  };
  std::thread t_out(drain, out.rd, std::ref(result.out));
  std::thread t_err(drain, err.rd, std::ref(result.err));
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  for (;;) {
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (std::chrono::steady_clock::now() > deadline) {
      result.timed_out = true;
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(10ms);
  }
  t_out.join();
  t_err.join();
  result.exit_code = decode_status(status);
  return result;
}

SluiceProcess::SluiceProcess(const std::string& config_toml)
    : SluiceProcess(config_toml, Options{}) {}

SluiceProcess::SluiceProcess(const std::string& config_toml, Options options) {
  std::vector<std::string> argv{sluice_bin(), "serve"};
  if (options.with_config) {
    config_path_ = temp_path("config", ".toml");
    write_file(config_path_, config_toml);
    argv.push_back("--config");
    argv.push_back(config_path_);
  }
  argv.insert(argv.end(), options.extra_args.begin(), options.extra_args.end());
  start(argv, options);
}

void SluiceProcess::start(const std::vector<std::string>& argv, const Options& options) {
  Pipe out, err;
  pid_ = spawn(argv, out.wr, err.wr);
  ::close(out.wr);
  ::close(err.wr);
  out_thread_ = std::thread([this, fd = out.rd] { reader(fd, false); });
  err_thread_ = std::thread([this, fd = err.rd] { reader(fd, true); });

  std::vector<std::string> wanted = options.listeners;
  if (options.admin) wanted.push_back("admin");
  auto deadline = std::chrono::steady_clock::now() + options.startup_timeout;
  std::unique_lock lk(mu_);
  for (;;) {
    bool all = true;
    for (const auto& name : wanted) all = all && ports_.count(name) > 0;
    if (all) return;
    lk.unlock();
    bool exited = !running();
    lk.lock();
    if (exited || std::chrono::steady_clock::now() > deadline) {
      std::string err_text;
      for (const auto& l : err_lines_) err_text += l + "\n";
      lk.unlock();
      std::string why = exited ? fmt::format("exited with {}", exit_code_.value_or(-1))
                               : "did not report its listeners in time";
      throw std::runtime_error(fmt::format("sluice {}; stderr:\n{}", why, err_text));
    }
    cv_.wait_for(lk, 50ms);
  }
}

SluiceProcess::~SluiceProcess() {
  if (pid_ > 0 && !exit_code_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    exit_code_ = decode_status(status);
  }
  if (out_thread_.joinable()) out_thread_.join();
  if (err_thread_.joinable()) err_thread_.join();
  if (!config_path_.empty()) {
    std::remove(config_path_.c_str());
    std::remove((config_path_ + ".tmp").c_str());
  }
}

void SluiceProcess::reader(int fd, bool is_stderr) {
  std::string pending;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    pending.append(buf, static_cast<std::size_t>(n));
    std::size_t start = 0;
    std::vector<std::string> lines;
    for (std::size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
      lines.emplace_back(pending, start, nl - start);
    }
    pending.erase(0, start);
    if (lines.empty()) continue;
    std::lock_guard lk(mu_);
    for (auto& line : lines) {
      if (is_stderr) {
        // {"event":"listening","name":"main","address":"127.0.0.1:40123",...}
        auto j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_object() && j.value("event", "") == "listening") {
          std::string name = j.value("name", "");
          std::string address = j.value("address", "");
          auto colon = address.rfind(':');
          if (!name.empty() && colon != std::string::npos && !ports_.count(name)) {
            auto port = static_cast<std::uint16_t>(std::atoi(address.c_str() + colon + 1));
            ports_[name] = port;
            if (name != "admin" && !ports_.count("*")) ports_["*"] = port;
          }
        }
        err_lines_.push_back(std::move(line));
      } else {
        out_lines_.push_back(std::move(line));
      }
    }
    cv_.notify_all();
  }
  if (!pending.empty()) {
    std::lock_guard lk(mu_);
    (is_stderr ? err_lines_ : out_lines_).push_back(pending);
  }
  ::close(fd);
  cv_.notify_all();
}

std::uint16_t SluiceProcess::port(const std::string& name) const {
  std::lock_guard lk(mu_);
  auto it = ports_.find(name);
  if (it == ports_.end()) throw std::runtime_error("no listener named " + name);
  return it->second;
}

void SluiceProcess::rewrite_config(std::string_view toml) {
  std::string tmp = config_path_ + ".tmp";
  write_file(tmp, toml);
  if (std::rename(tmp.c_str(), config_path_.c_str()) != 0)
    throw std::runtime_error("rename failed: " + config_path_);
}

void SluiceProcess::send_signal(int sig) {
  if (pid_ > 0 && !exit_code_) ::kill(pid_, sig);
}

void SluiceProcess::reap(int status) {
  exit_code_ = decode_status(status);
}

bool SluiceProcess::running() {
  if (exit_code_) return false;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    reap(status);
    return false;
  }
  return true;
}

std::optional<int> SluiceProcess::wait_exit(Millis timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
    std::this_thread::sleep_for(10ms);
  }
  // Let the readers collect the last lines.
  if (out_thread_.joinable()) out_thread_.join();
  if (err_thread_.joinable()) err_thread_.join();
  return exit_code_;
}

std::vector<std::string> SluiceProcess::stderr_lines() const {
  std::lock_guard lk(mu_);
  return err_lines_;
}

std::vector<std::string> SluiceProcess::stdout_lines() const {
  std::lock_guard lk(mu_);
  return out_lines_;
}

std::size_t SluiceProcess::stderr_line_count() const {
  std::lock_guard lk(mu_);
  return err_lines_.size();
}

std::string SluiceProcess::stderr_text() const {
  std::lock_guard lk(mu_);
  std::string out;
  for (const auto& l : err_lines_) out += l + "\n";
  return out;
}

std::optional<std::string> SluiceProcess::wait_for_stderr(
    const std::function<bool(const std::string&)>& pred, Millis timeout, std::size_t from_line) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock lk(mu_);
  std::size_t checked = from_line;
  for (;;) {
    for (; checked < err_lines_.size(); ++checked) {
      if (pred(err_lines_[checked])) return err_lines_[checked];
    }
    if (cv_.wait_until(lk, deadline) == std::cv_status::timeout) {
      for (; checked < err_lines_.size(); ++checked) {
        if (pred(err_lines_[checked])) return err_lines_[checked];
      }
      return std::nullopt;
    }
  }
}

std::optional<std::string> SluiceProcess::wait_for_stderr(std::string_view substring,
                                                          Millis timeout, std::size_t from_line) {
  std::string needle(substring);
  return wait_for_stderr(
      [&](const std::string& line) { return line.find(needle) != std::string::npos; }, timeout,
      from_line);
}

std::optional<std::string> SluiceProcess::wait_for_event(std::string_view event, Millis timeout,
                                                         std::size_t from_line) {
  std::string wanted(event);
  return wait_for_stderr(
      [&](const std::string& line) {
        auto j = nlohmann::json::parse(line, nullptr, false);
        return j.is_object() && j.value("event", "") == wanted;
      },
      timeout, from_line);
}

long SluiceProcess::rss_kib() const {
  return proc_status_kib(pid_, "VmRSS");
}

long SluiceProcess::peak_rss_kib() const {
  return proc_status_kib(pid_, "VmHWM");
}

}  // namespace sluice::test
