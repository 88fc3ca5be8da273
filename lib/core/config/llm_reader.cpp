#include "llm_reader.hpp"

#include <algorithm>
#include <set>

#include "resilience_reader.hpp"
#include "sluice/core/config/load.hpp"

namespace sluice::config {

std::string_view to_string(ProviderKind k) {
  switch (k) {
    case ProviderKind::openai:
      return "openai";
    case ProviderKind::openai_compatible:
      return "openai-compatible";
    case ProviderKind::anthropic:
      return "anthropic";
    case ProviderKind::gemini:
      return "gemini";
  }
  return "openai";
}

std::string_view to_string(LlmStrategy s) {
  switch (s) {
    case LlmStrategy::weighted:
      return "weighted";
    case LlmStrategy::least_in_flight:
      return "least_in_flight";
    case LlmStrategy::lowest_latency:
      return "lowest_latency";
    case LlmStrategy::cheapest:
      return "cheapest";
  }
  return "weighted";
}

}  // namespace sluice::config

namespace sluice::config::detail {

namespace {

bool valid_model_name(std::string_view s) {
  if (s.empty() || s.size() > 200) return false;
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return c > 0x20 && c < 0x7f; });
}

// Reads `key` as a list of strings into out.
void read_string_list(const TableReader& r, std::string_view key, std::vector<std::string>& out,
                      std::string_view example) {
  std::vector<const toml::value<std::string>*> nodes;
  if (!r.strings(key, nodes, example)) return;
  for (const auto* n : nodes) out.push_back(n->get());
}

// base_url: scheme://host[:port][/path]. Fills the provider's path and Host, and the cluster's
// endpoint.
bool read_base_url(const TableReader& r, Provider& pv, Cluster& cl) {
  constexpr std::string_view example = "https://api.openai.com/v1";
  if (!r.has("base_url")) {
    r.missing("base_url", fmt::format("add base_url = \"{}\" (the URL the provider's API paths "
                                      "start from)",
                                      example));
    return false;
  }
  if (!r.string("base_url", pv.base_url, example)) return false;
  std::string_view url = pv.base_url;
  auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    r.fail("base_url", fmt::format("\"{}\" is not a URL", url),
           fmt::format("write scheme://host[:port][/path], e.g. \"{}\"", example));
    return false;
  }
  auto rest = url.substr(scheme_end + 3);
  auto slash = rest.find_first_of("/?#");
  std::string_view tail = slash == std::string_view::npos ? "" : rest.substr(slash);
  if (tail.find_first_of("?#") != std::string_view::npos) {
    r.fail("base_url", "a base URL has no query or fragment",
           "write api-version with api_version = \"...\"");
    return false;
  }
  auto ep =
      parse_endpoint(std::string(url.substr(0, scheme_end + 3 + rest.substr(0, slash).size())));
  if (!ep) {
    r.fail_body("base_url", ep.error().message);
    return false;
  }
  while (tail.ends_with('/')) tail.remove_suffix(1);
  pv.base_path = std::string(tail);
  const auto& hp = ep->address;
  bool default_port = (ep->tls && hp.port == 443) || (!ep->tls && hp.port == 80);
  std::string host = hp.host.find(':') != std::string::npos ? "[" + hp.host + "]" : hp.host;
  pv.host_header = default_port ? host : fmt::format("{}:{}", host, hp.port);
  ep->pos = r.problems().pos(r.find("base_url")->source().begin);
  cl.endpoints.push_back(std::move(*ep));
  return true;
}

