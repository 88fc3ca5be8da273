// Virtual keys ([[keys]]): the API keys clients present to an LLM route. Only their SHA-256 is
// configured. A presented key is hashed and compared with every configured hash in constant
// time, so neither a match's position nor a near miss shows in the timing.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/core/config/schema.hpp"
#include "sluice/net/http_parser.hpp"

namespace sluice::llmgw {

using Digest = std::array<std::uint8_t, 32>;

Digest sha256(std::string_view bytes);
// 64 lower-case hex digits into a digest; nullopt when malformed.
std::optional<Digest> digest_from_hex(std::string_view hex);

// The key a request presents: "Authorization: Bearer K", else "x-api-key: K" (Anthropic), else
// "x-goog-api-key: K" (Gemini). Empty when none.
std::string_view presented_key(const net::MessageHead& head);

class KeyTable {
 public:
  explicit KeyTable(const std::vector<config::VirtualKey>& keys);
  // The configured key whose hash matches, or null. Every entry is compared, match or not.
  const config::VirtualKey* find(std::string_view presented) const;
  bool empty() const { return entries_.empty(); }

 private:
  struct Entry {
    Digest digest;
    const config::VirtualKey* key;
  };
  std::vector<Entry> entries_;
};

}  // namespace sluice::llmgw
