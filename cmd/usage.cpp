// `sluice usage [--db PATH | --config FILE] [--by G] [--since T] [--until T] [--key K]
// [--format text|json|csv]`: what the usage ledger says was spent, grouped by key, model, day,
// alias or provider. See man sluice-usage.1.
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include "commands.hpp"
#include "sluice/core/clock.hpp"
#include "sluice/core/units.hpp"
#include "sluice/store/ledger.hpp"
#include "sluice/store/utc.hpp"

namespace sluice::cmd {
namespace {

using Json = nlohmann::json;

struct UsageFlags {
  std::string db;
  std::string config;
  std::string by = "key";
  std::string since;
  std::string until;
  std::string key;
  std::string format = "text";
};

constexpr int kUsageError = 2;
constexpr int kCannotRead = 3;

int fail(int code, const std::string& message) {
  fmt::print(stderr, "sluice usage: {}\n", message);
  return code;
}

// A date (UTC midnight), an RFC 3339 timestamp, or a duration back from now.
Result<std::int64_t> parse_bound(const std::string& flag, const std::string& text,
                                 std::int64_t now_ms) {
  if (auto t = store::parse_utc_time(text)) return *t;
  if (auto d = parse_duration(text))
    return now_ms - std::chrono::duration_cast<std::chrono::milliseconds>(*d).count();
  return make_error(ErrorKind::usage, ErrorSource::downstream,
                    fmt::format("{} \"{}\": not a date, time or duration (hint: 2025-03-07, "
                                "2025-03-07T12:00:00Z, or 7d, 12h, 30m back from now)",
                                flag, text));
}

// The ledger's path: --db, or [store] path of --config (default ./sluice.toml).
Result<std::string> ledger_path(const UsageFlags& f) {
  auto usage_error = [](std::string msg) {
    return make_error(ErrorKind::usage, ErrorSource::downstream, std::move(msg));
  };
  if (!f.db.empty() && !f.config.empty()) return usage_error("give --db or --config, not both");
  if (!f.db.empty()) return f.db;
  std::string config = f.config;
  std::error_code ec;
  if (config.empty()) {
    if (!std::filesystem::exists("sluice.toml", ec))
      return usage_error(
          "no ledger given and no ./sluice.toml (hint: --db FILE names the ledger, or --config "
          "FILE a gateway config with [store] kind = \"sqlite\")");
    config = "sluice.toml";
  }
  if (!std::filesystem::is_regular_file(config, ec))
    return usage_error(
        fmt::format("{}: no such file (hint: check the path; --db FILE names the "
                    "ledger directly)",
                    config));
  toml::table doc;
  try {
    doc = toml::parse_file(config);
  } catch (const toml::parse_error& e) {
    const auto& at = e.source().begin;
    return usage_error(fmt::format("{}:{}:{}: {} (hint: sluice config validate {} says more)",
                                   config, at.line, at.column, e.description(), config));
  }
  const char* only_sqlite = "the ledger is only kept with [store] kind = \"sqlite\"";
  auto kind = doc["store"]["kind"].value<std::string>();
  if (!kind)
    return usage_error(
        fmt::format("{}: store.kind: not set: {} (hint: set it and [store] path, "
                    "or give --db FILE)",
                    config, only_sqlite));
  if (*kind != "sqlite")
    return usage_error(fmt::format("{}: store.kind: \"{}\": {}", config, *kind, only_sqlite));
  auto path = doc["store"]["path"].value<std::string>();
  if (!path || path->empty())
    return usage_error(fmt::format(
        "{}: store.path: not set (hint: path = \"FILE\" names the SQLite file)", config));
  return *path;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

void print_text(const std::string& by, const std::vector<store::UsageGroup>& groups,
                const store::UsageGroup& total) {
  std::string head = by;
  for (auto& c : head) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::size_t width = std::max(head.size(), std::string_view("TOTAL").size());
  for (const auto& g : groups) width = std::max(width, g.group.size());
  auto line = [&](const std::string& name, const store::UsageGroup& g) {
    fmt::print("{:<{}}  {:>8}  {:>12}  {:>13}  {:>14.6f}\n", name.empty() ? "-" : name, width,
               g.requests, g.input_tokens, g.output_tokens, g.cost_usd);
  };
  fmt::print("{:<{}}  {:>8}  {:>12}  {:>13}  {:>14}\n", head, width, "REQUESTS", "INPUT TOKENS",
             "OUTPUT TOKENS", "COST USD");
  for (const auto& g : groups) line(g.group, g);
  line("TOTAL", total);
}

Json group_json(const store::UsageGroup& g) {
  return {{"requests", g.requests},
          {"input_tokens", g.input_tokens},
          {"output_tokens", g.output_tokens},
          {"cost_usd", g.cost_usd}};
}

int run(const UsageFlags& f) {
  auto by = store::usage_by_named(f.by);
  if (!by)
    return fail(
        kUsageError,
        fmt::format("--by \"{}\": not a grouping (hint: key, model, day, alias or provider)",
                    f.by));
  const std::int64_t now_ms = unix_ms(SystemClock::instance().wall());
  store::UsageQuery q{*by, std::nullopt, std::nullopt, f.key};
  if (!f.since.empty()) {
    auto t = parse_bound("--since", f.since, now_ms);
    if (!t) return fail(kUsageError, t.error().message);
    q.since_ms = *t;
  }
  if (!f.until.empty()) {
    auto t = parse_bound("--until", f.until, now_ms);
    if (!t) return fail(kUsageError, t.error().message);
    q.until_ms = *t;
  }
  auto path = ledger_path(f);
  if (!path) return fail(kUsageError, path.error().message);
  auto ledger = store::open_sqlite_ledger_readonly(*path);
  if (!ledger) return fail(kCannotRead, ledger.error().message);
  auto groups = (*ledger)->query(q);
  if (!groups) return fail(kCannotRead, groups.error().message);

  store::UsageGroup total{"TOTAL"};
  for (const auto& g : *groups) {
    total.requests += g.requests;
    total.input_tokens += g.input_tokens;
    total.output_tokens += g.output_tokens;
    total.cost_usd += g.cost_usd;
  }
  if (f.format == "json") {
    Json out{{"by", f.by},
             {"since", q.since_ms ? Json(store::utc_timestamp(*q.since_ms)) : Json(nullptr)},
             {"until", q.until_ms ? Json(store::utc_timestamp(*q.until_ms)) : Json(nullptr)}};
    if (!f.key.empty()) out["key"] = f.key;
    Json list = Json::array();
    for (const auto& g : *groups) {
      Json j = group_json(g);
      j["group"] = g.group;
      list.push_back(std::move(j));
    }
    out["groups"] = std::move(list);
    out["total"] = group_json(total);
    fmt::print("{}\n", out.dump(2, ' ', false, Json::error_handler_t::replace));
  } else if (f.format == "csv") {
    fmt::print("{},requests,input_tokens,output_tokens,cost_usd\r\n", f.by);
    for (const auto& g : *groups)
      fmt::print("{},{},{},{},{:.6f}\r\n", csv_field(g.group), g.requests, g.input_tokens,
                 g.output_tokens, g.cost_usd);
  } else if (groups->empty()) {
    fmt::print("no usage recorded\n");
  } else {
    print_text(f.by, *groups, total);
  }
  return 0;
}

}  // namespace

void add_usage(CLI::App& app) {
  auto f = std::make_shared<UsageFlags>();
  auto* usage = app.add_subcommand(
      "usage",
      "Sum the usage ledger (requests, tokens, cost) by key, model, day, alias or provider");
  usage->add_option("--db", f->db, "The ledger: the gateway's [store] path (a SQLite file)");
  usage->add_option("-c,--config", f->config,
                    "Read the ledger's path from this config's [store] table (default "
                    "./sluice.toml)");
  // Checked in run(), so that a bad value exits 2 with a hint like the other errors.
  usage->add_option("--by", f->by, "Group by key (default), model, day, alias or provider");
  usage->add_option("--since", f->since,
                    "From this UTC date, RFC 3339 time, or duration back from now (7d)");
  usage->add_option("--until", f->until, "Before this date, time or duration back from now");
  usage->add_option("--key", f->key, "Only this virtual key's usage");
  usage->add_option("--format", f->format, "text (a table), json or csv")
      ->check(CLI::IsMember({"text", "json", "csv"}));
  usage->callback([f] { exit_code = run(*f); });
}

}  // namespace sluice::cmd
