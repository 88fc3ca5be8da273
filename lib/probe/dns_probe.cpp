// The DNS probe: resolves the name through the system resolver (getaddrinfo, so /etc/hosts and
// nsswitch apply, as they do for the services that use the name).
#include <algorithm>

#include "resolver.hpp"
#include "sluice/probe/probe.hpp"

namespace sluice::probe {

ProbeResult probe_dns(const Target& t, Duration timeout, const Clock& clock) {
  ProbeResult r;
  const TimePoint start = clock.now();
  auto addresses = detail::resolve(t.host, 0, timeout);
  r.timings.dns = clock.now() - start;
  r.timings.total = r.timings.dns;
  if (!addresses) {
    r.error = addresses.take_error();
    return r;
  }
  for (const auto& a : *addresses)
    if (std::find(r.addresses.begin(), r.addresses.end(), a.text) == r.addresses.end())
      r.addresses.push_back(a.text);
  return r;
}

}  // namespace sluice::probe
