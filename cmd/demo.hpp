// `serve --demo`: mock upstreams from lib/chaos and the gateway config that fronts them.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "sluice/chaos/mock_server.hpp"
#include "sluice/core/config/schema.hpp"

namespace sluice::cmd {

class Demo {
 public:
  Demo();  // starts the mock upstreams on free loopback ports
  std::string config_toml() const;
  // gateway and admin: the bound addresses ("" when the admin listener is off).
  void print_banner(const std::string& gateway, const std::string& admin) const;

 private:
  std::vector<std::unique_ptr<chaos::MockServer>> mocks_;
};

}  // namespace sluice::cmd
