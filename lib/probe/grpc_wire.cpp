// The protobuf subset the health check needs: varints, one string field out, one enum field in,
// and skipping of every other wire type so that newer servers with more fields still decode.
#include "sluice/probe/grpc_wire.hpp"

#include <cstdint>

#include <fmt/format.h>

namespace sluice::probe::grpc {
namespace {

Error wire_error(std::string message) {
  return make_error(ErrorKind::protocol, ErrorSource::upstream, std::move(message));
}

void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

// Reads a varint at `at`, advancing it; false when truncated or longer than 10 bytes.
bool get_varint(std::string_view in, std::size_t& at, std::uint64_t& out) {
  out = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (at >= in.size()) return false;
    auto byte = static_cast<unsigned char>(in[at++]);
    out |= static_cast<std::uint64_t>(byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

}  // namespace

std::string serving_status_name(int status) {
  switch (status) {
    case kUnknown:
      return "UNKNOWN";
    case kServing:
      return "SERVING";
    case kNotServing:
      return "NOT_SERVING";
    case kServiceUnknown:
      return "SERVICE_UNKNOWN";
    default:
      return fmt::format("STATUS_{}", status);
  }
}

std::string code_name(int code) {
  static constexpr const char* names[] = {"OK",
                                          "CANCELLED",
                                          "UNKNOWN",
                                          "INVALID_ARGUMENT",
                                          "DEADLINE_EXCEEDED",
                                          "NOT_FOUND",
                                          "ALREADY_EXISTS",
                                          "PERMISSION_DENIED",
                                          "RESOURCE_EXHAUSTED",
                                          "FAILED_PRECONDITION",
                                          "ABORTED",
                                          "OUT_OF_RANGE",
                                          "UNIMPLEMENTED",
                                          "INTERNAL",
                                          "UNAVAILABLE",
                                          "DATA_LOSS",
                                          "UNAUTHENTICATED"};
  if (code >= 0 && code < static_cast<int>(std::size(names))) return names[code];
  return fmt::format("CODE_{}", code);
}

std::string encode_health_request(std::string_view service) {
  std::string out;
  if (service.empty()) return out;
  out += static_cast<char>(0x0A);  // field 1, wire type 2 (length-delimited)
  put_varint(out, service.size());
  out.append(service);
  return out;
}

Result<int> decode_health_response(std::string_view message) {
  int status = 0;
  std::size_t at = 0;
  while (at < message.size()) {
    std::uint64_t key = 0;
    if (!get_varint(message, at, key)) return wire_error("malformed HealthCheckResponse: bad key");
    std::uint64_t field = key >> 3;
    switch (key & 7) {
      case 0: {
        std::uint64_t v = 0;
        if (!get_varint(message, at, v))
          return wire_error("malformed HealthCheckResponse: truncated varint");
        if (field == 1) status = static_cast<int>(static_cast<std::int32_t>(v));
        break;
      }
      case 1:
        if (message.size() - at < 8)
          return wire_error("malformed HealthCheckResponse: truncated fixed64");
        at += 8;
        break;
      case 2: {
        std::uint64_t len = 0;
        if (!get_varint(message, at, len) || len > message.size() - at)
          return wire_error("malformed HealthCheckResponse: truncated length-delimited field");
        at += static_cast<std::size_t>(len);
        break;
      }
      case 5:
        if (message.size() - at < 4)
          return wire_error("malformed HealthCheckResponse: truncated fixed32");
        at += 4;
        break;
      default:
        return wire_error(
            fmt::format("malformed HealthCheckResponse: unsupported wire type {}", key & 7));
    }
  }
  return status;
}

std::string frame(std::string_view message) {
  std::string out;
  out.reserve(message.size() + 5);
  auto n = static_cast<std::uint32_t>(message.size());
  out += '\0';
  out += static_cast<char>((n >> 24) & 0xFF);
  out += static_cast<char>((n >> 16) & 0xFF);
  out += static_cast<char>((n >> 8) & 0xFF);
  out += static_cast<char>(n & 0xFF);
  out.append(message);
  return out;
}

Result<std::string> unframe(std::string_view body) {
  if (body.size() < 5)
    return wire_error(
        fmt::format("the response holds no complete gRPC message ({} bytes)", body.size()));
  auto byte = [&](std::size_t i) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(body[i]));
  };
  if (byte(0) == 1)
    return wire_error("the server sent a compressed message, which is not supported");
  if (byte(0) != 0) return wire_error(fmt::format("bad gRPC message flag {}", byte(0)));
  std::uint32_t n = (byte(1) << 24) | (byte(2) << 16) | (byte(3) << 8) | byte(4);
  if (n > body.size() - 5)
    return wire_error(fmt::format("truncated gRPC message: {} of {} bytes", body.size() - 5, n));
  return std::string(body.substr(5, n));
}

std::string percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hex(text[i + 1]) >= 0 && hex(text[i + 2]) >= 0) {
      out += static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

}  // namespace sluice::probe::grpc
