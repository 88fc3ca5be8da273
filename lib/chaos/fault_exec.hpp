// Applies a FaultPlan's decision to one mock exchange (private to sluice_chaos): the seam between
// FaultPlan, which decides, and MockServer, which owns the sockets.
#pragma once

#include "sluice/chaos/fault_plan.hpp"
#include "sluice/chaos/mock_server.hpp"
#include "sluice/core/units.hpp"

namespace sluice::chaos {

// The connection controls fault execution needs beyond MockExchange.
class FaultableExchange : public MockExchange {
 public:
  // Sleeps for d, returning early with false when the mock stops.
  virtual bool pause(Duration d) = 0;
  // Answers nothing until the client closes the connection or the mock stops, discarding what the
  // client sends. The exchange is then over.
  virtual void hang() = 0;
  // Closes the connection (FIN) wherever the response stands. The exchange is then over.
  virtual void close() = 0;
  // Told the name of each fault that fired for this exchange, in plan order (for the record).
  virtual void fired(std::string_view fault_name) {}
};

// Runs one exchange: decides with plan, then either answers for the route (status, reset, hang,
// malformed JSON, empty response) or calls dispatch (the route handler) with an exchange that
// shapes the response (latency, bandwidth, dribble, mid-body reset, SSE cuts and corruption).
// replier (may be null): the matched route's shape for status faults without a body.
void run_with_faults(FaultableExchange& ex, const FaultPlan& plan,
                     const std::function<void(MockExchange&)>& dispatch,
                     const StatusFaultReplier* replier = nullptr);

}  // namespace sluice::chaos
