#include "sluice/llmgw/provider.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "sluice/core/config/load.hpp"
#include "sluice/llm/provider_error.hpp"
#include "sluice/upstream/retry.hpp"

namespace sluice::llmgw {

namespace {

llm::WireFormat format_of(config::ProviderKind k) {
  switch (k) {
    case config::ProviderKind::openai:
      return llm::WireFormat::openai;
    case config::ProviderKind::openai_compatible:
      return llm::WireFormat::openai_compatible;
    case config::ProviderKind::anthropic:
      return llm::WireFormat::anthropic;
    case config::ProviderKind::gemini:
      return llm::WireFormat::gemini;
  }
  return llm::WireFormat::openai;
}

// Percent-encodes what may not appear raw in a path segment.
std::string path_segment(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == ':' || c == '@')
      out += static_cast<char>(c);
    else
      out += fmt::format("%{:02X}", c);
  }
  return out;
}

}  // namespace

Result<Provider> Provider::make(const config::Provider& cfg, std::size_t index) {
  Provider p;
  p.cfg_ = &cfg;
  p.format_ = format_of(cfg.kind);
  std::string key;
  if (!cfg.api_key_env.empty()) {
    const char* v = std::getenv(cfg.api_key_env.c_str());
    if (!v || !*v)
      return config::config_error(
          cfg.pos, fmt::format("providers[{}].api_key_env", index),
          fmt::format("the environment variable {} is not set", cfg.api_key_env),
          fmt::format("export {}=... before starting sluice, or remove api_key_env",
                      cfg.api_key_env));
    key = v;
  } else if (!cfg.api_key_file.empty()) {
    std::ifstream f(cfg.api_key_file, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    key = ss.str();
    while (!key.empty() && (key.back() == '\n' || key.back() == '\r' || key.back() == ' '))
      key.pop_back();
    if (!f || key.empty())
      return config::config_error(cfg.pos, fmt::format("providers[{}].api_key_file", index),
                                  fmt::format("cannot read a key from {}", cfg.api_key_file),
                                  "check the path and that the file holds the key");
  }
  p.headers_.push_back({"content-type", "application/json"});
  if (!key.empty()) {
    switch (p.format_) {
      case llm::WireFormat::openai:
        p.headers_.push_back({"authorization", "Bearer " + key});
        break;
      case llm::WireFormat::openai_compatible:
        // Azure OpenAI (api_version set) authenticates with api-key; others with a bearer token.
        if (!cfg.api_version.empty())
          p.headers_.push_back({"api-key", key});
        else
          p.headers_.push_back({"authorization", "Bearer " + key});
        break;
      case llm::WireFormat::anthropic:
        p.headers_.push_back({"x-api-key", key});
        break;
      case llm::WireFormat::gemini:
        p.headers_.push_back({"x-goog-api-key", key});
        break;
    }
  }
  if (p.format_ == llm::WireFormat::anthropic)
    p.headers_.push_back({"anthropic-version", cfg.anthropic_version});
  for (const auto& [k, v] : cfg.headers) p.headers_.push_back({k, v});
  return p;
}

std::string Provider::with_query(std::string path) const {
  if (!cfg_->api_version.empty()) {
    path += path.find('?') == std::string::npos ? '?' : '&';
    path += "api-version=" + cfg_->api_version;
  }
  return path;
}

std::string Provider::chat_target(std::string_view model, bool stream) const {
  const std::string& base = cfg_->base_path;
  switch (format_) {
    case llm::WireFormat::anthropic:
      return base + "/messages";
    case llm::WireFormat::gemini:
      return fmt::format("{}/models/{}:{}", base, path_segment(model),
                         stream ? "streamGenerateContent?alt=sse" : "generateContent");
    default:
      return with_query(base + "/chat/completions");
  }
}

std::string Provider::embeddings_target() const {
  return with_query(cfg_->base_path + "/embeddings");
}

llm::ProviderError parse_error(llm::WireFormat format, int status, std::string_view body,
                               std::string_view retry_after,
                               std::chrono::system_clock::time_point wall_now) {
  auto err = llm::parse_provider_error(format, status, body, retry_after);
  if (!err.retry_after_s && !retry_after.empty())
    if (auto d = upstream::parse_retry_after(retry_after, wall_now); d && d->count() > 0)
      err.retry_after_s = std::max<std::int64_t>(
          1, static_cast<std::int64_t>(std::ceil(std::chrono::duration<double>(*d).count())));
  return err;
}

}  // namespace sluice::llmgw
