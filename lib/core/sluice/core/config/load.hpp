// Loading sluice.toml into the schema: parse, check every key and value, cross-check references.
// Every error has the one format "FILE:LINE:COL: key.path: what is wrong (hint: how to fix it)".
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "sluice/core/config/schema.hpp"
#include "sluice/core/error.hpp"

namespace sluice::config {

Result<Config> load_file(const std::string& path);
Result<Config> load_string(std::string_view toml_text, std::string_view source_name);

// "127.0.0.1:8080", "[::1]:80", "localhost:9000", ":8080" (all interfaces).
Result<HostPort> parse_host_port(std::string_view text);
// "host:port", "http://host[:port]", "https://host[:port]" (a path is an error).
Result<Endpoint> parse_endpoint(std::string_view text);

// Quick mode (`serve --listen A --to URL,URL`): one listener, one catch-all route, one cluster.
Result<Config> quick(std::string_view listen, const std::vector<std::string>& to);

// An error in the one config format, for checks made after loading (DNS, TLS files, regexes):
// "FILE:LINE:COL: key: what (hint: hint)", or "SOURCE: key: ..." when there is no position
// (quick mode and flags).
Error config_error(const SourcePos& pos, std::string_view key, std::string_view what,
                   std::string_view hint);

// A commented example config that load_string accepts (`sluice config example`).
std::string example();

// The effective config, secrets never included (only the names of their variables or files).
nlohmann::json to_json(const Config& c);

}  // namespace sluice::config
