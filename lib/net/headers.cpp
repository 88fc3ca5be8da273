#include "sluice/net/headers.hpp"

namespace sluice::net {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_hop_by_hop(std::string_view n) {
  switch (n.size()) {
    case 2:
      return iequals(n, "te");
    case 7:
      return iequals(n, "trailer") || iequals(n, "upgrade");
    case 8:
      return iequals(n, "trailers");
    case 10:
      return iequals(n, "connection") || iequals(n, "keep-alive");
    case 16:
      return iequals(n, "proxy-connection");
    case 17:
      return iequals(n, "transfer-encoding");
    case 18:
      return iequals(n, "proxy-authenticate");
    case 19:
      return iequals(n, "proxy-authorization");
    default:
      return false;
  }
}

bool connection_lists(std::string_view value, std::string_view name) {
  bool found = false;
  for_each_token(value, [&](std::string_view tok) { found = found || iequals(tok, name); });
  return found;
}

}  // namespace sluice::net
