// A configured LLM provider as the request path uses it: its wire format, its key (read once
// from the environment or a file, never logged) and the request heads it expects.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/core/config/schema.hpp"
#include "sluice/core/error.hpp"
#include "sluice/gateway/route_handler.hpp"
#include "sluice/llm/chat.hpp"

namespace sluice::llmgw {

class Provider {
 public:
  // Reads the key (api_key_env or api_key_file); an unset variable or unreadable file is an
  // error naming the config key.
  static Result<Provider> make(const config::Provider& cfg, std::size_t index);

  const config::Provider& config() const { return *cfg_; }
  const std::string& name() const { return cfg_->name; }
  llm::WireFormat format() const { return format_; }
  // The OpenAI family takes the OpenAI request body as it is.
  bool openai_family() const {
    return format_ == llm::WireFormat::openai || format_ == llm::WireFormat::openai_compatible;
  }
  // Request headers: content type, authentication, API version, configured extras.
  const std::vector<gateway::Header>& headers() const { return headers_; }
  // The request target of a chat call (Gemini puts the model and streaming in the URL).
  std::string chat_target(std::string_view model, bool stream) const;
  std::string embeddings_target() const;  // OpenAI family only

 private:
  std::string with_query(std::string path) const;
  const config::Provider* cfg_ = nullptr;
  llm::WireFormat format_ = llm::WireFormat::openai;
  std::vector<gateway::Header> headers_;
};

// A provider's error answer: its status, body and Retry-After header. Retry-After may be
// delta-seconds or, as RFC 9110 allows, an HTTP-date: then retry_after_s is the whole seconds
// from wall_now to that date, at least 1 (none when the date is past).
llm::ProviderError parse_error(llm::WireFormat format, int status, std::string_view body,
                               std::string_view retry_after,
                               std::chrono::system_clock::time_point wall_now);

}  // namespace sluice::llmgw
