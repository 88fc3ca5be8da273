// Provider error bodies: classified into one neutral kind (context length above all, whatever
// words the provider uses) and rendered in the client's ingress format with the original
// status, type and message.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "sluice/llm/chat.hpp"

namespace sluice::llm {

// Classifies an error response. body may be anything (an HTML page from a proxy is kept as
// the message); retry_after is the Retry-After header's value, if any. Never fails.
ProviderError parse_provider_error(WireFormat provider, int status, std::string_view body,
                                   std::string_view retry_after = {});
// The same, from an already parsed body (an error event inside a stream).
ProviderError provider_error_from_json(WireFormat provider, int status, const nlohmann::json& body);

// True when a provider's error message says the prompt does not fit the context window.
bool is_context_length_message(std::string_view message);

// The error body for a client speaking ingress; send it with err.status (or 502 when the
// error has no status, e.g. a broken stream).
nlohmann::json write_error(const ProviderError& err, WireFormat ingress);
int client_status(const ProviderError& err);

}  // namespace sluice::llm
