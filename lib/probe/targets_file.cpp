// The targets file, read with the config loader's TableReader so that its errors look exactly
// like those of sluice.toml: positions, "did you mean", inline secrets refused.
#include "sluice/probe/targets_file.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "config/reader.hpp"
#include "kind_bits.hpp"

namespace sluice::probe {
namespace {

using config::detail::Problems;
using config::detail::TableReader;

using detail::kGrpc;
using detail::kHttp;
using detail::kTcp;
constexpr auto bit = detail::kind_bit;

constexpr std::string_view kOptionKeys[] = {"timeout",
                                            "connect_timeout",
                                            "method",
                                            "headers",
                                            "header_env",
                                            "body",
                                            "follow_redirects",
                                            "max_redirects",
                                            "http_version",
                                            "ca_file",
                                            "cert_file",
                                            "key_file",
                                            "key_password_env",
                                            "key_password_file",
                                            "sni",
                                            "insecure",
                                            "service",
                                            "send",
                                            "receive",
                                            "expect"};

// Keys that make sense for some kinds only; on a [[targets]] entry of another kind they are an
// error rather than silently ignored.
struct KeyKinds {
  std::string_view key;
  unsigned kinds;
};
constexpr KeyKinds kKindKeys[] = {{"method", kHttp},
                                  {"body", kHttp},
                                  {"follow_redirects", kHttp},
                                  {"max_redirects", kHttp},
                                  {"http_version", kHttp},
                                  {"headers", kHttp | kGrpc},
                                  {"header_env", kHttp | kGrpc},
                                  {"ca_file", kHttp | kGrpc},
                                  {"cert_file", kHttp | kGrpc},
                                  {"key_file", kHttp | kGrpc},
                                  {"key_password_env", kHttp | kGrpc},
                                  {"key_password_file", kHttp | kGrpc},
                                  {"sni", kHttp | kGrpc},
                                  {"insecure", kHttp | kGrpc},
                                  {"service", kGrpc},
                                  {"send", kTcp},
                                  {"receive", kTcp},
                                  {"connect_timeout", kHttp | kTcp | kGrpc}};

std::vector<std::string_view> keys_for(bool target) {
  std::vector<std::string_view> out(std::begin(kOptionKeys), std::end(kOptionKeys));
  if (target) {
    out.insert(out.begin(), "name");
    out.insert(out.begin(), "url");
  }
  return out;
}

// A condition as written in the file, with where it was written.
struct FileCondition {
  ConditionText text;
  std::optional<toml::source_position> at;
  std::string path;
};

struct Settings {
  RequestOptions options;
  std::optional<std::vector<FileCondition>> expect;
};

void set_header(Headers& headers, const std::string& name, const std::string& value) {
  auto same = [&](const auto& h) {
    if (h.first.size() != name.size()) return false;
    for (std::size_t i = 0; i < name.size(); ++i)
      if (std::tolower(static_cast<unsigned char>(h.first[i])) !=
          std::tolower(static_cast<unsigned char>(name[i])))
        return false;
    return true;
  };
  for (auto& h : headers)
    if (same(h)) {
      h.second = value;
      return;
    }
  headers.emplace_back(name, value);
}

bool read_path(const TableReader& r, std::string_view key, std::string& out,
               std::string_view example) {
  std::string path;
  if (!r.string(key, path, example)) return false;
  if (auto why = config::detail::unreadable(path)) {
    r.fail(key, fmt::format("cannot read \"{}\": {}", path, *why),
           "check the path and the file's permissions; a relative path starts from the working "
           "directory");
    return false;
  }
  out = std::move(path);
  return true;
}

std::string where(const Problems& p, const toml::source_position& at) {
  return fmt::format("{}:{}:{}", p.file(), at.line, at.column);
}

void read_headers(const TableReader& r, RequestOptions& o) {
  Problems& p = r.problems();
  if (const toml::table* t = r.table("headers")) {
    for (auto&& [k, v] : *t) {
      std::string name(k.str());
      std::string path =
          fmt::format("{}.{}", r.path_of("headers"), config::detail::key_segment(name));
      auto s = v.as_string();
      if (!s) {
        p.add(v.source().begin, path,
              fmt::format("expected a string, got {}", config::detail::type_phrase(v)),
              "e.g. headers = { Accept = \"application/json\" }");
        continue;
      }
      if (is_sensitive_header(name)) {
        p.add(k.source().begin, path, "secrets are never written inline",
              fmt::format("use header_env = {{ {} = \"VARIABLE\" }}, naming an environment "
                          "variable that holds the value",
                          config::detail::key_segment(name)));
        continue;
      }
      auto h = parse_header(name + ": " + s->get());
      if (!h) {
        p.add_body(k.source().begin, path, h.error().message);
        continue;
      }
      set_header(o.headers, h->first, h->second);
    }
  }
  if (const toml::table* t = r.table("header_env")) {
    for (auto&& [k, v] : *t) {
      std::string name(k.str());
      std::string path =
          fmt::format("{}.{}", r.path_of("header_env"), config::detail::key_segment(name));
      auto s = v.as_string();
      if (!s) {
        p.add(v.source().begin, path,
              fmt::format("expected the name of an environment variable, got {}",
                          config::detail::type_phrase(v)),
              fmt::format("e.g. header_env = {{ {} = \"API_TOKEN\" }}",
                          config::detail::key_segment(name)));
        continue;
      }
      const char* value = std::getenv(s->get().c_str());
      if (!value) {
        p.add(v.source().begin, path,
              fmt::format("the environment variable {} is not set", s->get()),
              "export it before running sluice probe, or remove the header");
        continue;
      }
      auto h = parse_header(name + ": " + value);
      if (!h) {
        // The message would not show the value, but keep it generic all the same.
        p.add(v.source().begin, path,
              fmt::format("the value of {} is not a valid header value", s->get()),
              "a header value is one line of text");
        continue;
      }
      set_header(o.headers, h->first, h->second);
    }
  }
}

void read_secrets(const TableReader& r, RequestOptions& o) {
  std::string var;
  if (r.string("key_password_env", var, "PROBE_KEY_PASSWORD")) {
    if (const char* value = std::getenv(var.c_str()))
      o.tls.key_password = value;
    else
      r.fail("key_password_env", fmt::format("the environment variable {} is not set", var),
             "export it before running sluice probe");
  }
  std::string file;
  if (read_path(r, "key_password_file", file, "/run/secrets/key-password")) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    std::string pw = text.str();
    while (!pw.empty() && (pw.back() == '\n' || pw.back() == '\r')) pw.pop_back();
    o.tls.key_password = std::move(pw);
  }
}

void read_expect(const TableReader& r, Settings& out) {
  const toml::node* n = r.find("expect");
  if (!n) return;
  Problems& p = r.problems();
  std::vector<FileCondition> list;
  auto add = [&](const toml::node& item, std::string path) {
    auto s = item.as_string();
    if (!s) {
      p.add(item.source().begin, path,
            fmt::format("expected a condition string, got {}", config::detail::type_phrase(item)),
            "e.g. expect = [\"status == 200\", \"latency < 300ms\"]");
      return;
    }
    const auto& at = item.source().begin;
    list.push_back({{s->get(), fmt::format("{}: {}", where(p, at), path)}, at, path});
  };
  if (const toml::array* arr = n->as_array()) {
    for (std::size_t i = 0; i < arr->size(); ++i)
      add(*arr->get(i), fmt::format("{}[{}]", r.path_of("expect"), i));
  } else {
    add(*n, r.path_of("expect"));
  }
  out.expect = std::move(list);
}

void read_settings(const TableReader& r, Settings& out) {
  RequestOptions& o = out.options;
  Duration d = o.timeout.value_or(std::chrono::seconds(5));
  if (r.duration("timeout", d)) o.timeout = d;
  d = o.connect_timeout.value_or(std::chrono::seconds(5));
  if (r.duration("connect_timeout", d)) o.connect_timeout = d;
  std::string s;
  if (r.string("method", s, "GET")) {
    for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    bool token = !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
      return std::isupper(static_cast<unsigned char>(c)) || c == '-' || c == '_';
    });
    if (token)
      o.method = s;
    else
      r.fail("method", fmt::format("\"{}\" is not an HTTP method", s),
             "e.g. method = \"GET\", \"HEAD\" or \"POST\"");
  }
  read_headers(r, o);
  if (r.string("body", s, "{}")) o.body = s;
  r.boolean("follow_redirects", o.follow_redirects);
  r.integer("max_redirects", o.max_redirects, 0, 50);
  if (r.string("http_version", s, "2")) {
    auto v = parse_http_version(s);
    if (v)
      o.http_version = *v;
    else
      r.fail_body("http_version", v.error().message);
  }
  read_path(r, "ca_file", o.tls.ca_file, "/etc/ssl/certs/ca.pem");
  read_path(r, "cert_file", o.tls.cert_file, "/etc/sluice/client.pem");
  read_path(r, "key_file", o.tls.key_file, "/etc/sluice/client.key");
  read_secrets(r, o);
  if (r.string("sni", s, "api.example.com")) o.tls.sni = s;
  r.boolean("insecure", o.tls.insecure);
  if (r.string("service", s, "my.package.Service")) o.service = s;
  if (r.string("send", s, "PING\\r\\n")) o.send = s;
  if (r.string("receive", s, "^\\\\+PONG")) o.receive = s;
  read_expect(r, out);
}

