// SSE helpers of the mock LLM providers: text cut into stream pieces, SSE bytes split into whole
// events, and the events sent one write each.
#include <thread>

#include "llm_mock_internal.hpp"
#include "sluice/llm/stream.hpp"

namespace sluice::chaos::detail {

std::vector<std::string> split_chars(std::string_view text, std::size_t chars) {
  std::vector<std::string> out;
  if (chars == 0) chars = 1;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t start = i;
    for (std::size_t n = 0; n < chars && i < text.size(); ++n) {
      ++i;  // past the lead byte, then past its continuation bytes
      while (i < text.size() && (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) ++i;
    }
    out.emplace_back(text.substr(start, i - start));
  }
  return out;
}

std::vector<std::string> split_sse(std::string_view bytes) {
  std::vector<std::string> out;
  while (!bytes.empty()) {
    std::size_t lf = bytes.find("\n\n");
    std::size_t crlf = bytes.find("\r\n\r\n");
    std::size_t end = std::string_view::npos;
    if (lf != std::string_view::npos) end = lf + 2;
    if (crlf != std::string_view::npos && (end == std::string_view::npos || crlf + 4 < end))
      end = crlf + 4;
    if (end == std::string_view::npos) end = bytes.size();
    out.emplace_back(bytes.substr(0, end));
    bytes.remove_prefix(end);
  }
  return out;
}

void send_sse(MockExchange& ex, const std::vector<std::string>& events, Duration delay) {
  if (!ex.begin(200, {{"content-type", "text/event-stream"}, {"cache-control", "no-cache"}}))
    return;
  if (ex.request().method == "HEAD") {
    ex.end();
    return;
  }
  bool first = true;
  for (const auto& e : events) {
    if (!first && delay > Duration::zero()) std::this_thread::sleep_for(delay);
    first = false;
    if (!ex.write(e)) return;
  }
  ex.end();
}

// The neutral stream of a turn, written by w: start, text pieces, the tool call, finish, usage,
// end.
std::string stream_turn(const ChatTurn& t, const llm::ChatResponse& r, std::size_t chunk_chars,
                        llm::StreamWriter& w, const llm::Usage& start_usage) {
  using K = llm::StreamEvent::Kind;
  std::string out;
  llm::StreamEvent ev;
  ev.kind = K::start;
  ev.id = r.id;
  ev.model = r.model;
  ev.usage = start_usage;
  w.write(ev, out);
  for (auto& piece : split_chars(t.text, chunk_chars)) {
    llm::StreamEvent e;
    e.kind = K::text;
    e.text = std::move(piece);
    w.write(e, out);
  }
  for (std::size_t i = 0; i < r.tool_calls.size(); ++i) {
    const auto& call = r.tool_calls[i];
    llm::StreamEvent s;
    s.kind = K::tool_call_start;
    s.index = static_cast<int>(i);
    s.id = call.id;
    s.name = call.name;
    w.write(s, out);
    for (auto& piece : split_chars(call.arguments, chunk_chars)) {
      llm::StreamEvent a;
      a.kind = K::tool_call_args;
      a.index = static_cast<int>(i);
      a.text = std::move(piece);
      w.write(a, out);
    }
  }
  llm::StreamEvent fin;
  fin.kind = K::finish;
  fin.finish = r.finish;
  w.write(fin, out);
  llm::StreamEvent use;
  use.kind = K::usage;
  use.usage = r.usage;
  w.write(use, out);
  llm::StreamEvent end;
  end.kind = K::end;
  w.write(end, out);
  return out;
}

}  // namespace sluice::chaos::detail
