// Targets from a gateway config (--config): every endpoint of every cluster, reached the way the
// gateway reaches it (its TLS settings and connect timeout). The config has no health-check
// section yet, so each endpoint gets GET / and, unless --expect says otherwise, status 2xx.
#pragma once

#include <string>
#include <vector>

#include "sluice/core/config/schema.hpp"
#include "sluice/probe/conditions.hpp"
#include "sluice/probe/target.hpp"

namespace sluice::probe {

// Loads and validates the config (errors in the config format), then builds the targets.
Result<std::vector<Target>> load_config_targets(const std::string& path, const RequestOptions& base,
                                                const std::vector<ConditionText>& expect);
Result<std::vector<Target>> config_targets(const config::Config& c, const RequestOptions& base,
                                           const std::vector<ConditionText>& expect);

}  // namespace sluice::probe
