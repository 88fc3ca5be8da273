#include "sluice/chaos/mock_routes.hpp"

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

namespace sluice::chaos {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

std::string echo_json(const std::string& mock_name, MockExchange& ex) {
  const MockRequest& req = ex.request();
  std::string body = ex.body();
  auto q = req.target.find('?');
  nlohmann::json headers = nlohmann::json::object();
  for (const auto& [k, v] : req.headers) {
    std::string name = lower(k);
    if (headers.contains(name))
      headers[name] = headers[name].get<std::string>() + ", " + v;
    else
      headers[name] = v;
  }
  nlohmann::json j = {
      {"mock", mock_name},
      {"method", req.method},
      {"target", req.target},
      {"path", req.target.substr(0, q)},
      {"query", q == std::string::npos ? std::string() : req.target.substr(q + 1)},
      {"headers", std::move(headers)},
      {"body_bytes", body.size()},
      {"body", std::move(body)},
  };
  // Replace invalid UTF-8 rather than throw: the request body is arbitrary bytes.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::vector<MockRoute> routes_from_specs(const std::string& mock_name,
                                         const std::vector<MockRouteSpec>& specs) {
  if (specs.empty()) return demo_routes(mock_name);
  std::vector<MockRoute> out;
  out.reserve(specs.size());
  for (const auto& spec : specs) {
    MockRoute r;
    r.method = spec.method;
    r.path = spec.path;
    r.handler = [spec, mock_name](MockExchange& ex) {
      if (!spec.echo) {
        ex.respond(spec.status, spec.body, spec.headers);
        return;
      }
      auto headers = spec.headers;
      bool typed = std::any_of(headers.begin(), headers.end(),
                               [](const auto& h) { return lower(h.first) == "content-type"; });
      if (!typed) headers.emplace_back("content-type", "application/json");
      ex.respond(spec.status, echo_json(mock_name, ex), headers);
    };
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace sluice::chaos
