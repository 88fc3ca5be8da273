// The price table: USD per million tokens for each model, and the cost of one request from the
// provider's usage. The built-in table is data/llm/prices.json, embedded in the binary (dated
// with its sources); config overrides replace entries with set().
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "sluice/core/error.hpp"
#include "sluice/llm/chat.hpp"

namespace sluice::llm {

// USD per million tokens. A cached_input or cache_write of 0 means "no separate price": those
// tokens are charged at the input price.
struct Price {
  double input = 0;
  double output = 0;
  double cached_input = 0;  // tokens read from the provider's prompt cache
  double cache_write = 0;   // tokens written to it (Anthropic's 5-minute cache writes)
};

class PriceTable {
 public:
  struct Entry {
    std::string provider;  // openai, anthropic, gemini; empty for an override of a new model
    Price price;
  };
  using Entries = std::map<std::string, Entry, std::less<>>;

  PriceTable() = default;

  // data/llm/prices.json as embedded at build time. Parsed once; an unreadable embedded file
  // (a build error the unit tests catch) gives an empty table.
  static const PriceTable& builtin();

  // {"as_of": "YYYY-MM-DD", "sources": {provider: url}, "models": {name: {"provider": ...,
  // "input": n, "output": n, "cached_input": n, "cache_write": n}}}; input and output are
  // required, prices are finite and non-negative. An error names the field
  // ("models.gpt-4o.input: expected a non-negative number").
  static Result<PriceTable> from_json(std::string_view text);

  // Adds or replaces the exact entry for model (config overrides win over the data file). The
  // provider of a replaced entry is kept.
  void set(std::string model, Price price);

  // The price of model, or null when no rule finds one. Rules, in order, the first hit wins:
  //  1. the exact name;
  //  2. the name without a provider prefix: everything up to the last '/' (openai/gpt-4o,
  //     anthropic/claude-3-haiku, models/gemini-2.0-flash);
  //  3. then without version suffixes, removed one at a time from the end and looked up after
  //     each: "@..." (Vertex's claude-sonnet-4-5@20250929), -YYYY-MM-DD
  //     (gpt-4o-mini-2024-07-18), -YYYYMMDD (claude-3-5-haiku-20241022), -latest, and a
  //     three-digit -NNN (gemini-1.5-pro-002);
  //  4. the longest known model that is a prefix of that name ending at a '-'
  //     (gemini-2.5-pro-preview-06-05 is gemini-2.5-pro; gpt-4o-mini-search is gpt-4o-mini).
  // Rule 4 is a guess: a new variant priced differently from its family (a hypothetical
  // o3-large) gets the family's price until the table or an override names it.
  const Price* find(std::string_view model) const;
  const Entry* find_entry(std::string_view model) const;

  std::string_view as_of() const { return as_of_; }
  // Provider name to the URL its prices were taken from.
  const std::map<std::string, std::string, std::less<>>& sources() const { return sources_; }
  const Entries& entries() const { return entries_; }

 private:
  std::string as_of_;
  std::map<std::string, std::string, std::less<>> sources_;
  Entries entries_;
};

// The name find() looks up after rules 2 and 3 (no provider prefix, no version suffix).
std::string normalize_model_name(std::string_view model);

// The cost of one request in USD: uncached input (input - cached_input - cache_creation, never
// below 0) at the input price, cached_input at the cached price, cache_creation at the cache
// write price (both falling back to the input price when 0), output at the output price.
double cost_usd(const Price& price, const Usage& usage);

}  // namespace sluice::llm
