#include "sluice/llmgw/virtual_keys.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

namespace sluice::llmgw {

Digest sha256(std::string_view bytes) {
  Digest d{};
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), d.data(), &len, EVP_sha256(), nullptr);
  return d;
}

std::optional<Digest> digest_from_hex(std::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  Digest d{};
  for (std::size_t i = 0; i < 32; ++i) {
    int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    d[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return d;
}

std::string_view presented_key(const net::MessageHead& head) {
  std::string_view auth = head.get("authorization");
  if (auth.size() > 7 && (auth.substr(0, 7) == "Bearer " || auth.substr(0, 7) == "bearer ")) {
    auth.remove_prefix(7);
    while (!auth.empty() && auth.front() == ' ') auth.remove_prefix(1);
    while (!auth.empty() && auth.back() == ' ') auth.remove_suffix(1);
    if (!auth.empty()) return auth;
  }
  if (auto k = head.get("x-api-key"); !k.empty()) return k;
  return head.get("x-goog-api-key");
}

KeyTable::KeyTable(const std::vector<config::VirtualKey>& keys) {
  for (const auto& k : keys)
    if (auto d = digest_from_hex(k.sha256)) entries_.push_back({*d, &k});
}

const config::VirtualKey* KeyTable::find(std::string_view presented) const {
  if (presented.empty()) return nullptr;
  Digest d = sha256(presented);
  const config::VirtualKey* found = nullptr;
  for (const auto& e : entries_) {
    bool same = CRYPTO_memcmp(d.data(), e.digest.data(), d.size()) == 0;
    // No early exit: the loop's length does not depend on where (or whether) the key matched.
    if (same) found = e.key;
  }
  return found;
}

}  // namespace sluice::llmgw
