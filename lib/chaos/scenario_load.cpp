// Scenario files into chaos::Scenario: every table is read with the config loader's TableReader,
// faults and toxics go through their JSON parsers, assertions through expr::parse, and names are
// cross-checked at the end; all problems are reported together, in file order.
#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include "config/reader.hpp"
#include "scenario_parts.hpp"
#include "scenario_text.hpp"
#include "sluice/chaos/scenario.hpp"
#include "sluice/core/config/load.hpp"

namespace sluice::chaos {
namespace {

using config::detail::closest;
using config::detail::Problems;
using config::detail::quoted_list;
using config::detail::TableReader;
using config::detail::type_phrase;
using detail::offset_of;
using detail::scan_placeholders;
using detail::SourceText;
using detail::toml_to_json;
using detail::valid_token;
using StringNode = toml::value<std::string>;

constexpr std::string_view kFaultTypes =
    "latency, status, reset, hang, bandwidth, dribble, truncated_sse, stream_cut, malformed_sse, "
    "malformed_json, empty_response";

Error scenario_error(std::string message) {
  return make_error(ErrorKind::config, ErrorSource::internal, std::move(message));
}

// "what (hint: how)", keeping a hint the message already carries.
std::string with_hint(std::string_view what, std::string_view hint) {
  if (what.find("(hint: ") != std::string_view::npos) return std::string(what);
  return fmt::format("{} (hint: {})", what, hint);
}

// Mock and proxy names are written inside ${mock.NAME}, so they stay plain.
bool valid_ident(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
}

// ---- the loader

struct Named {
  std::string name;
  toml::source_position at;
  std::string path;
};

enum class RefKind { mock, proxy, phase };

struct Reference {
  RefKind kind;
  std::string name;
  toml::source_position at;
  std::string path;
  std::string context;  // appended to "no mock named ..." when the text is not in the scenario
};

struct Removal {
  std::string proxy;
  const StringNode* name;
  std::string path;
};

class Loader {
 public:
  Loader(const SourceText& src, Problems& p, Scenario& s, std::string base_dir, ScenarioUse use)
      : src_(src), p_(p), s_(s), base_dir_(std::move(base_dir)), use_(use) {}

  void read(const toml::table& doc) {
    TableReader root(
        doc, "", "at the top level",
        {"name", "seed", "timeout", "mocks", "proxies", "gateway", "phases", "assertions"}, p_);
    if (require(root, "name",
                "add name = \"...\", a sentence saying what the drill checks, at the top"))
      if (root.string("name", s_.name, "an upstream that hangs gets 504") && s_.name.empty())
        root.fail("name", "is empty",
                  "say what the drill checks, e.g. name = \"an upstream that hangs gets 504\"");
    std::uint64_t seed = 7;
    if (root.integer("seed", seed, 0, std::numeric_limits<std::int64_t>::max())) s_.seed = seed;
    root.duration("timeout", s_.timeout);

    each(root, "mocks", [&](const toml::table& t, std::size_t i) { read_mock(t, i); });
    each(root, "proxies", [&](const toml::table& t, std::size_t i) { read_proxy(t, i); });
    if (auto g = root.table("gateway")) read_gateway(*g);
    has_gateway_ = doc.contains("gateway");
    each(root, "phases", [&](const toml::table& t, std::size_t i) { read_phase(t, i); });
    each(root, "assertions", [&](const toml::table& t, std::size_t i) { read_assertion(t, i); });

    if (use_ == ScenarioUse::drill) {
      at_least_one(root, "phases", "at least one phase is required",
                   "add a [[phases]] section with name and duration, e.g. duration = \"2s\"");
      at_least_one(root, "assertions", "at least one assertion is required",
                   "add an [[assertions]] section, e.g. expect = \"client.errors == 0\"");
    }

    check_unique(mocks_, "mock");
    check_unique(proxies_, "proxy");
    check_unique(phases_, "phase");
    check_references();
    check_removals();
    check_total(root);
  }

 private:
  // ---- generic pieces

  template <class F>
  void each(const TableReader& r, std::string_view key, F read) {
    if (auto arr = r.array_of_tables(key))
      for (std::size_t i = 0; i < arr->size(); ++i) read(*arr->get(i)->as_table(), i);
  }

  static toml::source_position pos_of(const TableReader& r, std::string_view key) {
    const toml::node* n = r.find(key);
    return n ? n->source().begin : r.where();
  }

  static bool require(const TableReader& r, std::string_view key, std::string_view hint) {
    if (r.has(key)) return true;
    r.missing(key, hint);
    return false;
  }

  static bool before(const toml::source_position& a, const toml::source_position& b) {
    return a.line != b.line ? a.line < b.line : a.column < b.column;
  }

  void at_least_one(const TableReader& root, std::string_view key, std::string_view what,
                    std::string_view hint) {
    const toml::array* arr = root.table()[key].as_array();
    if (root.has(key) && (!arr || !arr->empty())) return;
    toml::source_position at = pos_of(root, key);
    if (at.line == 0) at = {1, 1};
    p_.add(at, key, what, hint);
  }

  // Reads a mock or proxy name: required, plain, recorded for the uniqueness check.
  bool read_ident(const TableReader& r, std::string& out, std::string_view kind,
                  std::string_view example, std::vector<Named>& defined) {
    if (!require(r, "name",
                 fmt::format("every {0} needs a unique name, e.g. name = \"{1}\"; it is "
                             "referenced as ${{{0}.{1}}}",
                             kind, example)))
      return false;
    if (!r.string("name", out, example)) return false;
    if (!valid_ident(out))
      r.fail("name", fmt::format("\"{}\" is not a valid {} name", out, kind),
             fmt::format("use letters, digits, '-' and '_', e.g. name = \"{}\"", example));
    defined.push_back({out, pos_of(r, "name"), r.path_of("name")});
    return true;
  }

