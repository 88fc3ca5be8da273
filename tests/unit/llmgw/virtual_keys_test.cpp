// Virtual keys: SHA-256 of the presented key, compared with every configured hash.
#include <catch2/catch.hpp>

#include "sluice/llmgw/virtual_keys.hpp"

using namespace sluice;
using namespace sluice::llmgw;

namespace {

std::string hex(const Digest& d) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (auto b : d) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

}  // namespace

TEST_CASE("virtual keys: sha256 matches the known vector", "[llmgw]") {
  CHECK(hex(sha256("abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(hex(sha256("sk-sluice-demo")) ==
        "1c590839af894cf25f9a5fe06929af05b377f60efbe55508ef93d251887b9213");
  CHECK_FALSE(digest_from_hex("abc"));
  CHECK_FALSE(digest_from_hex(std::string(64, 'g')));
  REQUIRE(digest_from_hex(hex(sha256("x"))));
  CHECK(*digest_from_hex(hex(sha256("x"))) == sha256("x"));
}

TEST_CASE("virtual keys: found by the presented key, never by its hash", "[llmgw]") {
  std::vector<config::VirtualKey> keys(2);
  keys[0].name = "a";
  keys[0].sha256 = hex(sha256("sk-a"));
  keys[1].name = "b";
  keys[1].sha256 = hex(sha256("sk-b"));
  KeyTable t(keys);
  REQUIRE(t.find("sk-a"));
  CHECK(t.find("sk-a")->name == "a");
  REQUIRE(t.find("sk-b"));
  CHECK(t.find("sk-b")->name == "b");
  CHECK_FALSE(t.find("sk-c"));
  CHECK_FALSE(t.find(""));
  CHECK_FALSE(t.find(keys[0].sha256));  // the hash itself is not a key
}

TEST_CASE("virtual keys: read from Authorization, x-api-key or x-goog-api-key", "[llmgw]") {
  net::MessageHead h;
  CHECK(presented_key(h).empty());
  h.fields.push_back({"x-goog-api-key", "g"});
  CHECK(presented_key(h) == "g");
  h.fields.push_back({"x-api-key", "k"});
  CHECK(presented_key(h) == "k");
  h.fields.push_back({"authorization", "Bearer  sk-1 "});
  CHECK(presented_key(h) == "sk-1");
  net::MessageHead basic;
  basic.fields.push_back({"authorization", "Basic dXNlcjpwYXNz"});
  CHECK(presented_key(basic).empty());
}
