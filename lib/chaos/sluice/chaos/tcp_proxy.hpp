// A TCP proxy on loopback in front of one upstream, with Toxiproxy-style toxics that delay, pace,
// slice, cut, stall or reset the bytes of each connection. It runs its own io_context thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/chaos/toxics.hpp"
#include "sluice/core/clock.hpp"
#include "sluice/core/error.hpp"

namespace sluice::chaos {

struct TcpProxyOptions {
  std::string name = "proxy";
  std::string listen = "127.0.0.1:0";  // numeric "host:port"; port 0 picks a free one
  std::string upstream;                // numeric "host:port"
  // Decides toxicity, jitter and slice sizes. Each connection draws its own seed from it on accept,
  // so one connection's draws do not depend on the others' timing. Null: SeededRng(seed).
  std::unique_ptr<Rng> rng;
  std::uint64_t seed = 1;
};

struct TcpProxyCounters {
  std::uint64_t connections = 0;       // accepted
  std::uint64_t active = 0;            // open now
  std::uint64_t connect_failures = 0;  // upstream connection refused or failed
  std::uint64_t bytes_upstream = 0;    // client->server bytes delivered
  std::uint64_t bytes_downstream = 0;  // server->client bytes delivered
  std::uint64_t toxics_applied = 0;    // (connection, toxic) pairs where the toxicity said yes
  std::map<std::string, std::uint64_t> applied_by_toxic;  // the same, by toxic name
};

// Each direction has a reader and a writer with a bounded queue between them. The reader draws a
// chunk's latency as it arrives (so a stream is shifted by the latency, not slowed by it); the
// writer applies the rest in a fixed order: timeout (drop), limit_data, the latency wait, slicer,
// bandwidth; slow_close acts when the source has closed and its queue is delivered. Toxiproxy
// instead chains toxics in the order they were added; for the attributes it has, the observable
// effect is the same. timeout and reset_peer close or reset the whole connection, whichever their
// direction.
//
// Adding or removing a toxic is seen by new connections and by live ones: a live connection checks
// the set before each chunk and every 25ms. Its toxicity is decided once per connection, the first
// time the connection sees it; timeout's and reset_peer's clocks start then too. Data already
// dropped by a timeout toxic stays lost after it is removed, as in Toxiproxy.
class TcpProxy {
 public:
  // Binds and starts serving. Errors (bad address, bind failure) are values.
  static Result<std::unique_ptr<TcpProxy>> start(TcpProxyOptions options);
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  std::uint16_t port() const;
  std::string address() const;  // "127.0.0.1:PORT"
  const std::string& name() const;

  // Fails when a toxic with that name exists.
  Result<void> add_toxic(Toxic toxic);
  // Replaces the toxic of the same name (live connections re-decide its toxicity). Fails when
  // there is none.
  Result<void> update_toxic(Toxic toxic);
  // False when there was no such toxic.
  bool remove_toxic(std::string_view name);
  void clear_toxics();
  std::vector<Toxic> toxics() const;

  TcpProxyCounters counters() const;

  // Closes the listener and every connection, and joins the thread. Idempotent.
  void stop();

  // Opaque; named here so the implementation's coroutines can take it.
  struct Impl;

 private:
  explicit TcpProxy(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::chaos