  void reference(RefKind kind, std::string name, toml::source_position at, std::string path,
                 std::string context = {}) {
    refs_.push_back({kind, std::move(name), at, std::move(path), std::move(context)});
  }

  // "mock.NAME" / "proxy.NAME" written as a string value: the name is checked later.
  void reference_in(const StringNode& n, std::string_view prefix, RefKind kind, std::string path) {
    std::string_view v = n.get();
    reference(kind, std::string(v.substr(prefix.size())), src_.locate(n, v, prefix.size()),
              std::move(path));
  }

  // Every ${...} in `text` must be ${mock.NAME} or ${proxy.NAME} of a declared mock or proxy.
  // `where` maps a byte offset of `text` to a position and a context for the message.
  void check_placeholders(
      std::string_view text, const std::string& path,
      const std::function<std::pair<toml::source_position, std::string>(std::size_t)>& where) {
    auto scan = scan_placeholders(text);
    for (const auto& ph : scan.pieces) {
      if (!ph.placeholder) continue;
      // References point at the name, as in "mock.NAME" values.
      std::size_t prefix = ph.text.starts_with("mock.") ? 5 : ph.text.starts_with("proxy.") ? 6 : 0;
      auto [at, context] = where(ph.begin + 2 + prefix);
      if (ph.text == "hosts_file") {
        if (!has_hosts_)
          p_.add(
              at, path,
              fmt::format("${{hosts_file}} is used but there is no hosts file{}", context),
              "add hosts = \"\"\"...\"\"\" to [gateway] (the runner writes it and substitutes its "
              "path)");
      } else if (prefix == 5) {
        std::string_view name = ph.text.substr(5);
        if (name.ends_with(".host") || name.ends_with(".port")) name.remove_suffix(5);
        reference(RefKind::mock, std::string(name), at, path, context);
      } else if (prefix == 6) {
        reference(RefKind::proxy, std::string(ph.text.substr(6)), at, path, context);
      } else {
        p_.add(at, path, fmt::format("unknown placeholder ${{{}}}{}", ph.text, context),
               "placeholders are ${mock.NAME}, ${mock.NAME.host}, ${mock.NAME.port}, "
               "${proxy.NAME} and ${hosts_file}; write $${ for a literal ${");
      }
    }
    if (scan.unterminated) {
      auto [at, context] = where(*scan.unterminated);
      p_.add(at, path, fmt::format("unterminated placeholder{}", context),
             "close it with '}', e.g. ${mock.a}; write $${ for a literal ${");
    }
  }

  // A fault_from_json or toxic_from_json message ("fault.match.path: what") as a scenario error
  // at the TOML position of that field.
  void report_json_error(const toml::table& t, const std::string& path, std::string_view message,
                         std::string_view prefix, std::string_view default_hint) {
    std::string_view rest = message;
    if (rest.starts_with(prefix)) rest.remove_prefix(prefix.size());
    std::string_view field;
    if (rest.starts_with(".")) {
      auto colon = rest.find(": ");
      field = rest.substr(1, colon == std::string_view::npos ? rest.size() : colon - 1);
      rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon + 2);
    } else if (rest.starts_with(": ")) {
      rest.remove_prefix(2);
    }
    // Walk down to the field: its value's position, or the nearest enclosing table's.
    const toml::node* n = &t;
    toml::source_position at = t.source().begin, key_at = at;
    std::string_view walk = field;
    while (!walk.empty()) {
      auto dot = walk.find('.');
      std::string_view seg = walk.substr(0, dot);
      walk = dot == std::string_view::npos ? std::string_view{} : walk.substr(dot + 1);
      const toml::table* tbl = n->as_table();
      if (!tbl) break;
      auto it = tbl->find(seg);
      if (it == tbl->end()) break;
      key_at = it->first.source().begin;
      n = &it->second;
      at = n->source().begin;
    }
    if (rest.starts_with("unknown key") || rest.starts_with("unknown field") ||
        rest.starts_with("unknown attribute"))
      at = key_at;
    std::string body;
    if (rest.starts_with("missing")) {
      std::string_view why = rest.substr(7);
      while (why.starts_with(" ")) why.remove_prefix(1);
      if (why.starts_with("(") && why.ends_with(")")) why = why.substr(1, why.size() - 2);
      if (why.starts_with("hint: ")) why.remove_prefix(6);
      body = fmt::format("required key is missing (hint: {})", why.empty() ? default_hint : why);
    } else if (rest.find("(hint: ") != std::string_view::npos) {
      body = std::string(rest);
    } else if (rest.ends_with(")") && rest.rfind(" (") != std::string_view::npos) {
      auto [what, hint] = config::detail::split_hint(rest);
      body = fmt::format("{} (hint: {})", what, hint);
    } else {
      body = fmt::format("{} (hint: {})", rest, default_hint);
    }
    p_.add_body(at, field.empty() ? path : fmt::format("{}.{}", path, field), body);
  }

