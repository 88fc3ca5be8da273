// Private to llmgw: splitting a provider's text/event-stream body into events (the WHATWG
// event-stream rules the providers use: `event:` and `data:` lines, a blank line ends an event,
// several data lines join with '\n', comments and other fields are ignored).
#pragma once

#include <string>
#include <string_view>

namespace sluice::llmgw {

class SseSplitter {
 public:
  // Appends bytes; calls f(event, data) for each event they complete.
  template <class F>
  void feed(std::string_view bytes, F&& f) {
    buf_.append(bytes);
    std::size_t line_start = pos_;
    for (;;) {
      std::size_t nl = buf_.find('\n', line_start);
      if (nl == std::string::npos) break;
      std::string_view line(buf_.data() + line_start, nl - line_start);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      line_start = nl + 1;
      if (line.empty()) {
        if (has_data_ || !event_.empty()) f(std::string_view(event_), std::string_view(data_));
        event_.clear();
        data_.clear();
        has_data_ = false;
        continue;
      }
      field(line);
    }
    // Drop what was consumed once it is most of the buffer.
    if (line_start > 4096 && line_start * 2 > buf_.size()) {
      buf_.erase(0, line_start);
      line_start = 0;
    }
    pos_ = line_start;
  }
  // The body ended: an event not yet closed by a blank line is dispatched too.
  template <class F>
  void finish(F&& f) {
    if (pos_ < buf_.size()) {
      std::string_view line(buf_.data() + pos_, buf_.size() - pos_);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (!line.empty()) field(line);
      pos_ = buf_.size();
    }
    if (has_data_ || !event_.empty()) f(std::string_view(event_), std::string_view(data_));
    event_.clear();
    data_.clear();
    has_data_ = false;
  }

 private:
  void field(std::string_view line) {
    if (line.front() == ':') return;  // a comment (keep-alive)
    auto colon = line.find(':');
    std::string_view name = line.substr(0, colon);
    std::string_view value = colon == std::string_view::npos ? "" : line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    if (name == "data") {
      if (has_data_) data_ += '\n';
      data_.append(value);
      has_data_ = true;
    } else if (name == "event") {
      event_.assign(value);
    }
  }
  std::string buf_;
  std::size_t pos_ = 0;
  std::string event_, data_;
  bool has_data_ = false;
};

}  // namespace sluice::llmgw
