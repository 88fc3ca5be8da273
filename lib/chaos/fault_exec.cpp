// Fault execution for MockServer: terminal faults answer in place of the route; shaping faults wrap
// the route's exchange in a ShapedExchange that delays, paces, cuts or corrupts its body writes.
#include "fault_exec.hpp"
#include "sluice/core/text.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>
#include <string>

#include <fmt/format.h>

namespace sluice::chaos {

namespace {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

using text::iequals;

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (std::size_t pos = s.find(from); pos != std::string::npos;
       pos = s.find(from, pos + to.size()))
    s.replace(pos, from.size(), to);
}

// What the shaping faults of one decision amount to.
struct Shaping {
  std::vector<const LatencyDistribution*> chunk_latency;
  std::uint64_t bytes_per_second = 0;  // 0: unlimited
  std::optional<DribbleFault> dribble;
  std::optional<std::uint64_t> reset_after;
  std::optional<std::uint64_t> sse_events;
  bool sse_cut_resets = false;              // the SSE cut resets rather than closes
  std::optional<std::uint64_t> stream_cut;  // armed when the response is an event stream
  std::optional<MalformedSseFault::Mode> sse_malform;

  bool shapes_body() const {
    return !chunk_latency.empty() || bytes_per_second > 0 || dribble || reset_after || sse_events ||
           stream_cut || sse_malform;
  }
};

Shaping shaping_of(const FaultDecision& d) {
  Shaping s;
  for (const Fault* f : d.fired) {
    if (const auto* l = std::get_if<LatencyFault>(&f->action)) {
      if (l->scope == LatencyScope::chunk) s.chunk_latency.push_back(&l->distribution);
    } else if (const auto* b = std::get_if<BandwidthFault>(&f->action)) {
      // Several limits: the tightest wins.
      if (s.bytes_per_second == 0 || b->bytes_per_second < s.bytes_per_second)
        s.bytes_per_second = b->bytes_per_second;
    } else if (const auto* dr = std::get_if<DribbleFault>(&f->action)) {
      s.dribble = *dr;
    } else if (const auto* r = std::get_if<ResetFault>(&f->action)) {
      if (r->when == ResetFault::When::mid_body)
        s.reset_after = std::min(s.reset_after.value_or(r->after_bytes), r->after_bytes);
    } else if (const auto* t = std::get_if<TruncatedSseFault>(&f->action)) {
      s.sse_events = std::min(s.sse_events.value_or(t->events), t->events);
    } else if (const auto* c = std::get_if<StreamCutFault>(&f->action)) {
      s.stream_cut = std::min(s.stream_cut.value_or(c->after_events), c->after_events);
    } else if (const auto* m = std::get_if<MalformedSseFault>(&f->action)) {
      s.sse_malform = m->mode;
    }
  }
  return s;
}

// The exchange the route handler sees when shaping faults fired.
class ShapedExchange final : public MockExchange {
 public:
  ShapedExchange(FaultableExchange& inner, const FaultPlan& plan, Shaping shaping,
                 Duration response_latency, std::optional<std::string> body)
      : inner_(inner),
        plan_(plan),
        shaping_(std::move(shaping)),
        response_latency_(response_latency),
        body_(std::move(body)) {}

  const MockRequest& request() const override { return inner_.request(); }

  std::int64_t read_body(const std::function<void(std::string_view)>& on_chunk) override {
    if (!body_) return inner_.read_body(on_chunk);
    // Read already, to match on it: replay it once.
    if (body_replayed_) return 0;
    body_replayed_ = true;
    if (on_chunk && !body_->empty()) on_chunk(*body_);
    return static_cast<std::int64_t>(body_->size());
  }

  std::string body() override {
    std::string out;
    read_body([&](std::string_view piece) { out.append(piece); });
    return out;
  }

  void respond(int status, std::string_view body, const HeaderList& headers) override {
    if (done_) return;
    if (!shaping_.shapes_body()) {
      if (!delay_head()) return;
      inner_.respond(status, body, headers);
      return;
    }
    // Stream it, so the body goes through write(). A Content-Length given by the handler wins (a
    // HEAD response announces the length of a body it does not send).
    HeaderList rest;
    std::int64_t length = static_cast<std::int64_t>(body.size());
    for (const auto& [k, v] : headers) {
      if (iequals(k, "content-length")) {
        std::int64_t n = 0;
        auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
        if (ec == std::errc() && p == v.data() + v.size()) length = n;
      } else {
        rest.emplace_back(k, v);
      }
    }
    if (!begin(status, rest, length)) return;
    if (write(body)) end();
  }

