// Private to core/config: the LLM gateway's tables. [[providers]] (each also becomes a cluster
// of the same name), [[models]] (aliases), [[prices]] and a route's [routes.llm].
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include "reader.hpp"
#include "sluice/core/config/schema.hpp"

namespace sluice::config::detail {

struct ProviderName {
  std::string name;
  toml::source_position at;
  std::string path;
};

// [routes.llm]
void read_llm_route(const TableReader& route, Route& out);
// [[providers]] into c.providers, and one cluster per provider appended to c.clusters. The names
// are returned for the cluster-name uniqueness check.
std::vector<ProviderName> read_providers(const TableReader& root, Config& c);
void read_models(const TableReader& root, Config& c);
void read_prices(const TableReader& root, Config& c);
// Cross-checks once everything is read: targets name providers, fallbacks and routes name
// aliases, and LLM routes have models to serve.
void check_llm(const Config& c, Problems& p);

// /admin/config: [routes.llm], and [[providers]], [[models]], [[prices]] into out (no secrets,
// only where they live).
nlohmann::json llm_route_json(const LlmRoute& r);
void llm_json(const Config& c, nlohmann::json& out);

}  // namespace sluice::config::detail
