#include "sluice/gateway/router.hpp"

#include <fmt/format.h>

#include "sluice/core/config/load.hpp"
#include "sluice/net/headers.hpp"

namespace sluice::gateway {

std::string_view target_path(std::string_view target) {
  auto q = target.find('?');
  return q == std::string_view::npos ? target : target.substr(0, q);
}

Result<Router> Router::build(const std::vector<config::Route>& routes) {
  Router r;
  r.owned_ = routes;
  r.routes_.reserve(routes.size());
  for (const auto& route : r.owned_) {
    Compiled c{&route, std::nullopt};
    if (route.path_match == config::PathMatch::regex) {
      try {
        c.regex.emplace(route.path, std::regex::ECMAScript | std::regex::optimize);
      } catch (const std::regex_error& e) {
        return config::config_error(route.pos,
                                    fmt::format("routes[{}].path_regex", r.routes_.size()),
                                    e.what(), "use ECMAScript regex syntax");
      }
    }
    r.routes_.push_back(std::move(c));
  }
  return r;
}

bool Router::host_matches(const config::Route& r, std::string_view host) {
  if (r.hosts.empty()) return true;
  // Strip the port; an IPv6 literal keeps its brackets.
  if (!host.empty() && host.front() == '[')
    host = host.substr(0, host.find(']') + 1);
  else
    host = host.substr(0, host.find(':'));
  for (const auto& h : r.hosts) {
    if (h.size() > 1 && h[0] == '*' && h[1] == '.') {
      std::string_view suffix = std::string_view(h).substr(1);  // ".example.com"
      if (host.size() > suffix.size() &&
          net::iequals(host.substr(host.size() - suffix.size()), suffix))
        return true;
    } else if (net::iequals(host, h)) {
      return true;
    }
  }
  return false;
}

bool Router::headers_match(const config::Route& r, const std::vector<net::HeaderField>* headers) {
  for (const auto& [name, value] : r.headers) {
    bool found = false;
    if (headers)
      for (const auto& f : *headers)
        if (net::iequals(f.name, name) && net::trim(f.value) == value) {
          found = true;
          break;
        }
    if (!found) return false;
  }
  return true;
}

bool Router::path_matches(const Compiled& c, std::string_view path) const {
  const auto& r = *c.cfg;
  switch (r.path_match) {
    case config::PathMatch::any:
      return true;
    case config::PathMatch::exact:
      return path == r.path;
    case config::PathMatch::prefix:
      return path.substr(0, r.path.size()) == r.path;
    case config::PathMatch::regex:
      return std::regex_search(path.begin(), path.end(), *c.regex);
  }
  return false;
}

std::optional<std::size_t> Router::match(const RequestFacts& req) const {
  auto path = target_path(req.target);
  for (std::size_t i = 0; i < routes_.size(); ++i) {
    const auto& c = routes_[i];
    const auto& r = *c.cfg;
    if (!r.listeners.empty()) {
      bool on = false;
      for (const auto& l : r.listeners) on = on || l == req.listener;
      if (!on) continue;
    }
    if (!r.methods.empty()) {
      bool ok = false;
      for (const auto& m : r.methods) ok = ok || m == req.method;
      if (!ok) continue;
    }
    if (!host_matches(r, req.host) || !path_matches(c, path) || !headers_match(r, req.headers))
      continue;
    return i;
  }
  return std::nullopt;
}

void Router::rewrite_target(std::size_t route, std::string_view target, std::string& out) const {
  const auto& r = *routes_[route].cfg;
  if (!r.rewrite_prefix || r.path_match != config::PathMatch::prefix) {
    out.assign(target);
    return;
  }
  out.assign(*r.rewrite_prefix);
  std::string_view rest = target.substr(r.path.size());
  // "/api" + "/users" rewritten to "/" must give "/users", not "//users".
  if (!out.empty() && out.back() == '/' && !rest.empty() && rest.front() == '/') out.pop_back();
  out += rest;
  if (out.empty() || out.front() != '/') out.insert(out.begin(), '/');
}

}  // namespace sluice::gateway
