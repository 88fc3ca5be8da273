// The gRPC health probe: grpc.health.v1.Health/Check as a plain HTTP/2 POST through libcurl
// (prior knowledge for grpc://, ALPN for grpcs://), with the status read from the trailers.
#include <charconv>

#include <fmt/format.h>

#include "curl_exchange.hpp"
#include "sluice/probe/grpc_wire.hpp"
#include "sluice/probe/probe.hpp"

namespace sluice::probe {
namespace {

// The last value of a header or trailer: trailers come after headers, and they are what counts.
const std::string* last_header(const ProbeResult& r, std::string_view name) {
  const std::string* found = nullptr;
  for (const auto& [k, v] : r.headers)
    if (k == name) found = &v;
  return found;
}

}  // namespace

ProbeResult probe_grpc(const Target& t, Duration timeout) {
  detail::CurlRequest req = detail::request_for(t, timeout);
  req.method = "POST";
  req.headers = {{"Content-Type", "application/grpc"}, {"TE", "trailers"}};
  for (const auto& h : t.options.headers) req.headers.push_back(h);  // metadata
  req.body = grpc::frame(grpc::encode_health_request(grpc_service(t)));
  req.http_version = HttpVersion::http2;
  req.h2_prior_knowledge = !t.tls;
  ProbeResult r = detail::curl_exchange(req);
  if (r.error) return r;

  if (const auto* code = last_header(r, "grpc-status")) {
    int value = 0;
    auto [end, ec] = std::from_chars(code->data(), code->data() + code->size(), value);
    if (ec == std::errc{} && end == code->data() + code->size()) r.grpc_code = value;
  }
  if (const auto* message = last_header(r, "grpc-message"))
    r.grpc_message = grpc::percent_decode(*message);

  if (r.status != 200) {
    r.note = fmt::format("HTTP status {} (a gRPC server answers 200; is this gRPC?)", r.status);
    return r;
  }
  if (r.grpc_code && *r.grpc_code != 0) {
    r.note = fmt::format("grpc-status {} ({})", *r.grpc_code, grpc::code_name(*r.grpc_code));
    if (!r.grpc_message.empty()) r.note += ": " + r.grpc_message;
    return r;
  }
  auto message = grpc::unframe(r.body);
  if (!message) {
    r.note = message.error().message;
    return r;
  }
  auto status = grpc::decode_health_response(*message);
  if (!status) {
    r.note = status.error().message;
    return r;
  }
  r.serving_status = *status;
  if (!r.grpc_code) r.note = "the response had no grpc-status trailer";
  return r;
}

}  // namespace sluice::probe
