// gateway.cluster(...) and gateway.endpoint(...) in chaos assertions: the gateway's own view of
// its upstreams (GET /admin/upstreams, read after the last phase). Keep in step with
// man/sluice-scenario.5 (ASSERTION NAMES).
//
//   gateway.cluster("C").usable, .total   endpoints that may take traffic, and all of them
//   gateway.cluster("C").mode             "normal", "panic_route_all" or "panic_fail_fast"
//   gateway.cluster("C").breaker          "closed", "open" or "half_open"; null without one
//   gateway.endpoint("C", mock="M")       the endpoint of cluster C that is mock M
//   gateway.endpoint("C", "HOST:PORT")    ... or named by its address
//     .state    "healthy", "unhealthy", "ejected", "draining" or "slow_start"
//     .healthy  active health (true without checks)    .ejected  ejected by outlier detection
//     .times_ejected  ejections so far                  .rule     the ejection's rule, or null
#include <memory>

#include <fmt/format.h>

#include "run_scope.hpp"

namespace sluice::chaos::detail {

using expr::Arguments;
using expr::Kind;
using expr::Object;
using expr::Value;
using nlohmann::json;

namespace {

Result<const json*> find_cluster(const RunFacts& f, const std::string& name) {
  if (!f.has_gateway) return scope_error("gateway.cluster: the scenario has no [gateway]");
  if (!f.upstreams)
    return scope_error(fmt::format("gateway upstreams unavailable: {}", f.upstreams_error));
  std::vector<std::string> known;
  auto it = f.upstreams->find("clusters");
  if (it == f.upstreams->end() || !it->is_array())
    return scope_error("gateway upstreams unavailable: /admin/upstreams has no \"clusters\"");
  for (const auto& c : *it) {
    if (!c.is_object()) continue;
    std::string n = c.value("cluster", "");
    if (n == name) return &c;
    known.push_back(n);
  }
  return scope_error(
      fmt::format("the gateway has no cluster named \"{}\"{}", name, hint_for(name, known)));
}

Value json_value(const json& j) {
  if (j.is_boolean()) return Value::boolean(j.get<bool>());
  if (j.is_number()) return Value::number(j.get<double>());
  if (j.is_string()) return Value::string(j.get<std::string>());
  return Value::null();
}

Value shared_object(std::string type, std::string id, const json& j) {
  return Value::object(Object{std::move(type), std::move(id), std::make_shared<json>(j)});
}

}  // namespace

void fill_gateway_upstreams(expr::MapScope& scope, const RunFacts& facts) {
  const RunFacts* f = &facts;
  scope.define("gateway.cluster", [f](const Arguments& args) -> Result<Value> {
    auto name = one_string("gateway.cluster", args);
    if (!name) return name.take_error();
    auto c = find_cluster(*f, *name);
    if (!c) return c.take_error();
    return shared_object("cluster", *name, **c);
  });
  scope.members("cluster", [](const Object& o, std::string_view name) -> Result<Value> {
    const auto& c = *static_cast<const json*>(o.data.get());
    if (name == "usable" || name == "total" || name == "mode")
      return json_value(c.value(std::string(name), json()));
    if (name == "breaker")
      return c.contains("breaker") ? json_value(c["breaker"].value("state", json()))
                                   : Value::null();
    return expr::unknown_member(Value::object(o), name, {"usable", "total", "mode", "breaker"});
  });
  scope.define("gateway.endpoint", [f](const Arguments& args) -> Result<Value> {
    const Value* mock = args.find("mock");
    bool by_address = args.positional.size() == 2 && args.positional[1].is(Kind::string);
    if (args.positional.empty() || !args.positional[0].is(Kind::string) ||
        (mock == nullptr) == !by_address || (mock && !mock->is(Kind::string)))
      return scope_error(
          "gateway.endpoint takes a cluster and an endpoint, as in gateway.endpoint(\"up\", "
          "mock=\"b\") or gateway.endpoint(\"up\", \"127.0.0.1:9000\")");
    const std::string& cluster = args.positional[0].as_string();
    std::string address;
    if (mock) {
      auto it = f->mocks.find(mock->as_string());
      if (it == f->mocks.end())
        return scope_error(fmt::format("no mock named \"{}\"{}", mock->as_string(),
                                       hint_for(mock->as_string(), keys_of(f->mocks))));
      address = it->second.address;
    } else {
      address = args.positional[1].as_string();
    }
    auto c = find_cluster(*f, cluster);
    if (!c) return c.take_error();
    auto eps = (*c)->find("endpoints");
    if (eps != (*c)->end() && eps->is_array())
      for (const auto& e : *eps)
        if (e.is_object() && e.value("endpoint", "") == address)
          return shared_object("endpoint", fmt::format("{}/{}", cluster, address), e);
    return scope_error(fmt::format("cluster {} has no endpoint {}", cluster, address));
  });
  scope.members("endpoint", [](const Object& o, std::string_view name) -> Result<Value> {
    const auto& e = *static_cast<const json*>(o.data.get());
    if (name == "state") return json_value(e.value("state", json()));
    json hc = e.value("health_check", json::object());
    json od = e.value("outlier", json::object());
    if (!hc.is_object()) hc = json::object();
    if (!od.is_object()) od = json::object();
    if (name == "healthy") return Value::boolean(hc.value("healthy", true));
    if (name == "ejected") return Value::boolean(od.value("ejected", false));
    if (name == "times_ejected") return Value::number(od.value("times_ejected", 0.0));
    if (name == "rule") return json_value(od.value("rule", json()));
    return expr::unknown_member(Value::object(o), name,
                                {"state", "healthy", "ejected", "times_ejected", "rule"});
  });
}

}  // namespace sluice::chaos::detail
