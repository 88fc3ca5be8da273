#include "demo.hpp"

#include <fmt/format.h>

namespace sluice::cmd {

Demo::Demo() {
  for (const char* name : {"api-1", "api-2"})
    mocks_.push_back(std::make_unique<chaos::MockServer>(name));
}

std::string Demo::config_toml() const {
  return fmt::format(R"(# The --demo gateway: two mock upstreams behind one route, round robin.
[server]
workers = 2
header_timeout = "10s"

[admin]
listen = "127.0.0.1:9901"

[log]
access = "stdout"

[[listeners]]
name = "main"
listen = "127.0.0.1:8080"

[[routes]]
name = "demo"
path_prefix = "/"
cluster = "demo"
timeout = "10s"

[[clusters]]
name = "demo"
endpoints = ["{}", "{}"]
)",
                     mocks_[0]->address(), mocks_[1]->address());
}

void Demo::print_banner(const std::string& gw, const std::string& admin) const {
  fmt::print(
      stderr,
      "\nsluice demo: gateway on http://{0} in front of mock upstreams {1} and {2}.\n"
      "Try:\n"
      "  curl -s http://{0}/echo                 # round robin: run it twice\n"
      "  curl -sN http://{0}/sse                 # server-sent events, relayed as they come\n"
      "  curl -s http://{0}/delay/300            # a slow upstream\n"
      "  curl -s -o /dev/null -w '%{{http_code}}\\n' http://{0}/bytes/10000000\n"
      "  curl -s -H 'x-request-id: demo-1' -i http://{0}/status/503\n",
      gw, mocks_[0]->address(), mocks_[1]->address());
  if (!admin.empty())
    fmt::print(stderr,
               "  curl -s http://{0}/metrics | grep sluice_requests_total\n"
               "  curl -s http://{0}/admin/config\n",
               admin);
  fmt::print(stderr, "Ctrl-C drains and stops.\n\n");
}

}  // namespace sluice::cmd
