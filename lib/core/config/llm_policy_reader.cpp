// The LLM gateway's policy tables: context windows, instruction injection, token and request
// limits, server-side sessions, virtual keys ([[keys]]) and the state store ([store]).
#include <algorithm>
#include <cctype>
#include <set>

#include "llm_reader.hpp"

namespace sluice::config {

std::string_view to_string(ContextStrategy s) {
  switch (s) {
    case ContextStrategy::reject:
      return "reject";
    case ContextStrategy::truncate_oldest:
      return "truncate_oldest";
    case ContextStrategy::middle_out:
      return "middle_out";
    case ContextStrategy::summarize:
      return "summarize";
  }
  return "truncate_oldest";
}

}  // namespace sluice::config

namespace sluice::config::detail {

namespace {

void read_injection(const toml::node& n, std::string path, const TableReader& owner,
                    std::vector<Injection>& out) {
  const toml::table* t = n.as_table();
  if (!t) {
    owner.problems().add(n.source().begin, path,
                         fmt::format("expected a table, got {}", type_phrase(n)),
                         "write { role = \"system\", position = \"append\", text = \"...\" }");
    return;
  }
  TableReader r(*t, path, "in an inject entry", {"role", "position", "text"}, owner.problems());
  Injection in;
  std::string role, position;
  if (r.string("role", role, "system")) {
    if (role == "system")
      in.role = Injection::Role::system;
    else if (role == "user")
      in.role = Injection::Role::user;
    else
      r.fail("role", fmt::format("unknown role \"{}\"", role),
             "use \"system\" (the system prompt) or \"user\" (the newest user message)");
  }
  if (r.string("position", position, "append")) {
    if (position == "prepend")
      in.position = Injection::Position::prepend;
    else if (position == "append")
      in.position = Injection::Position::append;
    else
      r.fail("position", fmt::format("unknown position \"{}\"", position),
             "use \"prepend\" or \"append\"");
  }
  if (!r.has("text")) r.missing("text", "add text = \"Answer in English. Today is {{date}}.\"");
  if (r.string("text", in.text, "Today is {{date}}.") && in.text.empty())
    r.fail("text", "is empty", "write the instruction to add");
  out.push_back(std::move(in));
}

}  // namespace

void read_injections(const TableReader& owner, std::vector<Injection>& out) {
  const toml::node* n = owner.find("inject");
  if (!n) return;
  const toml::array* arr = n->as_array();
  if (!arr) {
    owner.fail("inject", fmt::format("expected an array of tables, got {}", type_phrase(*n)),
               "write inject = [{ role = \"system\", text = \"...\" }]");
    return;
  }
  for (std::size_t i = 0; i < arr->size(); ++i)
    read_injection(*arr->get(i), fmt::format("{}[{}]", owner.path_of("inject"), i), owner, out);
}

void read_limits(const TableReader& owner, LlmLimits& out, std::vector<std::string_view> extra,
                 bool* reserve_output, bool* cut_streams) {
  const toml::table* t = owner.table("limits");
  if (!t) return;
  std::vector<std::string_view> keys = {"rpm", "tpm"};
  keys.insert(keys.end(), extra.begin(), extra.end());
  TableReader r(*t, owner.path_of("limits"), "in limits", std::move(keys), owner.problems());
  r.integer("rpm", out.rpm, 0, 1000000000);
  r.integer("tpm", out.tpm, 0, 1000000000000);
  if (reserve_output) r.boolean("reserve_output", *reserve_output);
  if (cut_streams) r.boolean("cut_streams", *cut_streams);
}

void read_context(const TableReader& owner, std::optional<ContextPolicy>& out) {
  const toml::table* t = owner.table("context");
  if (!t) return;
  TableReader r(*t, owner.path_of("context"), "in context",
                {"strategy", "window", "reserve_output", "summarizer", "summary_timeout",
                 "summary_max_tokens", "on_summary_failure"},
                owner.problems());
  ContextPolicy c;
  c.pos = owner.problems().pos(r.where());
  std::string s;
  if (r.string("strategy", s, "truncate_oldest")) {
    static const std::pair<std::string_view, ContextStrategy> names[] = {
        {"reject", ContextStrategy::reject},
        {"truncate_oldest", ContextStrategy::truncate_oldest},
        {"middle_out", ContextStrategy::middle_out},
        {"summarize", ContextStrategy::summarize}};
    auto it = std::find_if(std::begin(names), std::end(names),
                           [&](const auto& p) { return p.first == s; });
    if (it == std::end(names))
      r.fail("strategy", fmt::format("unknown strategy \"{}\"", s),
             "use \"reject\", \"truncate_oldest\", \"middle_out\" or \"summarize\"");
    else
      c.strategy = it->second;
  }
  std::int64_t window = 0;
  if (r.integer("window", window, 16, 100000000)) c.window = window;
  r.integer("reserve_output", c.reserve_output, 0, 100000000);
  r.string("summarizer", c.summarizer, "small");
  r.duration("summary_timeout", c.summary_timeout);
  r.integer("summary_max_tokens", c.summary_max_tokens, 16, 100000);
  std::string on_fail;
  if (r.string("on_summary_failure", on_fail, "truncate")) {
    if (on_fail == "truncate")
      c.summary_fallback_truncate = true;
    else if (on_fail == "reject")
      c.summary_fallback_truncate = false;
    else
      r.fail("on_summary_failure", fmt::format("unknown value \"{}\"", on_fail),
             "use \"truncate\" (drop the turns unsummarised) or \"reject\"");
  }
  if (c.strategy == ContextStrategy::summarize && c.summarizer.empty())
    r.missing("summarizer", "add summarizer = \"<alias>\": the model that writes the summary");
  if (c.strategy != ContextStrategy::summarize && !c.summarizer.empty())
    r.fail("summarizer", "only strategy = \"summarize\" uses a summarizer",
           "remove it, or set strategy = \"summarize\"");
  out = std::move(c);
}

void read_sessions(const TableReader& owner, SessionsConfig& out) {
  const toml::table* t = owner.table("sessions");
  if (!t) return;
  TableReader r(*t, owner.path_of("sessions"), "in [routes.llm.sessions]",
                {"enabled", "ttl", "max_messages", "max_bytes"}, owner.problems());
  out.enabled = true;
  r.boolean("enabled", out.enabled);
  r.duration("ttl", out.ttl);
  r.integer("max_messages", out.max_messages, 2, 10000000);
  r.size("max_bytes", out.max_bytes);
}

namespace {

bool valid_sha256(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](unsigned char c) {
           return std::isdigit(c) || (c >= 'a' && c <= 'f');
         });
}