std::optional<Target> read_target(const toml::table& table, std::size_t i, const Settings& defaults,
                                  const std::vector<ConditionText>& base_expect, Problems& p) {
  TableReader r(table, fmt::format("targets[{}]", i), "in [[targets]]", keys_for(true), p);
  Settings s = defaults;
  read_settings(r, s);
  std::string url;
  if (!r.has("url")) {
    r.missing("url", "add url = \"http://127.0.0.1:8080/health\" (or tcp://, grpc://, dns://)");
    return std::nullopt;
  }
  if (!r.string("url", url, "http://127.0.0.1:8080/health")) return std::nullopt;
  auto t = parse_target(url);
  if (!t) {
    r.fail_body("url", t.error().message);
    return std::nullopt;
  }
  std::string name;
  if (r.string("name", name, "api")) {
    if (name.empty())
      r.fail("name", "is empty", "give the target a name for the reports, or remove the key");
    else
      t->name = name;
  }
  t->options = s.options;
  t->origin = where(p, r.where());
  bool ok = true;
  for (const auto& kk : kKindKeys) {
    if (!r.has(kk.key) || (kk.kinds & bit(t->kind))) continue;
    r.fail(kk.key, fmt::format("{} does not apply to {} targets", kk.key, to_string(t->kind)),
           "remove it from this target");
    ok = false;
  }
  std::vector<ConditionText> texts;
  if (s.expect) {
    for (const auto& fc : *s.expect) {
      auto c = compile_condition(fc.text.text, t->kind, fc.text.origin);
      if (!c) {
        // Reported where the condition is written, for this target.
        p.add_body(*fc.at, fc.path,
                   fmt::format("invalid condition for {} (hint: see sluice-expressions(7)):\n{}",
                               t->name, c.error().message));
        ok = false;
      }
      texts.push_back(fc.text);
    }
  } else {
    for (const auto& ct : base_expect) {
      auto c = compile_condition(ct.text, t->kind, ct.origin);
      if (!c) {
        p.add_body(r.where(), r.path(),
                   fmt::format("{} \"{}\" does not apply to this {} target:\n{}", ct.origin,
                               ct.text, to_string(t->kind), c.error().message));
        ok = false;
      }
    }
    texts = base_expect;
  }
  if (!ok) return std::nullopt;
  if (auto built = build_conditions(*t, texts); !built) {
    r.fail_body(r.has("receive") ? "receive" : "url", built.error().message);
    return std::nullopt;
  }
  return std::move(*t);
}

}  // namespace