void read_provider(const toml::table& t, std::size_t i, Config& c, Problems& p,
                   std::vector<ProviderName>& names) {
  std::vector<std::string_view> keys = {"name",
                                        "kind",
                                        "base_url",
                                        "api_key_env",
                                        "api_key_file",
                                        "api_version",
                                        "anthropic_version",
                                        "headers",
                                        "timeout",
                                        "stream_idle_timeout",
                                        "connect_timeout",
                                        "max_idle",
                                        "pool_idle_timeout",
                                        "tls"};
  keys.insert(keys.end(), kClusterResilienceKeys.begin(), kClusterResilienceKeys.end());
  TableReader r(t, fmt::format("providers[{}]", i), "in [[providers]]", std::move(keys), p);
  Provider pv;
  Cluster cl;
  pv.pos = cl.pos = p.pos(r.where());
  if (!r.has("name")) {
    r.missing("name", "add name = \"openai\"; model targets refer to providers by name");
  } else if (r.string("name", pv.name, "openai")) {
    names.push_back({pv.name, r.find("name")->source().begin, r.path_of("name")});
  }
  cl.name = pv.name;
  std::string kind;
  if (!r.has("kind")) {
    r.missing("kind", "add kind = \"openai\", \"openai-compatible\", \"anthropic\" or \"gemini\"");
  } else if (r.string("kind", kind, "openai")) {
    static const std::vector<std::pair<std::string_view, ProviderKind>> kinds = {
        {"openai", ProviderKind::openai},
        {"openai-compatible", ProviderKind::openai_compatible},
        {"anthropic", ProviderKind::anthropic},
        {"gemini", ProviderKind::gemini}};
    auto it = std::find_if(kinds.begin(), kinds.end(), [&](auto& k) { return k.first == kind; });
    if (it == kinds.end())
      r.fail("kind", fmt::format("unknown provider kind \"{}\"", kind),
             "use \"openai\", \"openai-compatible\" (vLLM, Ollama, llama.cpp), \"anthropic\" or "
             "\"gemini\"");
    else
      pv.kind = it->second;
  }
  read_base_url(r, pv, cl);
  if (r.string("api_key_env", pv.api_key_env, "OPENAI_API_KEY") && pv.api_key_env.empty())
    r.fail("api_key_env", "is empty", "name an environment variable, e.g. \"OPENAI_API_KEY\"");
  r.string("api_key_file", pv.api_key_file, "/run/secrets/openai");
  if (!pv.api_key_env.empty() && !pv.api_key_file.empty())
    r.fail("api_key_file", "api_key_env and api_key_file are both set", "keep one of them");
  if (r.string("api_version", pv.api_version, "2024-10-21") &&
      pv.kind != ProviderKind::openai_compatible)
    r.fail("api_version", "only kind = \"openai-compatible\" takes an api_version",
           "remove it, or set kind = \"openai-compatible\" (Azure OpenAI and the like)");
  r.string("anthropic_version", pv.anthropic_version, "2023-06-01");
  if (const toml::table* h = r.table("headers")) {
    for (const auto& [k, v] : *h) {
      std::string name(k.str());
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
      if (!v.is_string()) {
        p.add(v.source().begin, fmt::format("{}.{}", r.path_of("headers"), key_segment(k.str())),
              fmt::format("expected a string, got {}", type_phrase(v)),
              "header values are strings");
        continue;
      }
      if (name == "authorization" || name == "x-api-key" || name == "x-goog-api-key") {
        p.add(
            v.source().begin, fmt::format("{}.{}", r.path_of("headers"), key_segment(k.str())),
            "secrets are never written inline",
            "set api_key_env or api_key_file; the gateway sends the key in the provider's header");
        continue;
      }
      pv.headers[name] = *v.value<std::string>();
    }
  }
  r.duration("timeout", pv.timeout);
  r.duration("stream_idle_timeout", pv.stream_idle_timeout);
  r.duration("connect_timeout", cl.connect_timeout);
  r.integer("max_idle", cl.max_idle, 0);
  r.duration("pool_idle_timeout", cl.pool_idle_timeout);
  if (r.has("tls"))
    r.fail("tls", "provider TLS follows base_url",
           "use an https:// base_url; for a private CA or client certificates define a "
           "[[clusters]] entry and proxy it with a plain route");
  for (auto& ep : cl.endpoints) cl.tls.enabled = cl.tls.enabled || ep.tls;
  read_cluster_resilience(r, cl);
  c.providers.push_back(std::move(pv));
  c.clusters.push_back(std::move(cl));
}

