// Private to the session's files: the per-request state of Session (session.cpp runs the
// exchange, session_resilience.cpp decides retries, fallbacks and admission).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "sluice/gateway/runtime.hpp"
#include "sluice/gateway/session.hpp"
#include "sluice/upstream/cluster_state.hpp"
#include "sluice/upstream/retry.hpp"

namespace sluice::gateway {

// Per-request state, kept across the requests of a connection so their strings keep capacity.
struct Session::Exchange {
  std::shared_ptr<const Runtime> rt;
  const RouteRuntime* route = nullptr;
  const upstream::Endpoint* ep = nullptr;
  std::string request_id, method, path, target;
  bool head_request = false, keep_alive = true, http10 = false, expect_continue = false;
  bool request_done = false;                 // the whole request body has been read from the client
  bool replayable = false;                   // ...and it all sat in buf_, so it can be sent again
  std::size_t body_begin = 0, body_end = 0;  // raw body bytes in buf_ at the first send
  bool reused = false;                       // the upstream connection came from the pool
  bool head_built = false;                   // head_out_ holds this request's upstream head
  bool response_started = false;
  int status = 0;
  std::size_t attempts = 0;
  std::uint64_t bytes_in = 0, bytes_out = 0;
  std::chrono::steady_clock::time_point start;
  double connect_ms = -1, ttfb_ms = -1;
  std::string_view error;
  const upstream::Cluster* cluster = nullptr;  // the route's, or its fallback cluster
  bool fallback = false;
  std::shared_ptr<const upstream::ClusterSnapshot> snap;
  upstream::BreakerAdmission admission;
  bool reported = false;  // the current attempt's outcome went to the cluster state
  TimePoint deadline{};   // over all tries ([routes.retry] deadline, else the route timeout)
  // A retry decided in relay_response on the answer's status (the answer was discarded).
  std::optional<upstream::RetryDecision> status_retry;
  std::optional<upstream::RetryBudget::RetryGuard> retry_guard;
  std::string explanation;  // why no endpoint could be used, for the access log
  // A route handler's upstream and log fields (LLM routes).
  std::string handler_cluster, handler_endpoint, log_extra;

  void reset() {
    rt.reset();
    route = nullptr;
    ep = nullptr;
    request_id.clear();
    head_request = keep_alive = http10 = expect_continue = false;
    request_done = replayable = reused = head_built = response_started = false;
    body_begin = body_end = 0;
    status = 0;
    attempts = 0;
    bytes_in = bytes_out = 0;
    connect_ms = ttfb_ms = -1;
    error = {};
    cluster = nullptr;
    fallback = false;
    snap.reset();
    admission = {};
    reported = false;
    status_retry.reset();
    retry_guard.reset();
    explanation.clear();
    handler_cluster.clear();
    handler_endpoint.clear();
    log_extra.clear();
  }
};

}  // namespace sluice::gateway
