#include "sluice/llm/models.hpp"

#include <array>
#include <cmath>
#include <utility>

namespace sluice::llm {

namespace {

struct Prefix {
  std::string_view prefix;
  ModelEncoding encoding;
};

constexpr ModelEncoding kO200k{Encoding::o200k_base, "openai", false, 1.0};
constexpr ModelEncoding kCl100k{Encoding::cl100k_base, "openai", false, 1.0};
// Estimates, measured against the providers' usage figures on English prose and code: Claude
// models bill about 10% more tokens than cl100k_base counts, Gemini models about as many as
// o200k_base. Documented in sluice-tokens(1) as estimates.
constexpr ModelEncoding kClaude{Encoding::cl100k_base, "anthropic", true, 1.10};
constexpr ModelEncoding kGemini{Encoding::o200k_base, "gemini", true, 1.0};

// Longest prefixes first where one is a prefix of another (gpt-4o before gpt-4).
constexpr std::array kPrefixes{
    Prefix{"gpt-4o", kO200k},
    Prefix{"chatgpt-4o", kO200k},
    Prefix{"gpt-4.1", kO200k},
    Prefix{"gpt-4.5", kO200k},
    Prefix{"gpt-5", kO200k},
    Prefix{"o1", kO200k},
    Prefix{"o3", kO200k},
    Prefix{"o4", kO200k},
    Prefix{"gpt-4", kCl100k},
    Prefix{"gpt-3.5", kCl100k},
    Prefix{"gpt-35", kCl100k},
    Prefix{"text-embedding-3", kCl100k},
    Prefix{"text-embedding-ada-002", kCl100k},
    Prefix{"claude", kClaude},
    Prefix{"gemini", kGemini},
};

std::string_view strip_provider(std::string_view model) {
  for (std::string_view p :
       {"openai/", "azure/", "anthropic/", "google/", "vertex_ai/", "models/", "gemini/"})
    if (model.starts_with(p)) return model.substr(p.size());
  return model;
}

}  // namespace

std::optional<ModelEncoding> encoding_for_model(std::string_view model) {
  model = strip_provider(model);
  for (const auto& p : kPrefixes) {
    if (!model.starts_with(p.prefix)) continue;
    // "o1" must not match "o100": after the prefix comes the end, '-', '.', ':' or '@'.
    std::string_view rest = model.substr(p.prefix.size());
    if (rest.empty() || rest.front() == '-' || rest.front() == '.' || rest.front() == ':' ||
        rest.front() == '@')
      return p.encoding;
  }
  return std::nullopt;
}

std::size_t scaled_count(const ModelEncoding& m, std::size_t exact) {
  if (!m.estimate || m.factor == 1.0) return exact;
  // The epsilon keeps 100 x 1.10 (110.00000000000001 in binary) at 110.
  return static_cast<std::size_t>(std::ceil(static_cast<double>(exact) * m.factor - 1e-9));
}

}  // namespace sluice::llm
