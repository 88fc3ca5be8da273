// The gateway's control plane: starts the workers and the admin listener, publishes runtimes,
// reloads on SIGHUP or file change, and drains on SIGTERM/SIGINT.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "sluice/core/config/schema.hpp"
#include "sluice/core/error.hpp"
#include "sluice/gateway/route_handler.hpp"

namespace sluice::gateway {

struct GatewayOptions {
  // How to load the config again on reload; empty when there is no file (quick and demo modes).
  std::function<Result<std::shared_ptr<const config::Config>>()> reload_source;
  std::string watch_path;  // non-empty: reload when this file changes
  // Builds the handlers of LLM routes ([routes.llm]); empty: such routes are a config error.
  HandlerFactory handlers;
};

class Gateway {
 public:
  static Result<std::unique_ptr<Gateway>> start(std::shared_ptr<const config::Config> cfg,
                                                GatewayOptions opts);
  ~Gateway();
  // Serves until SIGTERM/SIGINT (or stop()), drains, and returns the exit code.
  int run();
  // Begins a graceful drain from any thread.
  void stop();
  // The address a listener (or "admin") is bound to, e.g. "127.0.0.1:8080"; "" if none.
  std::string bound(std::string_view name) const;

 private:
  struct Impl;
  explicit Gateway(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::gateway
