// Private to lib/gateway: opening an upstream connection, shared by the proxy session and by
// route handlers' calls (UpstreamCall): the connection's breaker.max_connections slot, and the
// TCP (and TLS) dial.
#pragma once

#include <memory>
#include <string_view>

#include "sluice/net/asio.hpp"
#include "sluice/net/stream.hpp"
#include "sluice/upstream/cluster.hpp"
#include "sluice/upstream/limits.hpp"

namespace sluice::gateway {

class Worker;

// A connection's slot of breaker.max_connections, released when the connection is destroyed.
// It keeps the limit alive: a pooled connection can outlive its runtime.
struct ConnectionSlot final : net::StreamToken {
  ConnectionSlot(std::shared_ptr<upstream::Bulkhead> l, upstream::Bulkhead::Permit p)
      : limit(std::move(l)), permit(std::move(p)) {}
  ~ConnectionSlot() override { permit.release(); }
  std::shared_ptr<upstream::Bulkhead> limit;
  upstream::Bulkhead::Permit permit;
};

// A slot now: free, or freed by closing this worker's longest-idle connection to the cluster.
// nullptr when the cluster is at breaker.max_connections.
std::unique_ptr<net::StreamToken> immediate_connection_slot(Worker& w,
                                                            const upstream::Cluster& cluster);

// Connects s (already created, so a timeout can close it) to ep, with TLS when ep uses it.
// Returns the error ("upstream_connect_error", "upstream_connect_timeout", "upstream_tls_error")
// or an empty view.
net::awaitable<std::string_view> dial_endpoint(Worker& w, const upstream::Cluster& cluster,
                                               const upstream::Endpoint& ep,
                                               std::unique_ptr<net::Stream>& s,
                                               const bool& timed_out);

}  // namespace sluice::gateway
