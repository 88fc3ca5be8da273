// Private to the session's files: reading an upstream response head, shared by a request's
// first try and its hedge (session_hedge.cpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "sluice/net/asio.hpp"
#include "sluice/net/http_parser.hpp"
#include "sluice/net/stream.hpp"

namespace sluice::gateway {

inline constexpr std::uint32_t kUpstreamHeaderLimit = 64 * 1024;

// Where a response is being read: buf[0, ub) is parsed, buf[ub, ue) received but not yet.
struct ResponseBuffer {
  explicit ResponseBuffer(std::vector<char>& b)
      : buf(b), sent_at(std::chrono::steady_clock::now()) {}
  std::vector<char>& buf;
  std::size_t ub = 0, ue = 0;
  double ttfb_ms = -1;  // set at the first byte, from sent_at (when the request was sent)
  std::chrono::steady_clock::time_point sent_at;
};

enum class HeadRead {
  ok,            // parser holds a final response head (interim 1xx answers are skipped)
  bad_response,  // unparseable, or a head larger than the buffer
  closed,        // the read failed (ec) or the peer closed (ec == eof)
};

// Resets parser for a response (bodiless when head_request) and reads until its head is in.
net::awaitable<HeadRead> read_response_head(net::Stream& up, net::HttpParser& parser,
                                            ResponseBuffer& rb, bool head_request,
                                            net::error_code& ec);

}  // namespace sluice::gateway