void read_target(const toml::node& n, std::string path, const TableReader& owner, ModelTarget& t) {
  const toml::table* tab = n.as_table();
  if (!tab) {
    owner.problems().add(n.source().begin, path,
                         fmt::format("expected a table, got {}", type_phrase(n)),
                         "write { provider = \"openai\", model = \"gpt-4o-mini\", weight = 1 }");
    return;
  }
  TableReader r(*tab, path, "in a model target", {"provider", "model", "weight", "context_window"},
                owner.problems());
  if (!r.has("provider"))
    r.missing("provider", "add provider = \"<name>\", naming one of the [[providers]]");
  r.string("provider", t.provider, "openai");
  if (r.string("model", t.model, "gpt-4o-mini") && !valid_model_name(t.model))
    r.fail("model", "is not a valid model name", "use the provider's model id, e.g. \"gpt-4o\"");
  r.integer("weight", t.weight, 0, 1000000);
  std::int64_t window = 0;
  if (r.integer("context_window", window, 1, 100000000)) t.context_window = window;
}

void read_model(const toml::table& t, std::size_t i, Config& c, Problems& p) {
  TableReader r(t, fmt::format("models[{}]", i), "in [[models]]",
                {"name", "targets", "strategy", "fallbacks", "context_fallback", "cooldown",
                 "cooldown_failures", "attempts", "context", "inject", "limits"},
                p);
  ModelAlias m;
  m.pos = p.pos(r.where());
  if (!r.has("name")) r.missing("name", "add name = \"gpt\": the model name clients send");
  if (r.string("name", m.name, "gpt") && m.name != "*" && !valid_model_name(m.name))
    r.fail("name", "is not a valid model name",
           "use printable characters without spaces, or \"*\" for any model");
  if (!r.has("targets")) {
    r.missing("targets", "add targets = [{ provider = \"openai\", model = \"gpt-4o-mini\" }]");
  } else if (const toml::array* arr = r.find("targets")->as_array()) {
    if (arr->empty())
      r.fail("targets", "is empty", "name at least one { provider = ..., model = ... }");
    for (std::size_t k = 0; k < arr->size(); ++k) {
      ModelTarget tg;
      read_target(*arr->get(k), fmt::format("{}[{}]", r.path_of("targets"), k), r, tg);
      m.targets.push_back(std::move(tg));
    }
  } else {
    r.fail("targets", "expected an array of tables",
           "write targets = [{ provider = \"openai\", model = \"gpt-4o-mini\" }]");
  }
  std::string strategy;
  if (r.string("strategy", strategy, "weighted")) {
    if (strategy == "weighted")
      m.strategy = LlmStrategy::weighted;
    else if (strategy == "least_in_flight")
      m.strategy = LlmStrategy::least_in_flight;
    else if (strategy == "lowest_latency")
      m.strategy = LlmStrategy::lowest_latency;
    else if (strategy == "cheapest")
      m.strategy = LlmStrategy::cheapest;
    else
      r.fail("strategy", fmt::format("unknown strategy \"{}\"", strategy),
             "use \"weighted\", \"least_in_flight\", \"lowest_latency\" or \"cheapest\"");
  }
  read_string_list(r, "fallbacks", m.fallbacks, "\"backup\"");
  r.string("context_fallback", m.context_fallback, "long-context");
  r.duration("cooldown", m.cooldown, true);
  r.integer("cooldown_failures", m.cooldown_failures, 1, 1000);
  r.integer("attempts", m.attempts, 1, 10);
  read_context(r, m.context);
  read_injections(r, m.inject);
  read_limits(r, m.limits, {}, nullptr, nullptr);
  c.models.push_back(std::move(m));
}

void read_price(const toml::table& t, std::size_t i, Config& c, Problems& p) {
  TableReader r(t, fmt::format("prices[{}]", i), "in [[prices]]",
                {"model", "input", "output", "cached_input", "cache_write"}, p);
  PriceOverride po;
  po.pos = p.pos(r.where());
  if (!r.has("model")) r.missing("model", "add model = \"gpt-4o-mini\"");
  r.string("model", po.model, "gpt-4o-mini");
  if (!r.has("input")) r.missing("input", "add input = 0.15 (USD per million input tokens)");
  if (!r.has("output")) r.missing("output", "add output = 0.60 (USD per million output tokens)");
  r.number("input", po.input, 0, 1e6);
  r.number("output", po.output, 0, 1e6);
  r.number("cached_input", po.cached_input, 0, 1e6);
  r.number("cache_write", po.cache_write, 0, 1e6);
  c.prices.push_back(std::move(po));
}

}  // namespace

