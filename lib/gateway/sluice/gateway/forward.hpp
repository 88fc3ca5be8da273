// Header rewriting between the client and the upstream: hop-by-hop removal, X-Forwarded-*,
// Host passthrough or rewrite, request ids, and re-framing. Writes heads into reused strings.
#pragma once

#include <string>
#include <string_view>

#include "sluice/net/http_parser.hpp"

namespace sluice::gateway {

struct UpstreamRequestContext {
  std::string_view target;          // after any rewrite
  std::string_view host_override;   // non-empty: the Host to send
  std::string_view default_host;    // Host when the client sent none (HTTP/1.0)
  std::string_view client_address;  // appended to X-Forwarded-For
  bool client_tls = false;          // X-Forwarded-Proto
  std::string_view request_id;      // sent as x-request-id
};

void write_upstream_request_head(std::string& out, const net::MessageHead& req,
                                 const UpstreamRequestContext& ctx);

enum class ClientFraming {
  passthrough,  // forward the upstream framing (Content-Length or chunked) as it is
  until_close,  // no length: the body ends when we close the client connection
};

struct ClientResponseContext {
  std::string_view request_id;  // added as x-request-id when the upstream sent none
  bool close = false;           // send Connection: close
  bool keep_alive_10 = false;   // HTTP/1.0 client that asked for keep-alive
  ClientFraming framing = ClientFraming::passthrough;
  std::size_t attempts = 0;  // upstream tries, sent as x-sluice-attempts (0: left out)
};

void write_client_response_head(std::string& out, const net::MessageHead& res,
                                const ClientResponseContext& ctx);

}  // namespace sluice::gateway
