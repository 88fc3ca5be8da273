// Internal to the reporters: number and time formatting, and text made safe for terminals, XML
// and Prometheus label values.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "sluice/probe/runner.hpp"

namespace sluice::probe::detail {

double seconds(Duration d);
double millis(Duration d);
// "0.42ms", "3.1ms", "120ms", "2.35s".
std::string format_ms(Duration d);
// Invalid UTF-8 sequences become U+FFFD.
std::string valid_utf8(std::string_view s);
// Control characters other than tab and newline become \xHH, so they cannot drive a terminal.
std::string printable(std::string_view s);
// XML content or a double-quoted attribute value; characters XML 1.0 forbids are dropped.
std::string xml_escape(std::string_view s, bool attribute);
// 2026-05-01T12:00:00Z
std::string iso8601(std::chrono::system_clock::time_point t);
// What the STATUS column shows: 200, SERVING, connected, 2 addresses; "-" without an answer.
std::string status_text(const TargetReport& r);

}  // namespace sluice::probe::detail