void read_llm_route(const TableReader& route, Route& out) {
  const toml::table* t = route.table("llm");
  if (!t) return;
  TableReader r(
      *t, route.path_of("llm"), "in [routes.llm]",
      {"cache", "log_bodies", "models", "context", "sessions", "inject", "limits", "require_key"},
      route.problems());
  LlmRoute llm;
  r.boolean("log_bodies", llm.log_bodies);
  r.boolean("require_key", llm.require_key);
  read_context(r, llm.context);
  read_sessions(r, llm.sessions);
  read_injections(r, llm.inject);
  read_limits(r, llm.limits, {"reserve_output", "cut_streams"}, &llm.reserve_output,
              &llm.cut_streams);
  read_string_list(r, "models", llm.models, "\"gpt\"");
  if (const toml::table* ct = r.table("cache")) {
    TableReader cr(*ct, r.path_of("cache"), "in [routes.llm.cache]",
                   {"enabled", "max_entries", "max_bytes", "ttl"}, route.problems());
    llm.cache.enabled = true;
    cr.boolean("enabled", llm.cache.enabled);
    cr.integer("max_entries", llm.cache.max_entries, 1, 100000000);
    cr.size("max_bytes", llm.cache.max_bytes);
    cr.duration("ttl", llm.cache.ttl);
  }
  out.llm = std::move(llm);
}

std::vector<ProviderName> read_providers(const TableReader& root, Config& c) {
  std::vector<ProviderName> names;
  if (auto arr = root.array_of_tables("providers"))
    for (std::size_t i = 0; i < arr->size(); ++i)
      read_provider(*arr->get(i)->as_table(), i, c, root.problems(), names);
  return names;
}

void read_models(const TableReader& root, Config& c) {
  if (auto arr = root.array_of_tables("models"))
    for (std::size_t i = 0; i < arr->size(); ++i)
      read_model(*arr->get(i)->as_table(), i, c, root.problems());
}

void read_prices(const TableReader& root, Config& c) {
  if (auto arr = root.array_of_tables("prices"))
    for (std::size_t i = 0; i < arr->size(); ++i)
      read_price(*arr->get(i)->as_table(), i, c, root.problems());
}

void check_llm(const Config& c, Problems& p) {
  std::vector<std::string_view> providers, aliases;
  for (const auto& pv : c.providers) providers.push_back(pv.name);
  std::set<std::string_view> seen;
  for (std::size_t i = 0; i < c.models.size(); ++i) {
    const auto& m = c.models[i];
    if (!m.name.empty() && !seen.insert(m.name).second)
      p.add(at_of(m.pos), fmt::format("models[{}].name", i),
            fmt::format("duplicate model alias \"{}\"", m.name), "alias names must be unique");
    aliases.push_back(m.name);
  }
  auto hint_for = [](std::string_view name, const std::vector<std::string_view>& known,
                     std::string_view section) {
    if (auto near = closest(name, known)) return fmt::format("did you mean \"{}\"?", *near);
    if (known.empty()) return fmt::format("add a {} section with name = \"{}\"", section, name);
    return fmt::format("use one of {}", quoted_list(known));
  };
  for (std::size_t i = 0; i < c.models.size(); ++i) {
    const auto& m = c.models[i];
    std::uint64_t weights = 0;
    for (std::size_t k = 0; k < m.targets.size(); ++k) {
      const auto& t = m.targets[k];
      weights += t.weight;
      if (t.provider.empty() ||
          std::find(providers.begin(), providers.end(), t.provider) != providers.end())
        continue;
      p.add(at_of(m.pos), fmt::format("models[{}].targets[{}].provider", i, k),
            fmt::format("no provider named \"{}\"", t.provider),
            hint_for(t.provider, providers, "[[providers]]"));
    }
    if (!m.targets.empty() && weights == 0)
      p.add(at_of(m.pos), fmt::format("models[{}].targets", i), "every target has weight 0",
            "give at least one target a positive weight");
    auto check_alias = [&](const std::string& name, std::string path) {
      if (std::find(aliases.begin(), aliases.end(), name) != aliases.end()) {
        if (name == m.name)
          p.add(at_of(m.pos), path, fmt::format("alias \"{}\" falls back to itself", name),
                "name another [[models]] alias");
        return;
      }
      p.add(at_of(m.pos), path, fmt::format("no model alias named \"{}\"", name),
            hint_for(name, aliases, "[[models]]"));
    };
    for (std::size_t k = 0; k < m.fallbacks.size(); ++k)
      check_alias(m.fallbacks[k], fmt::format("models[{}].fallbacks[{}]", i, k));
    if (!m.context_fallback.empty())
      check_alias(m.context_fallback, fmt::format("models[{}].context_fallback", i));
  }
  for (std::size_t i = 0; i < c.routes.size(); ++i) {
    const auto& r = c.routes[i];
    if (!r.llm) continue;
    if (c.models.empty())
      p.add(at_of(r.pos), fmt::format("routes[{}].llm", i), "an LLM route needs model aliases",
            "add a [[models]] section with name = \"gpt\" and its targets");
    for (std::size_t k = 0; k < r.llm->models.size(); ++k)
      if (std::find(aliases.begin(), aliases.end(), r.llm->models[k]) == aliases.end())
        p.add(at_of(r.pos), fmt::format("routes[{}].llm.models[{}]", i, k),
              fmt::format("no model alias named \"{}\"", r.llm->models[k]),
              hint_for(r.llm->models[k], aliases, "[[models]]"));
  }
}

