// gRPC health checking by hand, without a gRPC library: the 5-byte message framing and the two
// protobuf messages of grpc.health.v1.Health/Check, encoded and decoded directly.
#pragma once

#include <string>
#include <string_view>

#include "sluice/core/error.hpp"

namespace sluice::probe::grpc {

// HealthCheckResponse.ServingStatus.
enum ServingStatus { kUnknown = 0, kServing = 1, kNotServing = 2, kServiceUnknown = 3 };

// "UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"; "STATUS_7" for values beyond them.
std::string serving_status_name(int status);
// The canonical gRPC status code names: 0 "OK", 5 "NOT_FOUND", 14 "UNAVAILABLE", ...
std::string code_name(int code);

// HealthCheckRequest{string service = 1}; the empty service encodes as no bytes at all.
std::string encode_health_request(std::string_view service);
// HealthCheckResponse{ServingStatus status = 1}: the status (0 when absent, as proto3 says).
// Unknown fields are skipped; malformed input is an error, never a crash.
Result<int> decode_health_response(std::string_view message);

// A length-prefixed message: flag byte 0 (uncompressed), 4-byte big-endian length, the bytes.
std::string frame(std::string_view message);
// The first message of a response body. Compressed or truncated messages are errors.
Result<std::string> unframe(std::string_view body);

// grpc-message is percent-encoded (gRPC over HTTP/2, "Status-Message").
std::string percent_decode(std::string_view text);

}  // namespace sluice::probe::grpc
