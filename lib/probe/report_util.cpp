#include "report_util.hpp"

#include <ctime>

#include <fmt/format.h>

#include "sluice/probe/grpc_wire.hpp"

namespace sluice::probe::detail {

double seconds(Duration d) {
  return std::chrono::duration<double>(d).count();
}

double millis(Duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

std::string format_ms(Duration d) {
  double ms = millis(d);
  if (ms >= 10000) return fmt::format("{:.2f}s", ms / 1000);
  if (ms >= 100) return fmt::format("{:.0f}ms", ms);
  if (ms >= 10) return fmt::format("{:.1f}ms", ms);
  return fmt::format("{:.2f}ms", ms);
}

std::string printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    auto b = static_cast<unsigned char>(c);
    if ((b < 0x20 && c != '\n' && c != '\t') || b == 0x7f)
      out += fmt::format("\\x{:02x}", b);
    else
      out += c;
  }
  return out;
}

std::string iso8601(std::chrono::system_clock::time_point t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string status_text(const TargetReport& rep) {
  const auto& r = rep.attempt.result;
  if (r.error) return "-";
  switch (rep.target.kind) {
    case Kind::http:
      return r.status ? std::to_string(r.status) : "-";
    case Kind::grpc:
      if (r.serving_status) return grpc::serving_status_name(*r.serving_status);
      if (r.grpc_code) return grpc::code_name(*r.grpc_code);
      return r.status ? fmt::format("http {}", r.status) : "-";
    case Kind::tcp:
      return r.connected ? "connected" : "-";
    case Kind::dns:
      return fmt::format("{} address{}", r.addresses.size(), r.addresses.size() == 1 ? "" : "es");
  }
  return "-";
}

}  // namespace sluice::probe::detail
