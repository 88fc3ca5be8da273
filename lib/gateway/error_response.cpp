#include "sluice/gateway/error_response.hpp"

#include <fmt/format.h>

namespace sluice::gateway {

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 402:
      return "Payment Required";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 413:
      return "Content Too Large";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Error";
  }
}

void write_error_response(std::string& out, const GatewayError& e, std::string_view request_id,
                          bool close, std::size_t attempts) {
  nlohmann::json body = {{"error",
                          {{"message", e.message},
                           {"type", e.type},
                           {"code", std::to_string(e.status)},
                           {"request_id", request_id},
                           {"details", e.details}}}};
  std::string text = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  text += '\n';
  out.clear();
  fmt::format_to(std::back_inserter(out),
                 "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n"
                 "x-request-id: {}\r\n{}{}\r\n",
                 e.status, reason_phrase(e.status), text.size(), request_id,
                 attempts ? fmt::format("x-sluice-attempts: {}\r\n", attempts) : std::string(),
                 close ? "connection: close\r\n" : "");
  out += text;
}

}  // namespace sluice::gateway
