// Responses the gateway itself generates, in the one JSON error shape (OpenAI-compatible):
// {"error":{"message":..,"type":..,"code":..,"request_id":..,"details":{..}}}
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace sluice::gateway {

struct GatewayError {
  int status;
  std::string_view type;  // e.g. "no_healthy_upstream", "request_header_too_large"
  std::string message;
  nlohmann::json details = nlohmann::json::object();
};

std::string_view reason_phrase(int status);

// A complete HTTP/1.1 response (head and body) into out.
// attempts > 0 adds x-sluice-attempts (the upstream tries made before giving up).
void write_error_response(std::string& out, const GatewayError& e, std::string_view request_id,
                          bool close, std::size_t attempts = 0);

}  // namespace sluice::gateway
