// The HTTP(S) probe: the target's request, as configured, through libcurl.
#include "curl_exchange.hpp"
#include "sluice/probe/probe.hpp"

namespace sluice::probe {

ProbeResult probe_http(const Target& t, Duration timeout) {
  const auto& o = t.options;
  detail::CurlRequest req = detail::request_for(t, timeout);
  req.method = o.method;
  req.headers = o.headers;
  req.body = o.body;
  req.follow_redirects = o.follow_redirects;
  req.max_redirects = o.max_redirects;
  req.http_version = o.http_version;
  return detail::curl_exchange(req);
}

}  // namespace sluice::probe
