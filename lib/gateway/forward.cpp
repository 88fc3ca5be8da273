#include "sluice/gateway/forward.hpp"

#include <fmt/format.h>

#include "sluice/net/headers.hpp"

namespace sluice::gateway {

using net::iequals;

namespace {

// The values of every Connection line (a message may repeat it).
struct ConnectionLines {
  std::string_view values[4];
  std::size_t n = 0;
  explicit ConnectionLines(const net::MessageHead& m) {
    for (const auto& f : m.fields)
      if (n < std::size(values) && f.name.size() == 10 && iequals(f.name, "connection"))
        values[n++] = f.value;
  }
  bool names(std::string_view header) const {
    for (std::size_t i = 0; i < n; ++i)
      if (net::connection_lists(values[i], header)) return true;
    return false;
  }
};

// Headers named in Connection are hop-by-hop too (RFC 9110 7.6.1).
bool dropped(const net::HeaderField& f, const ConnectionLines& c) {
  return net::is_hop_by_hop(f.name) || (c.n > 0 && c.names(f.name));
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
  ConnectionLines connection(req);
  std::string_view host, xfh;
  std::string_view xff[4];  // repeated X-Forwarded-For lines combine in order (RFC 9110 5.3)
  std::size_t xff_lines = 0;
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
        // The client's id is kept only when the gateway adopted it (a usable one).
        if (iequals(f.name, "x-request-id")) {
          if (f.value != ctx.request_id) continue;
          has_request_id = true;
        }
        break;
      case 15:
        if (iequals(f.name, "x-forwarded-for")) {
          if (xff_lines < std::size(xff)) xff[xff_lines++] = f.value;
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
  if (!ctx.host_override.empty())
    field(out, "Host", ctx.host_override);
  else if (!host.empty())
    field(out, "Host", host);
  else
    field(out, "Host", ctx.default_host);
  if (!has_request_id && !ctx.request_id.empty()) field(out, "x-request-id", ctx.request_id);
  out += "X-Forwarded-For: ";
  for (std::size_t i = 0; i < xff_lines; ++i) {
    if (net::trim(xff[i]).empty()) continue;
    out += net::trim(xff[i]);
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
  ConnectionLines connection(res);
  bool has_request_id = false;
  for (const auto& f : res.fields) {
    if (dropped(f, connection)) continue;
    if (ctx.framing == ClientFraming::until_close && iequals(f.name, "content-length")) continue;
    if (f.name.size() == 12 && iequals(f.name, "x-request-id")) has_request_id = true;
    field(out, f.name, f.value);
  }
  if (!has_request_id && !ctx.request_id.empty()) field(out, "x-request-id", ctx.request_id);
  if (ctx.attempts > 0)
    fmt::format_to(std::back_inserter(out), "x-sluice-attempts: {}\r\n", ctx.attempts);
  if (res.chunked && ctx.framing == ClientFraming::passthrough)
    out += "Transfer-Encoding: chunked\r\n";
  if (ctx.close || ctx.framing == ClientFraming::until_close)
    out += "Connection: close\r\n";
  else if (ctx.keep_alive_10)
    out += "Connection: keep-alive\r\n";
  out += "\r\n";
}

}  // namespace sluice::gateway
