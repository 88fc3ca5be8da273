#include "scenario_parts.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <toml++/toml.h>

namespace sluice::chaos::detail {

using config::detail::closest;
using config::detail::TableReader;
using config::detail::type_phrase;

bool valid_token(std::string_view s) {
  static constexpr std::string_view extra = "!#$%&'*+-.^_`|~";
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || extra.find(c) != std::string_view::npos;
  });
}

void read_headers(const TableReader& q, std::vector<std::pair<std::string, std::string>>& out) {
  const toml::table* h = q.table("headers");
  if (!h) return;
  for (auto&& [k, v] : *h) {
    std::string path =
        fmt::format("{}.{}", q.path_of("headers"), config::detail::key_segment(k.str()));
    if (!valid_token(k.str())) {
      q.problems().add(k.source().begin, path,
                       fmt::format("\"{}\" is not a valid header name", k.str()),
                       "use letters, digits and '-', e.g. headers = { \"x-test\" = \"1\" }");
    } else if (auto s = v.as_string()) {
      out.emplace_back(std::string(k.str()), s->get());
    } else {
      q.problems().add(v.source().begin, path,
                       fmt::format("expected a string, got {}", type_phrase(v)),
                       fmt::format("write the value in quotes, e.g. \"{}\" = \"1\"", k.str()));
    }
  }
}

