#include "sluice/gateway/access_log.hpp"

#include <chrono>
#include <ctime>

#include <fmt/format.h>

namespace sluice::gateway {

void append_json_escaped(std::string& out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20)
          fmt::format_to(std::back_inserter(out), "\\u{:04x}", c);
        else
          out += c;
    }
  }
}

void AccessLog::append_time() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::int64_t sec = ms / 1000;
  if (sec != cached_second_) {
    std::time_t t = sec;
    std::tm tm{};
    gmtime_r(&t, &tm);
    cached_prefix_ = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", tm.tm_year + 1900,
                                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    cached_second_ = sec;
  }
  fmt::format_to(std::back_inserter(buf_), "{}.{:03}Z", cached_prefix_, ms % 1000);
}

void AccessLog::write(const AccessRecord& r) {
  if (!sink_) return;
  auto str = [&](std::string_view key, std::string_view v) {
    buf_ += ",\"";
    buf_ += key;
    buf_ += "\":\"";
    append_json_escaped(buf_, v);
    buf_ += '"';
  };
  buf_ += "{\"time\":\"";
  append_time();
  buf_ += '"';
  str("request_id", r.request_id);
  str("listener", r.listener);
  str("client", r.client);
  str("method", r.method);
  str("path", r.path);
  str("route", r.route);
  str("cluster", r.cluster);
  str("endpoint", r.endpoint);
  auto out = std::back_inserter(buf_);
  fmt::format_to(out, ",\"status\":{},\"bytes_in\":{},\"bytes_out\":{},\"total_ms\":{:.3f}",
                 r.status, r.bytes_in, r.bytes_out, r.total_ms);
  if (r.connect_ms >= 0)
    fmt::format_to(out, ",\"upstream_connect_ms\":{:.3f}", r.connect_ms);
  else
    buf_ += ",\"upstream_connect_ms\":null";
  if (r.ttfb_ms >= 0)
    fmt::format_to(out, ",\"upstream_ttfb_ms\":{:.3f}", r.ttfb_ms);
  else
    buf_ += ",\"upstream_ttfb_ms\":null";
  fmt::format_to(out, ",\"attempts\":{}", r.attempts);
  if (!r.detail.empty()) str("detail", r.detail);
  if (!r.extra.empty()) {
    buf_ += ',';
    buf_ += r.extra;
  }
  if (r.error.empty())
    buf_ += ",\"error\":null}\n";
  else {
    str("error", r.error);
    buf_ += "}\n";
  }
  if (buf_.size() >= 16 * 1024) flush();
}

void AccessLog::flush() {
  if (!sink_ || buf_.empty()) return;
  sink_->write(buf_);
  buf_.clear();
}

}  // namespace sluice::gateway
