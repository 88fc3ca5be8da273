// Which tokenizer counts a model's tokens. OpenAI models map to their exact encoding (gpt-4o,
// gpt-4.1, gpt-4.5, gpt-5 and the o-series to o200k_base; gpt-4, gpt-3.5 and the embedding
// models to cl100k_base). Anthropic and Gemini tokenizers are not public: their models get an
// estimate, an exact encoding's count scaled by a per-family factor, and say so.
#pragma once

#include <optional>
#include <string_view>

#include "sluice/llm/tokenizer.hpp"

namespace sluice::llm {

struct ModelEncoding {
  Encoding encoding = Encoding::o200k_base;
  std::string_view family;  // "openai", "anthropic", "gemini"
  bool estimate = false;    // the count is encoding's, scaled by factor: not the provider's
  double factor = 1.0;
};

// The model's encoding; a provider prefix ("openai/", "anthropic/", "google/", "models/") is
// ignored. nullopt for a model this table does not know.
std::optional<ModelEncoding> encoding_for_model(std::string_view model);

// An estimate scaled by factor, rounded up; exact counts pass through.
std::size_t scaled_count(const ModelEncoding& m, std::size_t exact);

}  // namespace sluice::llm
