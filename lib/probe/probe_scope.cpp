// ProbeScope: the names of man sluice-probe.1 (CONDITIONS), read from one ProbeResult.
#include <algorithm>
#include <cctype>
#include <charconv>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "sluice/probe/conditions.hpp"
#include "sluice/probe/grpc_wire.hpp"
#include "sluice/core/text.hpp"

namespace sluice::probe {
namespace {

using expr::Value;
using json = nlohmann::json;

Error scope_error(std::string message) {
  return make_error(ErrorKind::config, ErrorSource::internal, std::move(message));
}

Value optional_string(const std::string& s) {
  return s.empty() ? Value::null() : Value::string(s);
}

// "1.1" -> 1.1, "2" -> 2; null when there is no version.
Value version_number(const std::string& v) {
  double n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (v.empty() || ec != std::errc{} || end != v.data() + v.size()) return Value::null();
  return Value::number(n);
}

using text::iequals;

Value to_value(const json& j, std::string path) {
  switch (j.type()) {
    case json::value_t::null:
    case json::value_t::discarded:
      return Value::null();
    case json::value_t::boolean:
      return Value::boolean(j.get<bool>());
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return Value::number(j.get<double>());
    case json::value_t::string:
      return Value::string(j.get<std::string>());
    case json::value_t::array: {
      std::vector<Value> items;
      for (std::size_t i = 0; i < j.size(); ++i)
        items.push_back(to_value(j[i], fmt::format("{}[{}]", path, i)));
      return Value::list(std::move(items));
    }
    case json::value_t::object:
    case json::value_t::binary:
      break;
  }
  // Objects stay handles: their members are read one at a time (json("a").b).
  return Value::object({"json", std::move(path), std::make_shared<const json>(j)});
}

// Steps one segment into j: a key of an object or an index of an array; nullptr when absent.
const json* step(const json& j, std::string_view key) {
  if (j.is_object()) {
    auto it = j.find(std::string(key));
    return it == j.end() ? nullptr : &*it;
  }
  if (j.is_array()) {
    std::size_t index = 0;
    auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), index);
    if (key.empty() || ec != std::errc{} || end != key.data() + key.size() || index >= j.size())
      return nullptr;
    return &j[index];
  }
  return nullptr;
}

