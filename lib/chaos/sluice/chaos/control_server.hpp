// The live control API of a chaos process: adds and removes the faults of registered mocks and the
// toxics of registered TCP proxies at run time, and reports their counters for scripted drills.
// ControlApi answers one request (no sockets); ControlServer serves it over HTTP/1.1 on loopback.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "sluice/chaos/fault_plan.hpp"
#include "sluice/core/clock.hpp"
#include "sluice/core/error.hpp"

namespace sluice::chaos {

class MockServer;
class TcpProxy;

struct ControlReply {
  int status = 200;
  std::string body;   // JSON; empty for 204
  std::string allow;  // with 405: the methods the resource takes
  std::string content_type = "application/json";
};

// The registry of named mocks and proxies, and the handling of one control request:
//   GET    /mocks                       every mock: name, address, requests, faults, counters
//   GET    /mocks/NAME                  one mock
//   GET    /mocks/NAME/faults           its faults (as JSON the parser accepts back)
//   POST   /mocks/NAME/faults           adds one fault (an object) or several (an array)
//   DELETE /mocks/NAME/faults           removes them all
//   GET    /mocks/NAME/faults/FAULT     one fault and its counters
//   DELETE /mocks/NAME/faults/FAULT     removes one
//   GET    /mocks/NAME/requests         its recorded requests, oldest first (?limit=N: the newest
//   N) DELETE /mocks/NAME/requests         forgets them GET    /proxies, /proxies/NAME proxies:
//   name, address, toxics, counters GET    /proxies/NAME/toxics         its toxics (Toxiproxy's
//   JSON shape) POST   /proxies/NAME/toxics         adds a toxic (Toxiproxy's JSON shape) GET
//   /proxies/NAME/toxics/TOXIC   one toxic POST   /proxies/NAME/toxics/TOXIC   updates it (fields
//   given replace the current ones) DELETE /proxies/NAME/toxics/TOXIC   removes it GET    /counters
//   every mock's and proxy's counters in one document
// Errors use the gateway's JSON error shape; names in a path are percent-decoded ("status%231").
//
// A FaultPlan is immutable, so a change builds a new plan from the current fault list plus or
// minus faults, seeded from this registry's Rng (the same seed and the same calls reproduce a
// run), and continues the counters of the faults it keeps. Counters are per fault name and
// cumulative over the run: a removed fault is still reported, marked inactive, and its counts add
// up with a later fault of the same name. Thread-safe.
class ControlApi {
 public:
  explicit ControlApi(std::uint64_t seed = 1, const Clock& clock = SystemClock::instance());
  ~ControlApi();
  ControlApi(const ControlApi&) = delete;
  ControlApi& operator=(const ControlApi&) = delete;

  // Registers under the object's name(). Non-owning: remove it, or stop the server, before the
  // object is destroyed. Fails when the name is taken.
  Result<void> add_mock(MockServer& mock);
  Result<void> add_proxy(TcpProxy& proxy);
  bool remove_mock(std::string_view name);
  bool remove_proxy(std::string_view name);

  // target: the request target (path and optional query, which is ignored).
  ControlReply handle(std::string_view method, std::string_view target, std::string_view body,
                      std::string_view request_id = "-");

  // GET /counters: {"mocks": {NAME: {"requests", "faults": [...]}}, "proxies": {NAME: {...}}}.
  nlohmann::json counters() const;

  // The registry's state, private to control_server.cpp.
  struct MockEntry;
  struct ProxyEntry;

 private:
  mutable std::mutex mu_;
  SeededRng rng_;  // seeds new fault plans
  const Clock& clock_;
  std::map<std::string, std::unique_ptr<MockEntry>, std::less<>> mocks_;
  std::map<std::string, std::unique_ptr<ProxyEntry>, std::less<>> proxies_;
};

enum class AllowRemote { no, yes };

struct ControlServerOptions {
  std::string listen = "127.0.0.1:0";  // numeric "host:port"; port 0 picks a free one
  // The API changes a process's behaviour and has no authentication, so a non-loopback listen
  // address is refused unless this says yes.
  AllowRemote allow_remote = AllowRemote::no;
  std::uint64_t seed = 1;  // the registry's Rng (see ControlApi)
};

// The HTTP/1.1 server of a ControlApi, with its own io_context thread. Keep-alive, 1 MiB bodies.
class ControlServer {
 public:
  // Binds and starts serving. Errors (bad or non-loopback address, bind failure) are values.
  static Result<std::unique_ptr<ControlServer>> start(ControlServerOptions options = {});
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  ControlApi& api();
  std::uint16_t port() const;
  std::string address() const;  // "127.0.0.1:PORT"

  // Closes the listener and every connection, and joins the thread. Idempotent.
  void stop();

  // Opaque; named here so the implementation's coroutines can take it.
  struct Impl;

 private:
  explicit ControlServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::chaos
