#include "response_head.hpp"

#include <cstring>

namespace sluice::gateway {

namespace asio = net::asio;
using net::ParseError;

net::awaitable<HeadRead> read_response_head(net::Stream& up, net::HttpParser& parser,
                                            ResponseBuffer& rb, bool head_request,
                                            net::error_code& ec) {
  auto reset_parser = [&] {
    parser.reset(kUpstreamHeaderLimit, 0);
    if (head_request) parser.skip_body();
  };
  reset_parser();
  auto& buf = rb.buf;
  std::size_t head_at = rb.ub;  // where the response head starts; see Session::read_head()
  ParseError perr = ParseError::none;
  for (;;) {
    if (rb.ue > rb.ub) {
      rb.ub += parser.feed(buf.data() + rb.ub, rb.ue - rb.ub, perr);
      if (parser.header_done()) {
        int st = parser.head().status;
        if (st >= 100 && st < 200 && st != 101) {  // interim responses are not forwarded
          reset_parser();
          head_at = rb.ub;
          continue;
        }
        co_return HeadRead::ok;
      }
      if (perr != ParseError::need_more) co_return HeadRead::bad_response;
    }
    if (rb.ue == buf.size()) {
      if (head_at == 0) co_return HeadRead::bad_response;  // a head larger than the buffer
      std::memmove(buf.data(), buf.data() + head_at, rb.ue - head_at);
      rb.ue -= head_at;
      head_at = rb.ub = 0;
      reset_parser();
    }
    std::size_t n = co_await up.read_some(asio::buffer(buf.data() + rb.ue, buf.size() - rb.ue), ec);
    if (ec || n == 0) {
      if (!ec) ec = asio::error::eof;
      co_return HeadRead::closed;
    }
    if (rb.ttfb_ms < 0)
      rb.ttfb_ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - rb.sent_at)
              .count();
    rb.ue += n;
  }
}

}  // namespace sluice::gateway
