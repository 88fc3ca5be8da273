// Structured logging: JSON lines for events (stderr) and a line sink for access logs.
#pragma once

#include <chrono>

#include <mutex>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace sluice::log {

enum class Level { error = 0, warn = 1, info = 2, debug = 3 };

bool parse_level(std::string_view text, Level& out);
void set_level(Level level);
bool enabled(Level level);

// Writes {"event":E, ...fields, "level":L, "time":T} as one line to stderr.
void emit(Level level, std::string_view event, const nlohmann::ordered_json& fields = {});

// Start-up facts that tools parse (e.g. "listening"): written whatever the level.
void announce(std::string_view event, const nlohmann::ordered_json& fields);

inline void error(std::string_view event, const nlohmann::ordered_json& f = {}) {
  emit(Level::error, event, f);
}
inline void warn(std::string_view event, const nlohmann::ordered_json& f = {}) {
  emit(Level::warn, event, f);
}
inline void info(std::string_view event, const nlohmann::ordered_json& f = {}) {
  emit(Level::info, event, f);
}

// RFC 3339 UTC with milliseconds, e.g. 2026-11-25T12:00:00.123Z.
std::string rfc3339_now();
// t as 2026-11-25T12:00:00.123Z (UTC, milliseconds).
std::string rfc3339(std::chrono::system_clock::time_point t);

// An append-only line sink shared by threads. Callers hand it whole batches of lines, so one
// write(2) carries many log lines and lines never interleave.
class LineSink {
 public:
  // "stdout", "stderr" or a file path (opened for append). Returns nullptr and sets err on failure.
  static std::shared_ptr<LineSink> open(const std::string& target, std::string& err);
  ~LineSink();
  void write(std::string_view batch);

 private:
  explicit LineSink(int fd, bool owned) : fd_(fd), owned_(owned) {}
  std::mutex mu_;
  int fd_;
  bool owned_;
};

}  // namespace sluice::log
