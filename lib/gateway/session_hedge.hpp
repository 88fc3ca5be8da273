// Private to the session's files: the state of a hedged second try (session_hedge.cpp), shared
// by the session's coroutine and the hedge's, both on the worker's thread.
#pragma once

#include <utility>  // before Asio: Boost 1.74 uses std::exchange without including it

#include <memory>
#include <string>
#include <vector>

#include <boost/asio/steady_timer.hpp>

#include "sluice/gateway/session.hpp"
#include "sluice/net/http_parser.hpp"
#include "sluice/net/stream.hpp"
#include "sluice/upstream/endpoint.hpp"

namespace sluice::gateway {

struct Session::Hedge {
  explicit Hedge(const net::asio::any_io_executor& ex) : timer(ex), done(ex) {}

  enum class First { running, good, failed };
  First first = First::running;  // how the first try ended
  bool started = false;          // the hedge was sent (or its connection begun)
  bool finished = false;         // run_hedge returned
  bool won = false;              // the hedge has the good head; the first try was cut short
  bool timed_out = false;
  std::uint64_t generation = 0;  // of arm()

  net::asio::steady_timer timer;  // hedge_delay, then the hedge's connect and answer timeouts
  net::asio::steady_timer done;   // cancelled when run_hedge returns, to wake hedged_try

  const upstream::Endpoint* ep = nullptr;
  std::unique_ptr<net::Stream> stream;
  net::HttpParser parser{net::HttpParser::Kind::response};
  std::vector<char> buf;
  std::size_t ub = 0, ue = 0;
  bool reused = false;
  double connect_ms = -1, ttfb_ms = -1;
  std::string head;

  // Stops the hedge: before it starts, or in the middle of it.
  void stop() {
    ++generation;
    timer.cancel();
    if (stream) stream->close();
  }
  // Closes the stream after d, unless the timer is re-armed or cancelled first (a wait that
  // fired just before re-arming is recognised by its generation).
  void arm(Duration d, const std::shared_ptr<Hedge>& self) {
    timer.expires_after(d);
    timer.async_wait([self, gen = ++generation](const net::error_code& ec) {
      if (ec || gen != self->generation || !self->stream) return;
      self->timed_out = true;
      self->stream->close();
    });
  }
};

}  // namespace sluice::gateway
