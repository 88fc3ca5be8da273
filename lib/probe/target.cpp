// Target URLs: scheme, host, port and path checked here, so libcurl and the socket probes only
// ever see well-formed targets, and a typo is a usage error with a hint rather than a failed probe.
#include "sluice/probe/target.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <fmt/format.h>

namespace sluice::probe {
namespace {

Error usage(std::string what, std::string_view hint) {
  return make_error(ErrorKind::usage, ErrorSource::downstream,
                    fmt::format("{} (hint: {})", what, hint));
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

constexpr std::string_view kSchemes =
    "http://, https://, tcp://HOST:PORT, grpc://HOST:PORT[/SERVICE], grpcs://HOST:PORT or "
    "dns://NAME";

bool host_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
}

struct Authority {
  std::string userinfo;
  std::string host;
  std::optional<std::uint16_t> port;
  bool bracketed = false;
};

Result<std::uint16_t> parse_port(std::string_view text, std::string_view example) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || value == 0 ||
      value > 65535)
    return usage(fmt::format("port \"{}\" is not a number from 1 to 65535", text),
                 fmt::format("e.g. {}", example));
  return static_cast<std::uint16_t>(value);
}

Result<Authority> parse_authority(std::string_view text, std::string_view example) {
  Authority a;
  if (auto at = text.rfind('@'); at != std::string_view::npos) {
    a.userinfo = std::string(text.substr(0, at));
    text.remove_prefix(at + 1);
  }
  std::string_view port_text;
  bool has_port = false;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos)
      return usage("unclosed [ in the address", "write IPv6 addresses as [::1]:8080");
    a.host = std::string(text.substr(1, close - 1));
    a.bracketed = true;
    auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':')
        return usage(fmt::format("unexpected \"{}\" after the address", rest),
                     "write IPv6 addresses as [::1]:8080");
      has_port = true;
      port_text = rest.substr(1);
    }
    bool ok = !a.host.empty() && std::all_of(a.host.begin(), a.host.end(), [](char c) {
      return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
    });
    if (!ok) return usage(fmt::format("\"{}\" is not an IPv6 address", a.host), example);
  } else {
    auto colon = text.find(':');
    if (colon != std::string_view::npos && text.find(':', colon + 1) != std::string_view::npos)
      return usage("an IPv6 address without brackets", "write IPv6 addresses as [::1]:8080");
    a.host = std::string(text.substr(0, colon));
    if (colon != std::string_view::npos) {
      has_port = true;
      port_text = text.substr(colon + 1);
    }
    if (a.host.empty()) return usage("no host", fmt::format("e.g. {}", example));
    if (!std::all_of(a.host.begin(), a.host.end(), host_char) || a.host.front() == '-' ||
        a.host.front() == '.')
      return usage(fmt::format("\"{}\" is not a valid host name", a.host),
                   "use letters, digits, '-' and '.', or an IP address");
  }
  if (has_port) {
    auto port = parse_port(port_text, example);
    if (!port) return port.take_error();
    a.port = *port;
  }
  return a;
}

}  // namespace

std::string_view to_string(Kind k) {
  switch (k) {
    case Kind::http:
      return "http";
    case Kind::tcp:
      return "tcp";
    case Kind::grpc:
      return "grpc";
    case Kind::dns:
      return "dns";
  }
  return "http";
}

