// The few top-level fields of an OpenAI request body the gateway needs when it passes the body
// through untranslated (an OpenAI client and an OpenAI-family provider, no policy reading the
// messages): the model and whether it streams, found with simdjson's on-demand parser without
// building a tree, so a 400 KiB prompt costs microseconds. The model can then be swapped for the
// target's in place.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "sluice/core/error.hpp"

namespace sluice::llmgw {

// Bytes a body must have free past its end (capacity) for the scanner (simdjson's padding).
inline constexpr std::size_t kScanPadding = 64;

struct RequestScan {
  std::string model;
  bool stream = false;
  bool has_model = false;
  // The model's raw JSON string token (quotes included) in the body.
  std::size_t model_at = 0, model_len = 0;
};

// body.capacity() must be at least body.size() + kScanPadding (the function reserves it
// otherwise, which copies). Not a full validation: the provider sees the body as sent.
Result<RequestScan> scan_openai_request(std::string& body);

// body with its model replaced by model (JSON-escaped).
std::string replace_model(std::string_view body, const RequestScan& scan, std::string_view model);

}  // namespace sluice::llmgw