void read_key(const toml::table& t, std::size_t i, Config& c, Problems& p) {
  TableReader r(t, fmt::format("keys[{}]", i), "in [[keys]]",
                {"name", "sha256", "models", "metadata", "limits", "budget", "inject", "key"}, p);
  VirtualKey k;
  k.pos = p.pos(r.where());
  if (r.has("key"))
    r.fail("key", "virtual keys are never written inline",
           "write sha256 = \"<hex>\" instead, e.g. from: printf %s \"$KEY\" | sha256sum");
  if (!r.has("name"))
    r.missing("name", "add name = \"team-a\": it names the key in logs and usage");
  r.string("name", k.name, "team-a");
  if (!r.has("sha256"))
    r.missing("sha256", "add sha256 = \"<hex>\", e.g. from: printf %s \"$KEY\" | sha256sum");
  if (r.string("sha256", k.sha256, "9f86d081884c7d65...")) {
    std::transform(k.sha256.begin(), k.sha256.end(), k.sha256.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    if (!valid_sha256(k.sha256))
      r.fail("sha256", "is not 64 hexadecimal digits",
             "write the key's SHA-256 in hex, e.g. from: printf %s \"$KEY\" | sha256sum");
  }
  std::vector<const toml::value<std::string>*> models;
  if (r.strings("models", models, "\"gpt\""))
    for (const auto* m : models) k.models.push_back(m->get());
  if (const toml::table* md = r.table("metadata")) {
    for (const auto& [name, v] : *md) {
      if (!v.is_string() && !v.is_integer() && !v.is_floating_point() && !v.is_boolean()) {
        p.add(v.source().begin,
              fmt::format("{}.{}", r.path_of("metadata"), key_segment(name.str())),
              fmt::format("expected a string, got {}", type_phrase(v)),
              "metadata values are strings, numbers or booleans");
        continue;
      }
      std::string value;
      if (auto s = v.value<std::string>())
        value = *s;
      else if (auto b = v.value<bool>(); b && v.is_boolean())
        value = *b ? "true" : "false";
      else if (v.is_integer())
        value = std::to_string(*v.value<std::int64_t>());
      else
        value = fmt::format("{}", *v.value<double>());
      k.metadata[std::string(name.str())] = std::move(value);
    }
  }
  read_limits(r, k.limits, {}, nullptr, nullptr);
  if (const toml::table* b = r.table("budget")) {
    TableReader br(*b, r.path_of("budget"), "in budget", {"daily_usd", "monthly_usd"}, p);
    br.number("daily_usd", k.budget_daily_usd, 0, 1e9);
    br.number("monthly_usd", k.budget_monthly_usd, 0, 1e9);
  }
  read_injections(r, k.inject);
  c.keys.push_back(std::move(k));
}

}  // namespace