  bool begin(int status, const HeaderList& headers, std::int64_t content_length) override {
    if (done_ || began_) return false;
    if (!delay_head()) return false;
    if (shaping_.stream_cut && is_event_stream(headers)) {
      if (*shaping_.stream_cut == 0) {
        finish_with_reset();
        return false;
      }
      // The stream cut wins over a truncated_sse cut that comes later.
      if (!shaping_.sse_events || *shaping_.sse_events >= *shaping_.stream_cut) {
        shaping_.sse_events = *shaping_.stream_cut;
        shaping_.sse_cut_resets = true;
      }
    }
    began_ = true;
    return inner_.begin(status, headers, content_length);
  }

  bool write(std::string_view data) override {
    if (done_) return false;
    if (!began_) return inner_.write(data);  // the inner exchange reports the misuse
    if (data.empty()) return true;
    std::string corrupted;
    if (shaping_.sse_malform) {
      corrupted = std::string(data);
      if (*shaping_.sse_malform == MalformedSseFault::Mode::missing_data) {
        replace_all(corrupted, "data: ", "");
        replace_all(corrupted, "data:", "");
      } else {
        replace_all(corrupted, "\r\n\r\n", "\r\n");
        replace_all(corrupted, "\n\n", "\n");
      }
      data = corrupted;
    }
    bool cut_sse = false;
    if (shaping_.sse_events) {
      std::size_t keep = sse_cut(data);
      if (keep < data.size() || events_ >= *shaping_.sse_events) {
        data = data.substr(0, keep);
        cut_sse = true;
      }
    }
    bool cut_reset = false;
    if (shaping_.reset_after && written_ + data.size() >= *shaping_.reset_after) {
      data = data.substr(0, static_cast<std::size_t>(*shaping_.reset_after - written_));
      cut_reset = true;
    }
    if (!emit(data)) return false;
    if (cut_reset) {
      finish_with_reset();
      return false;
    }
    if (cut_sse) {
      finish_sse_cut();
      return false;
    }
    return true;
  }

  bool end() override {
    if (done_) return false;
    if (!began_) return inner_.end();
    // A body shorter than the cut point is cut at its end, so the fault still shows.
    if (shaping_.reset_after) {
      finish_with_reset();
      return false;
    }
    if (shaping_.sse_events) {
      finish_sse_cut();
      return false;
    }
    return inner_.end();
  }

  void reset() override {
    done_ = true;
    inner_.reset();
  }

  void note(std::string_view key, std::string value) override {
    inner_.note(key, std::move(value));
  }

 private:
  bool delay_head() {
    if (head_delayed_) return true;
    head_delayed_ = true;
    if (response_latency_ > Duration::zero() && !inner_.pause(response_latency_)) {
      done_ = true;
      return false;
    }
    return true;
  }

  // Scans data for the end of SSE events (a blank line, LF or CRLF). Returns how many bytes to
  // keep: all of them, or up to the end of the event that reaches the limit.
  std::size_t sse_cut(std::string_view data) {
    const std::uint64_t limit = *shaping_.sse_events;
    if (events_ >= limit) return 0;
    for (std::size_t i = 0; i < data.size(); ++i) {
      char c = data[i];
      if (c == '\n' && prev_cr_) {  // the second half of a CRLF
        prev_cr_ = false;
        continue;
      }
      prev_cr_ = c == '\r';
      if (c != '\r' && c != '\n') {
        newlines_ = 0;
        continue;
      }
      if (++newlines_ < 2) continue;
      newlines_ = 0;
      if (++events_ < limit) continue;
      std::size_t keep = i + 1;
      if (c == '\r' && keep < data.size() && data[keep] == '\n') ++keep;
      return keep;
    }
    return data.size();
  }

  // Writes body bytes with per-chunk latency, dribbling and the bandwidth limit.
  bool emit(std::string_view data) {
    for (const LatencyDistribution* d : shaping_.chunk_latency) {
      if (!inner_.pause(plan_.sample(*d))) return fail();
    }
    std::size_t piece = data.size();
    if (shaping_.dribble) piece = static_cast<std::size_t>(shaping_.dribble->piece_bytes);
    const std::uint64_t bps = shaping_.bytes_per_second;
    if (bps > 0) piece = std::min<std::size_t>(piece, std::max<std::uint64_t>(1, bps / 20));
    while (!data.empty()) {
      std::size_t n = std::min(piece, data.size());
      if (shaping_.dribble && pieces_ > 0 && !inner_.pause(shaping_.dribble->interval))
        return fail();
      if (bps > 0) {
        // A piece leaves when a link of that rate would have finished sending it.
        TimePoint now = plan_.clock().now();
        if (pieces_ == 0 && paced_ == 0) pace_start_ = now;
        auto due =
            pace_start_ + std::chrono::nanoseconds(static_cast<std::int64_t>(
                              static_cast<double>(paced_ + n) * 1e9 / static_cast<double>(bps)));
        if (due > now && !inner_.pause(due - now)) return fail();
        paced_ += n;
      }
      if (!inner_.write(data.substr(0, n))) return fail();
      ++pieces_;
      written_ += n;
      data.remove_prefix(n);
    }
    return true;
  }

