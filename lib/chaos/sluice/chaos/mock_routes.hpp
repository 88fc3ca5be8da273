// Mock routes written in a scenario file (and so in `sluice chaos mock --config`): each maps a
// method and path to a fixed response (status, headers, a body inline or from a file) or to an
// echo of the request.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "sluice/chaos/mock_server.hpp"

namespace sluice::chaos {

struct MockRouteSpec {
  std::string method;      // empty: any method (a GET route also answers HEAD)
  std::string path = "*";  // exact, or a prefix when it ends in '*' ("*" alone: every path)
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // in the order written
  std::string body;   // inline, or the contents of the body_file the scenario named
  bool echo = false;  // answer with echo_json() instead of body (status and headers still apply)
};

// The handlers for specs, tried in order; a request no spec matches gets the mock's 404. No specs:
// the demo routes.
std::vector<MockRoute> routes_from_specs(const std::string& mock_name,
                                         const std::vector<MockRouteSpec>& specs);

// The echo of a request: {"mock", "method", "target", "path", "query", "headers" (lower-case
// names; repeated headers joined with ", "), "body", "body_bytes"}. Reads the body.
std::string echo_json(const std::string& mock_name, MockExchange& ex);

}  // namespace sluice::chaos
