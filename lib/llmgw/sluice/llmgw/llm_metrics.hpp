// The LLM route's metrics: OpenTelemetry GenAI meanings under Prometheus names
// (gen_ai_client_token_usage, gen_ai_server_request_duration_seconds,
// gen_ai_server_time_to_first_token_seconds) plus Sluice's counters (cost, attempts, fallbacks,
// broken streams, cache). Workers record under one mutex per request; scrapes copy.
#pragma once

#include <array>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "sluice/gateway/route_handler.hpp"

namespace sluice::llmgw {

// A histogram over fixed bounds (the OpenTelemetry GenAI advisory buckets).
class Histogram {
 public:
  explicit Histogram(std::span<const double> bounds)
      : bounds_(bounds), counts_(bounds.size() + 1) {}
  void observe(double v);
  std::span<const double> bounds() const { return bounds_; }
  const std::vector<std::uint64_t>& counts() const { return counts_; }  // non-cumulative
  double sum() const { return sum_; }
  std::uint64_t count() const { return count_; }

 private:
  std::span<const double> bounds_;
  std::vector<std::uint64_t> counts_;
  double sum_ = 0;
  std::uint64_t count_ = 0;
};

struct RequestRecord {
  std::string_view operation = "chat";                 // chat, embeddings
  std::string_view alias;                              // the model the client asked for
  std::string_view provider;                           // empty when no provider answered
  std::string_view model;                              // the target's model
  std::string_view error;                              // empty on success, else the error type
  std::int64_t input_tokens = -1, output_tokens = -1;  // -1: unknown
  double duration_s = 0;
  double ttft_s = -1;  // streams: time to the first content event
  double cost_usd = 0;
  int fallbacks = 0;
  bool stream_broken = false;  // a stream ended by an error event after it had started
  std::string_view cache;      // "hit", "miss" or empty (no cache)
};

// One upstream attempt, for sluice_llm_attempts_total.
struct AttemptRecord {
  std::string_view provider, model;
  std::string_view outcome;  // ok, rate_limit, overloaded, server, context_length, timeout, ...
};

class LlmMetrics {
 public:
  explicit LlmMetrics(std::string route) : route_(std::move(route)) {}
  void record(const RequestRecord& r);
  void attempt(const AttemptRecord& a);
  void cooldown(std::string_view provider, std::string_view model);
  // Policies: a request refused by a limit (kind: requests or tokens), a context trimmed, a
  // summary (written, failed), a session that could not be saved.
  void limited(std::string_view scope, std::string_view kind);
  void context(std::string_view alias, std::size_t dropped_turns);
  void summary(std::string_view outcome);
  void session_error();
  void write(gateway::MetricFamilies& out) const;

 private:
  void write_policy(gateway::MetricFamilies& out) const;
  using Key =
      std::tuple<std::string, std::string, std::string, std::string>;  // op, alias, provider, model
  struct Series {
    Histogram input_tokens, output_tokens, duration, ttft;
    std::map<std::string, std::uint64_t> requests;  // by error type ("" ok)
    double cost = 0;
    std::uint64_t fallbacks = 0, stream_broken = 0, cache_hits = 0, cache_misses = 0;
    Series();
  };
  std::string route_;
  mutable std::mutex mu_;
  std::map<Key, Series> series_;
  std::map<std::tuple<std::string, std::string, std::string>, std::uint64_t> attempts_;
  std::map<std::pair<std::string, std::string>, std::uint64_t> cooldowns_;
  std::map<std::pair<std::string, std::string>, std::uint64_t> limited_;
  std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> context_;  // trims, turns
  std::map<std::string, std::uint64_t> summaries_;
  std::uint64_t session_errors_ = 0;
};

}  // namespace sluice::llmgw
