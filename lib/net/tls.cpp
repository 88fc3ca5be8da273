#include "sluice/net/tls.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <fmt/format.h>
#include <openssl/ssl.h>

namespace sluice::net {
namespace ssl = boost::asio::ssl;

namespace {

Error tls_error(const std::string& what, const boost::system::error_code& ec) {
  return make_error(ErrorKind::tls, ErrorSource::internal,
                    fmt::format("{}: {}", what, ec.message()));
}

// Reads the private key passphrase from its variable or file; never logged.
Result<std::string> key_password(const config::UpstreamTls& tls) {
  if (!tls.key_password_env.empty()) {
    const char* v = std::getenv(tls.key_password_env.c_str());
    if (!v)
      return make_error(ErrorKind::config, ErrorSource::internal,
                        fmt::format("environment variable {} (key_password_env) is not set",
                                    tls.key_password_env));
    return std::string(v);
  }
  if (!tls.key_password_file.empty()) {
    std::ifstream in(tls.key_password_file);
    if (!in)
      return make_error(ErrorKind::config, ErrorSource::internal,
                        fmt::format("cannot read key_password_file {}", tls.key_password_file));
    std::string line;
    std::getline(in, line);
    return line;
  }
  return std::string();
}

}  // namespace

Result<std::shared_ptr<SslContext>> make_server_tls(const config::ServerTls& tls) {
  auto ctx = std::make_shared<SslContext>(ssl::context::tls_server);
  boost::system::error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                       ssl::context::single_dh_use,
                   ec);
  ctx->use_certificate_chain_file(tls.cert_file, ec);
  if (ec) return tls_error(fmt::format("certificate {}", tls.cert_file), ec);
  ctx->use_private_key_file(tls.key_file, ssl::context::pem, ec);
  if (ec) return tls_error(fmt::format("private key {}", tls.key_file), ec);
  return ctx;
}

Result<std::shared_ptr<SslContext>> make_client_tls(const config::UpstreamTls& tls) {
  auto ctx = std::make_shared<SslContext>(ssl::context::tls_client);
  boost::system::error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                   ec);
  if (tls.verify) {
    ctx->set_verify_mode(ssl::verify_peer, ec);
    if (!tls.ca_file.empty())
      ctx->load_verify_file(tls.ca_file, ec);
    else
      ctx->set_default_verify_paths(ec);
    if (ec) return tls_error(fmt::format("CA file {}", tls.ca_file), ec);
  } else {
    ctx->set_verify_mode(ssl::verify_none, ec);
  }
  if (!tls.cert_file.empty()) {
    auto pw = key_password(tls);
    if (!pw) return pw.error();
    if (!pw->empty())
      ctx->set_password_callback(
          [p = *pw](std::size_t, ssl::context::password_purpose) { return p; });
    ctx->use_certificate_chain_file(tls.cert_file, ec);
    if (ec) return tls_error(fmt::format("client certificate {}", tls.cert_file), ec);
    ctx->use_private_key_file(tls.key_file, ssl::context::pem, ec);
    if (ec) return tls_error(fmt::format("client key {}", tls.key_file), ec);
  }
  // Upstream sessions are resumed across pooled connections.
  SSL_CTX_set_session_cache_mode(ctx->native_handle(), SSL_SESS_CACHE_CLIENT);
  return ctx;
}

bool prepare_client_stream(ssl::stream<boost::asio::ip::tcp::socket>& s, const std::string& sni,
                           const std::string& verify_name, bool verify) {
  if (!sni.empty() && !SSL_set_tlsext_host_name(s.native_handle(), sni.c_str())) return false;
  if (verify) s.set_verify_callback(ssl::host_name_verification(verify_name));
  return true;
}

}  // namespace sluice::net
