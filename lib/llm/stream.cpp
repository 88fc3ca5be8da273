// Stream event sequences, from each provider's streaming reference:
// - OpenAI: data-only events, each a chat.completion.chunk (choices[].delta with role, content,
//   tool_calls[] by index whose arguments arrive in fragments, finish_reason), a last chunk with
//   empty choices and usage when stream_options.include_usage is set, then "data: [DONE]". A
//   failure mid-stream is a data event holding {"error":{...}}.
// - Anthropic: named events message_start, content_block_start, content_block_delta (text_delta,
//   input_json_delta), content_block_stop, message_delta (stop_reason, usage), message_stop;
//   ping at any time; error (e.g. overloaded_error) mid-stream.
// - Gemini streamGenerateContent?alt=sse: data-only events, each a whole
//   GenerateContentResponse holding the next parts; the one with finishReason is the last, and
//   usageMetadata comes with the chunks. There is no end marker besides the body's end.
#include "sluice/llm/stream.hpp"

#include "formats.hpp"
#include "sluice/llm/provider_error.hpp"
#include "wire_util.hpp"

namespace sluice::llm {

using namespace wire;

namespace {

constexpr int kMaxBlocks = 4096;

StreamEvent event(StreamEvent::Kind k) {
  StreamEvent e;
  e.kind = k;
  return e;
}

ProviderError stream_error(WireFormat provider, std::string message) {
  ProviderError e;
  e.source = provider;
  e.kind = ProviderErrorKind::stream;
  e.message = std::move(message);
  return e;
}

}  // namespace

// ---- provider side ----

void StreamParser::error(ProviderError e, std::vector<StreamEvent>& out) {
  auto ev = event(StreamEvent::Kind::error);
  ev.error = std::move(e);
  out.push_back(std::move(ev));
  done_ = true;
}

void StreamParser::feed(std::string_view name, std::string_view data,
                        std::vector<StreamEvent>& out) {
  if (done_) return;
  switch (provider_) {
    case WireFormat::openai:
    case WireFormat::openai_compatible:
      feed_openai(data, out);
      break;
    case WireFormat::anthropic:
      feed_anthropic(data, out);
      break;
    case WireFormat::gemini:
      feed_gemini(data, out);
      break;
  }
}

void StreamParser::close(std::vector<StreamEvent>& out) {
  if (done_) return;
  // Gemini has no end marker. Some OpenAI-compatible servers end the body after the finish
  // reason without [DONE]; the reply is complete by then.
  if (finished_ &&
      (provider_ == WireFormat::gemini || provider_ == WireFormat::openai_compatible)) {
    out.push_back(event(StreamEvent::Kind::end));
    done_ = true;
    return;
  }
  error(stream_error(provider_, "the upstream stream ended before the reply was complete"), out);
}

void StreamParser::feed_openai(std::string_view data, std::vector<StreamEvent>& out) {
  if (data == "[DONE]") {
    out.push_back(event(StreamEvent::Kind::end));
    done_ = true;
    return;
  }
  Json j = Json::parse(data, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return error(stream_error(provider_, "malformed chunk in the upstream stream"), out);
  if (member(j, "error")) return error(provider_error_from_json(provider_, 0, j), out);
  if (!started_) {
    auto ev = event(StreamEvent::Kind::start);
    ev.id = std::string(string_or_empty(j, "id"));
    ev.model = std::string(string_or_empty(j, "model"));
    out.push_back(std::move(ev));
    started_ = true;
  }
  Json* choices = member(j, "choices");
  if (choices && choices->is_array() && !choices->empty()) {
    Json& c = (*choices)[0];
    if (Json* delta = member(c, "delta"); delta && delta->is_object()) {
      if (Json* content = member(*delta, "content");
          content && content->is_string() && !content->get_ref<const std::string&>().empty()) {
        auto ev = event(StreamEvent::Kind::text);
        ev.text = std::move(content->get_ref<std::string&>());
        out.push_back(std::move(ev));
      }
      if (Json* calls = member(*delta, "tool_calls"); calls && calls->is_array()) {
        for (auto& tc : *calls) {
          const Json* idx = member(tc, "index");
          int index = idx && idx->is_number_integer() ? idx->get<int>() : 0;
          // Indexes count the calls of one reply; a wild one must not size anyone's table.
          if (index < 0 || index >= kMaxBlocks) continue;
          Json* fn = member(tc, "function");
          auto id = string_or_empty(tc, "id");
          auto fname = fn ? string_or_empty(*fn, "name") : std::string_view();
          if (!id.empty() || !fname.empty()) {
            auto ev = event(StreamEvent::Kind::tool_call_start);
            ev.index = index;
            ev.id = std::string(id);
            ev.name = std::string(fname);
            out.push_back(std::move(ev));
          }
          if (Json* args = fn ? member(*fn, "arguments") : nullptr;
              args && args->is_string() && !args->get_ref<const std::string&>().empty()) {
            auto ev = event(StreamEvent::Kind::tool_call_args);
            ev.index = index;
            ev.text = std::move(args->get_ref<std::string&>());
            out.push_back(std::move(ev));
          }
        }
      }
    }
    auto fr = string_or_empty(c, "finish_reason");
    if (!fr.empty()) {
      auto ev = event(StreamEvent::Kind::finish);
      ev.finish = finish_from_openai(fr);
      ev.finish_raw = std::string(fr);
      out.push_back(std::move(ev));
      finished_ = true;
    }
  }
  if (const Json* u = member(j, "usage"); u && u->is_object()) {
    auto ev = event(StreamEvent::Kind::usage);
    ev.usage = openai_usage(*u);
    out.push_back(std::move(ev));
  }
}

void StreamParser::feed_anthropic(std::string_view data, std::vector<StreamEvent>& out) {
  Json j = Json::parse(data, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return error(stream_error(provider_, "malformed event in the upstream stream"), out);
  auto type = string_or_empty(j, "type");
  if (type == "message_start") {
    const Json* msg = member(j, "message");
    auto ev = event(StreamEvent::Kind::start);
    if (msg) {
      ev.id = std::string(string_or_empty(*msg, "id"));
      ev.model = std::string(string_or_empty(*msg, "model"));
      if (const Json* u = member(*msg, "usage"); u && u->is_object()) {
        usage_ = anthropic_usage(*u);
        ev.usage = usage_;
      }
    }
    started_ = true;
    out.push_back(std::move(ev));
  } else if (type == "content_block_start") {
    const Json* idx = member(j, "index");
    int index = idx && idx->is_number_integer() ? idx->get<int>() : 0;
    const Json* block = member(j, "content_block");
    // Indexes count blocks of one reply; a wild one must not size the table.
    if (!block || index < 0 || index >= kMaxBlocks) return;
    if (static_cast<std::size_t>(index) >= block_tool_.size()) block_tool_.resize(index + 1, -1);
    auto btype = string_or_empty(*block, "type");
    if (btype == "tool_use") {
      block_tool_[index] = tools_;
      auto ev = event(StreamEvent::Kind::tool_call_start);
      ev.index = tools_++;
      ev.id = std::string(string_or_empty(*block, "id"));
      ev.name = std::string(string_or_empty(*block, "name"));
      out.push_back(std::move(ev));
    } else if (btype == "text") {
      auto text = string_or_empty(*block, "text");
      if (!text.empty()) {
        auto ev = event(StreamEvent::Kind::text);
        ev.text = std::string(text);
        out.push_back(std::move(ev));
      }
    }
  } else if (type == "content_block_delta") {
    const Json* idx = member(j, "index");
    int index = idx && idx->is_number_integer() ? idx->get<int>() : 0;
    Json* delta = member(j, "delta");
    if (!delta) return;
    auto dtype = string_or_empty(*delta, "type");
    if (dtype == "text_delta") {
      auto ev = event(StreamEvent::Kind::text);
      if (Json* t = member(*delta, "text"); t && t->is_string())
        ev.text = std::move(t->get_ref<std::string&>());
      if (!ev.text.empty()) out.push_back(std::move(ev));
    } else if (dtype == "input_json_delta") {
      if (index < 0 || static_cast<std::size_t>(index) >= block_tool_.size() ||
          block_tool_[index] < 0)
        return;
      auto ev = event(StreamEvent::Kind::tool_call_args);
      ev.index = block_tool_[index];
      if (Json* t = member(*delta, "partial_json"); t && t->is_string())
        ev.text = std::move(t->get_ref<std::string&>());
      if (!ev.text.empty()) out.push_back(std::move(ev));
    }
    // thinking_delta and signature_delta have no neutral form.
  } else if (type == "message_delta") {
    if (const Json* delta = member(j, "delta")) {
      auto sr = string_or_empty(*delta, "stop_reason");
      if (!sr.empty()) {
        auto ev = event(StreamEvent::Kind::finish);
        ev.finish = finish_from_anthropic(sr);
        ev.finish_raw = std::string(sr);
        ev.stop_sequence = std::string(string_or_empty(*delta, "stop_sequence"));
        out.push_back(std::move(ev));
        finished_ = true;
      }
    }
    if (const Json* u = member(j, "usage"); u && u->is_object()) {
      // message_delta's usage is cumulative; fields it leaves out keep message_start's values.
      Usage next = anthropic_usage(*u);
      if (!member(*u, "input_tokens")) {
        next.input = usage_.input;
        next.cached_input = usage_.cached_input;
        next.cache_creation = usage_.cache_creation;
      }
      usage_ = next;
      auto ev = event(StreamEvent::Kind::usage);
      ev.usage = usage_;
      out.push_back(std::move(ev));
    }
  } else if (type == "message_stop") {
    out.push_back(event(StreamEvent::Kind::end));
    done_ = true;
  } else if (type == "error") {
    error(provider_error_from_json(provider_, 0, j), out);
  }
  // ping and unknown event types carry nothing for the client.
}

void StreamParser::feed_gemini(std::string_view data, std::vector<StreamEvent>& out) {
  Json j = Json::parse(data, nullptr, false);
  if (!j.is_discarded() && j.is_array() && j.size() == 1) j = std::move(j[0]);
  if (j.is_discarded() || !j.is_object())
    return error(stream_error(provider_, "malformed event in the upstream stream"), out);
  if (member(j, "error")) return error(provider_error_from_json(provider_, 0, j), out);
  if (!started_) {
    auto ev = event(StreamEvent::Kind::start);
    ev.id = std::string(string_or_empty(j, "responseId"));
    ev.model = std::string(string_or_empty(j, "modelVersion"));
    // Gemini counts the prompt from the first chunk on, so Anthropic clients see it at once.
    if (const Json* u = member(j, "usageMetadata"); u && u->is_object())
      ev.usage = gemini_usage(*u);
    out.push_back(std::move(ev));
    started_ = true;
  }
  Json* cands = member(j, "candidates");
  if (cands && cands->is_array() && !cands->empty()) {
    Json& c = (*cands)[0];
    Json* content = member(c, "content");
    Json* parts = content ? member(*content, "parts") : nullptr;
    if (parts && parts->is_array()) {
      for (auto& p : *parts) {
        if (const Json* th = member(p, "thought"); th && th->is_boolean() && th->get<bool>())
          continue;
        if (Json* t = member(p, "text"); t && t->is_string()) {
          if (t->get_ref<const std::string&>().empty()) continue;
          auto ev = event(StreamEvent::Kind::text);
          ev.text = std::move(t->get_ref<std::string&>());
          out.push_back(std::move(ev));
        } else if (Json* fc = member(p, "functionCall"); fc && fc->is_object()) {
          // Gemini sends each call whole: a start and all of its arguments at once.
          auto ev = event(StreamEvent::Kind::tool_call_start);
          ev.index = tools_;
          ev.id = std::string(string_or_empty(*fc, "id"));
          if (ev.id.empty()) ev.id = fmt::format("call_{}", tools_);
          ev.name = std::string(string_or_empty(*fc, "name"));
          out.push_back(std::move(ev));
          auto args = event(StreamEvent::Kind::tool_call_args);
          args.index = tools_++;
          const Json* a = member(*fc, "args");
          args.text = a && a->is_object() ? a->dump() : "{}";
          out.push_back(std::move(args));
        }
      }
    }
    auto fr = string_or_empty(c, "finishReason");
    if (!fr.empty()) {
      auto ev = event(StreamEvent::Kind::finish);
      ev.finish = finish_from_gemini(fr);
      if (ev.finish == FinishReason::stop && tools_ > 0) ev.finish = FinishReason::tool_calls;
      ev.finish_raw = std::string(fr);
      out.push_back(std::move(ev));
      finished_ = true;
    }
  }
  if (const Json* u = member(j, "usageMetadata"); u && u->is_object()) {
    auto ev = event(StreamEvent::Kind::usage);
    ev.usage = gemini_usage(*u);
    out.push_back(std::move(ev));
  }
}

// ---- client side ----

void StreamWriter::write(const StreamEvent& ev, std::string& out) {
  if (done_) return;
  if (ingress_ == WireFormat::anthropic)
    anthropic(ev, out);
  else
    openai(ev, out);
}

void StreamWriter::openai_chunk(Json delta, const char* finish, std::string& out) {
  Json chunk = {{"id", id_},
                {"object", "chat.completion.chunk"},
                {"created", opt_.created},
                {"model", model_},
                {"choices",
                 {{{"index", 0},
                   {"delta", std::move(delta)},
                   {"logprobs", nullptr},
                   {"finish_reason", finish ? Json(finish) : Json()}}}}};
  out += "data: ";
  out += chunk.dump();
  out += "\n\n";
}

void StreamWriter::openai(const StreamEvent& ev, std::string& out) {
  using K = StreamEvent::Kind;
  if (!started_ && ev.kind != K::error) {
    started_ = true;
    id_ = ev.id;
    model_ = ev.model;
    openai_chunk({{"role", "assistant"}, {"content", ""}}, nullptr, out);
    if (ev.kind == K::start) return;
  }
  switch (ev.kind) {
    case K::start:
      break;
    case K::text:
      openai_chunk({{"content", ev.text}}, nullptr, out);
      break;
    case K::tool_call_start:
      openai_chunk({{"tool_calls",
                     {{{"index", ev.index},
                       {"id", ev.id},
                       {"type", "function"},
                       {"function", {{"name", ev.name}, {"arguments", ""}}}}}}},
                   nullptr, out);
      break;
    case K::tool_call_args:
      openai_chunk(
          {{"tool_calls", {{{"index", ev.index}, {"function", {{"arguments", ev.text}}}}}}},
          nullptr, out);
      break;
    case K::finish:
      if (!finish_sent_) {
        openai_chunk(Json::object(), finish_to_openai(ev.finish).data(), out);
        finish_sent_ = true;
      }
      break;
    case K::usage:
      usage_ = ev.usage;
      break;
    case K::end: {
      if (!finish_sent_) openai_chunk(Json::object(), "stop", out);
      if (include_usage_ && usage_) {
        Json chunk = {{"id", id_},
                      {"object", "chat.completion.chunk"},
                      {"created", opt_.created},
                      {"model", model_},
                      {"choices", Json::array()},
                      {"usage", openai_usage_json(*usage_)}};
        out += "data: ";
        out += chunk.dump();
        out += "\n\n";
      }
      out += "data: [DONE]\n\n";
      done_ = true;
      break;
    }
    case K::error:
      // OpenAI's own mid-stream failure shape; no [DONE], so no client takes it for a
      // complete reply.
      out += "data: ";
      out += write_error(*ev.error, WireFormat::openai).dump();
      out += "\n\n";
      done_ = true;
      break;
  }
}

void StreamWriter::anthropic_event(const char* name, const Json& data, std::string& out) {
  out += "event: ";
  out += name;
  out += "\ndata: ";
  out += data.dump();
  out += "\n\n";
}

void StreamWriter::close_block(std::string& out) {
  if (!block_open_) return;
  anthropic_event("content_block_stop", {{"type", "content_block_stop"}, {"index", block_}}, out);
  block_open_ = false;
}

void StreamWriter::anthropic(const StreamEvent& ev, std::string& out) {
  using K = StreamEvent::Kind;
  if (!started_ && ev.kind != K::error) {
    started_ = true;
    Usage u = ev.usage.value_or(Usage{});
    Json usage = anthropic_usage_json(u);
    anthropic_event("message_start",
                    {{"type", "message_start"},
                     {"message",
                      {{"id", ev.id},
                       {"type", "message"},
                       {"role", "assistant"},
                       {"model", ev.model},
                       {"content", Json::array()},
                       {"stop_reason", nullptr},
                       {"stop_sequence", nullptr},
                       {"usage", std::move(usage)}}}},
                    out);
    if (ev.kind == K::start) return;
  }
  switch (ev.kind) {
    case K::start:
      break;
    case K::text:
      if (!block_open_ || block_is_tool_) {
        close_block(out);
        ++block_;
        block_open_ = true;
        block_is_tool_ = false;
        anthropic_event("content_block_start",
                        {{"type", "content_block_start"},
                         {"index", block_},
                         {"content_block", {{"type", "text"}, {"text", ""}}}},
                        out);
      }
      anthropic_event("content_block_delta",
                      {{"type", "content_block_delta"},
                       {"index", block_},
                       {"delta", {{"type", "text_delta"}, {"text", ev.text}}}},
                      out);
      break;
    case K::tool_call_start:
      close_block(out);
      ++block_;
      block_open_ = true;
      block_is_tool_ = true;
      block_tool_ = ev.index;
      anthropic_event(
          "content_block_start",
          {{"type", "content_block_start"},
           {"index", block_},
           {"content_block",
            {{"type", "tool_use"}, {"id", ev.id}, {"name", ev.name}, {"input", Json::object()}}}},
          out);
      break;
    case K::tool_call_args:
      // Providers send one call's arguments before the next call starts; a fragment for
      // another call has no open block to go to.
      if (block_open_ && block_is_tool_ && block_tool_ == ev.index)
        anthropic_event("content_block_delta",
                        {{"type", "content_block_delta"},
                         {"index", block_},
                         {"delta", {{"type", "input_json_delta"}, {"partial_json", ev.text}}}},
                        out);
      break;
    case K::finish:
      finish_ = ev.finish;
      stop_sequence_ = ev.stop_sequence;
      break;
    case K::usage:
      usage_ = ev.usage;
      break;
    case K::end: {
      close_block(out);
      Json stop = Json(finish_to_anthropic(finish_));
      if (finish_ == FinishReason::stop && !stop_sequence_.empty()) stop = "stop_sequence";
      anthropic_event(
          "message_delta",
          {{"type", "message_delta"},
           {"delta",
            {{"stop_reason", std::move(stop)},
             {"stop_sequence", stop_sequence_.empty() ? Json() : Json(stop_sequence_)}}},
           {"usage", anthropic_usage_json(usage_.value_or(Usage{}))}},
          out);
      anthropic_event("message_stop", {{"type", "message_stop"}}, out);
      done_ = true;
      break;
    }
    case K::error:
      anthropic_event("error", write_error(*ev.error, WireFormat::anthropic), out);
      done_ = true;
      break;
  }
}

// ---- both ----

void StreamTranslator::emit(std::string& out) {
  for (const auto& ev : events_) {
    if (ev.kind == StreamEvent::Kind::usage || (ev.kind == StreamEvent::Kind::start && ev.usage))
      usage_ = ev.usage;
    writer_.write(ev, out);
  }
  events_.clear();
}

void StreamTranslator::feed(std::string_view event, std::string_view data, std::string& out) {
  parser_.feed(event, data, events_);
  emit(out);
}

void StreamTranslator::close(std::string& out) {
  parser_.close(events_);
  emit(out);
}

void StreamTranslator::fail(const ProviderError& err, std::string& out) {
  StreamEvent ev;
  ev.kind = StreamEvent::Kind::error;
  ev.error = err;
  writer_.write(ev, out);
}

}  // namespace sluice::llm
