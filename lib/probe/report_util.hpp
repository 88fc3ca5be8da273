// Internal to the reporters: number and time formatting, and text made safe for terminals, XML
// and Prometheus label values.
#pragma once

#include "sluice/core/text.hpp"

#include <chrono>
#include <string>
#include <string_view>

#include "sluice/probe/runner.hpp"

namespace sluice::probe::detail {

double seconds(Duration d);
double millis(Duration d);
// "0.42ms", "3.1ms", "120ms", "2.35s".
std::string format_ms(Duration d);
using text::valid_utf8;  // invalid UTF-8 sequences become U+FFFD
// Control characters other than tab and newline become \xHH, so they cannot drive a terminal.
std::string printable(std::string_view s);
using text::xml_escape;  // XML content or a double-quoted attribute value
// 2026-05-01T12:00:00Z
std::string iso8601(std::chrono::system_clock::time_point t);
// What the STATUS column shows: 200, SERVING, connected, 2 addresses; "-" without an answer.
std::string status_text(const TargetReport& r);

}  // namespace sluice::probe::detail
