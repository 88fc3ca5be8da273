// A streamed chat answer, relayed event by event in the client's format. Nothing reaches the
// client until the provider's first content (or its end): a failure before that falls back to
// the next target as if the stream had never started. After it, a failure ends the client's
// stream with an explicit error event, never a clean-looking end.
#include <fmt/format.h>

#include "chat.hpp"
#include "sluice/llm/stream.hpp"
#include "sse.hpp"

namespace sluice::llmgw {

using gateway::CallError;
using gateway::Header;
using Kind = llm::StreamEvent::Kind;

namespace {

// Builds the reply a stream delivered, for a server-side session.
void collect(llm::ChatResponse& r, const llm::StreamEvent& ev) {
  switch (ev.kind) {
    case Kind::text:
      r.text += ev.text;
      break;
    case Kind::tool_call_start:
      if (ev.index >= 0 && static_cast<std::size_t>(ev.index) >= r.tool_calls.size())
        r.tool_calls.resize(static_cast<std::size_t>(ev.index) + 1);
      if (ev.index >= 0) {
        r.tool_calls[static_cast<std::size_t>(ev.index)].id = ev.id;
        r.tool_calls[static_cast<std::size_t>(ev.index)].name = ev.name;
      }
      break;
    case Kind::tool_call_args:
      if (ev.index >= 0 && static_cast<std::size_t>(ev.index) < r.tool_calls.size())
        r.tool_calls[static_cast<std::size_t>(ev.index)].arguments += ev.text;
      break;
    default:
      break;
  }
}

}  // namespace

net::awaitable<ChatExchange::Verdict> ChatExchange::relay_stream(gateway::UpstreamCall& call,
                                                                 const Provider& p,
                                                                 const TargetRt& t,
                                                                 const AliasRt& alias,
                                                                 const std::string& model) {
  llm::WriteOptions opt;
  opt.created = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  llm::StreamParser parser(p.format());
  llm::StreamWriter writer(ingress_, include_usage_, opt);
  SseSplitter sse;
  std::vector<llm::StreamEvent> events, held;
  std::string in, out;
  bool started = false;
  std::optional<llm::ProviderError> early;  // failed before anything reached the client
  bool client_gone = false;
  bool limit_cut = false;  // cut_streams: the token limit ran out mid-stream
  if (policy_.wants_reply()) reply_.emplace();

  auto begin = [&]() -> void {
    started = true;
    ttft_s_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    for (const auto& h : held) writer.write(h, out);
    held.clear();
  };
  // Sorts the events parsed so far into held (before the start), out (after it), or early.
  auto take = [&]() {
    for (auto& ev : events) {
      if (ev.usage && (ev.kind == Kind::usage || ev.kind == Kind::start)) usage_ = ev.usage;
      if (ev.kind == Kind::text && route_.route().llm->log_bodies) completion_ += ev.text;
      if (ev.kind == Kind::error) {
        if (!started) {
          early = ev.error.value_or(llm::ProviderError{});
          break;
        }
        stream_broken_ = true;
      }
      if (!started && (ev.kind == Kind::start || ev.kind == Kind::usage)) {
        held.push_back(std::move(ev));
        continue;
      }
      if (!started) begin();
      if (ev.kind == Kind::text || ev.kind == Kind::tool_call_args)
        limit_cut = policy_.on_output(ev.text) || limit_cut;
      if (reply_) collect(*reply_, ev);
      writer.write(ev, out);
    }
    events.clear();
  };

  auto stream_headers = [&] {
    std::vector<Header> h = trace_headers();
    h.insert(h.begin(), {{"content-type", "text/event-stream"}, {"cache-control", "no-cache"}});
    return h;
  };
  CallError e = CallError::none;
  while (!early && !writer.done()) {
    in.clear();
    e = co_await call.read(in);
    if (e != CallError::none) break;
    sse.feed(in,
             [&](std::string_view ev, std::string_view data) { parser.feed(ev, data, events); });
    if (call.done()) {
      sse.finish(
          [&](std::string_view ev, std::string_view data) { parser.feed(ev, data, events); });
      parser.close(events);
    }
    take();
    if (started && !out.empty()) {
      // The head goes out with the first bytes.
      if (!head_sent_) {
        head_sent_ = true;
        std::vector<Header> headers = stream_headers();
        if (!co_await io_.begin_stream(200, headers)) {
          client_gone = true;
          break;
        }
      }
      if (!co_await io_.write_chunk(out)) {
        client_gone = true;
        break;
      }
      out.clear();
    }
    if (call.done() || limit_cut) break;
  }
  if (limit_cut && (call.done() || client_gone)) limit_cut = false;
  if (limit_cut) {
    call.cancel();
    llm::StreamEvent ev;
    ev.kind = Kind::error;
    ev.error = llm::ProviderError{
        429,
        ingress_ == llm::WireFormat::anthropic ? "rate_limit_error" : "rate_limit_exceeded",
        "",
        "the token limit was reached mid-stream; the rest of the "
        "answer was cut (limits.cut_streams)",
        llm::ProviderErrorKind::rate_limit,
        std::nullopt,
        ingress_};
    writer.write(ev, out);
    io_.note_error("llm_token_limit");
  }

  if (client_gone) {
    call.cancel();
    route_.metrics().attempt({p.name(), model, "client_gone"});
    io_.note_error("downstream_reset");
    finish("downstream_reset");
    co_return Verdict::answered;
  }
  if (e != CallError::none && !started) {
    call.report(true);
    co_return transport_failure(t, alias, e);
  }
  if (early) {
    // The stream failed before the client saw a byte: fall back.
    call.report(true);
    if (early->status == 0) early->status = 502;
    route_.metrics().attempt({p.name(), model, llm::to_string(early->kind)});
    note_failure(t, alias,
                 early->retry_after_s
                     ? std::optional<Duration>(std::chrono::seconds(*early->retry_after_s))
                     : std::nullopt);
    last_error_ = std::move(early);
    co_return last_error_->kind == llm::ProviderErrorKind::context_length ? Verdict::context
                                                                          : Verdict::next_target;
  }
  if (e != CallError::none) {
    // Cut mid-way: an explicit error event ends the client's stream.
    llm::StreamEvent ev;
    ev.kind = Kind::error;
    // In the client's own vocabulary: Anthropic clients know api_error.
    ev.error = llm::ProviderError{
        502,
        ingress_ == llm::WireFormat::anthropic ? "api_error" : "stream_error",
        "",
        fmt::format("the stream from provider {} broke: {}", p.name(), gateway::to_string(e)),
        llm::ProviderErrorKind::stream,
        std::nullopt,
        ingress_};
    writer.write(ev, out);
    stream_broken_ = true;
  }
  if (!head_sent_) {
    // An empty answer (no content before the end): held events and the end go out now.
    if (!started) begin();
    head_sent_ = true;
    std::vector<Header> headers = stream_headers();
    if (!co_await io_.begin_stream(200, headers)) client_gone = true;
  }
  if (!client_gone && !out.empty()) {
    bool wrote = co_await io_.write_chunk(out);
    client_gone = !wrote;
  }
  if (!client_gone) co_await io_.end_stream();
  if (limit_cut) {
    route_.metrics().attempt({p.name(), model, "limit_cut"});
    t.state->success(call.ttfb_ms());
    finish("token_limit");
    co_return Verdict::answered;
  }
  call.report(stream_broken_);
  if (stream_broken_) {
    route_.metrics().attempt({p.name(), model, "stream"});
    note_failure(t, alias, std::nullopt);
    io_.note_error("llm_stream_error");
    finish("stream_error");
  } else {
    route_.metrics().attempt({p.name(), model, "ok"});
    t.state->success(call.ttfb_ms());
    finish("");
  }
  co_return Verdict::answered;
}

}  // namespace sluice::llmgw
