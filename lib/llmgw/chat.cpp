// POST /v1/chat/completions and /v1/messages: the alias's targets in order, translation both
// ways, fallbacks and cooldowns, the exact response cache, and the request's log and metrics.
#include "chat.hpp"

#include <cmath>

#include <fmt/format.h>

#include "sluice/gateway/worker.hpp"
#include "sluice/llm/cache_key.hpp"
#include "sluice/llm/provider_error.hpp"
#include "sluice/llm/redact.hpp"
#include "sluice/llm/wire.hpp"
#include "walker.hpp"

namespace sluice::llmgw {

using gateway::CallError;
using gateway::Header;

namespace {

constexpr std::uint64_t kErrorBodyLimit = 1 << 20;

// OpenAI's x-ratelimit-reset-* values: "1s", "6m0s", "59.98s", "20ms"; or plain seconds.
std::optional<Duration> parse_reset(std::string_view v) {
  if (v.empty()) return std::nullopt;
  double total_ms = 0;
  std::size_t i = 0;
  bool any = false;
  while (i < v.size()) {
    std::size_t j = i;
    while (j < v.size() && (std::isdigit(static_cast<unsigned char>(v[j])) || v[j] == '.')) ++j;
    if (j == i) return std::nullopt;
    double n = std::strtod(std::string(v.substr(i, j - i)).c_str(), nullptr);
    std::size_t k = j;
    while (k < v.size() && std::isalpha(static_cast<unsigned char>(v[k]))) ++k;
    std::string_view unit = v.substr(j, k - j);
    if (unit.empty() || unit == "s")
      total_ms += n * 1000;
    else if (unit == "ms")
      total_ms += n;
    else if (unit == "m")
      total_ms += n * 60000;
    else if (unit == "h")
      total_ms += n * 3600000;
    else
      return std::nullopt;
    any = true;
    i = k;
  }
  if (!any || total_ms <= 0) return std::nullopt;
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double, std::milli>(total_ms));
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

ChatExchange::ChatExchange(const LlmRoute& route, gateway::HandlerIo& io, llm::WireFormat ingress)
    : route_(route),
      io_(io),
      policy_(route, io, ingress),
      ingress_(ingress),
      start_(std::chrono::steady_clock::now()) {}

bool ChatExchange::ensure_parsed() {
  if (req_) return true;
  auto j = nlohmann::json::parse(body_, nullptr, false);
  if (j.is_discarded()) {
    parse_error_ = "the request body is not valid JSON";
    return false;
  }
  auto parsed = ingress_ == llm::WireFormat::anthropic ? llm::parse_anthropic_request(std::move(j))
                                                       : llm::parse_openai_request(std::move(j));
  if (!parsed) {
    parse_error_ = parsed.error().message;
    return false;
  }
  req_ = std::move(*parsed);
  return true;
}

bool ChatExchange::read_request() {
  // The model and stream flag: a scan for OpenAI clients (the body may pass through as it is),
  // a full parse for Anthropic ones (their body is always translated).
  req_.reset();
  bool parsed_ok = true;
  if (ingress_ == llm::WireFormat::openai) {
    auto scan = scan_openai_request(body_);
    if (!scan) {
      parse_error_ = scan.error().message;
      parsed_ok = false;
    } else {
      scan_ = std::move(*scan);
      client_model_ = scan_.model;
      stream_ = scan_.stream;
      if (!scan_.has_model) {
        parse_error_ = "model: required";
        parsed_ok = false;
      }
    }
  } else if (ensure_parsed()) {
    client_model_ = req_->model;
    stream_ = req_->stream;
  } else {
    parsed_ok = false;
  }
  if (parsed_ok && (stream_ || route_.route().llm->log_bodies)) parsed_ok = ensure_parsed();
  if (parsed_ok && req_) include_usage_ = req_->include_usage;
  return parsed_ok;
}

net::awaitable<void> ChatExchange::run() {
  if (!co_await io_.read_body(body_)) co_return;
  if (auto refused = policy_.identify()) {
    status_ = refused->status;
    co_await send_llm_error(io_, ingress_, refused->status, refused->type,
                            std::move(refused->message), std::move(refused->headers));
    finish(refused->type);
    co_return;
  }
  if (!read_request()) {
    status_ = 400;
    co_await send_llm_error(io_, ingress_, 400, "invalid_request_error", parse_error_);
    finish("invalid_request_error");
    co_return;
  }
  alias_ = route_.find_alias(client_model_);
  if (!alias_) {
    std::string known;
    for (const auto& a : route_.aliases())
      if (a.cfg->name != "*") known += (known.empty() ? "" : ", ") + a.cfg->name;
    if (known.empty()) known = "(none)";
    // No temporaries in the co_await expression: GCC 12 destroyed the std::string of a
    // conditional expression twice there, aborting the process on every unknown model.
    std::string message = fmt::format("the model \"{}\" is not served here; the aliases are: {}",
                                      client_model_, known);
    status_ = 404;
    co_await send_llm_error(io_, ingress_, 404, "model_not_found", std::move(message));
    finish("model_not_found");
    co_return;
  }
  auto refused = co_await policy_.prepare(body_, *alias_, client_model_);
  if (refused) {
    status_ = refused->status;
    auto headers = std::move(refused->headers);
    for (auto& h : policy_.headers()) headers.push_back(std::move(h));
    co_await send_llm_error(io_, ingress_, refused->status, refused->type,
                            std::move(refused->message), std::move(headers));
    finish(refused->type);
    co_return;
  }
  if (policy_.rewrote() && !read_request()) {
    status_ = 400;
    co_await send_llm_error(io_, ingress_, 400, "invalid_request_error", parse_error_);
    finish("invalid_request_error");
    co_return;
  }

  if (route_.cache() && !stream_ && ensure_parsed()) {
    cache_key_ = llm::exact_cache_key(
        *req_, fmt::format("{}|{}", alias_->cfg->name, llm::to_string(ingress_)));
    if (cache_key_) {
      if (auto hit = route_.cache()->get(*cache_key_, coarse_now())) {
        cache_status_ = "hit";
        status_ = hit->status;
        std::vector<Header> headers{{"content-type", hit->content_type}};
        for (const auto& [k, v] : hit->headers) headers.push_back({k, v});
        headers.push_back({"x-sluice-cache", "hit"});
        headers.push_back({"x-sluice-attempts", "0"});
        headers.push_back({"x-sluice-fallbacks", "0"});
        for (const auto& [k, v] : hit->headers) {
          if (k == "x-sluice-provider") provider_ = v;
          if (k == "x-sluice-model") model_ = v;
        }
        if (policy_.wants_reply()) {  // a session stores the cached answer as its reply
          auto j = nlohmann::json::parse(hit->body, nullptr, false);
          if (!j.is_discarded())
            if (auto parsed = llm::parse_response(std::move(j), ingress_)) reply_ = *parsed;
        }
        co_await io_.respond(hit->status, headers, hit->body);
        finish("");
        co_return;
      }
      cache_status_ = "miss";
    }
  }

  TargetWalker walk(route_, *alias_, walk_rng());
  bool first = true;
  for (const TargetRt* t = walk.next(coarse_now()); t; t = walk.next(coarse_now())) {
    // Hops: the targets passed over before this one, failed or cooling down.
    hops_ = (first ? 0 : hops_ + 1) + walk.skipped() - skipped_seen_;
    skipped_seen_ = walk.skipped();
    first = false;
    const std::uint32_t tries = std::max<std::uint32_t>(1, walk.alias().cfg->attempts);
    Verdict v = Verdict::next_target;
    for (std::uint32_t k = 1;; ++k) {
      v = co_await attempt(*t, walk.alias());
      // An overloaded provider (529, 503) is worth a second try on the same target.
      bool again = (v == Verdict::retry_same && k < std::max<std::uint32_t>(tries, 2)) ||
                   (v == Verdict::next_target && k < tries);
      if (!again || !t->state->available(coarse_now())) break;
    }
    if (v == Verdict::answered) co_return;
    if (v == Verdict::give_up) break;
    if (v == Verdict::context && !walk.to_context_fallback()) break;
  }
  co_await answer_failure(walk);
}

net::awaitable<void> ChatExchange::answer_failure(const TargetWalker& walk) {
  std::vector<Header> headers = trace_headers();
  if (!last_error_) {
    // Nothing was tried: every target is cooling down.
    auto now = coarse_now();
    auto until = walk.cooled_until().value_or(now);
    auto secs = std::max<std::int64_t>(
        1,
        static_cast<std::int64_t>(std::ceil(std::chrono::duration<double>(until - now).count())));
    headers.push_back({"retry-after", std::to_string(secs)});
    co_await send_llm_error(
        io_, ingress_, 429, "rate_limit_exceeded",
        fmt::format("every target of model \"{}\" is cooling down after rate limits or "
                    "failures; the first is available again in {} s",
                    alias_->cfg->name, secs),
        std::move(headers));
    status_ = 429;
    finish("cooling_down");
    co_return;
  }
  const auto& err = *last_error_;
  if (err.retry_after_s) headers.push_back({"retry-after", std::to_string(*err.retry_after_s)});
  headers.insert(headers.begin(), {"content-type", "application/json"});
  auto body = llm::write_error(err, ingress_);
  if (ingress_ == llm::WireFormat::openai && body.contains("error"))
    body["error"]["request_id"] = io_.request_id();
  io_.note_error("llm_provider_error");
  std::string text = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  status_ = llm::client_status(err);
  co_await io_.respond(status_, headers, text);
  finish(err.type.empty() ? std::string(llm::to_string(err.kind)) : err.type);
}

std::vector<Header> ChatExchange::trace_headers() const {
  std::vector<Header> h;
  if (!provider_.empty()) h.push_back({"x-sluice-provider", provider_});
  if (!model_.empty()) h.push_back({"x-sluice-model", model_});
  h.push_back({"x-sluice-attempts", std::to_string(attempts_)});
  h.push_back({"x-sluice-fallbacks", std::to_string(hops_)});
  if (!cache_status_.empty()) h.push_back({"x-sluice-cache", cache_status_});
  for (auto& p : policy_.headers()) h.push_back(std::move(p));
  return h;
}

Result<std::string_view> ChatExchange::provider_body(const Provider& p, const std::string& model) {
  if (ingress_ == llm::WireFormat::openai && p.openai_family() && !stream_ && !req_) {
    if (scan_.model == model) return std::string_view(body_);
    scratch_ = replace_model(body_, scan_, model);
    return std::string_view(scratch_);
  }
  if (!ensure_parsed())
    return Error{ErrorKind::protocol, ErrorSource::downstream, Retryable::no, parse_error_};
  req_->model = model;
  llm::WriteOptions opt;
  auto j = llm::write_request(*req_, p.format(), opt);
  if (!j) return j.error();
  scratch_ = j->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return std::string_view(scratch_);
}

net::awaitable<ChatExchange::Verdict> ChatExchange::attempt(const TargetRt& t,
                                                            const AliasRt& alias) {
  const Provider& p = route_.providers()[t.provider];
  const std::string model = t.cfg->model.empty() ? client_model_ : t.cfg->model;
  const gateway::Runtime& rt = io_.runtime();
  const upstream::Cluster* cluster = rt.cluster(p.name());
  ++attempts_;
  provider_ = p.name();
  model_ = model;
  if (!cluster) {
    last_error_ = llm::ProviderError{500,
                                     "internal_error",
                                     "",
                                     "provider cluster missing",
                                     llm::ProviderErrorKind::server,
                                     std::nullopt,
                                     p.format()};
    co_return Verdict::next_target;
  }
  auto body = provider_body(p, model);
  if (!body) {
    // The request cannot be written for this provider (e.g. a part it has no form for).
    last_error_ = llm::ProviderError{400,
                                     "invalid_request_error",
                                     "",
                                     body.error().message,
                                     llm::ProviderErrorKind::invalid_request,
                                     std::nullopt,
                                     ingress_};
    co_return Verdict::next_target;
  }
  std::string target = p.chat_target(model, stream_);
  gateway::UpstreamRequest ur;
  ur.method = "POST";
  ur.target = target;
  ur.host = p.config().host_header;
  ur.headers = &p.headers();
  ur.body = *body;
  ur.timeout = p.config().timeout;
  ur.idle_timeout = p.config().stream_idle_timeout;
  struct InFlight {
    std::atomic<std::uint32_t>& n;
    explicit InFlight(std::atomic<std::uint32_t>& c) : n(c) { ++n; }
    ~InFlight() { --n; }
  } in_flight(t.state->in_flight);
  gateway::UpstreamCall call(io_.worker(), *cluster);
  CallError e = co_await call.start(ur);
  io_.note_upstream(cluster->name(), call.endpoint() ? call.endpoint()->name : "",
                    static_cast<int>(attempts_), call.ttfb_ms());
  if (e != CallError::none) co_return transport_failure(t, alias, e);
  int status = call.status();
  if (status < 200 || status >= 300) {
    std::string err_body;
    co_await call.read_all(err_body, kErrorBodyLimit);
    const auto& head = call.head();
    auto err = parse_error(p.format(), status, err_body, head.get("retry-after"),
                           std::chrono::system_clock::now());
    std::optional<Duration> wait;
    if (err.retry_after_s) wait = std::chrono::seconds(*err.retry_after_s);
    if (!wait && status == 429) {
      for (auto h : {"x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"})
        if (auto d = parse_reset(head.get(h)); d && (!wait || *d > *wait)) wait = d;
      if (wait && !err.retry_after_s)
        err.retry_after_s = std::max<std::int64_t>(
            1, static_cast<std::int64_t>(std::ceil(std::chrono::duration<double>(*wait).count())));
    }
    route_.metrics().attempt({p.name(), model, llm::to_string(err.kind)});
    using K = llm::ProviderErrorKind;
    last_error_ = std::move(err);
    switch (last_error_->kind) {
      case K::context_length:
        co_return Verdict::context;
      case K::invalid_request:
        co_return Verdict::give_up;
      case K::overloaded:
        note_failure(t, alias, wait);
        co_return Verdict::retry_same;
      default:
        note_failure(t, alias, wait);
        co_return Verdict::next_target;
    }
  }
  if (stream_) co_return co_await relay_stream(call, p, t, alias, model);
  std::string resp;
  e = co_await call.read_all(resp, route_.max_body_bytes());
  if (e != CallError::none) co_return transport_failure(t, alias, e);
  auto j = nlohmann::json::parse(resp, nullptr, false);
  auto parsed = j.is_discarded()
                    ? Result<llm::ChatResponse>(Error{ErrorKind::protocol, ErrorSource::upstream,
                                                      Retryable::yes, "not JSON"})
                    : llm::parse_response(std::move(j), p.format());
  if (!parsed) {
    call.report(true);
    route_.metrics().attempt({p.name(), model, "bad_response"});
    note_failure(t, alias, std::nullopt);
    last_error_ = llm::ProviderError{502,
                                     "upstream_bad_response",
                                     "",
                                     fmt::format("provider {} answered {} with a body that is not "
                                                 "a chat response: {}",
                                                 p.name(), status, parsed.error().message),
                                     llm::ProviderErrorKind::server,
                                     std::nullopt,
                                     p.format()};
    co_return Verdict::next_target;
  }
  usage_ = parsed->usage;
  if (route_.route().llm->log_bodies) completion_ = parsed->text;
  if (policy_.wants_reply()) reply_ = *parsed;
  t.state->success(call.ttfb_ms());
  route_.metrics().attempt({p.name(), model, "ok"});
  bool passthrough = ingress_ == llm::WireFormat::openai && p.openai_family();
  if (!passthrough) {
    llm::WriteOptions opt;
    opt.created = std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
    resp = llm::write_response(*parsed, ingress_, opt)
               .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  std::vector<Header> headers = trace_headers();
  headers.insert(headers.begin(), {"content-type", "application/json"});
  if (cache_key_) {
    llm::CachedResponse c;
    c.status = 200;
    c.content_type = "application/json";
    c.body = resp;
    c.headers = {{"x-sluice-provider", provider_}, {"x-sluice-model", model_}};
    route_.cache()->put(*cache_key_, std::move(c), coarse_now());
  }
  co_await io_.respond(200, headers, resp);
  finish("");
  co_return Verdict::answered;
}

ChatExchange::Verdict ChatExchange::transport_failure(const TargetRt& t, const AliasRt& alias,
                                                      CallError e) {
  const Provider& p = route_.providers()[t.provider];
  int status =
      e == CallError::timeout || e == CallError::connect_timeout ? 504
      : e == CallError::no_endpoint || e == CallError::breaker_open || e == CallError::overflow
          ? 503
          : 502;
  std::string_view what = gateway::to_string(e);
  route_.metrics().attempt({p.name(), model_, what});
  // The cluster's own state (no endpoint, breaker open, full) is not the target's fault.
  if (e != CallError::no_endpoint && e != CallError::breaker_open && e != CallError::overflow)
    note_failure(t, alias, std::nullopt);
  last_error_ =
      llm::ProviderError{status,
                         std::string(what),
                         "",
                         fmt::format("provider {} ({}): {}", p.name(), p.config().base_url, what),
                         llm::ProviderErrorKind::server,
                         std::nullopt,
                         ingress_};
  return Verdict::next_target;
}

void ChatExchange::note_failure(const TargetRt& t, const AliasRt& alias,
                                std::optional<Duration> wait) {
  if (t.state->failure(alias.cooldown, coarse_now(), wait))
    route_.metrics().cooldown(t.state->provider(), t.state->model());
}

void ChatExchange::finish(std::string_view error) {
  if (finished_) return;
  finished_ = true;
  double total = seconds_since(start_);
  double cost = 0;
  if (usage_ && !model_.empty())
    if (const llm::Price* price = route_.prices().find(model_))
      cost = llm::cost_usd(*price, *usage_);
  RequestRecord r;
  r.operation = "chat";
  r.alias = alias_ ? std::string_view(alias_->cfg->name) : std::string_view(client_model_);
  r.provider = provider_;
  r.model = model_;
  r.error = error;
  if (usage_) {
    r.input_tokens = usage_->input;
    r.output_tokens = usage_->output;
  }
  r.duration_s = total;
  r.ttft_s = ttft_s_;
  r.cost_usd = cost;
  r.fallbacks = hops_;
  r.stream_broken = stream_broken_;
  r.cache = cache_status_;
  route_.metrics().record(r);
  // A session stores only a whole reply: not a broken or cut stream, not an empty answer (the
  // turn is then not stored at all, and the client may send it again).
  policy_.complete(usage_, cost, status_, provider_, model_, error.empty() ? reply_json() : "");
  if (!io_.logging()) return;
  nlohmann::json f = {{"llm_alias", alias_ ? alias_->cfg->name : client_model_},
                      {"llm_provider", provider_},
                      {"llm_model", model_},
                      {"llm_stream", stream_},
                      {"llm_fallbacks", hops_},
                      {"llm_total_ms", std::round(total * 1e6) / 1e3}};
  f["llm_tokens_in"] = usage_ ? nlohmann::json(usage_->input) : nlohmann::json();
  f["llm_tokens_out"] = usage_ ? nlohmann::json(usage_->output) : nlohmann::json();
  f["llm_ttft_ms"] =
      ttft_s_ >= 0 ? nlohmann::json(std::round(ttft_s_ * 1e6) / 1e3) : nlohmann::json();
  f["llm_cost_usd"] = cost;
  f["llm_cache"] = cache_status_.empty() ? nlohmann::json() : nlohmann::json(cache_status_);
  if (stream_broken_) f["llm_stream_error"] = true;
  if (!policy_.key_name().empty()) f["llm_key"] = policy_.key_name();
  if (route_.route().llm->log_bodies && req_) {
    std::string prompt;
    for (const auto& s : req_->system) prompt += "[system] " + s.text + "\n";
    for (const auto& m : req_->messages) {
      static constexpr std::string_view roles[] = {"system", "user", "assistant", "tool"};
      prompt += fmt::format("[{}] ", roles[static_cast<int>(m.role)]);
      for (const auto& part : m.parts) prompt += part.text;
      prompt += '\n';
    }
    f["llm_prompt"] = llm::redact(prompt);
    f["llm_completion"] = llm::redact(completion_);
  }
  io_.log_fields(std::move(f));
}

std::string ChatExchange::reply_json() const {
  if (!reply_) return {};
  std::vector<const llm::ToolCall*> calls;
  for (const auto& c : reply_->tool_calls)
    if (!c.id.empty() && !c.name.empty()) calls.push_back(&c);  // a gap in the indexes: skipped
  if (reply_->text.empty() && calls.empty()) return {};
  nlohmann::json m = {{"role", "assistant"}};
  if (ingress_ == llm::WireFormat::anthropic) {
    nlohmann::json content = nlohmann::json::array();
    if (!reply_->text.empty()) content.push_back({{"type", "text"}, {"text", reply_->text}});
    for (const auto* c : calls) {
      auto input =
          nlohmann::json::parse(c->arguments.empty() ? "{}" : c->arguments, nullptr, false);
      if (input.is_discarded()) input = nlohmann::json::object();
      content.push_back({{"type", "tool_use"}, {"id", c->id}, {"name", c->name}, {"input", input}});
    }
    m["content"] = std::move(content);
  } else {
    m["content"] = reply_->text.empty() ? nlohmann::json() : nlohmann::json(reply_->text);
    if (!calls.empty()) {
      nlohmann::json list = nlohmann::json::array();
      for (const auto* c : calls)
        list.push_back({{"id", c->id},
                        {"type", "function"},
                        {"function", {{"name", c->name}, {"arguments", c->arguments}}}});
      m["tool_calls"] = std::move(list);
    }
  }
  return m.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

net::awaitable<void> serve_chat(const LlmRoute& route, gateway::HandlerIo& io,
                                llm::WireFormat ingress) {
  ChatExchange x(route, io, ingress);
  co_await x.run();
}

}  // namespace sluice::llmgw