  std::optional<Fault> read_fault(const toml::table& t, const std::string& path,
                                  std::string_view skip) {
    if (!t.contains("type")) {
      p_.add(t.source().begin, path + ".type", "required key is missing",
             fmt::format("add type = \"status\" (or another fault type: {})", kFaultTypes));
      return std::nullopt;
    }
    auto f = fault_from_json(toml_to_json(t, skip));
    if (f) return std::move(*f);
    report_json_error(t, path, f.error().message, "fault",
                      "see FAULTS in sluice-scenario(5) for the fields of each fault type");
    return std::nullopt;
  }

  std::optional<Toxic> read_toxic(const toml::table& t, const std::string& path,
                                  std::string_view skip) {
    if (!t.contains("type")) {
      p_.add(t.source().begin, path + ".type", "required key is missing",
             fmt::format("add type = \"latency\" (or another toxic type: {})",
                         fmt::join(toxic_types(), ", ")));
      return std::nullopt;
    }
    auto x = toxic_from_json(toml_to_json(t, skip));
    if (x) return std::move(*x);
    report_json_error(t, path, x.error().message, "toxic",
                      "see TOXICS in sluice-scenario(5) for the attributes of each toxic type");
    return std::nullopt;
  }

  // ---- [[mocks]]

  void read_mock(const toml::table& t, std::size_t i) {
    TableReader r(t, fmt::format("mocks[{}]", i), "in [[mocks]]",
                  {"name", "address", "port", "routes", "llm", "faults"}, p_);
    ScenarioMock m;
    m.pos = p_.pos(r.where());
    read_ident(r, m.name, "mock", "a", mocks_);
    read_mock_binding(r, m);
    if (r.has("routes") && r.has("llm"))
      r.fail("llm", "routes and llm are alternatives",
             "a mock LLM provider serves its own routes: drop routes, or drop [mocks.llm]");
    detail::read_mock_routes(r, base_dir_, m.routes);
    detail::read_mock_llm(r, m.llm);
    each(r, "faults", [&](const toml::table& ft, std::size_t k) {
      if (auto f = read_fault(ft, fmt::format("{}[{}]", r.path_of("faults"), k), {}))
        m.faults.push_back(std::move(*f));
    });
    s_.mocks.push_back(std::move(m));
  }

  // address = "127.0.0.N" and port = "mock.NAME": where a mock binds. Only loopback addresses,
  // and only the port of an earlier mock that has its own.
  void read_mock_binding(const TableReader& r, ScenarioMock& m) {
    std::string address;
    if (r.string("address", address, "127.0.0.2")) {
      in_addr a{};
      if (::inet_pton(AF_INET, address.c_str(), &a) != 1 || (ntohl(a.s_addr) >> 24) != 127)
        r.fail("address", fmt::format("\"{}\" is not an IPv4 loopback address", address),
               "use an address in 127.0.0.0/8, e.g. address = \"127.0.0.2\"");
      else
        m.address = address;
    }
    std::string port;
    if (!r.string("port", port, "mock.a")) return;
    std::string_view name = port;
    if (!name.starts_with("mock.")) {
      r.fail("port", fmt::format("\"{}\" is not \"mock.NAME\"", port),
             "share the port of an earlier mock, e.g. port = \"mock.a\"");
      return;
    }
    name.remove_prefix(5);
    auto it = std::find_if(s_.mocks.begin(), s_.mocks.end(),
                           [&](const ScenarioMock& o) { return o.name == name; });
    if (it == s_.mocks.end()) {
      r.fail("port", fmt::format("no earlier mock named \"{}\"", name),
             "name a mock declared above this one");
    } else if (!it->port_of.empty()) {
      r.fail("port", fmt::format("mock \"{}\" shares a port itself", name),
             fmt::format("name the mock that owns the port, port = \"mock.{}\"", it->port_of));
    } else if (it->address == m.address) {
      r.fail("port", fmt::format("mock \"{}\" is bound on {} already", name, m.address),
             "give this mock another loopback address, e.g. address = \"127.0.0.3\"");
    } else {
      m.port_of = std::string(name);
    }
  }

  // ---- [[proxies]]

  void read_proxy(const toml::table& t, std::size_t i) {
    TableReader r(t, fmt::format("proxies[{}]", i), "in [[proxies]]",
                  {"name", "upstream", "toxics"}, p_);
    ScenarioProxy x;
    x.pos = p_.pos(r.where());
    read_ident(r, x.name, "proxy", "slow", proxies_);
    std::string upstream;
    if (require(r, "upstream",
                "add upstream = \"mock.NAME\" (a mock of this scenario) or \"host:port\"") &&
        r.string("upstream", upstream, "mock.a")) {
      if (upstream.starts_with("mock.")) {
        x.upstream_mock = upstream.substr(5);
        reference_in(*r.find("upstream")->as_string(), "mock.", RefKind::mock,
                     r.path_of("upstream"));
      } else if (auto hp = config::parse_host_port(upstream);
                 hp && !hp->host.empty() && hp->port != 0) {
        x.upstream_address = upstream;
      } else {
        r.fail("upstream",
               fmt::format("\"{}\" is neither \"mock.NAME\" nor \"host:port\"", upstream),
               "e.g. upstream = \"mock.a\" or upstream = \"127.0.0.1:8080\"");
      }
    }
    std::vector<Named> names;
    each(r, "toxics", [&](const toml::table& tt, std::size_t k) {
      std::string path = fmt::format("{}[{}]", r.path_of("toxics"), k);
      auto toxic = read_toxic(tt, path, {});
      if (!toxic) return;
      const toml::node* n = tt.get("name");
      names.push_back({toxic->name, n ? n->source().begin : tt.source().begin, path + ".name"});
      toxic_names_[x.name].push_back(toxic->name);
      x.toxics.push_back(std::move(*toxic));
    });
    check_unique(names, fmt::format("toxic (on proxy \"{}\")", x.name));
    s_.proxies.push_back(std::move(x));
  }

