// std::chrono's civil calendar (C++20) does the arithmetic; only the text is parsed by hand.
#include "sluice/store/utc.hpp"

#include <charconv>
#include <chrono>

#include <fmt/format.h>

namespace sluice::store {

namespace chr = std::chrono;
using Ms = chr::sys_time<chr::milliseconds>;

namespace {

chr::year_month_day ymd_of(std::int64_t ms) {
  return chr::year_month_day{chr::floor<chr::days>(Ms{chr::milliseconds{ms}})};
}

std::int64_t to_ms(chr::sys_days d) {
  return chr::duration_cast<chr::milliseconds>(d.time_since_epoch()).count();
}

// Reads exactly `width` digits at text[pos].
bool digits(std::string_view text, std::size_t pos, std::size_t width, int& out) {
  if (pos + width > text.size()) return false;
  for (std::size_t i = pos; i < pos + width; ++i)
    if (text[i] < '0' || text[i] > '9') return false;
  std::from_chars(text.data() + pos, text.data() + pos + width, out);
  return true;
}

Error bad_time(std::string_view text) {
  return make_error(ErrorKind::usage, ErrorSource::downstream,
                    fmt::format("\"{}\" is not a date or time (hint: 2025-03-07, "
                                "2025-03-07T12:30:00Z or 2025-03-07T12:30:00+02:00)",
                                text));
}

}  // namespace

std::int64_t utc_day_start(std::int64_t ms) {
  return to_ms(chr::sys_days{ymd_of(ms)});
}

std::int64_t utc_month_start(std::int64_t ms) {
  auto d = ymd_of(ms);
  return to_ms(chr::sys_days{d.year() / d.month() / 1});
}

std::int64_t next_utc_day(std::int64_t ms) {
  return to_ms(chr::sys_days{ymd_of(ms)} + chr::days{1});
}

std::int64_t next_utc_month(std::int64_t ms) {
  auto d = ymd_of(ms);
  auto next = chr::year_month{d.year(), d.month()} + chr::months{1};
  return to_ms(chr::sys_days{next / 1});
}

std::string utc_date(std::int64_t ms) {
  auto d = ymd_of(ms);
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(d.year()),
                     static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()));
}

std::string utc_timestamp(std::int64_t ms) {
  std::int64_t in_day = ms - utc_day_start(ms);
  std::int64_t s = in_day / 1000, frac = in_day % 1000;
  std::string out =
      fmt::format("{}T{:02}:{:02}:{:02}", utc_date(ms), s / 3600, s / 60 % 60, s % 60);
  if (frac) out += fmt::format(".{:03}", frac);
  return out + "Z";
}

Result<std::int64_t> parse_utc_time(std::string_view text) {
  int y = 0, mo = 0, d = 0;
  if (!digits(text, 0, 4, y) || text.size() < 10 || text[4] != '-' || !digits(text, 5, 2, mo) ||
      text[7] != '-' || !digits(text, 8, 2, d))
    return bad_time(text);
  chr::year_month_day date{chr::year{y}, chr::month{static_cast<unsigned>(mo)},
                           chr::day{static_cast<unsigned>(d)}};
  if (!date.ok()) return bad_time(text);
  std::int64_t ms = to_ms(chr::sys_days{date});
  if (text.size() == 10) return ms;

  int h = 0, mi = 0, s = 0;
  if (text.size() < 20 || (text[10] != 'T' && text[10] != 't' && text[10] != ' ') ||
      !digits(text, 11, 2, h) || text[13] != ':' || !digits(text, 14, 2, mi) || text[16] != ':' ||
      !digits(text, 17, 2, s) || h > 23 || mi > 59 || s > 60)
    return bad_time(text);
  ms += ((h * 60 + mi) * 60 + s) * std::int64_t{1000};
  std::size_t pos = 19;
  if (text[pos] == '.') {  // fraction: milliseconds kept, finer digits dropped
    std::size_t start = ++pos;
    int scale = 100;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      ms += (text[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return bad_time(text);
  }
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z') && pos + 1 == text.size())
    return ms;
  int oh = 0, om = 0;
  if (pos + 6 != text.size() || (text[pos] != '+' && text[pos] != '-') ||
      !digits(text, pos + 1, 2, oh) || text[pos + 3] != ':' || !digits(text, pos + 4, 2, om) ||
      oh > 23 || om > 59)
    return bad_time(text);
  std::int64_t offset = (oh * 60 + om) * std::int64_t{60'000};
  return text[pos] == '+' ? ms - offset : ms + offset;
}

}  // namespace sluice::store
