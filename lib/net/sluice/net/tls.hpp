// TLS contexts: server side for listeners, client side for upstream clusters.
#pragma once

#include <memory>
#include <utility>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>

#include "sluice/core/config/schema.hpp"
#include "sluice/core/error.hpp"

namespace sluice::net {

using SslContext = boost::asio::ssl::context;

Result<std::shared_ptr<SslContext>> make_server_tls(const config::ServerTls& tls);
Result<std::shared_ptr<SslContext>> make_client_tls(const config::UpstreamTls& tls);

// Sets SNI (unless empty) and, when verifying, the name the certificate must match, on a client
// stream before its handshake.
bool prepare_client_stream(boost::asio::ssl::stream<boost::asio::ip::tcp::socket>& s,
                           const std::string& sni, const std::string& verify_name, bool verify);

}  // namespace sluice::net