// "a.b[0].c" or "a.b.0.c" into segments.
std::vector<std::string> segments(std::string_view path) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : path) {
    if (c == '.' || c == '[' || c == ']') {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

}  // namespace

ProbeScope::ProbeScope(Kind kind, const ProbeResult& result,
                       std::chrono::system_clock::time_point now, Redaction redaction)
    : kind_(kind), r_(result), now_(now), redaction_(redaction) {}

Result<Value> ProbeScope::get(std::string_view name) const {
  const auto& t = r_.timings;
  const bool web = kind_ == Kind::http || kind_ == Kind::grpc;
  if (name == "latency") return Value::duration(t.total);
  if (name == "dns") return Value::duration(t.dns);
  if (kind_ != Kind::dns) {
    if (name == "connect") return Value::duration(t.connect);
    if (name == "ttfb") return Value::duration(t.ttfb);
  }
  if (web) {
    if (name == "status") return r_.status ? Value::number(r_.status) : Value::null();
    if (name == "tls") return Value::duration(t.tls);
    if (name == "body") return Value::string(r_.body);
    if (name == "body.size") return Value::number(static_cast<double>(r_.body.size()));
    if (name == "redirects") return Value::number(static_cast<double>(r_.redirects));
    if (name == "url")
      return optional_string(redaction_ == Redaction::on ? redact_url(r_.final_url) : r_.final_url);
    if (name == "http.version") return version_number(r_.http_version);
    if (name == "tls.version") return version_number(r_.tls_version);
    if (name == "tls.cipher") return optional_string(r_.tls_cipher);
    if (name == "cert.expires_in")
      return r_.cert
                 ? Value::duration(std::chrono::duration_cast<Duration>(r_.cert->not_after - now_))
                 : Value::null();
    if (name == "cert.subject") return r_.cert ? Value::string(r_.cert->subject) : Value::null();
    if (name == "cert.issuer") return r_.cert ? Value::string(r_.cert->issuer) : Value::null();
    if (name.starts_with("header.") && name.size() > 7) return header(name.substr(7));
    if (name.starts_with("json.") && name.size() > 5) return json_path(name.substr(5));
  }
  if (kind_ == Kind::grpc) {
    if (name == "grpc.status")
      return r_.serving_status ? Value::string(grpc::serving_status_name(*r_.serving_status))
                               : Value::null();
    if (name == "grpc.code") return r_.grpc_code ? Value::number(*r_.grpc_code) : Value::null();
    if (name == "grpc.message") return optional_string(r_.grpc_message);
    for (int s : {grpc::kUnknown, grpc::kServing, grpc::kNotServing, grpc::kServiceUnknown})
      if (name == grpc::serving_status_name(s)) return Value::string(std::string(name));
  }
  if (kind_ == Kind::tcp) {
    if (name == "connected") return Value::boolean(r_.connected);
    if (name == "received") return Value::string(r_.received);
    if (name == "received.size") return Value::number(static_cast<double>(r_.received.size()));
  }
  if (kind_ == Kind::dns) {
    if (name == "resolved") return Value::boolean(!r_.error && !r_.addresses.empty());
    if (name == "dns.count") return Value::number(static_cast<double>(r_.addresses.size()));
    if (name == "dns.addresses") {
      std::vector<Value> items;
      for (const auto& a : r_.addresses) items.push_back(Value::string(a));
      return Value::list(std::move(items));
    }
  }
  return expr::unknown_name(name, names_for(kind_));
}

Result<Value> ProbeScope::call(std::string_view name, const expr::Arguments& args) const {
  const bool web = kind_ == Kind::http || kind_ == Kind::grpc;
  if (!web || (name != "header" && name != "json")) return Scope::call(name, args);
  if (args.positional.size() != 1 || !args.keyword.empty() ||
      !args.positional[0].is(expr::Kind::string))
    return scope_error(fmt::format("{}() takes one string argument", name));
  const auto& arg = args.positional[0].as_string();
  return name == "header" ? header(arg) : json_path(arg);
}

Result<Value> ProbeScope::member(const Value& object, std::string_view name) const {
  if (!object.is(expr::Kind::object) || object.as_object().type != "json")
    return Scope::member(object, name);
  const auto& o = object.as_object();
  const auto* j = static_cast<const json*>(o.data.get());
  const json* next = j ? step(*j, name) : nullptr;
  if (!next) return Value::null();
  return to_value(*next, fmt::format("{}.{}", o.id, name));
}

Result<Value> ProbeScope::header(std::string_view name) const {
  std::string joined;
  bool found = false;
  for (const auto& [k, v] : r_.headers) {
    if (!iequals(k, name)) continue;
    if (found) joined += ", ";
    joined += v;
    found = true;
  }
  if (!found) return Value::null();
  if (redaction_ == Redaction::on && is_sensitive_header(name)) return Value::string("[redacted]");
  return Value::string(std::move(joined));
}

Result<const json*> ProbeScope::document() const {
  if (!json_ && json_error_.empty()) {
    auto parsed = json::parse(r_.body, nullptr, false);
    if (parsed.is_discarded()) {
      json_error_ = r_.body.empty()
                        ? "the body is empty, not JSON"
                        : fmt::format("the body is not JSON ({} bytes{})", r_.body.size(),
                                      r_.body_truncated ? ", cut at 1 MiB" : "");
    } else {
      json_ = std::make_shared<json>(std::move(parsed));
    }
  }
  if (!json_) return scope_error(json_error_);
  return static_cast<const json*>(json_.get());
}

Result<Value> ProbeScope::json_path(std::string_view path) const {
  auto doc = document();
  if (!doc) return doc.take_error();
  const json* at = *doc;
  for (const auto& seg : segments(path)) {
    at = step(*at, seg);
    if (!at) return Value::null();
  }
  return to_value(*at, std::string(path));
}

}  // namespace sluice::probe