  bool fail() {
    done_ = true;
    return false;
  }

  void finish_with_reset() {
    done_ = true;
    inner_.reset();
  }

  void finish_with_close() {
    done_ = true;
    inner_.close();
  }

  void finish_sse_cut() {
    if (shaping_.sse_cut_resets)
      finish_with_reset();
    else
      finish_with_close();
  }

  static bool is_event_stream(const HeaderList& headers) {
    for (const auto& [k, v] : headers) {
      if (!iequals(k, "content-type")) continue;
      std::string_view type(v);
      type = type.substr(0, type.find(';'));
      while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
      return iequals(type, "text/event-stream");
    }
    return false;
  }

  FaultableExchange& inner_;
  const FaultPlan& plan_;
  Shaping shaping_;
  Duration response_latency_;
  std::optional<std::string> body_;
  bool body_replayed_ = false;
  bool head_delayed_ = false;
  bool began_ = false;
  bool done_ = false;
  // SSE scanning state.
  std::uint64_t events_ = 0;
  int newlines_ = 0;
  bool prev_cr_ = false;
  // Body accounting.
  std::uint64_t written_ = 0;
  std::uint64_t pieces_ = 0;
  std::uint64_t paced_ = 0;
  TimePoint pace_start_{};
};

std::string default_status_body(int status) {
  return fmt::format("{{\"error\":{{\"type\":\"mock_fault\",\"message\":\"injected status {}\"}}}}",
                     status);
}

// Answers in place of the route. True when a terminal fault handled the exchange.
bool run_terminal(FaultableExchange& ex, const FaultPlan& plan, const FaultDecision& d,
                  const StatusFaultReplier* replier) {
  const Fault* terminal = nullptr;
  for (const Fault* f : d.fired) {
    if (ends_exchange(f->action)) terminal = f;
  }
  if (!terminal) return false;
  // Per-response latency delays terminal answers too (a slow 503); a hang or an empty response
  // has no head to delay, but waiting first does no harm.
  if (d.response_latency > Duration::zero() && !ex.pause(d.response_latency)) {
    ex.close();
    return true;
  }
  const FaultAction& a = terminal->action;
  if (const auto* s = std::get_if<StatusFault>(&a)) {
    std::optional<FaultReply> shaped;
    if (!s->body && replier && *replier) {
      std::optional<std::chrono::seconds> delay;
      if (s->retry_after) delay = s->retry_after->delay;
      shaped = (*replier)(s->status, delay);
    }
    if (shaped) {
      HeaderList headers = std::move(shaped->headers);
      if (s->retry_after)
        headers.emplace_back("retry-after",
                             retry_after_value(*s->retry_after, plan.clock().wall()));
      headers.emplace_back("x-mock-fault", terminal->name);
      ex.respond(s->status, shaped->body, headers);
      return true;
    }
    HeaderList headers;
    headers.emplace_back("content-type", s->body ? "text/plain" : "application/json");
    if (s->retry_after)
      headers.emplace_back("retry-after", retry_after_value(*s->retry_after, plan.clock().wall()));
    headers.emplace_back("x-mock-fault", terminal->name);
    ex.respond(s->status, s->body ? *s->body : default_status_body(s->status), headers);
  } else if (std::holds_alternative<ResetFault>(a)) {
    ex.reset();
  } else if (std::holds_alternative<HangFault>(a)) {
    ex.hang();
  } else if (const auto* m = std::get_if<MalformedJsonFault>(&a)) {
    static constexpr std::string_view kBroken =
        R"({"id":"mock-fault","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"cut of)";
    ex.respond(m->status, m->body ? std::string_view(*m->body) : kBroken,
               {{"content-type", "application/json"}, {"x-mock-fault", terminal->name}});
  } else if (std::holds_alternative<EmptyResponseFault>(a)) {
    ex.close();
  }
  return true;
}

}  // namespace

void run_with_faults(FaultableExchange& ex, const FaultPlan& plan,
                     const std::function<void(MockExchange&)>& dispatch,
                     const StatusFaultReplier* replier) {
  std::optional<std::string> body;
  if (plan.needs_body()) body = ex.body();
  FaultDecision d = plan.decide(ex.request(), body ? std::string_view(*body) : std::string_view());
  for (const Fault* f : d.fired) ex.fired(f->name);
  if (d.empty() && !body) {
    dispatch(ex);
    return;
  }
  if (run_terminal(ex, plan, d, replier)) return;
  ShapedExchange shaped(ex, plan, shaping_of(d), d.response_latency, std::move(body));
  dispatch(shaped);
}

}  // namespace sluice::chaos
