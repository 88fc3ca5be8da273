// The LLM routes' handler ([routes.llm]): OpenAI chat completions, embeddings and models, and
// Anthropic messages, routed by model alias to providers, with translation, fallbacks,
// cooldowns, honest streaming, cost, an exact response cache and GenAI metrics.
#pragma once

#include "sluice/gateway/route_handler.hpp"

namespace sluice::llmgw {

// What `sluice serve` passes to the gateway (GatewayOptions::handlers).
gateway::HandlerFactory handler_factory();

}  // namespace sluice::llmgw
