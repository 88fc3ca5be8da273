// key_hash must match reference XXH64 exactly: every gateway instance, and every version of
// Sluice, has to send a key to the same endpoint.
#include "sluice/upstream/key_hash.hpp"

#include <cstdint>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

using sluice::upstream::key_hash;
using sluice::upstream::key_hash_bytes;
using sluice::upstream::mix64;
using sluice::upstream::scale_to;

TEST_CASE("key_hash matches the XXH64 reference vectors", "[upstream][key_hash]") {
  // From the reference libxxhash 0.8.1. The inputs cover every tail path: empty, 1-3 bytes,
  // 8-byte words, a 4-byte word, and 32-byte stripes.
  CHECK(key_hash("") == 0xef46db3751d8e999ull);
  CHECK(key_hash("a") == 0xd24ec4f1a98c6e5bull);
  CHECK(key_hash("abc") == 0x44bc2cf5ad770999ull);
  CHECK(key_hash("abcdefghijklmnopqrstuvwxyz") == 0xcfe1f278fa89835cull);
  CHECK(key_hash("Nobody inspects the spammish repetition") == 0xfbcea83c8a378bf1ull);
  const std::string long_key = "0123456789abcdef0123456789abcdef0123456789abcdefXYZ!";
  CHECK(key_hash(long_key) == 0xf1a8ddcbf1e01344ull);
  CHECK(key_hash(long_key, 0x9e3779b97f4a7c15ull) == 0x779c8d4803e81988ull);
  CHECK(key_hash("x-user-id", 7) == 0x04ec16529a240035ull);
  CHECK(key_hash_bytes("x-user-id", 9, 7) == 0x04ec16529a240035ull);
  const std::uint64_t word = 0x0807060504030201ull;  // little-endian bytes 1..8
  CHECK(key_hash_bytes(&word, sizeof word) == key_hash("\x01\x02\x03\x04\x05\x06\x07\x08"));
}

TEST_CASE("key_hash spreads similar keys over the whole range", "[upstream][key_hash]") {
  // 64 buckets by the top bits: 64k keys that differ in one digit fill them evenly.
  std::vector<int> buckets(64, 0);
  for (int i = 0; i < 65536; ++i) ++buckets[key_hash("10.0.0." + std::to_string(i)) >> 58];
  for (int b : buckets) {
    CHECK(b > 1024 * 0.85);
    CHECK(b < 1024 * 1.15);
  }
}

TEST_CASE("mix64 and scale_to map counters uniformly onto a range", "[upstream][key_hash]") {
  CHECK(mix64(0) == 0);  // a fixed point of the finalizer, as in MurmurHash3
  CHECK(mix64(1) != 1);
  std::vector<int> hits(10, 0);
  for (std::uint64_t i = 1; i <= 100000; ++i) {
    const std::size_t b = scale_to(mix64(i), hits.size());
    REQUIRE(b < hits.size());
    ++hits[b];
  }
  for (int h : hits) CHECK((h > 9500 && h < 10500));
  CHECK(scale_to(~0ull, 7) == 6);
  CHECK(scale_to(0, 7) == 0);
}
