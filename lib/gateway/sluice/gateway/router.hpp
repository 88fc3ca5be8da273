// Route matching: host, path (exact, prefix, regex), method and headers, first match wins.
// Pure: built once from the config, then read by every worker.
#pragma once

#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/core/config/schema.hpp"
#include "sluice/core/error.hpp"
#include "sluice/net/http_parser.hpp"

namespace sluice::gateway {

struct RequestFacts {
  std::string_view listener;
  std::string_view host;  // Host header, port included or not
  std::string_view method;
  std::string_view target;  // origin-form: path plus optional query
  const std::vector<net::HeaderField>* headers = nullptr;
};

class Router {
 public:
  static Result<Router> build(const std::vector<config::Route>& routes);
  Router() = default;
  Router(Router&&) = default;
  Router& operator=(Router&&) = default;
  // Compiled routes point into owned_, so a copy would point into the original.
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // Index into the routes given to build(), or nullopt.
  std::optional<std::size_t> match(const RequestFacts& req) const;
  // The target to send upstream: the route's prefix rewrite applied, query kept.
  void rewrite_target(std::size_t route, std::string_view target, std::string& out) const;
  std::size_t size() const { return routes_.size(); }

 private:
  struct Compiled {
    const config::Route* cfg;
    std::optional<std::regex> regex;
  };
  static bool host_matches(const config::Route& r, std::string_view host);
  static bool headers_match(const config::Route& r, const std::vector<net::HeaderField>* headers);
  bool path_matches(const Compiled& c, std::string_view path) const;

  std::vector<config::Route> owned_;
  std::vector<Compiled> routes_;
};

// The path of an origin-form target (without the query).
std::string_view target_path(std::string_view target);

}  // namespace sluice::gateway
