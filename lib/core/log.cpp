#include "sluice/core/log.hpp"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

namespace sluice::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::info)};
std::mutex g_stderr_mu;

constexpr std::string_view level_name(Level l) {
  switch (l) {
    case Level::error:
      return "error";
    case Level::warn:
      return "warn";
    case Level::info:
      return "info";
    case Level::debug:
      return "debug";
  }
  return "info";
}

void write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // logging must never take the process down
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

}  // namespace

bool parse_level(std::string_view t, Level& out) {
  for (Level l : {Level::error, Level::warn, Level::info, Level::debug})
    if (t == level_name(l)) {
      out = l;
      return true;
    }
  return false;
}

void set_level(Level level) {
  g_level = static_cast<int>(level);
}
bool enabled(Level level) {
  return static_cast<int>(level) <= g_level.load(std::memory_order_relaxed);
}

std::string rfc3339_now() {
  return rfc3339(std::chrono::system_clock::now());
}

std::string rfc3339(std::chrono::system_clock::time_point now) {
  auto secs = std::chrono::system_clock::to_time_t(now);
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

namespace {
void write_event(std::string_view level, std::string_view event,
                 const nlohmann::ordered_json& fields) {
  nlohmann::ordered_json line;
  line["event"] = event;
  if (fields.is_object())
    for (auto it = fields.begin(); it != fields.end(); ++it) line[it.key()] = it.value();
  line["level"] = level;
  line["time"] = rfc3339_now();
  std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  text += '\n';
  std::lock_guard lock(g_stderr_mu);
  write_all(2, text);
}
}  // namespace

void emit(Level level, std::string_view event, const nlohmann::ordered_json& fields) {
  if (enabled(level)) write_event(level_name(level), event, fields);
}

void announce(std::string_view event, const nlohmann::ordered_json& fields) {
  write_event("info", event, fields);
}

std::shared_ptr<LineSink> LineSink::open(const std::string& target, std::string& err) {
  if (target == "stdout") return std::shared_ptr<LineSink>(new LineSink(1, false));
  if (target == "stderr") return std::shared_ptr<LineSink>(new LineSink(2, false));
  int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    err = fmt::format("cannot open {}: {}", target, std::strerror(errno));
    return nullptr;
  }
  return std::shared_ptr<LineSink>(new LineSink(fd, true));
}

LineSink::~LineSink() {
  if (owned_) ::close(fd_);
}

void LineSink::write(std::string_view batch) {
  std::lock_guard lock(mu_);
  write_all(fd_, batch);
}

}  // namespace sluice::log
