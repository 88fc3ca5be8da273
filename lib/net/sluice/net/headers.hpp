// Small HTTP header helpers: case-insensitive comparison, trimming, hop-by-hop detection.
#pragma once

#include <string_view>
#include "sluice/core/text.hpp"

namespace sluice::net {

inline char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

using text::iequals;

inline bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

std::string_view trim(std::string_view s);

// RFC 9110 7.6.1 connection-specific fields, plus the legacy ones proxies must not forward.
bool is_hop_by_hop(std::string_view name);

// True when `name` is listed as a token in a Connection header value ("close, x-foo").
bool connection_lists(std::string_view connection_value, std::string_view name);

// Calls f(token) for each comma-separated, trimmed, non-empty token.
template <class F>
void for_each_token(std::string_view list, F&& f) {
  while (!list.empty()) {
    auto comma = list.find(',');
    auto tok = trim(list.substr(0, comma));
    if (!tok.empty()) f(tok);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
}

}  // namespace sluice::net
