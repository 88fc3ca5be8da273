// The gateway process of a chaos run (see runner_gateway.hpp).
#include "runner_gateway.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

extern char** environ;

namespace sluice::chaos::detail {

namespace {

constexpr std::size_t kTailLines = 30;
std::atomic<int> g_counter{0};

Error gw_error(std::string msg) {
  return make_error(ErrorKind::io, ErrorSource::internal, std::move(msg));
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

bool write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  out.close();
  return static_cast<bool>(out);
}

}  // namespace

GatewayProcess::~GatewayProcess() {
  stop(std::chrono::seconds(15));
  if (!config_path_.empty()) std::remove(config_path_.c_str());
}

Result<void> GatewayProcess::start(const std::string& binary, const std::string& config,
                                   const std::vector<std::string>& listeners,
                                   std::chrono::milliseconds timeout) {
  const char* dir = std::getenv("TMPDIR");
  config_path_ = fmt::format("{}/sluice-chaos-{}-{}.toml", dir && *dir ? dir : "/tmp", ::getpid(),
                             g_counter.fetch_add(1));
  if (!write_file(config_path_, config))
    return gw_error(fmt::format("cannot write the gateway config to {}", config_path_));

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return gw_error("pipe2 failed");
  std::vector<std::string> argv{binary,       "serve",   "--config",
                                config_path_, "--admin", "127.0.0.1:0"};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
  // Only fds 0-2 reach the gateway: the runner's sockets must not leak into it.
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGHUP);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGINT);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int rc = ::posix_spawn(&pid_, args[0], &fa, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    pid_ = -1;
    return gw_error(fmt::format("cannot start the gateway {}: {}", binary, std::strerror(rc)));
  }
  reader_ = std::thread([this, fd = fds[0]] { read_stderr(fd); });

  std::unique_lock lk(mu_);
  auto ready = [&] {
    for (const auto& l : listeners)
      if (!addresses_.count(l)) return false;
    return true;
  };
  bool ok = cv_.wait_for(lk, timeout, [&] { return ready() || eof_; }) && ready();
  lk.unlock();
  if (ok) return {};
  // Stderr closes just before the process exits: give the exit a moment to be reaped.
  for (int i = 0; i < 100 && eof_seen() && !exit_code(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::string why;
  if (auto code = exit_code()) {
    why = fmt::format("the gateway exited with code {} before it was ready", *code);
  } else {
    std::string missing;
    {
      std::lock_guard g(mu_);
      for (const auto& l : listeners)
        if (!addresses_.count(l)) missing += (missing.empty() ? "" : ", ") + l;
    }
    why = fmt::format("the gateway did not report listener(s) {} within {}s", missing,
                      std::chrono::duration_cast<std::chrono::seconds>(timeout).count());
    stop(std::chrono::seconds(2));
  }
  auto tail = stderr_tail();
  if (!tail.empty()) why += "; its stderr ends with:\n" + tail;
  return gw_error(why);
}

void GatewayProcess::read_stderr(int fd) {
  std::string pending;
  char buf[4096];
  auto take_line = [&](std::string line) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::lock_guard lk(mu_);
    if (line.find("\"listening\"") != std::string::npos) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_object() && j.value("event", "") == "listening" && j.contains("name") &&
          j.contains("address") && j["name"].is_string() && j["address"].is_string())
        addresses_[j["name"].get<std::string>()] = j["address"].get<std::string>();
    }
    tail_.push_back(std::move(line));
    if (tail_.size() > kTailLines) tail_.pop_front();
    cv_.notify_all();
  };
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    pending.append(buf, static_cast<std::size_t>(n));
    std::size_t nl;
    while ((nl = pending.find('\n')) != std::string::npos) {
      take_line(pending.substr(0, nl));
      pending.erase(0, nl + 1);
    }
  }
  if (!pending.empty()) take_line(pending);
  ::close(fd);
  std::lock_guard lk(mu_);
  eof_ = true;
  cv_.notify_all();
}

bool GatewayProcess::eof_seen() const {
  std::lock_guard lk(mu_);
  return eof_;
}

std::string GatewayProcess::address(const std::string& listener) const {
  std::lock_guard lk(mu_);
  auto it = addresses_.find(listener);
  return it == addresses_.end() ? std::string() : it->second;
}

Result<void> GatewayProcess::reload(const std::string& config) {
  std::string tmp = config_path_ + ".new";
  if (!write_file(tmp, config)) return gw_error("cannot write the new gateway config to " + tmp);
  if (std::rename(tmp.c_str(), config_path_.c_str()) != 0)
    return gw_error(fmt::format("cannot replace {}: {}", config_path_, std::strerror(errno)));
  send_signal(SIGHUP);
  return {};
}

void GatewayProcess::send_signal(int sig) {
  if (pid_ > 0 && !exit_code()) ::kill(pid_, sig);
}

std::optional<int> GatewayProcess::exit_code() {
  if (exit_code_ || pid_ <= 0) return exit_code_;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) exit_code_ = decode_status(status);
  return exit_code_;
}

int GatewayProcess::stop(std::chrono::milliseconds grace) {
  if (pid_ > 0 && !exit_code()) {
    ::kill(pid_, SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + grace;
    while (!exit_code() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (!exit_code()) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      if (::waitpid(pid_, &status, 0) == pid_) exit_code_ = decode_status(status);
    }
  }
  if (reader_.joinable()) reader_.join();
  return exit_code_.value_or(-1);
}

std::string GatewayProcess::stderr_tail() const {
  std::lock_guard lk(mu_);
  std::string out;
  for (const auto& l : tail_) {
    if (!out.empty()) out += '\n';
    out += l;
  }
  return out;
}

}  // namespace sluice::chaos::detail
