// Which names each kind of target provides, the check of a condition's names before any probe
// runs, and the evaluation of conditions against a result.
#include "sluice/probe/conditions.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "expr/diagnostics.hpp"
#include "kind_bits.hpp"
#include "sluice/core/expr/ast.hpp"

namespace sluice::probe {
namespace {

using detail::kAll;
using detail::kDns;
using detail::kGrpc;
using detail::kHttp;
using detail::kTcp;
using detail::kWeb;
constexpr auto bit = detail::kind_bit;

struct NameSpec {
  std::string_view name;
  unsigned kinds;
};

// clang-format off
constexpr NameSpec kNames[] = {
    {"status", kWeb},          {"latency", kAll},          {"ttfb", kWeb | kTcp},
    {"dns", kAll},             {"connect", kWeb | kTcp},   {"tls", kWeb},
    {"body", kWeb},            {"body.size", kWeb},        {"redirects", kWeb},
    {"url", kWeb},             {"http.version", kWeb},     {"tls.version", kWeb},
    {"tls.cipher", kWeb},      {"cert.expires_in", kWeb},  {"cert.subject", kWeb},
    {"cert.issuer", kWeb},     {"grpc.status", kGrpc},     {"grpc.code", kGrpc},
    {"grpc.message", kGrpc},   {"SERVING", kGrpc},         {"NOT_SERVING", kGrpc},
    {"UNKNOWN", kGrpc},        {"SERVICE_UNKNOWN", kGrpc}, {"connected", kTcp},
    {"received", kTcp},        {"received.size", kTcp},    {"resolved", kDns},
    {"dns.addresses", kDns},   {"dns.count", kDns},
};
// clang-format on
constexpr NameSpec kPrefixes[] = {{"header.", kWeb}, {"json.", kWeb}};
constexpr NameSpec kFunctions[] = {{"header", kWeb}, {"json", kWeb}};

std::string kinds_text(unsigned kinds) {
  std::vector<std::string> out;
  for (auto k : {Kind::http, Kind::tcp, Kind::grpc, Kind::dns})
    if (kinds & bit(k)) out.emplace_back(to_string(k));
  if (out.size() == 1) return out.front();
  return fmt::format("{} and {}", fmt::join(out.begin(), out.end() - 1, ", "), out.back());
}

template <std::size_t N>
const NameSpec* find(const NameSpec (&table)[N], std::string_view name) {
  for (const auto& s : table)
    if (s.name == name) return &s;
  return nullptr;
}

Error located(std::string_view src, std::size_t pos, std::string_view message) {
  return expr::located_error(src, pos, message, ErrorKind::usage);
}

Error not_for(std::string_view src, const expr::Node& n, std::string_view what, unsigned kinds,
              Kind kind) {
  return located(src, n.begin,
                 fmt::format("{} is for {} targets, and this is a {} target", what,
                             kinds_text(kinds), to_string(kind)));
}

Result<void> check_name(const expr::Node& n, std::string_view src, Kind kind) {
  if (const auto* spec = find(kNames, n.name)) {
    if (spec->kinds & bit(kind)) return {};
    return not_for(src, n, fmt::format("\"{}\"", n.name), spec->kinds, kind);
  }
  for (const auto& p : kPrefixes) {
    if (!n.name.starts_with(p.name) || n.name.size() == p.name.size()) continue;
    if (p.kinds & bit(kind)) return {};
    return not_for(src, n, fmt::format("\"{}\"", n.name), p.kinds, kind);
  }
  if (find(kFunctions, n.name))
    return located(src, n.begin,
                   fmt::format("\"{0}\" is a function (hint: {0}(\"...\") or {0}.NAME)", n.name));
  return located(src, n.begin, expr::unknown_name(n.name, names_for(kind)).message);
}

Result<void> check_node(const expr::Node& n, std::string_view src, Kind kind) {
  switch (n.kind) {
    case expr::NodeKind::name:
      if (auto r = check_name(n, src, kind); !r) return r;
      break;
    case expr::NodeKind::call: {
      const auto* spec = find(kFunctions, n.name);
      if (!spec) {
        std::vector<std::string> known;
        for (const auto& f : kFunctions)
          if (f.kinds & bit(kind)) known.emplace_back(f.name);
        return located(src, n.begin, expr::unknown_function(n.name, known).message);
      }
      if (!(spec->kinds & bit(kind)))
        return not_for(src, n, fmt::format("{}()", n.name), spec->kinds, kind);
      if (n.children.size() != 1 || !n.kwargs.empty())
        return located(src, n.begin,
                       fmt::format("{0}() takes one argument (hint: {0}(\"{1}\"))", n.name,
                                   n.name == "header" ? "content-type" : "status"));
      break;
    }
    case expr::NodeKind::method:
      return located(
          src, n.op_pos,
          fmt::format("probe values have no methods, so .{}(...) does not apply", n.name));
    default:
      break;
  }
  for (const auto& c : n.children)
    if (auto r = check_node(*c, src, kind); !r) return r;
  for (const auto& kv : n.kwargs)
    if (auto r = check_node(*kv.second, src, kind); !r) return r;
  return {};
}

std::string indent(std::string_view text) {
  std::string out;
  while (!text.empty()) {
    auto nl = text.find('\n');
    out += "    ";
    out += text.substr(0, nl);
    if (nl == std::string_view::npos) break;
    out += '\n';
    text.remove_prefix(nl + 1);
  }
  return out;
}

}  // namespace

std::string default_condition(Kind kind) {
  switch (kind) {
    case Kind::http:
      return "status in 200..299";
    case Kind::tcp:
      return "connected";
    case Kind::grpc:
      return "grpc.status == SERVING";
    case Kind::dns:
      return "resolved";
  }
  return "status in 200..299";
}

std::vector<std::string> names_for(Kind kind) {
  std::vector<std::string> out;
  for (const auto& s : kNames)
    if (s.kinds & bit(kind)) out.emplace_back(s.name);
  if (bit(kind) & kWeb) {
    out.emplace_back("header.NAME");
    out.emplace_back("json.PATH");
  }
  return out;
}

Result<Condition> compile_condition(std::string_view text, Kind kind, std::string origin) {
  auto parsed = expr::parse(text);
  if (!parsed) {
    auto e = parsed.take_error();
    e.kind = ErrorKind::usage;
    return e;
  }
  if (auto r = check_node(parsed->root(), text, kind); !r) return r.take_error();
  return Condition{std::string(text), std::move(*parsed), std::move(origin)};
}

Result<void> build_conditions(Target& t, const std::vector<ConditionText>& texts) {
  t.conditions.clear();
  auto add = [&](const std::string& text, const std::string& origin) -> Result<void> {
    auto c = compile_condition(text, t.kind, origin);
    if (!c)
      return make_error(ErrorKind::usage, ErrorSource::downstream,
                        fmt::format("{}: invalid condition for {}:\n{}", origin, t.name,
                                    indent(c.error().message)));
    t.conditions.push_back(std::move(*c));
    return {};
  };
  if (texts.empty()) {
    if (auto r = add(default_condition(t.kind), "default"); !r) return r;
  }
  for (const auto& c : texts)
    if (auto r = add(c.text, c.origin); !r) return r;
  if (t.kind == Kind::tcp && !t.options.receive.empty())
    if (auto r = add("received ~ " + expr::quote(t.options.receive), "receive"); !r) return r;
  return {};
}

std::vector<ConditionResult> evaluate_conditions(const Target& t, const ProbeResult& r,
                                                 std::chrono::system_clock::time_point now) {
  ProbeScope scope(t.kind, r, now);
  ProbeScope shown(t.kind, r, now, Redaction::on);
  std::vector<ConditionResult> out;
  for (const auto& c : t.conditions) {
    ConditionResult cr{c.source, c.origin, false, {}};
    auto holds = expr::holds(c.expr, scope);
    if (holds.ok() && *holds) {
      cr.passed = true;
    } else if (holds.ok()) {
      cr.message = expr::explain(c.expr, shown);
    } else {
      // The same error, with sensitive values redacted.
      auto again = expr::holds(c.expr, shown);
      cr.message = again.ok() ? holds.error().message : again.error().message;
    }
    out.push_back(std::move(cr));
  }
  return out;
}

}  // namespace sluice::probe