nlohmann::json llm_route_json(const LlmRoute& r) {
  nlohmann::json j = {{"log_bodies", r.log_bodies}, {"models", r.models}};
  if (r.cache.enabled)
    j["cache"] = {{"max_entries", r.cache.max_entries},
                  {"max_bytes", format_size(r.cache.max_bytes)},
                  {"ttl", format_duration(r.cache.ttl)}};
  llm_policy_route_json(r, j);
  return j;
}

void llm_json(const Config& c, nlohmann::json& out) {
  using nlohmann::json;
  if (!c.providers.empty()) out["providers"] = json::array();
  for (const auto& pv : c.providers) {
    json j = {{"name", pv.name},
              {"kind", to_string(pv.kind)},
              {"base_url", pv.base_url},
              {"timeout", format_duration(pv.timeout)},
              {"stream_idle_timeout", format_duration(pv.stream_idle_timeout)}};
    if (!pv.api_key_env.empty()) j["api_key_env"] = pv.api_key_env;
    if (!pv.api_key_file.empty()) j["api_key_file"] = pv.api_key_file;
    if (!pv.api_version.empty()) j["api_version"] = pv.api_version;
    if (pv.kind == ProviderKind::anthropic) j["anthropic_version"] = pv.anthropic_version;
    if (!pv.headers.empty()) j["headers"] = pv.headers;
    out["providers"].push_back(std::move(j));
  }
  if (!c.models.empty()) out["models"] = json::array();
  for (const auto& m : c.models) {
    json targets = json::array();
    for (const auto& t : m.targets) {
      json tj = {{"provider", t.provider}, {"weight", t.weight}};
      if (!t.model.empty()) tj["model"] = t.model;
      if (t.context_window) tj["context_window"] = *t.context_window;
      targets.push_back(std::move(tj));
    }
    json j = {{"name", m.name},
              {"targets", std::move(targets)},
              {"strategy", to_string(m.strategy)},
              {"fallbacks", m.fallbacks},
              {"cooldown", format_duration(m.cooldown)},
              {"cooldown_failures", m.cooldown_failures}};
    if (!m.context_fallback.empty()) j["context_fallback"] = m.context_fallback;
    if (m.attempts) j["attempts"] = m.attempts;
    llm_policy_model_json(m, j);
    out["models"].push_back(std::move(j));
  }
  if (!c.prices.empty()) out["prices"] = json::array();
  for (const auto& pr : c.prices) {
    json j = {{"model", pr.model}, {"input", pr.input}, {"output", pr.output}};
    if (pr.cached_input >= 0) j["cached_input"] = pr.cached_input;
    if (pr.cache_write >= 0) j["cache_write"] = pr.cache_write;
    out["prices"].push_back(std::move(j));
  }
  llm_policy_json(c, out);
}

}  // namespace sluice::config::detail
