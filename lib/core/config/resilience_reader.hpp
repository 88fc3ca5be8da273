// Private to core/config: reading the resilience tables of [[clusters]] and [[routes]] (the keys
// of resilience.hpp), kept apart from load.cpp's listeners, routing and cross-checks.
#pragma once

#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "reader.hpp"
#include "sluice/core/config/schema.hpp"

namespace sluice::config::detail {

// The keys of [[clusters]] and [[routes]] that these readers own.
extern const std::vector<std::string_view> kClusterResilienceKeys;
extern const std::vector<std::string_view> kRouteResilienceKeys;

void read_cluster_resilience(const TableReader& cluster, Cluster& out);

// `fallback_cluster` is set to the fallback.cluster string node, for the reference check.
void read_route_resilience(const TableReader& route, Route& out,
                           const toml::value<std::string>*& fallback_cluster);

}  // namespace sluice::config::detail
