// Stream translation as two small state machines: a StreamParser turns a provider's SSE events
// into neutral StreamEvents, a StreamWriter turns those into the client's SSE bytes.
// StreamTranslator joins the two. SSE framing (splitting bytes into events) is the caller's:
// each call takes one event's name (may be empty) and its data.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/llm/chat.hpp"
#include "sluice/llm/wire.hpp"

namespace sluice::llm {

class StreamParser {
 public:
  explicit StreamParser(WireFormat provider) : provider_(provider) {}

  // One SSE event from the provider. Appends what it means to out.
  void feed(std::string_view event, std::string_view data, std::vector<StreamEvent>& out);
  // The upstream body ended. Appends an end, or an error when the provider had not said the
  // reply was complete (OpenAI's [DONE], Anthropic's message_stop, Gemini's finishReason).
  void close(std::vector<StreamEvent>& out);
  bool done() const { return done_; }

 private:
  void error(ProviderError e, std::vector<StreamEvent>& out);
  void feed_openai(std::string_view data, std::vector<StreamEvent>& out);
  void feed_anthropic(std::string_view data, std::vector<StreamEvent>& out);
  void feed_gemini(std::string_view data, std::vector<StreamEvent>& out);

  WireFormat provider_;
  bool started_ = false;
  bool done_ = false;
  bool finished_ = false;        // a finish reason was seen
  int tools_ = 0;                // tool calls started so far
  std::vector<int> block_tool_;  // Anthropic: content block index -> tool index (-1: not a tool)
  Usage usage_;
};

class StreamWriter {
 public:
  // include_usage: the client asked for usage (OpenAI's stream_options.include_usage);
  // Anthropic clients always get it.
  StreamWriter(WireFormat ingress, bool include_usage, const WriteOptions& opt = {})
      : ingress_(ingress), include_usage_(include_usage), opt_(opt) {}

  // Appends the client's SSE bytes for ev to out.
  void write(const StreamEvent& ev, std::string& out);
  bool done() const { return done_; }

 private:
  void openai(const StreamEvent& ev, std::string& out);
  void anthropic(const StreamEvent& ev, std::string& out);
  void openai_chunk(nlohmann::json delta, const char* finish, std::string& out);
  void anthropic_event(const char* name, const nlohmann::json& data, std::string& out);
  void close_block(std::string& out);

  WireFormat ingress_;
  bool include_usage_;
  WriteOptions opt_;
  bool started_ = false;
  bool done_ = false;
  bool finish_sent_ = false;
  std::string id_, model_;
  FinishReason finish_ = FinishReason::none;
  std::string stop_sequence_;
  std::optional<Usage> usage_;
  // Anthropic: the open content block.
  int block_ = -1;
  bool block_open_ = false;
  bool block_is_tool_ = false;
  int block_tool_ = -1;
};

class StreamTranslator {
 public:
  StreamTranslator(WireFormat provider, WireFormat ingress, bool include_usage,
                   const WriteOptions& opt = {})
      : parser_(provider), writer_(ingress, include_usage, opt) {}

  // One provider SSE event in, the client's bytes appended to out.
  void feed(std::string_view event, std::string_view data, std::string& out);
  // The upstream body ended (cleanly or not).
  void close(std::string& out);
  // The upstream failed mid-way (reset, timeout): the client gets an explicit error event,
  // never a clean-looking end.
  void fail(const ProviderError& err, std::string& out);

  bool done() const { return writer_.done(); }
  // The latest usage the provider reported, for the ledger.
  const std::optional<Usage>& usage() const { return usage_; }

 private:
  void emit(std::string& out);

  StreamParser parser_;
  StreamWriter writer_;
  std::vector<StreamEvent> events_;
  std::optional<Usage> usage_;
};

}  // namespace sluice::llm
