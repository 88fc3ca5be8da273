// Private to llmgw: what the route's policies do to one chat request, around its provider
// calls. Before: the virtual key (identify), then the key's aliases, its budget, the server-side
// session, injected instructions, the context window (with summaries) and the request and token
// limits (prepare). During: output tokens as a stream delivers them (on_output). After: the
// bucket reconciliation, the ledger row, the budget and the session's new messages (complete).
#pragma once

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "llm_route.hpp"
#include "sluice/llm/context_policy.hpp"
#include "sluice/llm/raw_chat.hpp"
#include "sluice/llm/tokenizer.hpp"
#include "sluice/llmgw/admission.hpp"

namespace sluice::llmgw {

// A refusal the gateway answers itself, in the client's format.
struct PolicyRefusal {
  int status = 400;
  std::string_view type;  // OpenAI error type / code: a static string (the access log keeps it)
  std::string message;
  std::vector<gateway::Header> headers;
};

// The summary's token budget: summary_max_tokens, but at most a quarter of the window, so a
// small window keeps room for the conversation.
inline std::int64_t summary_budget(const config::ContextPolicy& pol, std::size_t window) {
  return std::min<std::int64_t>(pol.summary_max_tokens,
                                std::max<std::int64_t>(16, static_cast<std::int64_t>(window / 4)));
}

class RequestPolicy {
 public:
  RequestPolicy(const LlmRoute& route, gateway::HandlerIo& io, llm::WireFormat ingress);

  // The virtual key the request presents; a refusal when the route requires one.
  std::optional<PolicyRefusal> identify();
  // Everything before the first provider call. body may be rewritten (session history, injected
  // instructions, a trimmed or summarised context).
  net::awaitable<std::optional<PolicyRefusal>> prepare(std::string& body, const AliasRt& alias,
                                                       std::string_view client_model);
  // Headers for every answer: the context's and the limits'.
  std::vector<gateway::Header> headers() const;
  // A streamed text delta; true when the stream must be cut (cut_streams and the TPM limit is
  // spent).
  bool on_output(std::string_view text);
  // Once, when the request is over. reply: the assistant message in the ingress format (for the
  // session), empty when there is none.
  void complete(const std::optional<llm::Usage>& usage, double cost_usd, int status,
                std::string_view provider, std::string_view model, std::string_view reply);

  std::string_view key_name() const { return key_ ? std::string_view(key_->name) : ""; }
  // prepare() changed the body.
  bool rewrote() const { return rewrote_; }
  // The request belongs to a server-side session: complete() wants the reply.
  bool wants_reply() const { return !session_id_.empty(); }
  bool context_changed() const { return context_.dropped > 0 || context_.summary; }

 private:
  struct ContextReport {
    bool applied = false;
    std::size_t before = 0, after = 0, dropped = 0;
    bool summary = false;
    std::string summary_status;  // "hit", "miss", "failed"
  };
  std::optional<PolicyRefusal> check_key_and_budget(const AliasRt& alias);
  Result<void> apply_session(std::string& body);
  void apply_injections(std::string& body, const AliasRt& alias, std::string_view client_model);
  net::awaitable<std::optional<PolicyRefusal>> apply_context(std::string& body,
                                                             const AliasRt& alias);
  // summarize: chooses the prefix to drop (at least the plan's; one step further when that
  // keeps a cached summary or saves the next turns a summary), clears it from keep, and returns
  // its summary (from the cache or the summarizer).
  net::awaitable<Result<std::string>> summarize_prefix(
      const llm::RawChat& chat, const std::vector<llm::Turn>& turns, const llm::ContextPlan& plan,
      const llm::ContextBudget& b, const config::ContextPolicy& pol, std::vector<bool>& keep);
  std::optional<PolicyRefusal> admit(const std::string& body, const AliasRt& alias);
  std::string expand(std::string_view text, std::string_view model) const;
  const llm::Tokenizer& tokenizer() const;

  const LlmRoute& route_;
  gateway::HandlerIo& io_;
  llm::WireFormat ingress_;
  const config::VirtualKey* key_ = nullptr;
  const AliasRt* alias_ = nullptr;
  llm::Encoding encoding_ = llm::Encoding::o200k_base;
  double count_factor_ = 1.0;  // Anthropic and Gemini models: an estimate's scale
  ContextReport context_;
  std::optional<std::size_t> prompt_tokens_;  // as counted for the context or the limits
  // Sessions: the id, and the client's new messages to store once the answer is in.
  std::string session_id_;
  std::vector<std::string> session_new_;
  // Limits.
  Admission admission_;
  std::uint64_t prompt_debited_ = 0;  // the prompt tokens debited at admission
  std::uint64_t reserved_ = 0;        // max_tokens reserved at admission
  std::uint64_t output_debited_ = 0;  // output tokens debited as they streamed
  bool admitted_ = false;
  bool completed_ = false;
  bool rewrote_ = false;
};

}  // namespace sluice::llmgw
