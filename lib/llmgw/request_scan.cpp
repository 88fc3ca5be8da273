#include "sluice/llmgw/request_scan.hpp"

#include <simdjson.h>

#include <nlohmann/json.hpp>

static_assert(sluice::llmgw::kScanPadding >= simdjson::SIMDJSON_PADDING);

namespace sluice::llmgw {

namespace {

Error bad(std::string message) {
  return Error{ErrorKind::protocol, ErrorSource::downstream, Retryable::no, std::move(message)};
}

// The length of the JSON string token starting at s[0] == '"'.
std::size_t string_token_length(std::string_view s) {
  for (std::size_t i = 1; i < s.size(); ++i) {
    if (s[i] == '\\')
      ++i;
    else if (s[i] == '"')
      return i + 1;
  }
  return s.size();
}

}  // namespace

Result<RequestScan> scan_openai_request(std::string& body) {
  if (body.capacity() < body.size() + kScanPadding) body.reserve(body.size() + kScanPadding);
  thread_local simdjson::ondemand::parser parser;
  simdjson::padded_string_view view(body.data(), body.size(), body.capacity());
  simdjson::ondemand::document doc;
  if (parser.iterate(view).get(doc)) return bad("the request body is not valid JSON");
  simdjson::ondemand::object obj;
  if (doc.get_object().get(obj)) return bad("the request body is not a JSON object");
  RequestScan scan;
  for (auto field : obj) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return bad("the request body is not valid JSON");
    if (key == "model") {
      simdjson::ondemand::value v;
      if (field.value().get(v)) return bad("model: not valid JSON");
      std::string_view raw = v.raw_json_token();
      std::string_view model;
      if (v.get_string().get(model)) return bad("model: expected a string");
      scan.model.assign(model);
      scan.has_model = true;
      scan.model_at = static_cast<std::size_t>(raw.data() - body.data());
      scan.model_len = string_token_length(raw);
    } else if (key == "stream") {
      simdjson::ondemand::value v;
      if (field.value().get(v)) return bad("stream: not valid JSON");
      bool b = false;
      if (v.type() == simdjson::ondemand::json_type::null) continue;
      if (v.get_bool().get(b)) return bad("stream: expected a boolean");
      scan.stream = b;
    }
  }
  return scan;
}

std::string replace_model(std::string_view body, const RequestScan& scan, std::string_view model) {
  std::string quoted =
      nlohmann::json(model).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string out;
  out.reserve(body.size() + quoted.size() + kScanPadding);
  out.append(body.substr(0, scan.model_at));
  out += quoted;
  out.append(body.substr(scan.model_at + scan.model_len));
  return out;
}

}  // namespace sluice::llmgw