Result<std::vector<Target>> load_targets_string(std::string_view toml_text,
                                                std::string_view source_name,
                                                const RequestOptions& base,
                                                const std::vector<ConditionText>& base_expect) {
  toml::table doc;
  try {
    doc = toml::parse(toml_text, std::string(source_name));
  } catch (const toml::parse_error& e) {
    const auto& at = e.source().begin;
    return make_error(ErrorKind::config, ErrorSource::internal,
                      fmt::format("{}:{}:{}: {} (hint: fix the TOML syntax here: strings need "
                                  "double quotes, and each target is a [[targets]] table)",
                                  source_name, at.line, at.column, e.description()));
  }
  Problems p{std::string(source_name)};
  TableReader root(doc, "", "at the top level", {"defaults", "targets"}, p);
  Settings defaults{base, std::nullopt};
  if (const toml::table* t = root.table("defaults")) {
    TableReader r(*t, "defaults", "in [defaults]", keys_for(false), p);
    read_settings(r, defaults);
  }
  std::vector<Target> targets;
  const toml::array* list = root.array_of_tables("targets");
  if (!list && !root.has("targets"))
    p.add(doc.source().begin, "targets", "no targets",
          "add a [[targets]] table with url = \"http://127.0.0.1:8080/health\"");
  if (list) {
    if (list->empty())
      root.fail("targets", "is empty", "add a [[targets]] table with url = \"...\"");
    for (std::size_t i = 0; i < list->size(); ++i)
      if (auto t = read_target(*list->get(i)->as_table(), i, defaults, base_expect, p))
        targets.push_back(std::move(*t));
  }
  if (!p.empty()) return p.error();
  return targets;
}

Result<std::vector<Target>> load_targets_file(const std::string& path, const RequestOptions& base,
                                              const std::vector<ConditionText>& base_expect) {
  if (auto why = config::detail::unreadable(path))
    return make_error(
        ErrorKind::config, ErrorSource::internal,
        fmt::format("{}: cannot read the targets file: {} (hint: check the path)", path, *why));
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return load_targets_string(text.str(), path, base, base_expect);
}

}  // namespace sluice::probe
