// The hand-made gRPC health messages: framing and protobuf, including malformed input.
#include <catch2/catch.hpp>

#include "sluice/probe/grpc_wire.hpp"

using namespace sluice;
using namespace sluice::probe::grpc;

TEST_CASE("probe grpc: HealthCheckRequest encodes the service as field 1", "[probe][grpc]") {
  CHECK(encode_health_request("").empty());
  CHECK(encode_health_request("a.B") == std::string("\x0a\x03"
                                                    "a.B",
                                                    5));
  std::string long_name(200, 'x');
  auto bytes = encode_health_request(long_name);
  // 200 needs a two-byte varint: 0xC8 0x01.
  REQUIRE(bytes.size() == 203);
  CHECK(bytes.substr(0, 3) == std::string("\x0a\xc8\x01", 3));
}

TEST_CASE("probe grpc: HealthCheckResponse decodes the status and skips other fields",
          "[probe][grpc]") {
  CHECK(*decode_health_response("") == kUnknown);  // proto3: absent means 0
  CHECK(*decode_health_response(std::string("\x08\x01", 2)) == kServing);
  CHECK(*decode_health_response(std::string("\x08\x02", 2)) == kNotServing);
  CHECK(*decode_health_response(std::string("\x08\x03", 2)) == kServiceUnknown);
  // An unknown string field 2 before, a fixed32 field 3 and a fixed64 field 4 after.
  std::string mixed = std::string("\x12\x02hi\x08\x01\x1d\x01\x02\x03\x04", 11) +
                      std::string("\x21\x01\x02\x03\x04\x05\x06\x07\x08", 9);
  CHECK(*decode_health_response(mixed) == kServing);
}

TEST_CASE("probe grpc: malformed messages are errors, never crashes", "[probe][grpc]") {
  CHECK_FALSE(decode_health_response(std::string("\x08", 1)).ok());        // varint missing
  CHECK_FALSE(decode_health_response(std::string("\x08\xff", 2)).ok());    // varint truncated
  CHECK_FALSE(decode_health_response(std::string("\x12\x05hi", 4)).ok());  // length too long
  CHECK_FALSE(decode_health_response(std::string("\x1d\x01", 2)).ok());    // fixed32 short
  CHECK_FALSE(decode_health_response(std::string("\x0b", 1)).ok());        // wire type 3
  CHECK_FALSE(decode_health_response(std::string(11, '\xff')).ok());       // endless varint
  auto e = decode_health_response(std::string("\x0f", 1));
  REQUIRE_FALSE(e.ok());
  CHECK(e.error().kind == ErrorKind::protocol);
}

TEST_CASE("probe grpc: length-prefixed framing", "[probe][grpc]") {
  CHECK(frame("") == std::string(5, '\0'));
  CHECK(frame("ab") == std::string("\0\0\0\0\x02"
                                   "ab",
                                   7));
  std::string big(70000, 'z');
  auto f = frame(big);
  CHECK(f.substr(0, 5) == std::string("\0\0\x01\x11\x70", 5));
  CHECK(*unframe(f) == big);
  CHECK(*unframe(frame("xy") + "trailing") == "xy");

  CHECK_FALSE(unframe("").ok());
  CHECK_FALSE(unframe(std::string("\0\0\0", 3)).ok());
  CHECK_FALSE(unframe(std::string("\0\0\0\0\x05"
                                  "ab",
                                  7))
                  .ok());  // truncated
  auto compressed = unframe(std::string("\x01\0\0\0\0", 5));
  REQUIRE_FALSE(compressed.ok());
  CHECK(compressed.error().message.find("compressed") != std::string::npos);
  CHECK_FALSE(unframe(std::string("\x02\0\0\0\0", 5)).ok());
}

TEST_CASE("probe grpc: names and percent-decoding", "[probe][grpc]") {
  CHECK(serving_status_name(1) == "SERVING");
  CHECK(serving_status_name(3) == "SERVICE_UNKNOWN");
  CHECK(serving_status_name(9) == "STATUS_9");
  CHECK(code_name(0) == "OK");
  CHECK(code_name(5) == "NOT_FOUND");
  CHECK(code_name(14) == "UNAVAILABLE");
  CHECK(code_name(16) == "UNAUTHENTICATED");
  CHECK(code_name(99) == "CODE_99");
  CHECK(percent_decode("unknown%20service") == "unknown service");
  CHECK(percent_decode("100%") == "100%");
  CHECK(percent_decode("%zz%4") == "%zz%4");
  CHECK(percent_decode("%E2%9C%93") == "\u2713");
}
