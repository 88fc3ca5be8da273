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

// llm_policy_reader.cpp: context, inject, limits and sessions tables inside [routes.llm] and
// [[models]]; [[keys]] and [store]; their cross-checks and /admin/config forms.
void read_context(const TableReader& owner, std::optional<ContextPolicy>& out);
void read_injections(const TableReader& owner, std::vector<Injection>& out);
// `extra` names the keys the owner's limits table takes besides rpm and tpm.
void read_limits(const TableReader& owner, LlmLimits& out, std::vector<std::string_view> extra,
                 bool* reserve_output, bool* cut_streams);
void read_sessions(const TableReader& owner, SessionsConfig& out);
void read_keys(const TableReader& root, Config& c);
void read_store(const TableReader& root, Config& c);
void check_llm_policy(const Config& c, Problems& p);
void llm_policy_route_json(const LlmRoute& r, nlohmann::json& j);
void llm_policy_model_json(const ModelAlias& m, nlohmann::json& j);
void llm_policy_json(const Config& c, nlohmann::json& out);

}  // namespace sluice::config::detail