  // ---- [gateway]

  void read_gateway(const toml::table& t) {
    TableReader r(t, "gateway", "in [gateway]", {"config", "file", "target", "hosts"}, p_);
    ScenarioGateway g;
    g.pos = p_.pos(r.where());
    std::string hosts;
    if (r.string("hosts", hosts, "${mock.a.host} svc.test")) {
      has_hosts_ = true;
      check_hosts_text(*r.find("hosts")->as_string(), r.path_of("hosts"));
      g.hosts = std::move(hosts);
    }
    std::optional<toml::table> parsed;
    if (r.has("config") && r.has("file")) {
      std::string_view later = before(pos_of(r, "config"), pos_of(r, "file")) ? "file" : "config";
      r.fail(later, "config and file are both set",
             "give the gateway config inline (config = \"\"\"...\"\"\") or as a file (file = "
             "\"gateway.toml\"), not both");
    } else if (!r.has("config") && !r.has("file")) {
      r.missing("config",
                "add config = \"\"\"...\"\"\" with the gateway's sluice.toml, or file = "
                "\"gateway.toml\"");
    } else if (r.string("config", g.config, "[[listeners]] ...")) {
      parsed = check_config_text(*r.find("config")->as_string(), r.path_of("config"));
    } else if (std::string file; r.string("file", file, "gateway.toml")) {
      parsed = read_gateway_file(r, file, g);
    }
    if (r.string("target", g.target, "main") && g.target.empty())
      r.fail("target", "is empty", "name the listener traffic goes to, e.g. target = \"main\"");
    else if (parsed)
      check_target(r, *parsed, g.target);
    s_.gateway = std::move(g);
  }

