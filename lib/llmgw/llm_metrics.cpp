#include "sluice/llmgw/llm_metrics.hpp"

#include <fmt/format.h>

namespace sluice::llmgw {

namespace {

// OpenTelemetry GenAI semantic conventions, advisory bucket boundaries.
constexpr std::array<double, 14> kTokenBounds = {
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864};
constexpr std::array<double, 14> kDurationBounds = {0.01, 0.02, 0.04, 0.08,  0.16,  0.32,  0.64,
                                                    1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92};
constexpr std::array<double, 16> kTtftBounds = {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1,
                                                0.25,  0.5,   0.75, 1.0,  2.5,  5.0,  7.5,  10.0};

// A label value, escaped as the exposition format requires.
std::string esc(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"')
      out += '\\', out += c;
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

void histogram(std::string& out, std::string_view name, const std::string& labels,
               const Histogram& h) {
  std::uint64_t cum = 0;
  for (std::size_t i = 0; i < h.bounds().size(); ++i) {
    cum += h.counts()[i];
    fmt::format_to(std::back_inserter(out), "{}_bucket{{{},le=\"{}\"}} {}\n", name, labels,
                   h.bounds()[i], cum);
  }
  cum += h.counts().back();
  fmt::format_to(std::back_inserter(out),
                 "{}_bucket{{{},le=\"+Inf\"}} {}\n{}_sum{{{}}} {}\n{}_count{{{}}} {}\n", name,
                 labels, cum, name, labels, h.sum(), name, labels, h.count());
}

gateway::MetricFamily& family(gateway::MetricFamilies& out, const std::string& name,
                              std::string_view type, std::string_view help) {
  auto& f = out[name];
  if (f.type.empty()) {
    f.type = type;
    f.help = help;
  }
  return f;
}

}  // namespace

void Histogram::observe(double v) {
  std::size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  ++counts_[i];
  sum_ += v;
  ++count_;
}

LlmMetrics::Series::Series()
    : input_tokens(kTokenBounds),
      output_tokens(kTokenBounds),
      duration(kDurationBounds),
      ttft(kTtftBounds) {}

void LlmMetrics::record(const RequestRecord& r) {
  std::lock_guard lock(mu_);
  auto& s = series_[Key{std::string(r.operation), std::string(r.alias), std::string(r.provider),
                        std::string(r.model)}];
  ++s.requests[std::string(r.error)];
  if (r.input_tokens >= 0) s.input_tokens.observe(double(r.input_tokens));
  if (r.output_tokens >= 0) s.output_tokens.observe(double(r.output_tokens));
  s.duration.observe(r.duration_s);
  if (r.ttft_s >= 0) s.ttft.observe(r.ttft_s);
  s.cost += r.cost_usd;
  s.fallbacks += static_cast<std::uint64_t>(r.fallbacks);
  if (r.stream_broken) ++s.stream_broken;
  if (r.cache == "hit") ++s.cache_hits;
  if (r.cache == "miss") ++s.cache_misses;
}

void LlmMetrics::attempt(const AttemptRecord& a) {
  std::lock_guard lock(mu_);
  ++attempts_[{std::string(a.provider), std::string(a.model), std::string(a.outcome)}];
}

void LlmMetrics::cooldown(std::string_view provider, std::string_view model) {
  std::lock_guard lock(mu_);
  ++cooldowns_[{std::string(provider), std::string(model)}];
}

void LlmMetrics::limited(std::string_view scope, std::string_view kind) {
  std::lock_guard lock(mu_);
  ++limited_[{std::string(scope), std::string(kind)}];
}

void LlmMetrics::context(std::string_view alias, std::size_t dropped_turns) {
  std::lock_guard lock(mu_);
  auto& c = context_[std::string(alias)];
  ++c.first;
  c.second += dropped_turns;
}

void LlmMetrics::summary(std::string_view outcome) {
  std::lock_guard lock(mu_);
  ++summaries_[std::string(outcome)];
}

void LlmMetrics::session_error() {
  std::lock_guard lock(mu_);
  ++session_errors_;
}

void LlmMetrics::write(gateway::MetricFamilies& out) const {
  std::lock_guard lock(mu_);
  auto& tokens = family(out, "gen_ai_client_token_usage", "histogram",
                        "Tokens per request, by gen_ai_token_type (input or output), as the "
                        "provider reported them");
  auto& duration = family(out, "gen_ai_server_request_duration_seconds", "histogram",
                          "Time from the request to the end of the answer, fallbacks included");
  auto& ttft = family(out, "gen_ai_server_time_to_first_token_seconds", "histogram",
                      "Time from the request to the first streamed token");
  auto& requests = family(out, "sluice_llm_requests_total", "counter",
                          "LLM requests by alias, provider, model and error type (empty: none)");
  auto& cost = family(out, "sluice_llm_cost_usd_total", "counter",
                      "Cost from the providers' usage and the price table, in US dollars");
  auto& fallbacks = family(out, "sluice_llm_fallbacks_total", "counter",
                           "Fallback hops taken to other targets or aliases");
  auto& broken = family(out, "sluice_llm_stream_errors_total", "counter",
                        "Streams ended with an error event after they had started");
  auto& cache = family(out, "sluice_llm_cache_total", "counter",
                       "Exact response cache lookups, by result (hit or miss)");
  for (const auto& [key, s] : series_) {
    const auto& [op, alias, provider, model] = key;
    std::string base = fmt::format(
        "route=\"{}\",gen_ai_operation_name=\"{}\",gen_ai_request_model=\"{}\","
        "gen_ai_provider_name=\"{}\",gen_ai_response_model=\"{}\"",
        esc(route_), esc(op), esc(alias), esc(provider), esc(model));
    if (s.input_tokens.count())
      histogram(tokens.samples, "gen_ai_client_token_usage", base + ",gen_ai_token_type=\"input\"",
                s.input_tokens);
    if (s.output_tokens.count())
      histogram(tokens.samples, "gen_ai_client_token_usage", base + ",gen_ai_token_type=\"output\"",
                s.output_tokens);
    histogram(duration.samples, "gen_ai_server_request_duration_seconds", base, s.duration);
    if (s.ttft.count())
      histogram(ttft.samples, "gen_ai_server_time_to_first_token_seconds", base, s.ttft);
    for (const auto& [err, n] : s.requests)
      fmt::format_to(std::back_inserter(requests.samples),
                     "sluice_llm_requests_total{{{},error_type=\"{}\"}} {}\n", base, esc(err), n);
    fmt::format_to(std::back_inserter(cost.samples), "sluice_llm_cost_usd_total{{{}}} {}\n", base,
                   s.cost);
    fmt::format_to(std::back_inserter(fallbacks.samples), "sluice_llm_fallbacks_total{{{}}} {}\n",
                   base, s.fallbacks);
    fmt::format_to(std::back_inserter(broken.samples), "sluice_llm_stream_errors_total{{{}}} {}\n",
                   base, s.stream_broken);
    if (s.cache_hits + s.cache_misses) {
      fmt::format_to(std::back_inserter(cache.samples),
                     "sluice_llm_cache_total{{{},result=\"hit\"}} {}\n", base, s.cache_hits);
      fmt::format_to(std::back_inserter(cache.samples),
                     "sluice_llm_cache_total{{{},result=\"miss\"}} {}\n", base, s.cache_misses);
    }
  }
  if (!attempts_.empty()) {
    auto& f = family(out, "sluice_llm_attempts_total", "counter",
                     "Upstream attempts by provider, model and outcome (ok, rate_limit, "
                     "overloaded, server, context_length, timeout, connect_error, ...)");
    for (const auto& [k, n] : attempts_)
      fmt::format_to(std::back_inserter(f.samples),
                     "sluice_llm_attempts_total{{route=\"{}\",gen_ai_provider_name=\"{}\",gen_ai_"
                     "response_model=\"{}\",outcome=\"{}\"}} {}\n",
                     esc(route_), esc(std::get<0>(k)), esc(std::get<1>(k)), esc(std::get<2>(k)), n);
  }
  if (!cooldowns_.empty()) {
    auto& f = family(out, "sluice_llm_cooldowns_total", "counter",
                     "Cooldowns started, by provider and model");
    for (const auto& [k, n] : cooldowns_)
      fmt::format_to(std::back_inserter(f.samples),
                     "sluice_llm_cooldowns_total{{route=\"{}\",gen_ai_provider_name=\"{}\",gen_ai_"
                     "response_model=\"{}\"}} {}\n",
                     esc(route_), esc(k.first), esc(k.second), n);
  }
  write_policy(out);
}

void LlmMetrics::write_policy(gateway::MetricFamilies& out) const {
  if (!limited_.empty()) {
    auto& f = family(out, "sluice_llm_limited_total", "counter",
                     "Requests refused by a request or token limit, by scope (key:, model:, "
                     "route:) and kind (requests, tokens)");
    for (const auto& [k, n] : limited_)
      fmt::format_to(std::back_inserter(f.samples),
                     "sluice_llm_limited_total{{route=\"{}\",scope=\"{}\",kind=\"{}\"}} {}\n",
                     esc(route_), esc(k.first), esc(k.second), n);
  }
  if (!context_.empty()) {
    auto& trims = family(out, "sluice_llm_context_trimmed_total", "counter",
                         "Requests whose conversation was trimmed to the context window");
    auto& turns = family(out, "sluice_llm_context_dropped_turns_total", "counter",
                         "Messages dropped from conversations to fit the context window");
    for (const auto& [alias, c] : context_) {
      fmt::format_to(std::back_inserter(trims.samples),
                     "sluice_llm_context_trimmed_total{{route=\"{}\",alias=\"{}\"}} {}\n",
                     esc(route_), esc(alias), c.first);
      fmt::format_to(std::back_inserter(turns.samples),
                     "sluice_llm_context_dropped_turns_total{{route=\"{}\",alias=\"{}\"}} {}\n",
                     esc(route_), esc(alias), c.second);
    }
  }
  if (!summaries_.empty()) {
    auto& f = family(out, "sluice_llm_summaries_total", "counter",
                     "Summaries of dropped turns, by outcome (written, failed)");
    for (const auto& [k, n] : summaries_)
      fmt::format_to(std::back_inserter(f.samples),
                     "sluice_llm_summaries_total{{route=\"{}\",outcome=\"{}\"}} {}\n", esc(route_),
                     esc(k), n);
  }
  if (session_errors_) {
    auto& f = family(out, "sluice_llm_session_errors_total", "counter",
                     "Conversation turns that could not be saved to the session store");
    fmt::format_to(std::back_inserter(f.samples),
                   "sluice_llm_session_errors_total{{route=\"{}\"}} {}\n", esc(route_),
                   session_errors_);
  }
}

}  // namespace sluice::llmgw