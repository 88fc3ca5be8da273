// The admin listener: a small HTTP/1.1 server for /metrics, /ready, /live and /admin/config.
// It runs on the control thread, never on a worker.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "sluice/core/error.hpp"
#include "sluice/net/asio.hpp"

namespace sluice::gateway {

struct AdminResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

using AdminHandler =
    std::function<AdminResponse(const std::string& method, const std::string& target)>;

class AdminServer {
 public:
  static Result<std::unique_ptr<AdminServer>> start(net::asio::io_context& io,
                                                    const net::tcp::endpoint& at,
                                                    AdminHandler handler);
  net::tcp::endpoint bound() const;
  void stop();

 private:
  AdminServer(net::tcp::acceptor acc, AdminHandler h)
      : acc_(std::move(acc)), handler_(std::move(h)) {}
  net::awaitable<void> accept_loop();
  net::awaitable<void> serve(net::tcp::socket sock);
  net::tcp::acceptor acc_;
  AdminHandler handler_;
};

}  // namespace sluice::gateway
