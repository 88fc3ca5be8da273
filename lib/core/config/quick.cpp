// Addresses and upstream URLs as written in sluice.toml and on the command line, and quick mode
// (`serve --listen A --to URL`), the config built from flags alone.
#include <algorithm>
#include <cctype>
#include <charconv>

#include <fmt/format.h>

#include "sluice/core/config/load.hpp"

namespace sluice::config {
namespace {

// Messages here are "\"TEXT\": what (hint: how)"; callers put a file position or a flag before it.
Error bad(std::string_view text, std::string_view what, std::string_view hint) {
  return make_error(ErrorKind::config, ErrorSource::internal,
                    fmt::format("\"{}\": {} (hint: {})", text, what, hint));
}

bool host_chars(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
  });
}

// Only the shape: the resolver has the final word on the address itself.
bool ipv6_chars(std::string_view s) {
  return std::count(s.begin(), s.end(), ':') >= 2 && std::all_of(s.begin(), s.end(), [](char c) {
           return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
         });
}

// Splits "host:port" / "[v6]:port" / ":port". `text` is what the message quotes (it may be a
// whole URL); a missing port takes `default_port` when there is one.
Result<HostPort> split_host_port(std::string_view hostport, std::string_view text,
                                 int default_port) {
  constexpr std::string_view form = "write host:port, e.g. 127.0.0.1:8080, [::1]:8080 or :8080";
  if (hostport.empty()) return bad(text, "the address is empty", form);
  std::string_view host, port;
  bool has_port = false;
  if (hostport.front() == '[') {
    auto close = hostport.find(']');
    if (close == std::string_view::npos)
      return bad(text, "\"[\" without \"]\"", "write IPv6 addresses in brackets, e.g. [::1]:8080");
    host = hostport.substr(1, close - 1);
    if (!ipv6_chars(host)) return bad(text, "invalid IPv6 address", "e.g. [::1]:8080");
    auto rest = hostport.substr(close + 1);
    if (!rest.empty() && rest.front() != ':')
      return bad(text, "expected \":\" and a port after \"]\"", "e.g. [::1]:8080");
    has_port = !rest.empty();
    if (has_port) port = rest.substr(1);
  } else {
    auto colon = hostport.rfind(':');
    if (colon != std::string_view::npos && hostport.find(':') != colon)
      return bad(text, "an IPv6 address needs brackets", "write it as [::1]:8080");
    has_port = colon != std::string_view::npos;
    host = hostport.substr(0, has_port ? colon : hostport.size());
    if (has_port) port = hostport.substr(colon + 1);
    if (host.empty() && has_port) host = "0.0.0.0";
    if (!host_chars(host))
      return bad(text, fmt::format("\"{}\" is not a valid host", host),
                 "use a name or an IP address, e.g. 127.0.0.1:8080");
  }
  unsigned value = 0;
  if (!has_port) {
    if (default_port < 0)
      return bad(text, "the port is missing", fmt::format("add one, e.g. {}:8080", hostport));
    value = static_cast<unsigned>(default_port);
  } else {
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || value > 65535)
      return bad(text, fmt::format("invalid port \"{}\"", port), "use a number from 0 to 65535");
  }
  return HostPort{std::string(host), static_cast<std::uint16_t>(value)};
}

}  // namespace

Result<HostPort> parse_host_port(std::string_view text) {
  if (text.find("://") != std::string_view::npos)
    return bad(text, "expected host:port, not a URL", "drop the scheme, e.g. 127.0.0.1:8080");
  return split_host_port(text, text, -1);
}

Result<Endpoint> parse_endpoint(std::string_view text) {
  constexpr std::string_view form =
      "write host:port, http://host[:port] or https://host[:port], e.g. http://127.0.0.1:9000";
  auto scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos) {
    if (text.starts_with(':')) return bad(text, "the host is missing", form);
    auto hp = split_host_port(text, text, -1);
    if (!hp) return hp.take_error();
    return Endpoint{std::move(*hp), false, 1, {}};
  }
  std::string scheme(text.substr(0, scheme_end));
  for (auto& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (scheme != "http" && scheme != "https")
    return bad(text, fmt::format("unsupported scheme \"{}\"", scheme), form);
  const bool tls = scheme == "https";
  auto rest = text.substr(scheme_end + 3);
  auto tail_at = rest.find_first_of("/?#");
  auto authority = rest.substr(0, tail_at);
  auto tail = tail_at == std::string_view::npos ? std::string_view{} : rest.substr(tail_at);
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    // Never echo credentials into an error message (and so into logs).
    auto redacted = fmt::format("{}://***@{}", scheme, rest.substr(at + 1));
    return bad(redacted, "credentials in an endpoint URL are not allowed",
               "remove the user:password@ part; secrets never go in the config");
  }
  if (!tail.empty() && tail != "/")
    return bad(text, fmt::format("an endpoint has no path, query or fragment, got \"{}\"", tail),
               "give only scheme, host and port; rewrite paths with a route's rewrite_prefix");
  if (authority.empty() || authority.starts_with(':'))
    return bad(text, "the host is missing", form);
  auto hp = split_host_port(authority, text, tls ? 443 : 80);
  if (!hp) return hp.take_error();
  return Endpoint{std::move(*hp), tls, 1, {}};
}

Result<Config> quick(std::string_view listen, const std::vector<std::string>& to) {
  const SourcePos here{"<quick>", 0, 0};
  std::vector<std::string> errors;
  Config c;
  c.source = "<quick>";

  Listener l;
  l.name = "main";
  l.pos = here;
  if (auto hp = parse_host_port(listen))
    l.address = std::move(*hp);
  else
    errors.push_back(fmt::format("--listen: {}", hp.error().message));
  c.listeners.push_back(std::move(l));

  Cluster cluster;
  cluster.name = "default";
  cluster.pos = here;
  bool any = false;
  for (const auto& item : to) {
    // Accept "a,b" too, so callers need not split the flag themselves.
    std::string_view rest = item;
    while (!rest.empty()) {
      auto comma = rest.find(',');
      auto part = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
      while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
      if (part.empty()) continue;
      any = true;
      if (auto e = parse_endpoint(part)) {
        e->pos = here;
        cluster.endpoints.push_back(std::move(*e));
      } else {
        errors.push_back(fmt::format("--to: {}", e.error().message));
      }
    }
  }
  if (!any)
    errors.push_back(
        "--to: no upstream given (hint: name at least one, e.g. --to http://127.0.0.1:9000)");
  // Quick mode turns resilience on: passive outlier detection (a bad endpoint is ejected after
  // 5 consecutive failures, never the last one), and the diagnostic 503 when none is usable.
  cluster.outlier.enabled = true;
  c.clusters.push_back(std::move(cluster));

  Route route;
  route.name = "default";
  route.cluster = "default";
  route.pos = here;
  // One retry on another endpoint after a connect failure or a reset. Non-idempotent requests
  // are retried only after a connect failure (nothing was sent); see RetryPolicy.
  route.retry.attempts = 2;
  c.routes.push_back(std::move(route));

  if (!errors.empty()) {
    std::string text = errors.front();
    for (std::size_t i = 1; i < errors.size(); ++i) text += "\n" + errors[i];
    return make_error(ErrorKind::usage, ErrorSource::internal, std::move(text));
  }
  return c;
}

}  // namespace sluice::config
