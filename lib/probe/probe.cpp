// Dispatch by kind, and what counts as unreachable.
#include "sluice/probe/probe.hpp"

namespace sluice::probe {

bool is_unreachable(const Error& e) {
  return e.kind == ErrorKind::dns || e.kind == ErrorKind::connect || e.kind == ErrorKind::tls;
}

ProbeResult probe_once(const Target& t, Duration timeout, const Clock& clock) {
  switch (t.kind) {
    case Kind::http:
      return probe_http(t, timeout);
    case Kind::grpc:
      return probe_grpc(t, timeout);
    case Kind::tcp:
      return probe_tcp(t, timeout, clock);
    case Kind::dns:
      return probe_dns(t, timeout, clock);
  }
  return probe_http(t, timeout);
}

}  // namespace sluice::probe