void read_keys(const TableReader& root, Config& c) {
  if (auto arr = root.array_of_tables("keys"))
    for (std::size_t i = 0; i < arr->size(); ++i)
      read_key(*arr->get(i)->as_table(), i, c, root.problems());
}

void read_store(const TableReader& root, Config& c) {
  const toml::table* t = root.table("store");
  if (!t) return;
  TableReader r(*t, "store", "in [store]", {"kind", "path"}, root.problems());
  std::string kind;
  if (r.string("kind", kind, "sqlite")) {
    if (kind == "memory")
      c.store.kind = Store::Kind::memory;
    else if (kind == "sqlite")
      c.store.kind = Store::Kind::sqlite;
    else
      r.fail("kind", fmt::format("unknown store \"{}\"", kind),
             "use \"memory\" (the default; nothing survives a restart) or \"sqlite\"");
  }
  r.string("path", c.store.path, "/var/lib/sluice/state.db");
  if (c.store.kind == Store::Kind::sqlite && c.store.path.empty())
    r.missing("path", "add path = \"/var/lib/sluice/state.db\": the SQLite file");
  if (c.store.kind == Store::Kind::memory && !c.store.path.empty())
    r.fail("path", "a memory store has no file", "remove path, or set kind = \"sqlite\"");
}

void check_llm_policy(const Config& c, Problems& p) {
  std::vector<std::string_view> aliases;
  for (const auto& m : c.models) aliases.push_back(m.name);
  auto check_alias = [&](const SourcePos& pos, const std::string& name, std::string path) {
    if (std::find(aliases.begin(), aliases.end(), name) != aliases.end()) return;
    std::string hint = "name one of the [[models]] aliases";
    if (auto near = closest(name, aliases)) hint = fmt::format("did you mean \"{}\"?", *near);
    p.add(at_of(pos), path, fmt::format("no model alias named \"{}\"", name), hint);
  };
  std::set<std::string_view> names, hashes;
  for (std::size_t i = 0; i < c.keys.size(); ++i) {
    const auto& k = c.keys[i];
    if (!k.name.empty() && !names.insert(k.name).second)
      p.add(at_of(k.pos), fmt::format("keys[{}].name", i),
            fmt::format("duplicate key name \"{}\"", k.name), "key names must be unique");
    if (!k.sha256.empty() && !hashes.insert(k.sha256).second)
      p.add(at_of(k.pos), fmt::format("keys[{}].sha256", i), "the same key is defined twice",
            "keep one [[keys]] entry per key");
    for (std::size_t m = 0; m < k.models.size(); ++m)
      check_alias(k.pos, k.models[m], fmt::format("keys[{}].models[{}]", i, m));
  }
  for (std::size_t i = 0; i < c.models.size(); ++i) {
    const auto& m = c.models[i];
    if (m.context && !m.context->summarizer.empty()) {
      check_alias(m.context->pos, m.context->summarizer,
                  fmt::format("models[{}].context.summarizer", i));
      if (m.context->summarizer == m.name)
        p.add(at_of(m.context->pos), fmt::format("models[{}].context.summarizer", i),
              "an alias cannot summarise its own conversations",
              "name a smaller model's alias that has no summarize policy");
    }
  }
  for (std::size_t i = 0; i < c.routes.size(); ++i) {
    const auto& r = c.routes[i];
    if (!r.llm) continue;
    if (r.llm->context && !r.llm->context->summarizer.empty())
      check_alias(r.llm->context->pos, r.llm->context->summarizer,
                  fmt::format("routes[{}].llm.context.summarizer", i));
    if (r.llm->require_key && c.keys.empty())
      p.add(at_of(r.pos), fmt::format("routes[{}].llm.require_key", i),
            "no [[keys]] are defined, so every request would be refused",
            "add a [[keys]] entry, or remove require_key");
  }
}

