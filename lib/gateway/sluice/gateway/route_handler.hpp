// Routes the gateway answers through a handler instead of proxying them: LLM routes
// ([routes.llm]). A higher module (llmgw) implements RouteHandler; the session gives it the
// request through HandlerIo and the upstreams through UpstreamCall.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "sluice/core/config/schema.hpp"
#include "sluice/core/error.hpp"
#include "sluice/gateway/admin.hpp"
#include "sluice/gateway/error_response.hpp"
#include "sluice/net/asio.hpp"
#include "sluice/net/http_parser.hpp"

namespace sluice::gateway {

class Runtime;
class Worker;

struct Header {
  std::string name;  // lower case
  std::string value;
};

// What a handler knows of and does with its request. Every method runs on the session's worker
// thread; the awaitables end early (false) when the client is gone.
class HandlerIo {
 public:
  virtual ~HandlerIo() = default;
  virtual const net::MessageHead& head() const = 0;
  virtual std::string_view path() const = 0;   // without the query
  virtual std::string_view query() const = 0;  // after '?', or empty
  virtual const std::string& request_id() const = 0;
  virtual const Runtime& runtime() const = 0;
  virtual Worker& worker() = 0;
  // The whole request body (up to server.max_body_bytes) into out. False when it could not be
  // read; the session has then answered (413, 400) or the client is gone.
  virtual net::awaitable<bool> read_body(std::string& out) = 0;
  // A complete response with Content-Length.
  virtual net::awaitable<bool> respond(int status, const std::vector<Header>& headers,
                                       std::string_view body) = 0;
  // The gateway's own error shape (OpenAI-compatible).
  virtual net::awaitable<bool> respond_error(const GatewayError& e) = 0;
  // A chunked response: begin, any number of writes (each sent at once), end. A stream that
  // cannot end cleanly is ended by abort_stream(), which never writes the final chunk.
  virtual net::awaitable<bool> begin_stream(int status, const std::vector<Header>& headers) = 0;
  virtual net::awaitable<bool> write_chunk(std::string_view data) = 0;
  virtual net::awaitable<bool> end_stream() = 0;
  virtual void abort_stream() = 0;
  // For the access log line and the route's metrics.
  virtual void note_upstream(std::string_view cluster, std::string_view endpoint, int attempts,
                             double ttfb_ms) = 0;
  virtual void note_error(std::string_view kind) = 0;  // a static string
  // Whether the access log is on: log_fields is wasted work otherwise.
  virtual bool logging() const = 0;
  // Extra fields for the access log line (written after the standard ones).
  virtual void log_fields(nlohmann::json fields) = 0;
};

// Prometheus families by name, so several routes' samples share one HELP/TYPE header.
struct MetricFamily {
  std::string type, help, samples;
};
using MetricFamilies = std::map<std::string, MetricFamily>;

class RouteHandler {
 public:
  virtual ~RouteHandler() = default;
  virtual net::awaitable<void> handle(HandlerIo& io) const = 0;
  // Adds the route's samples for /metrics (called on the control thread).
  virtual void write_metrics(MetricFamilies& out) const { (void)out; }
  // An admin request under /admin/sessions (called on the control thread); nullopt when the
  // route keeps no sessions.
  virtual std::optional<AdminResponse> admin(std::string_view method, std::string_view path,
                                             std::string_view query) const {
    (void)method, (void)path, (void)query;
    return std::nullopt;
  }
};

// Builds the handler of an LLM route. `previous` is the same route's handler in the runtime
// being replaced (a reload), so long-lived state (cooldowns, latency averages, the cache) can be
// carried over; null at start.
using HandlerFactory = std::function<Result<std::shared_ptr<const RouteHandler>>(
    const config::Config& cfg, const config::Route& route, const RouteHandler* previous)>;

}  // namespace sluice::gateway
