#include "sluice/gateway/forward.hpp"

#include <fmt/format.h>

#include "sluice/net/headers.hpp"

namespace sluice::gateway {

using net::iequals;

namespace {

// Headers named in Connection are hop-by-hop too (RFC 9110 7.6.1).
bool dropped(const net::HeaderField& f, std::string_view connection) {
  return net::is_hop_by_hop(f.name) ||
         (!connection.empty() && net::connection_lists(connection, f.name));
}

void field(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += ": ";
  out += value;
  out += "\r\n";
}

}  // namespace

void write_upstream_request_head(std::string& out, const net::MessageHead& req,
                                 const UpstreamRequestContext& ctx) {
  out.clear();
  out += req.method;
  out += ' ';
  out += ctx.target;
  out += " HTTP/1.1\r\n";
  std::string_view connection = req.get("connection");
  std::string_view host, xff, xfh;
  bool has_request_id = false;
  for (const auto& f : req.fields) {
    if (dropped(f, connection)) continue;
    switch (f.name.size()) {
      case 4:
        if (iequals(f.name, "host")) {
          host = f.value;
          continue;
        }
        break;
      case 6:
        if (iequals(f.name, "expect")) continue;  // 100-continue is answered by the gateway
        break;
      case 12:
        if (iequals(f.name, "x-request-id")) has_request_id = true;
        break;
      case 15:
        if (iequals(f.name, "x-forwarded-for")) {
          xff = f.value;
          continue;
        }
        break;
      case 16:
        if (iequals(f.name, "x-forwarded-host")) xfh = f.value;
        break;
      case 17:
        if (iequals(f.name, "x-forwarded-proto")) continue;
        break;
      default:
        break;
    }
    field(out, f.name, f.value);
  }
  if (!ctx.host_override.empty()) field(out, "Host", ctx.host_override);
  else if (!host.empty()) field(out, "Host", host);
  else field(out, "Host", ctx.default_host);
  if (!has_request_id && !ctx.request_id.empty()) field(out, "x-request-id", ctx.request_id);
  out += "X-Forwarded-For: ";
  if (!xff.empty()) {
    out += xff;
    out += ", ";
  }
  out += ctx.client_address;
  out += "\r\n";
  field(out, "X-Forwarded-Proto", ctx.client_tls ? "https" : "http");
  if (xfh.empty() && !host.empty()) field(out, "X-Forwarded-Host", host);
  if (req.chunked) out += "Transfer-Encoding: chunked\r\n";
  out += "\r\n";
}

void write_client_response_head(std::string& out, const net::MessageHead& res,
                                const ClientResponseContext& ctx) {
  out.clear();
  fmt::format_to(std::back_inserter(out), "HTTP/1.1 {} ", res.status);
  out += res.reason;
  out += "\r\n";
  std::string_view connection = res.get("connection");
  bool has_request_id = false;
  for (const auto& f : res.fields) {
    if (dropped(f, connection)) continue;
    if (ctx.framing == ClientFraming::until_close && iequals(f.name, "content-length")) continue;
    if (f.name.size() == 12 && iequals(f.name, "x-request-id")) has_request_id = true;
    field(out, f.name, f.value);
  }
  if (!has_request_id && !ctx.request_id.empty()) field(out, "x-request-id", ctx.request_id);
  if (res.chunked && ctx.framing == ClientFraming::passthrough)
    out += "Transfer-Encoding: chunked\r\n";
  if (ctx.close || ctx.framing == ClientFraming::until_close) out += "Connection: close\r\n";
  else if (ctx.keep_alive_10) out += "Connection: keep-alive\r\n";
  out += "\r\n";
}

}  // namespace sluice::gateway