namespace {

void read_body_file(const TableReader& q, const std::string& base_dir, MockRouteSpec& spec) {
  namespace fs = std::filesystem;
  std::string file;
  if (!q.string("body_file", file, "fixtures/reply.json")) return;
  fs::path resolved(file);
  if (resolved.is_relative() && !base_dir.empty()) resolved = fs::path(base_dir) / resolved;
  std::string path = resolved.lexically_normal().string();
  if (auto why = config::detail::unreadable(path)) {
    q.fail("body_file", fmt::format("cannot read \"{}\": {}", path, *why),
           "check the path; a relative path starts from the scenario file's directory");
    return;
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  spec.body = text.str();
}

void read_route(const toml::table& t, const std::string& path, const std::string& base_dir,
                config::detail::Problems& problems, std::vector<MockRouteSpec>& out) {
  TableReader q(t, path, "in [[mocks.routes]]",
                {"method", "path", "status", "headers", "body", "body_file", "echo"}, problems);
  MockRouteSpec spec;
  if (q.string("method", spec.method, "GET") && !valid_token(spec.method))
    q.fail("method", fmt::format("\"{}\" is not a valid method", spec.method),
           "e.g. method = \"POST\", or leave method out to match any method");
  if (q.string("path", spec.path, "/v1/users*") && spec.path != "*" &&
      (!spec.path.starts_with("/") || spec.path.find_first_of(" \t\r\n?") != std::string::npos))
    q.fail("path", fmt::format("\"{}\" is not a route path", spec.path),
           "start it with '/', end it with '*' to match a prefix (\"/v1/*\"), or use \"*\" for "
           "every path; the query string is not matched");
  q.integer("status", spec.status, 100, 599);
  read_headers(q, spec.headers);
  const int bodies = int(q.has("body")) + int(q.has("body_file")) + int(q.has("echo"));
  if (bodies > 1) {
    std::string_view later = q.has("echo") ? "echo" : "body_file";
    q.fail(later, "body, body_file and echo are alternatives",
           "keep one: body = \"...\", body_file = \"reply.json\", or echo = true");
  }
  q.string("body", spec.body, "{\"ok\":true}");
  read_body_file(q, base_dir, spec);
  q.boolean("echo", spec.echo);
  out.push_back(std::move(spec));
}

}  // namespace

void read_mock_routes(const TableReader& mock, const std::string& base_dir,
                      std::vector<MockRouteSpec>& out) {
  const toml::node* n = mock.find("routes");
  if (!n) return;
  if (auto s = n->as_string()) {
    if (s->get() == "demo") return;
    static const std::vector<std::string_view> sets = {"demo"};
    auto near = closest(s->get(), sets);
    mock.fail("routes", fmt::format("unknown route set \"{}\"", s->get()),
              near ? fmt::format("did you mean \"{}\"?", *near)
                   : std::string("use routes = \"demo\" (the built-in demo routes), or "
                                 "[[mocks.routes]] tables"));
    return;
  }
  const toml::array* arr = n->as_array();
  if (!arr || !arr->is_array_of_tables()) {
    mock.fail("routes",
              fmt::format("expected \"demo\" or [[mocks.routes]] tables, got {}", type_phrase(*n)),
              "write [[mocks.routes]] with path and status, e.g. path = \"/health\"");
    return;
  }
  for (std::size_t i = 0; i < arr->size(); ++i)
    read_route(*arr->get(i)->as_table(), fmt::format("{}[{}]", mock.path_of("routes"), i), base_dir,
               mock.problems(), out);
}

void read_mock_llm(const TableReader& mock, std::optional<LlmMockSpec>& out) {
  const toml::table* t = mock.table("llm");
  if (!t) return;
  TableReader r(*t, mock.path_of("llm"), "in [mocks.llm]",
                {"provider", "context_window", "replies", "tool_call", "chunk_chars", "chunk_delay",
                 "models"},
                mock.problems());
  LlmMockSpec spec;
  std::string provider;
  if (!r.has("provider")) {
    r.missing("provider",
              "say which API the mock speaks: provider = \"openai\", "
              "\"anthropic\" or \"gemini\"");
  } else if (r.string("provider", provider, "openai")) {
    if (auto p = llm_provider_named(provider)) {
      spec.provider = *p;
    } else {
      static const std::vector<std::string_view> names = {"openai", "anthropic", "gemini"};
      auto near = closest(provider, names);
      r.fail("provider", fmt::format("unknown provider \"{}\"", provider),
             near ? fmt::format("did you mean \"{}\"?", *near)
                  : std::string("use \"openai\", \"anthropic\" or \"gemini\""));
    }
  }
  std::int64_t window = kDefaultContextWindow;
  if (r.integer("context_window", window, 1, 100'000'000)) spec.context_window = window;
  std::vector<const toml::value<std::string>*> replies;
  if (r.strings("replies", replies, "\"Hello!\""))
    for (const auto* v : replies) spec.replies.push_back(v->get());
  if (const toml::table* tc = r.table("tool_call")) {
    TableReader q(*tc, r.path_of("tool_call"), "in tool_call", {"name", "arguments"},
                  mock.problems());
    LlmToolCall call;
    if (!q.has("name")) q.missing("name", "name the function, e.g. name = \"get_weather\"");
    q.string("name", call.name, "get_weather");
    if (q.string("arguments", call.arguments, "{\"city\": \"Paris\"}")) {
      auto j = nlohmann::json::parse(call.arguments, nullptr, false);
      if (j.is_discarded() || !j.is_object())
        q.fail("arguments", "is not a JSON object",
               "write the arguments as JSON text, e.g. arguments = '{\"city\": \"Paris\"}'");
    }
    spec.tool_call = std::move(call);
  }
  r.integer("chunk_chars", spec.chunk_chars, 1, 1'000'000);
  r.duration("chunk_delay", spec.chunk_delay, true);
  std::vector<const toml::value<std::string>*> models;
  if (r.strings("models", models, "\"gpt-4o-mini\""))
    for (const auto* v : models) spec.models.push_back(v->get());
  out = std::move(spec);
}

void read_slowloris(const TableReader& phase, std::optional<Slowloris>& out) {
  const toml::table* t = phase.table("slowloris");
  if (!t) return;
  TableReader r(*t, phase.path_of("slowloris"), "in phases.slowloris",
                {"connections", "interval", "bytes"}, phase.problems());
  Slowloris s;
  r.integer("connections", s.connections, 1, 10000);
  r.duration("interval", s.interval);
  r.integer("bytes", s.bytes, 1, 65536);
  out = s;
}

}  // namespace sluice::chaos::detail

namespace sluice::chaos {

std::vector<MockRoute> routes_of(const ScenarioMock& m) {
  if (m.llm) return llm_mock_routes(m.name, *m.llm);
  return routes_from_specs(m.name, m.routes);
}

}  // namespace sluice::chaos
