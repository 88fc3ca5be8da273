// Private to llmgw: one chat request (OpenAI chat completions or Anthropic messages) from its
// body to its answer (chat.cpp), its stream relay (chat_stream.cpp) included.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "llm_route.hpp"
#include "request_policy.hpp"
#include "sluice/gateway/upstream_call.hpp"
#include "sluice/llm/chat.hpp"
#include "sluice/llmgw/request_scan.hpp"

namespace sluice::llmgw {

class TargetWalker;

class ChatExchange {
 public:
  ChatExchange(const LlmRoute& route, gateway::HandlerIo& io, llm::WireFormat ingress);
  net::awaitable<void> run();

 private:
  enum class Verdict {
    answered,     // the client has its answer (or its stream, ended either way)
    next_target,  // fall back to the next target
    retry_same,   // overloaded: the same target once more, then the next
    context,      // the prompt does not fit: the alias's context_fallback
    give_up,      // the request itself is wrong: the client gets the provider's error
  };
  bool ensure_parsed();
  // The model and stream flag of body_ (a scan or a full parse); false with parse_error_ set.
  bool read_request();
  // The assistant's reply in the client's format, for a server-side session.
  std::string reply_json() const;
  Result<std::string_view> provider_body(const Provider& p, const std::string& model);
  net::awaitable<Verdict> attempt(const TargetRt& t, const AliasRt& alias);
  net::awaitable<Verdict> relay_stream(gateway::UpstreamCall& call, const Provider& p,
                                       const TargetRt& t, const AliasRt& alias,
                                       const std::string& model);
  net::awaitable<void> answer_failure(const TargetWalker& walk);
  Verdict transport_failure(const TargetRt& t, const AliasRt& alias, gateway::CallError e);
  void note_failure(const TargetRt& t, const AliasRt& alias, std::optional<Duration> wait);
  std::vector<gateway::Header> trace_headers() const;
  // The log line's fields and the metrics; once.
  void finish(std::string_view error);

  const LlmRoute& route_;
  gateway::HandlerIo& io_;
  RequestPolicy policy_;
  llm::WireFormat ingress_;
  std::chrono::steady_clock::time_point start_;
  std::string body_;     // the client's request body
  std::string scratch_;  // the body sent to the provider when it is not body_
  RequestScan scan_;
  std::optional<llm::ChatRequest> req_;  // parsed when translation or a policy needs it
  std::string parse_error_;
  std::string client_model_;
  bool stream_ = false;
  bool include_usage_ = false;
  const AliasRt* alias_ = nullptr;
  std::optional<std::string> cache_key_;
  std::string cache_status_;  // "hit", "miss" or empty
  int attempts_ = 0;
  int hops_ = 0;                  // fallback hops: targets passed over (failed or cooling down)
  int skipped_seen_ = 0;          // cooling targets already counted in hops_
  std::string provider_, model_;  // of the latest attempt
  std::optional<llm::ProviderError> last_error_;
  std::optional<llm::Usage> usage_;
  std::string completion_;  // for the log, with log_bodies
  double ttft_s_ = -1;
  bool stream_broken_ = false;
  bool head_sent_ = false;  // a stream's response head went to the client
  bool finished_ = false;
  int status_ = 200;  // the client's status, for the ledger
  // The reply, for a session (streams collect it from their events).
  std::optional<llm::ChatResponse> reply_;
};

}  // namespace sluice::llmgw