namespace {

nlohmann::json context_json(const ContextPolicy& c) {
  nlohmann::json j = {{"strategy", to_string(c.strategy)}, {"reserve_output", c.reserve_output}};
  if (c.window) j["window"] = *c.window;
  if (c.strategy == ContextStrategy::summarize)
    j.update({{"summarizer", c.summarizer},
              {"summary_timeout", format_duration(c.summary_timeout)},
              {"summary_max_tokens", c.summary_max_tokens},
              {"on_summary_failure", c.summary_fallback_truncate ? "truncate" : "reject"}});
  return j;
}

nlohmann::json inject_json(const std::vector<Injection>& in) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& i : in)
    a.push_back({{"role", i.role == Injection::Role::system ? "system" : "user"},
                 {"position", i.position == Injection::Position::prepend ? "prepend" : "append"},
                 {"text", i.text}});
  return a;
}

nlohmann::json limits_json(const LlmLimits& l) {
  return {{"rpm", l.rpm}, {"tpm", l.tpm}};
}

}  // namespace

void llm_policy_route_json(const LlmRoute& r, nlohmann::json& j) {
  if (r.context) j["context"] = context_json(*r.context);
  if (r.sessions.enabled)
    j["sessions"] = {{"ttl", format_duration(r.sessions.ttl)},
                     {"max_messages", r.sessions.max_messages},
                     {"max_bytes", format_size(r.sessions.max_bytes)}};
  if (!r.inject.empty()) j["inject"] = inject_json(r.inject);
  j["limits"] = limits_json(r.limits);
  j["limits"]["reserve_output"] = r.reserve_output;
  j["limits"]["cut_streams"] = r.cut_streams;
  j["require_key"] = r.require_key;
}

void llm_policy_model_json(const ModelAlias& m, nlohmann::json& j) {
  if (m.context) j["context"] = context_json(*m.context);
  if (!m.inject.empty()) j["inject"] = inject_json(m.inject);
  if (m.limits.rpm || m.limits.tpm) j["limits"] = limits_json(m.limits);
}

void llm_policy_json(const Config& c, nlohmann::json& out) {
  out["store"] = {{"kind", c.store.kind == Store::Kind::sqlite ? "sqlite" : "memory"}};
  if (!c.store.path.empty()) out["store"]["path"] = c.store.path;
  if (c.keys.empty()) return;
  out["keys"] = nlohmann::json::array();
  for (const auto& k : c.keys) {
    // The hash is not the key, but it is still an identifier worth keeping short in output.
    nlohmann::json j = {{"name", k.name},
                        {"sha256_prefix", k.sha256.substr(0, 8)},
                        {"models", k.models},
                        {"metadata", k.metadata},
                        {"limits", limits_json(k.limits)}};
    if (k.budget_daily_usd > 0 || k.budget_monthly_usd > 0)
      j["budget"] = {{"daily_usd", k.budget_daily_usd}, {"monthly_usd", k.budget_monthly_usd}};
    if (!k.inject.empty()) j["inject"] = inject_json(k.inject);
    out["keys"].push_back(std::move(j));
  }
}

}  // namespace sluice::config::detail
