#include "upstream_link.hpp"

#include "sluice/gateway/worker.hpp"
#include "sluice/net/tls.hpp"

namespace sluice::gateway {

namespace asio = net::asio;
using net::error_code;

std::unique_ptr<net::StreamToken> immediate_connection_slot(Worker& w,
                                                            const upstream::Cluster& cluster) {
  auto& connections = cluster.state().connections();
  auto slot = [&](upstream::Bulkhead::Permit p) -> std::unique_ptr<net::StreamToken> {
    return std::make_unique<ConnectionSlot>(cluster.state().shared_connections(), std::move(p));
  };
  auto now = connections.try_enter({});
  if (now.status == upstream::Bulkhead::Entry::Status::admitted) return slot(std::move(now.permit));
  // At the limit: an idle connection of this worker to the cluster gives its slot up first.
  if (w.pool().close_oldest(cluster.name() + "|")) {
    now = connections.try_enter({});
    if (now.status == upstream::Bulkhead::Entry::Status::admitted)
      return slot(std::move(now.permit));
  }
  return nullptr;
}

net::awaitable<std::string_view> dial_endpoint(Worker& w, const upstream::Cluster& cluster,
                                               const upstream::Endpoint& ep,
                                               std::unique_ptr<net::Stream>& s,
                                               const bool& timed_out) {
  error_code ec;
  co_await s->socket().async_connect(ep.address, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return timed_out ? "upstream_connect_timeout" : "upstream_connect_error";
  s->socket().set_option(net::tcp::no_delay(true), ec);
  if (ep.tls) {
    auto tls = std::make_unique<net::Stream>(std::move(s->socket()), *cluster.tls_context());
    tls->token = std::move(s->token);
    s = std::move(tls);
    const auto& t = cluster.config().tls;
    std::string verify_name = ep.server_name.empty() ? ep.host : ep.server_name;
    net::prepare_client_stream(*s->tls(), ep.server_name, verify_name, t.verify);
    co_await s->handshake(asio::ssl::stream_base::client, ec);
    if (ec) co_return timed_out ? "upstream_connect_timeout" : "upstream_tls_error";
  }
  w.pool().note_created();
  co_return std::string_view{};
}

}  // namespace sluice::gateway