  std::optional<toml::table> read_gateway_file(const TableReader& r, const std::string& file,
                                               ScenarioGateway& g) {
    namespace fs = std::filesystem;
    fs::path resolved = fs::path(file);
    if (resolved.is_relative() && !base_dir_.empty()) resolved = fs::path(base_dir_) / resolved;
    g.file = resolved.lexically_normal().string();
    if (auto why = config::detail::unreadable(g.file)) {
      r.fail("file", fmt::format("cannot read \"{}\": {}", g.file, *why),
             "check the path; a relative path starts from the scenario file's directory");
      return std::nullopt;
    }
    std::ifstream in(g.file, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    g.config = text.str();
    const toml::node& n = *r.find("file");
    // Problems inside the file are reported at the file key, naming the line in the file.
    auto where = [&](std::size_t off) {
      auto line = 1 + std::count(g.config.begin(), g.config.begin() + off, '\n');
      return std::pair<toml::source_position, std::string>{
          n.source().begin, fmt::format(" (in {}, line {})", file, line)};
    };
    check_placeholders(g.config, r.path_of("file"), where);
    return check_toml(g.config, r.path_of("file"), where);
  }

  // A hosts file written in the scenario (gateway.hosts, phases.hosts): only its placeholders;
  // the gateway reads the file itself.
  void check_hosts_text(const StringNode& n, const std::string& path) {
    std::string_view v = n.get();
    check_placeholders(v, path, [&](std::size_t off) {
      return std::pair<toml::source_position, std::string>{src_.locate(n, v, off), ""};
    });
  }

  // A gateway config written in the scenario (gateway.config, phases.reload): its placeholders
  // and its TOML syntax, with positions inside the string. The parsed table when it is valid TOML.
  std::optional<toml::table> check_config_text(const StringNode& n, const std::string& path) {
    std::string_view v = n.get();
    auto where = [&](std::size_t off) {
      return std::pair<toml::source_position, std::string>{src_.locate(n, v, off), ""};
    };
    check_placeholders(v, path, where);
    return check_toml(v, path, where);
  }

  // Only the syntax: the gateway checks its own config when it starts (and names the line then),
  // and some checks, such as readable TLS files, depend on where it runs.
  std::optional<toml::table> check_toml(
      std::string_view text, const std::string& path,
      const std::function<std::pair<toml::source_position, std::string>(std::size_t)>& where) {
    // Placeholders become as many 'x', so that positions in the parsed text are positions in
    // `text`.
    std::string blanked(text);
    for (const auto& piece : scan_placeholders(text).pieces)
      if (piece.placeholder)
        std::fill_n(blanked.begin() + static_cast<std::ptrdiff_t>(piece.begin),
                    piece.text.size() + 3, 'x');
    try {
      return toml::parse(blanked, path);
    } catch (const toml::parse_error& e) {
      auto [at, context] = where(offset_of(text, e.source().begin));
      p_.add(at, path, fmt::format("invalid TOML{}: {}", context, e.description()),
             "the gateway config is a sluice.toml(5); fix its TOML syntax here");
      return std::nullopt;
    }
  }

  // gateway.target must name a listener of the gateway config (the first one is "main" unless
  // named otherwise).
  void check_target(const TableReader& r, const toml::table& config, const std::string& target) {
    const toml::array* listeners = config["listeners"].as_array();
    if (!listeners) return;  // the gateway reports that itself
    std::vector<std::string> names;
    for (std::size_t i = 0; i < listeners->size(); ++i) {
      const toml::table* l = listeners->get(i)->as_table();
      if (!l) return;
      if (auto name = (*l)["name"].value<std::string>())
        names.push_back(*name);
      else if (i == 0)
        names.push_back("main");
    }
    if (std::find(names.begin(), names.end(), target) != names.end()) return;
    std::vector<std::string_view> views(names.begin(), names.end());
    auto near = closest(target, views);
    r.fail("target", fmt::format("the gateway config has no listener named \"{}\"", target),
           near ? fmt::format("did you mean \"{}\"?", *near)
                : fmt::format("use one of {}", quoted_list(views)));
  }

  // ---- [[phases]]

  void read_phase(const toml::table& t, std::size_t i) {
    TableReader r(t, fmt::format("phases[{}]", i), "in [[phases]]",
                  {"name", "duration", "rate", "concurrency", "target", "requests", "faults",
                   "toxics", "clear_faults", "remove_toxics", "hosts", "reload", "reload_at",
                   "signal", "signal_at", "slowloris"},
                  p_);
    Phase ph;
    ph.pos = p_.pos(r.where());
    if (require(r, "name", "every phase needs a unique name, e.g. name = \"steady\"") &&
        r.string("name", ph.name, "steady")) {
      if (ph.name.empty())
        r.fail("name", "is empty", "name the phase, e.g. name = \"steady\"");
      else
        phases_.push_back({ph.name, pos_of(r, "name"), r.path_of("name")});
    }
    ph.duration = std::chrono::seconds(10);  // the example in hints
    if (!require(r, "duration", "add duration = \"10s\", how long the phase lasts") ||
        !r.duration("duration", ph.duration))
      total_known_ = false;  // so the sum is not checked against the timeout
    read_traffic(r, ph);
    detail::read_slowloris(r, ph.slowloris);
    read_target(r, ph);
    read_requests(r, ph);
    read_changes(r, ph);
    read_gateway_events(r, ph);
    total_ += ph.duration;
    s_.phases.push_back(std::move(ph));
  }

  void read_traffic(const TableReader& r, Phase& ph) {
    if (r.has("rate") && r.has("concurrency")) {
      std::string_view later =
          before(pos_of(r, "rate"), pos_of(r, "concurrency")) ? "concurrency" : "rate";
      r.fail(later, "rate and concurrency are both set",
             "keep one: rate = N for N requests per second (open model), or concurrency = N "
             "for N clients sending one request after another (closed loop)");
      return;
    }
    if (const toml::node* n = r.find("rate")) {
      std::optional<double> v;
      std::string shown;
      if (auto i = n->as_integer()) {
        v = static_cast<double>(i->get());
        shown = fmt::format("{}", i->get());
      } else if (auto f = n->as_floating_point()) {
        v = f->get();
        shown = fmt::format("{}", f->get());
      }
      if (!v) {
        r.fail("rate",
               fmt::format("expected a number of requests per second, got {}", type_phrase(*n)),
               "write a number without quotes, e.g. rate = 50");
      } else if (!(*v > 0) || !std::isfinite(*v)) {
        r.fail("rate", fmt::format("must be greater than zero, got {}", shown),
               "give the requests per second, e.g. rate = 50; leave rate out for a phase "
               "without traffic");
      } else if (*v > 1e6) {
        r.fail("rate",
               fmt::format("{} requests per second is more than one client can send", shown),
               "use at most 1000000");
      } else {
        ph.rate = *v;
      }
    }
    std::uint32_t clients = 4;
    if (r.integer("concurrency", clients, 1, 100000)) ph.concurrency = clients;
  }

  void read_target(const TableReader& r, Phase& ph) {
    std::string target;
    if (!r.string("target", target, "gateway")) {
      if (r.has("target")) return;
      if (has_gateway_) {
        ph.target.kind = PhaseTarget::Kind::gateway;
      } else if (r.has("rate") || r.has("concurrency") || r.has("slowloris")) {
        r.missing("target",
                  "there is no [gateway], so say where the traffic goes: target = "
                  "\"mock.NAME\" or target = \"proxy.NAME\"");
      }
      return;
    }
    const StringNode& n = *r.find("target")->as_string();
    if (target == "gateway") {
      ph.target.kind = PhaseTarget::Kind::gateway;
      if (!has_gateway_)
        r.fail("target", "there is no [gateway] to send traffic to",
               "add a [gateway] section, or use target = \"mock.NAME\" or \"proxy.NAME\"");
    } else if (target.starts_with("mock.")) {
      ph.target = {PhaseTarget::Kind::mock, target.substr(5)};
      reference_in(n, "mock.", RefKind::mock, r.path_of("target"));
    } else if (target.starts_with("proxy.")) {
      ph.target = {PhaseTarget::Kind::proxy, target.substr(6)};
      reference_in(n, "proxy.", RefKind::proxy, r.path_of("target"));
    } else {
      r.fail("target", fmt::format("unknown target \"{}\"", target),
             "use \"gateway\", \"mock.NAME\" or \"proxy.NAME\"");
    }
  }

  void read_requests(const TableReader& r, Phase& ph) {
    if (r.has("requests") && !r.has("rate") && !r.has("concurrency"))
      r.fail("requests", "the phase sends no traffic, so its requests are never sent",
             "add rate = N or concurrency = N, or remove the requests");
    each(r, "requests", [&](const toml::table& t, std::size_t k) {
      TableReader q(t, fmt::format("{}[{}]", r.path_of("requests"), k), "in [[phases.requests]]",
                    {"method", "path", "headers", "body"}, p_);
      RequestTemplate req;
      if (q.string("method", req.method, "GET") && !valid_token(req.method))
        q.fail("method", fmt::format("\"{}\" is not a valid method", req.method),
               "e.g. method = \"POST\"");
      if (q.string("path", req.path, "/echo") &&
          (!req.path.starts_with("/") || req.path.find_first_of(" \t\r\n") != std::string::npos))
        q.fail("path", fmt::format("\"{}\" is not a request path", req.path),
               "start it with '/' and leave out spaces, e.g. path = \"/echo?x=1\"");
      detail::read_headers(q, req.headers);
      q.string("body", req.body, "{}");
      ph.requests.push_back(std::move(req));
    });
    if (ph.requests.empty()) ph.requests.emplace_back();
  }

  // The faults and toxics switched on and off at the phase start.
  void read_changes(const TableReader& r, Phase& ph) {
    each(r, "faults", [&](const toml::table& t, std::size_t k) {
      std::string path = fmt::format("{}[{}]", r.path_of("faults"), k);
      PhaseFault pf;
      if (auto m = read_owner(t, path, "mock", "a")) {
        pf.mock = m->get();
        reference(RefKind::mock, pf.mock, m->source().begin, path + ".mock");
      }
      if (auto f = read_fault(t, path, "mock")) {
        pf.fault = std::move(*f);
        if (!pf.mock.empty()) ph.faults.push_back(std::move(pf));
      }
    });
    each(r, "toxics", [&](const toml::table& t, std::size_t k) {
      std::string path = fmt::format("{}[{}]", r.path_of("toxics"), k);
      PhaseToxic pt;
      if (auto x = read_owner(t, path, "proxy", "slow")) {
        pt.proxy = x->get();
        reference(RefKind::proxy, pt.proxy, x->source().begin, path + ".proxy");
      }
      if (auto toxic = read_toxic(t, path, "proxy")) {
        pt.toxic = std::move(*toxic);
        if (!pt.proxy.empty()) {
          toxic_names_[pt.proxy].push_back(pt.toxic.name);
          ph.toxics.push_back(std::move(pt));
        }
      }
    });
    std::vector<const StringNode*> mocks;
    if (r.strings("clear_faults", mocks, "\"a\"")) {
      for (std::size_t k = 0; k < mocks.size(); ++k) {
        ph.clear_faults.push_back(mocks[k]->get());
        reference(RefKind::mock, mocks[k]->get(), mocks[k]->source().begin,
                  fmt::format("{}[{}]", r.path_of("clear_faults"), k));
      }
    }
    each(r, "remove_toxics", [&](const toml::table& t, std::size_t k) {
      TableReader q(t, fmt::format("{}[{}]", r.path_of("remove_toxics"), k),
                    "in remove_toxics entries", {"proxy", "name"}, p_);
      ToxicRemoval rm;
      bool ok = require(q, "proxy", "name the proxy, e.g. { proxy = \"slow\", name = \"lat\" }") &&
                q.string("proxy", rm.proxy, "slow");
      if (ok) reference(RefKind::proxy, rm.proxy, pos_of(q, "proxy"), q.path_of("proxy"));
      if (require(q, "name", "name the toxic, e.g. { proxy = \"slow\", name = \"lat\" }") &&
          q.string("name", rm.name, "lat") && ok) {
        removals_.push_back({rm.proxy, q.find("name")->as_string(), q.path_of("name")});
        ph.remove_toxics.push_back(std::move(rm));
      }
    });
  }

  // `key` ("mock" or "proxy") inside a phase fault or toxic: required, a string.
  const StringNode* read_owner(const toml::table& t, const std::string& path, std::string_view key,
                               std::string_view example) {
    const toml::node* n = t.get(key);
    if (!n) {
      p_.add(t.source().begin, fmt::format("{}.{}", path, key), "required key is missing",
             fmt::format("say which {0} it applies to, e.g. {0} = \"{1}\"", key, example));
      return nullptr;
    }
    if (auto s = n->as_string()) return s;
    p_.add(n->source().begin, fmt::format("{}.{}", path, key),
           fmt::format("expected a string, got {}", type_phrase(*n)),
           fmt::format("write the {} name in quotes, e.g. {} = \"{}\"", key, key, example));
    return nullptr;
  }

  // reload and signal act on the gateway, at an offset into the phase.
  void read_gateway_events(const TableReader& r, Phase& ph) {
    auto offset = [&](std::string_view event, std::string_view at_key, Duration& out) {
      if (!r.has(at_key)) return;
      if (!r.has(event)) {
        r.fail(at_key, fmt::format("{} is set without {}", at_key, event),
               fmt::format("add {} or remove {}", event, at_key));
        return;
      }
      if (r.duration(at_key, out, /*allow_zero=*/true) && out >= ph.duration &&
          ph.duration.count() > 0 && r.has("duration"))
        r.fail(at_key,
               fmt::format("{} is not within the phase, which lasts {}", format_duration(out),
                           format_duration(ph.duration)),
               fmt::format("use an offset shorter than the phase's duration, e.g. {} = \"{}\"",
                           at_key, format_duration(ph.duration / 2)));
    };
    std::string hosts;
    if (r.string("hosts", hosts, "${mock.a.host} svc.test")) {
      if (!has_hosts_)
        r.fail("hosts", "there is no hosts file to rewrite",
               "add hosts = \"\"\"...\"\"\" to [gateway] first (the hosts file it starts with)");
      check_hosts_text(*r.find("hosts")->as_string(), r.path_of("hosts"));
      ph.hosts = std::move(hosts);
    }
    std::string reload;
    if (r.string("reload", reload, "[[listeners]] ...")) {
      if (!has_gateway_)
        r.fail("reload", "there is no [gateway] to reload",
               "add a [gateway] section, or remove reload");
      check_config_text(*r.find("reload")->as_string(), r.path_of("reload"));
      ph.reload = std::move(reload);
    }
    offset("reload", "reload_at", ph.reload_at);

    static const std::vector<std::pair<std::string_view, int>> signals = {
        {"SIGTERM", SIGTERM}, {"SIGINT", SIGINT}, {"SIGHUP", SIGHUP}};
    std::string name;
    if (r.string("signal", name, "SIGTERM")) {
      auto it = std::find_if(signals.begin(), signals.end(),
                             [&](const auto& s) { return s.first == name; });
      if (it != signals.end()) {
        ph.signal = it->second;
      } else {
        std::vector<std::string_view> names;
        for (const auto& s : signals) names.push_back(s.first);
        auto near = closest(name, names);
        r.fail("signal", fmt::format("unknown signal \"{}\"", name),
               near ? fmt::format("did you mean \"{}\"?", *near)
                    : fmt::format("use one of {}", quoted_list(names)));
      }
      if (!has_gateway_)
        r.fail("signal", "there is no [gateway] to signal",
               "add a [gateway] section, or remove signal");
    }
    offset("signal", "signal_at", ph.signal_at);
  }

  // ---- [[assertions]]

  void read_assertion(const toml::table& t, std::size_t i) {
    TableReader r(t, fmt::format("assertions[{}]", i), "in [[assertions]]",
                  {"expect", "name", "phase", "after", "before"}, p_);
    std::string name, phase, source;
    r.string("name", name, "no client errors");
    if (r.string("phase", phase, "steady"))
      reference(RefKind::phase, phase, pos_of(r, "phase"), r.path_of("phase"));
    std::optional<Duration> after, before;
    for (auto [key, out] : {std::pair{"after", &after}, std::pair{"before", &before}}) {
      Duration d{0};
      if (!r.duration(key, d, /*allow_zero=*/true)) continue;
      *out = d;
      if (phase.empty())
        r.fail(key, fmt::format("{} counts from the start of a phase, and there is none", key),
               "add phase = \"NAME\", the phase whose start it counts from");
    }
    if (after && before && *before <= *after)
      r.fail("before", "must be later than after",
             "the window is [after, before) from the phase start, e.g. after = \"2s\", "
             "before = \"5s\"");
    if (!require(r, "expect",
                 "add expect = \"client.errors == 0\", an expression that must hold") ||
        !r.string("expect", source, "client.errors == 0"))
      return;
    const StringNode& n = *r.find("expect")->as_string();
    auto e = expr::parse(source);
    if (!e) {
      report_expr_error(n, r.path_of("expect"), e.error().message);
      return;
    }
    check_expr_references(e->root(), n, r.path_of("expect"));
    s_.assertions.push_back(Assertion{name.empty() ? source : name, std::move(*e), phase, after,
                                      before, p_.pos(n.source().begin)});
  }

  // expr errors are "the line\n   ^ message": the caret becomes a file position.
  void report_expr_error(const StringNode& n, const std::string& path, std::string_view message) {
    static constexpr std::string_view hint =
        "assertions are written in the language of sluice-expressions(7), e.g. expect = "
        "\"client.errors == 0\"";
    std::string_view value = n.get();
    auto nl = message.find('\n');
    auto caret = nl == std::string_view::npos ? nl : message.find("^ ", nl + 1);
    if (caret == std::string_view::npos) {
      p_.add_body(n.source().begin, path, with_hint(message, hint));
      return;
    }
    std::string_view line = message.substr(0, nl);
    std::size_t column = caret - nl - 1;  // characters before the caret, each one column
    std::size_t line_begin = 0;
    for (std::size_t b = 0; b <= value.size();) {
      auto e = value.find('\n', b);
      if (e == std::string_view::npos) e = value.size();
      if (value.substr(b, e - b) == line) {
        line_begin = b;
        break;
      }
      b = e + 1;
    }
    std::size_t offset = line_begin;
    for (std::size_t chars = 0; offset < value.size() && chars < column; ++offset)
      if (offset + 1 >= value.size() ||
          (static_cast<unsigned char>(value[offset + 1]) & 0xC0) != 0x80)
        ++chars;
    p_.add_body(src_.locate(n, value, offset), path, with_hint(message.substr(caret + 2), hint));
  }

  // mock("NAME") in an expression must name a mock of the scenario.
  void check_expr_references(const expr::Node& node, const StringNode& n, const std::string& path) {
    if (node.kind == expr::NodeKind::call && node.name == "mock" && !node.children.empty() &&
        node.children[0]->kind == expr::NodeKind::literal &&
        node.children[0]->literal.is(expr::Kind::string))
      reference(RefKind::mock, node.children[0]->literal.as_string(),
                src_.locate(n, n.get(), node.children[0]->begin + 1), path);
    for (const auto& c : node.children) check_expr_references(*c, n, path);
    for (const auto& [k, c] : node.kwargs) check_expr_references(*c, n, path);
  }

  // ---- cross-checks

  void check_unique(const std::vector<Named>& defined, std::string_view what) {
    std::map<std::string, const Named*> seen;
    for (const auto& d : defined) {
      auto [it, fresh] = seen.emplace(d.name, &d);
      if (!fresh)
        p_.add(d.at, d.path, fmt::format("duplicate {} name \"{}\"", what, d.name),
               fmt::format("names must be unique; \"{}\" is already used at line {}", d.name,
                           it->second->at.line));
    }
  }

  void check_references() {
    for (const auto& ref : refs_) {
      const auto& defined = ref.kind == RefKind::mock    ? mocks_
                            : ref.kind == RefKind::proxy ? proxies_
                                                         : phases_;
      std::string_view what = ref.kind == RefKind::mock    ? "mock"
                              : ref.kind == RefKind::proxy ? "proxy"
                                                           : "phase";
      std::string_view section = ref.kind == RefKind::mock    ? "[[mocks]]"
                                 : ref.kind == RefKind::proxy ? "[[proxies]]"
                                                              : "[[phases]]";
      std::vector<std::string_view> names;
      for (const auto& d : defined)
        if (std::find(names.begin(), names.end(), d.name) == names.end()) names.push_back(d.name);
      if (std::find(names.begin(), names.end(), ref.name) != names.end()) continue;
      std::string hint;
      if (auto near = closest(ref.name, names))
        hint = fmt::format("did you mean \"{}\"?", *near);
      else if (names.empty())
        hint = fmt::format("add a {} section with name = \"{}\"", section, ref.name);
      else
        hint = fmt::format("use one of {}, or add a {} section with name = \"{}\"",
                           quoted_list(names), section, ref.name);
      p_.add(ref.at, ref.path, fmt::format("no {} named \"{}\"{}", what, ref.name, ref.context),
             hint);
    }
  }

  void check_removals() {
    for (const auto& rm : removals_) {
      if (std::none_of(proxies_.begin(), proxies_.end(),
                       [&](const Named& d) { return d.name == rm.proxy; }))
        continue;  // already reported as an unknown proxy
      const auto& known = toxic_names_[rm.proxy];
      const std::string& name = rm.name->get();
      if (std::find(known.begin(), known.end(), name) != known.end()) continue;
      std::vector<std::string_view> names(known.begin(), known.end());
      auto near = closest(name, names);
      p_.add(rm.name->source().begin, rm.path,
             fmt::format("proxy \"{}\" has no toxic named \"{}\"", rm.proxy, name),
             near ? fmt::format("did you mean \"{}\"?", *near)
             : names.empty()
                 ? std::string("add the toxic in [[proxies.toxics]] or [[phases.toxics]] first")
                 : fmt::format("its toxics are {}", quoted_list(names)));
    }
  }

  void check_total(const TableReader& root) {
    if (!total_known_ || total_ <= s_.timeout) return;
    auto at = pos_of(root, "timeout");
    if (at.line == 0) at = {1, 1};
    p_.add(at, "timeout",
           fmt::format("the phases last {} in all, longer than the timeout of {}",
                       format_duration(total_), format_duration(s_.timeout)),
           fmt::format("raise it, e.g. timeout = \"{}\", or shorten the phases",
                       format_duration(total_ + std::chrono::seconds(30))));
  }

  const SourceText& src_;
  Problems& p_;
  Scenario& s_;
  std::string base_dir_;
  ScenarioUse use_ = ScenarioUse::drill;
  bool has_gateway_ = false;
  bool has_hosts_ = false;  // [gateway] hosts: ${hosts_file} and phases' hosts may be used
  bool total_known_ = true;
  Duration total_{0};
  std::vector<Named> mocks_, proxies_, phases_;
  std::vector<Reference> refs_;
  std::vector<Removal> removals_;
  std::map<std::string, std::vector<std::string>> toxic_names_;
};

std::string syntax_hint(std::string_view description) {
  if (description.find("redefine") != std::string_view::npos)
    return "each key and [table] may appear once; repeat [[tables]] with two brackets";
  return "fix the TOML syntax here: strings need double quotes, tables are written [name] and "
         "repeated ones [[name]]";
}

}  // namespace

const ScenarioMock* Scenario::mock(std::string_view n) const {
  for (const auto& m : mocks)
    if (m.name == n) return &m;
  return nullptr;
}

const ScenarioProxy* Scenario::proxy(std::string_view n) const {
  for (const auto& x : proxies)
    if (x.name == n) return &x;
  return nullptr;
}

const Phase* Scenario::phase(std::string_view n) const {
  for (const auto& p : phases)
    if (p.name == n) return &p;
  return nullptr;
}

Result<Scenario> load_scenario_string(std::string_view toml_text, std::string_view source_name,
                                      ScenarioUse use) {
  toml::table doc;
  try {
    doc = toml::parse(toml_text, std::string(source_name));
  } catch (const toml::parse_error& e) {
    const auto& at = e.source().begin;
    return scenario_error(fmt::format("{}:{}:{}: {} (hint: {})", source_name, at.line, at.column,
                                      e.description(), syntax_hint(e.description())));
  }
  Scenario s;
  s.source = std::string(source_name);
  Problems p{s.source};
  SourceText src(toml_text);
  Loader(src, p, s, std::filesystem::path(source_name).parent_path().string(), use).read(doc);
  if (!p.empty()) return p.error();
  return s;
}

Result<Scenario> load_scenario_file(const std::string& path, ScenarioUse use) {
  if (auto why = config::detail::unreadable(path))
    return scenario_error(fmt::format(
        "{}: cannot read the scenario file: {} (hint: check the path; scenarios/ holds the "
        "drills that come with Sluice)",
        path, *why));
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in && !in.eof())
    return scenario_error(
        fmt::format("{}: cannot read the scenario file (hint: check the file)", path));
  return load_scenario_string(text.str(), path, use);
}

}  // namespace sluice::chaos
