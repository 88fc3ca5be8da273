// One HTTP exchange with an endpoint of a cluster, for route handlers (LLM routes): the endpoint
// is chosen by the cluster's balancer from its health snapshot, admitted by its breaker and
// breaker.max_requests / max_connections, sent over the worker's pooled connections, and its
// outcome goes to outlier detection and the breaker like a proxied request's.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/core/clock.hpp"
#include "sluice/gateway/route_handler.hpp"
#include "sluice/net/http_parser.hpp"
#include "sluice/net/stream.hpp"
#include "sluice/upstream/breaker.hpp"
#include "sluice/upstream/cluster.hpp"
#include "sluice/upstream/limits.hpp"

namespace sluice::gateway {

enum class CallError {
  none,
  no_endpoint,      // no usable endpoint in the cluster
  breaker_open,     // the cluster's breaker refused the call
  overflow,         // breaker.max_requests or max_connections reached
  connect_error,    // refused, unreachable
  connect_timeout,  // the cluster's connect_timeout passed
  tls_error,
  timeout,  // no response head within the request's timeout, or a body gap over idle_timeout
  reset,    // the connection closed before the response was complete
  bad_response,
  too_large,  // read_all: the body is over the limit
};
std::string_view to_string(CallError e);
// Whether nothing reached the upstream application (so any request may be sent elsewhere).
bool before_request(CallError e);

struct UpstreamRequest {
  std::string_view method = "POST";
  std::string_view target;  // path and query
  std::string_view host;    // the Host header
  const std::vector<Header>* headers = nullptr;
  std::string_view body;
  Duration timeout = std::chrono::seconds(60);       // until the response head
  Duration idle_timeout = std::chrono::seconds(60);  // the longest gap in the response body
};

class UpstreamCall {
 public:
  UpstreamCall(Worker& w, const upstream::Cluster& cluster);
  ~UpstreamCall();
  UpstreamCall(const UpstreamCall&) = delete;
  UpstreamCall& operator=(const UpstreamCall&) = delete;

  // Chooses, connects, sends, and reads the response head. A pooled connection the upstream
  // had closed is replaced by a fresh one transparently.
  net::awaitable<CallError> start(const UpstreamRequest& req);
  const net::MessageHead& head() const { return parser_.head(); }
  int status() const { return parser_.header_done() ? parser_.head().status : 0; }
  // Appends the next decoded body bytes to out; done() once the body is complete.
  net::awaitable<CallError> read(std::string& out);
  bool done() const { return finished_; }
  // The whole (rest of the) body, up to limit bytes.
  net::awaitable<CallError> read_all(std::string& out, std::uint64_t limit);
  // Tells outlier detection and the breaker how the exchange went. Without a call, the
  // destructor reports the status received (or the transport error). failed: the caller's
  // verdict overrides a good status (a stream that broke after its 200).
  void report(bool failed);
  // Stops the exchange now (its connection is closed, not pooled).
  void cancel();

  const upstream::Endpoint* endpoint() const { return ep_; }
  const upstream::Cluster& cluster() const { return cluster_; }
  double ttfb_ms() const { return ttfb_ms_; }
  double connect_ms() const { return connect_ms_; }
  bool reused() const { return reused_; }

 private:
  net::awaitable<CallError> attempt(const UpstreamRequest& req, bool allow_pooled);
  void arm(Duration d);
  void disarm();
  void release(bool reusable);
  CallError fail(CallError e);

  Worker& w_;
  const upstream::Cluster& cluster_;
  std::shared_ptr<const upstream::ClusterSnapshot> snap_;
  const upstream::Endpoint* ep_ = nullptr;
  upstream::BreakerAdmission admission_;
  std::optional<upstream::ResourceLimits::Guard> request_slot_;
  std::unique_ptr<net::Stream> up_;
  net::HttpParser parser_{net::HttpParser::Kind::response};
  std::vector<char> buf_;
  std::size_t ub_ = 0, ue_ = 0;
  std::string head_;
  std::chrono::steady_clock::time_point sent_at_;
  double ttfb_ms_ = -1, connect_ms_ = -1;
  bool reused_ = false;
  bool finished_ = false;
  bool reported_ = false;
  bool timed_out_ = false;
  Duration idle_timeout_{};
  CallError error_ = CallError::none;
  std::unique_ptr<net::asio::steady_timer> timer_;
  std::shared_ptr<bool> alive_;
};

}  // namespace sluice::gateway
