// The 64-bit hash of a balancing key (a header, a cookie, a source address) for ring_hash and
// maglev, and the mixer the balancers use on the hot path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sluice::upstream {

// XXH64 (xxHash, 64-bit), bit-exact with the reference implementation: fast on short keys and
// well distributed. Stable across runs, processes and machines, so every gateway instance maps a
// key to the same endpoint.
// Named apart from the string form so that key_hash("id", 7) cannot bind to (pointer, size).
std::uint64_t key_hash_bytes(const void* data, std::size_t size, std::uint64_t seed = 0);

inline std::uint64_t key_hash(std::string_view key, std::uint64_t seed = 0) {
  return key_hash_bytes(key.data(), key.size(), seed);
}

// MurmurHash3's 64-bit finalizer: a cheap bijection that spreads every input bit over the output.
// Tables apply it to the caller's hash, so even a poor key hash (a raw counter) lands uniformly.
constexpr std::uint64_t mix64(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x;
}

// Maps a uniform 64-bit value onto [0, n) without a division (Lemire's multiply-shift).
constexpr std::size_t scale_to(std::uint64_t x, std::size_t n) {
  return static_cast<std::size_t>((static_cast<unsigned __int128>(x) * n) >> 64);
}

}  // namespace sluice::upstream
