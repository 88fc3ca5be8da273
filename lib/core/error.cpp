#include "sluice/core/error.hpp"

namespace sluice {

std::string_view to_string(ErrorKind k) {
  switch (k) {
    case ErrorKind::config:
      return "config";
    case ErrorKind::usage:
      return "usage";
    case ErrorKind::io:
      return "io";
    case ErrorKind::timeout:
      return "timeout";
    case ErrorKind::connect:
      return "connect";
    case ErrorKind::reset:
      return "reset";
    case ErrorKind::protocol:
      return "protocol";
    case ErrorKind::limit:
      return "limit";
    case ErrorKind::tls:
      return "tls";
    case ErrorKind::dns:
      return "dns";
    case ErrorKind::no_route:
      return "no_route";
    case ErrorKind::no_upstream:
      return "no_upstream";
    case ErrorKind::cancelled:
      return "cancelled";
    case ErrorKind::internal:
      return "internal";
  }
  return "internal";
}

std::string_view to_string(ErrorSource s) {
  switch (s) {
    case ErrorSource::downstream:
      return "downstream";
    case ErrorSource::upstream:
      return "upstream";
    case ErrorSource::internal:
      return "internal";
  }
  return "internal";
}

}  // namespace sluice
