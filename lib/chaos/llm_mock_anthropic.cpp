// The mock Anthropic provider: POST /v1/messages, streamed or not, written with lib/llm's
// Anthropic writers (the client-facing Anthropic format is the provider's own). Streams follow
// the real event sequence: message_start, content_block_start, ping, deltas, content_block_stop,
// message_delta with the usage, message_stop.
#include <fmt/format.h>

#include "llm_mock_internal.hpp"
#include "sluice/llm/stream.hpp"
#include "sluice/llm/wire.hpp"

namespace sluice::chaos::detail {

namespace {

std::string anthropic_stream(const ChatTurn& t, const llm::ChatResponse& r, std::size_t chunk) {
  llm::StreamWriter w(llm::WireFormat::anthropic, true);
  // As Anthropic does: output_tokens 1 at the start.
  return stream_turn(t, r, chunk, w, llm::Usage{t.prompt_tokens, 1, 0, 0});
}

}  // namespace

void anthropic_messages(LlmMockState& st, MockExchange& ex) {
  auto turn = accept_chat(st, ex);
  if (!turn) return;
  const ChatTurn& t = *turn;
  llm::ChatResponse r = turn_response(t, "msg_mock", "toolu_mock");
  if (!t.req.stream) {
    respond_json(ex, 200, llm::write_response(r, llm::WireFormat::anthropic));
    return;
  }
  auto events = split_sse(anthropic_stream(t, r, st.spec.chunk_chars));
  // Anthropic sends a ping after the first content block starts (lib/llm drops pings, so the
  // writer has none to give).
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (events[i].starts_with("event: content_block_start")) {
      events.insert(events.begin() + static_cast<std::ptrdiff_t>(i) + 1,
                    "event: ping\ndata: {\"type\": \"ping\"}\n\n");
      break;
    }
  }
  send_sse(ex, events, st.spec.chunk_delay);
}

}  // namespace sluice::chaos::detail
