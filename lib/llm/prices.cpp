// The price table and request cost. The built-in table is data/llm/prices.json, embedded with the
// assembler's .incbin the way rank_data.cpp embeds the tokenizer ranks; CMake passes the folder
// and a hash of the file (so ccache, which cannot see .incbin, misses when it changes).
#include "sluice/llm/prices.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#ifndef SLUICE_LLM_DATA_DIR
#error "SLUICE_LLM_DATA_DIR must name data/llm"
#endif

asm(".pushsection .rodata.sluice_llm_prices,\"a\",@progbits\n"
    ".balign 16\n"
    ".globl sluice_llm_prices_begin\n"
    "sluice_llm_prices_begin:\n"
    ".incbin \"" SLUICE_LLM_DATA_DIR
    "/prices.json\"\n"
    ".globl sluice_llm_prices_end\n"
    "sluice_llm_prices_end:\n"
    ".popsection\n");

extern "C" {
extern const char sluice_llm_prices_begin[];
extern const char sluice_llm_prices_end[];
}

namespace sluice::llm {

// Keeps the data hash in the object file's compile command (and so in ccache's key).
[[maybe_unused]] static constexpr const char* kPriceDataHash = SLUICE_LLM_PRICES_HASH;

namespace {

using Json = nlohmann::json;

Error bad(std::string_view where, std::string_view what) {
  return make_error(ErrorKind::config, ErrorSource::internal, fmt::format("{}: {}", where, what));
}

bool is_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool is_date(std::string_view s) {  // YYYY-MM-DD
  return s.size() == 10 && is_digits(s.substr(0, 4)) && s[4] == '-' && is_digits(s.substr(5, 2)) &&
         s[7] == '-' && is_digits(s.substr(8, 2));
}

// Reads a price field; absent leaves out untouched unless required.
std::optional<Error> read_price(const Json& model, const char* key, bool required, double& out,
                                const std::string& where) {
  auto it = model.find(key);
  std::string field = fmt::format("{}.{}", where, key);
  if (it == model.end()) {
    if (required) return bad(field, "missing");
    return std::nullopt;
  }
  if (!it->is_number()) return bad(field, "expected a non-negative number");
  double v = it->get<double>();
  if (!std::isfinite(v) || v < 0) return bad(field, "expected a non-negative number");
  out = v;
  return std::nullopt;
}

// Removes one version suffix from the end of s; false when there is none.
bool strip_version_suffix(std::string& s) {
  if (auto at = s.find('@'); at != std::string::npos) {
    s.resize(at);
    return true;
  }
  auto dash = s.rfind('-');
  if (dash == std::string::npos || dash == 0) return false;
  std::string_view tail = std::string_view(s).substr(dash + 1);
  // -YYYYMMDD, -latest, -NNN
  if ((tail.size() == 8 && is_digits(tail)) || tail == "latest" ||
      (tail.size() == 3 && is_digits(tail))) {
    s.resize(dash);
    return true;
  }
  // -YYYY-MM-DD
  if (s.size() > 11 && is_date(std::string_view(s).substr(s.size() - 10)) &&
      s[s.size() - 11] == '-') {
    s.resize(s.size() - 11);
    return true;
  }
  return false;
}

}  // namespace

std::string normalize_model_name(std::string_view model) {
  if (auto slash = model.rfind('/'); slash != std::string_view::npos)
    model = model.substr(slash + 1);
  std::string s(model);
  while (strip_version_suffix(s)) {
  }
  return s;
}

Result<PriceTable> PriceTable::from_json(std::string_view text) {
  Json doc = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return bad("prices", "not valid JSON");
  if (!doc.is_object()) return bad("prices", "expected an object");

  PriceTable t;
  auto as_of = doc.find("as_of");
  if (as_of == doc.end()) return bad("as_of", "missing");
  if (!as_of->is_string() || !is_date(as_of->get_ref<const std::string&>()))
    return bad("as_of", "expected a date (YYYY-MM-DD)");
  t.as_of_ = as_of->get<std::string>();

  if (auto src = doc.find("sources"); src != doc.end()) {
    if (!src->is_object()) return bad("sources", "expected an object");
    for (auto it = src->begin(); it != src->end(); ++it) {
      if (!it.value().is_string()) return bad("sources." + it.key(), "expected a string");
      t.sources_[it.key()] = it.value().get<std::string>();
    }
  }

  auto models = doc.find("models");
  if (models == doc.end()) return bad("models", "missing");
  if (!models->is_object()) return bad("models", "expected an object");
  for (auto it = models->begin(); it != models->end(); ++it) {
    std::string where = "models." + it.key();
    const Json& m = it.value();
    if (it.key().empty()) return bad("models", "empty model name");
    if (!m.is_object()) return bad(where, "expected an object");
    Entry e;
    if (auto p = m.find("provider"); p != m.end()) {
      if (!p->is_string()) return bad(where + ".provider", "expected a string");
      e.provider = p->get<std::string>();
    }
    if (auto err = read_price(m, "input", true, e.price.input, where)) return *err;
    if (auto err = read_price(m, "output", true, e.price.output, where)) return *err;
    if (auto err = read_price(m, "cached_input", false, e.price.cached_input, where)) return *err;
    if (auto err = read_price(m, "cache_write", false, e.price.cache_write, where)) return *err;
    t.entries_[it.key()] = std::move(e);
  }
  return t;
}

const PriceTable& PriceTable::builtin() {
  static const PriceTable table = [] {
    std::string_view text(
        sluice_llm_prices_begin,
        static_cast<std::size_t>(sluice_llm_prices_end - sluice_llm_prices_begin));
    auto r = from_json(text);
    return r ? std::move(r).value() : PriceTable{};
  }();
  return table;
}

void PriceTable::set(std::string model, Price price) {
  entries_[std::move(model)].price = price;
}

const PriceTable::Entry* PriceTable::find_entry(std::string_view model) const {
  auto lookup = [this](std::string_view name) -> const Entry* {
    auto it = entries_.find(name);
    return it == entries_.end() ? nullptr : &it->second;
  };
  if (const Entry* e = lookup(model)) return e;
  if (auto slash = model.rfind('/'); slash != std::string_view::npos) {
    model = model.substr(slash + 1);
    if (const Entry* e = lookup(model)) return e;
  }
  std::string name(model);
  while (strip_version_suffix(name)) {
    if (const Entry* e = lookup(name)) return e;
  }
  for (auto dash = name.rfind('-'); dash != std::string::npos && dash > 0;
       dash = name.rfind('-', dash - 1)) {
    if (const Entry* e = lookup(std::string_view(name).substr(0, dash))) return e;
  }
  return nullptr;
}

const Price* PriceTable::find(std::string_view model) const {
  const Entry* e = find_entry(model);
  return e ? &e->price : nullptr;
}

double cost_usd(const Price& price, const Usage& usage) {
  auto n = [](std::int64_t v) { return static_cast<double>(std::max<std::int64_t>(v, 0)); };
  double cached = n(usage.cached_input);
  double written = n(usage.cache_creation);
  double uncached = std::max(0.0, n(usage.input) - cached - written);
  double cached_price = price.cached_input > 0 ? price.cached_input : price.input;
  double write_price = price.cache_write > 0 ? price.cache_write : price.input;
  return (uncached * price.input + cached * cached_price + written * write_price +
          n(usage.output) * price.output) /
         1e6;
}

}  // namespace sluice::llm