Result<Target> parse_target(std::string_view text) {
  if (text.empty()) return usage("the target is empty", fmt::format("write one of {}", kSchemes));
  for (char c : text)
    if (std::isspace(static_cast<unsigned char>(c)) || std::iscntrl(static_cast<unsigned char>(c)))
      return usage("the target contains a space or a control character",
                   "percent-encode it in the URL (%20)");
  auto sep = text.find("://");
  if (sep == std::string_view::npos)
    return usage("no scheme",
                 fmt::format("write http://{0}/ for HTTP or tcp://{0} for a TCP connect", text));
  std::string scheme = lower(text.substr(0, sep));
  auto rest = text.substr(sep + 3);
  auto path_at = rest.find_first_of("/?#");
  auto authority_text = rest.substr(0, path_at);
  std::string path = path_at == std::string_view::npos ? "" : std::string(rest.substr(path_at));

  Target t;
  t.name = redact_url(text);
  t.url = std::string(text);
  if (scheme == "http" || scheme == "https") {
    t.kind = Kind::http;
    t.tls = scheme == "https";
    auto a = parse_authority(authority_text, scheme + "://127.0.0.1:8080/health");
    if (!a) return a.take_error();
    t.host = a->host;
    t.port = a->port.value_or(t.tls ? 443 : 80);
    t.path = path.empty() || path.front() != '/' ? "/" + path : path;
    return t;
  }
  bool grpc = scheme == "grpc" || scheme == "grpcs";
  if (scheme == "tcp" || grpc) {
    std::string example = grpc ? scheme + "://127.0.0.1:50051" : "tcp://127.0.0.1:5432";
    auto a = parse_authority(authority_text, example);
    if (!a) return a.take_error();
    if (!a->userinfo.empty())
      return usage(fmt::format("{}:// targets take no user name or password", scheme),
                   fmt::format("e.g. {}", example));
    if (!a->port) return usage("the port is missing", fmt::format("e.g. {}", example));
    t.kind = grpc ? Kind::grpc : Kind::tcp;
    t.tls = scheme == "grpcs";
    t.host = a->host;
    t.port = *a->port;
    if (!grpc) {
      if (!path.empty() && path != "/")
        return usage(fmt::format("tcp:// targets have no path (\"{}\")", path),
                     "write tcp://HOST:PORT");
      return t;
    }
    if (path.find_first_of("?#") != std::string::npos || path.find('/', 1) != std::string::npos)
      return usage(fmt::format("\"{}\" is not a gRPC service name", path),
                   "write grpc://HOST:PORT/package.Service, or grpc://HOST:PORT for the server "
                   "as a whole");
    t.path = path == "/" ? "" : path;
    std::string host = a->bracketed ? "[" + a->host + "]" : a->host;
    t.url = fmt::format("{}://{}:{}/grpc.health.v1.Health/Check", t.tls ? "https" : "http", host,
                        t.port);
    return t;
  }
  if (scheme == "dns") {
    auto name = authority_text;
    if (!path.empty() && path != "/")
      return usage(fmt::format("dns:// targets have no path (\"{}\")", path),
                   "write dns://NAME, e.g. dns://localhost");
    if (name.find_first_of("@:[") != std::string_view::npos)
      return usage("dns:// targets take a name only, with no port",
                   "write dns://NAME, e.g. dns://localhost");
    if (name.empty() || !std::all_of(name.begin(), name.end(), host_char) || name.front() == '-' ||
        name.front() == '.')
      return usage(fmt::format("\"{}\" is not a valid host name", name),
                   "use letters, digits, '-' and '.', e.g. dns://localhost");
    t.kind = Kind::dns;
    t.host = std::string(name);
    return t;
  }
  return usage(fmt::format("unsupported scheme \"{}\"", scheme),
               fmt::format("write one of {}", kSchemes));
}

std::string grpc_service(const Target& t) {
  if (!t.options.service.empty()) return t.options.service;
  return t.path.empty() ? std::string() : t.path.substr(1);
}

std::string redact_url(std::string_view url) {
  auto sep = url.find("://");
  if (sep == std::string_view::npos) return std::string(url);
  auto start = sep + 3;
  auto end = url.find_first_of("/?#", start);
  if (end == std::string_view::npos) end = url.size();
  auto at = url.rfind('@', end);
  if (at == std::string_view::npos || at < start) return std::string(url);
  auto colon = url.find(':', start);
  if (colon == std::string_view::npos || colon > at) return std::string(url);
  return fmt::format("{}***{}", url.substr(0, colon + 1), url.substr(at));
}

bool is_sensitive_header(std::string_view name) {
  std::string n = lower(name);
  static constexpr std::string_view exact[] = {"authorization", "proxy-authorization", "cookie",
                                               "set-cookie",    "x-api-key",           "api-key",
                                               "apikey"};
  for (auto e : exact)
    if (n == e) return true;
  static constexpr std::string_view words[] = {"token",   "secret", "password", "passwd",
                                               "session", "auth",   "api-key",  "apikey"};
  for (auto w : words)
    if (n.find(w) != std::string::npos) return true;
  return false;
}

Result<std::pair<std::string, std::string>> parse_header(std::string_view text) {
  auto colon = text.find(':');
  auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
  };
  if (colon == std::string_view::npos || trim(text.substr(0, colon)).empty())
    return usage("expected \"Name: value\"", "e.g. --header \"Accept: application/json\"");
  auto name = trim(text.substr(0, colon));
  auto value = trim(text.substr(colon + 1));
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) &&
        std::string_view("!#$%&'*+-.^_`|~").find(c) == std::string_view::npos)
      return usage(fmt::format("\"{}\" is not a valid header name", name),
                   "use letters, digits and '-', e.g. X-Request-Id");
  for (char c : value)
    if (c == '\r' || c == '\n' || c == '\0')
      return usage("a header value cannot hold a line break", "give each header its own --header");
  return std::pair{std::string(name), std::string(value)};
}

Result<HttpVersion> parse_http_version(std::string_view text) {
  std::string v = lower(text);
  if (v == "1.1" || v == "1" || v == "http1.1" || v == "http/1.1") return HttpVersion::http1_1;
  if (v == "2" || v == "h2" || v == "http2" || v == "http/2") return HttpVersion::http2;
  return usage(fmt::format("\"{}\" is not an HTTP version", text), "use 1.1 or 2");
}

}  // namespace sluice::probe
