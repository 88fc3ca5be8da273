// Private to llmgw: one LLM route's handler and its shared parts.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sluice/core/config/schema.hpp"
#include "sluice/gateway/route_handler.hpp"
#include "sluice/llm/chat.hpp"
#include "sluice/llm/prices.hpp"
#include "sluice/llm/response_cache.hpp"
#include "sluice/llmgw/cooldown.hpp"
#include "sluice/llmgw/llm_metrics.hpp"
#include "sluice/llmgw/provider.hpp"
#include "sluice/llmgw/targets.hpp"
#include "sluice/llmgw/virtual_keys.hpp"

namespace sluice::store {
class SessionStore;
}

namespace sluice::llmgw {

struct TargetRt {
  const config::ModelTarget* cfg = nullptr;
  std::size_t provider = 0;  // index into LlmRoute::providers_
  std::shared_ptr<TargetState> state;
  double price = -1;  // per million input + output tokens; <0 unknown
};

struct AliasRt {
  const config::ModelAlias* cfg = nullptr;
  std::vector<TargetRt> targets;
  std::vector<std::size_t> fallbacks;  // indexes into LlmRoute::aliases_
  std::optional<std::size_t> context_fallback;
  CooldownPolicy cooldown;
};

// What survives a reload of the same route.
struct Carried {
  std::shared_ptr<TargetRegistry> targets;
  std::shared_ptr<LlmMetrics> metrics;
  std::shared_ptr<llm::ResponseCache> cache;
  std::shared_ptr<store::SessionStore> sessions;
  config::SessionsConfig sessions_config;
};

struct Services;

class LlmRoute final : public gateway::RouteHandler {
 public:
  static Result<std::shared_ptr<const LlmRoute>> build(const config::Config& cfg,
                                                       const config::Route& route,
                                                       const LlmRoute* previous);
  net::awaitable<void> handle(gateway::HandlerIo& io) const override;
  void write_metrics(gateway::MetricFamilies& out) const override { carried_.metrics->write(out); }
  // /admin/sessions (session_admin.cpp).
  std::optional<gateway::AdminResponse> admin(std::string_view method, std::string_view path,
                                              std::string_view query) const override;

  const config::Route& route() const { return *route_; }
  const std::vector<Provider>& providers() const { return providers_; }
  const std::vector<AliasRt>& aliases() const { return aliases_; }
  // The alias serving a client's model name, or null.
  const AliasRt* find_alias(std::string_view model) const;
  const llm::PriceTable& prices() const { return prices_; }
  LlmMetrics& metrics() const { return *carried_.metrics; }
  llm::ResponseCache* cache() const { return carried_.cache.get(); }
  std::uint64_t max_body_bytes() const { return max_body_bytes_; }
  const AliasRt* alias_named(std::string_view name) const;
  const KeyTable& keys() const { return *keys_; }
  Services& services() const { return *services_; }
  // Null unless [routes.llm.sessions] is on.
  store::SessionStore* sessions() const { return carried_.sessions.get(); }

 private:
  net::awaitable<void> models(gateway::HandlerIo& io) const;
  net::awaitable<void> embeddings(gateway::HandlerIo& io) const;

  const config::Route* route_ = nullptr;
  std::vector<Provider> providers_;
  std::vector<AliasRt> aliases_;
  std::optional<std::size_t> star_;
  llm::PriceTable prices_;
  Carried carried_;
  std::shared_ptr<Services> services_;
  std::unique_ptr<KeyTable> keys_;
  std::uint64_t max_body_bytes_ = 0;
};

// POST /v1/chat/completions (ingress openai) and /v1/messages (ingress anthropic).
net::awaitable<void> serve_chat(const LlmRoute& route, gateway::HandlerIo& io,
                                llm::WireFormat ingress);

// An error in the client's format, from the gateway itself.
net::awaitable<void> send_llm_error(gateway::HandlerIo& io, llm::WireFormat ingress, int status,
                                    std::string_view type, std::string message,
                                    std::vector<gateway::Header> extra = {});

}  // namespace sluice::llmgw
