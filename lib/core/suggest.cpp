#include "sluice/core/suggest.hpp"

#include <algorithm>
#include <cctype>

namespace sluice {
namespace {

// Longer words are not typos, and the table would grow with their square.
constexpr std::size_t kMaxWord = 256;

template <class Candidates>
std::optional<std::size_t> closest_index(std::string_view word, const Candidates& candidates) {
  if (word.size() > kMaxWord) return std::nullopt;
  // On very short words two edits can turn anything into anything.
  const std::size_t limit = word.size() <= 3 ? 1 : 2;
  std::optional<std::size_t> best;
  std::size_t best_distance = limit + 1;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    if (candidates[i].size() > kMaxWord) continue;
    auto d = edit_distance(word, candidates[i]);
    if (d < best_distance) best = i, best_distance = d;
  }
  return best;
}

}  // namespace

std::size_t edit_distance(std::string_view a, std::string_view b) {
  auto low = [](char c) { return std::tolower(static_cast<unsigned char>(c)); };
  const std::size_t n = a.size(), m = b.size();
  std::vector<std::vector<std::size_t>> d(n + 1, std::vector<std::size_t>(m + 1));
  for (std::size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= n; ++i) {
    for (std::size_t j = 1; j <= m; ++j) {
      std::size_t cost = low(a[i - 1]) == low(b[j - 1]) ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && low(a[i - 1]) == low(b[j - 2]) && low(a[i - 2]) == low(b[j - 1]))
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[n][m];
}

std::optional<std::string_view> closest(std::string_view word,
                                        const std::vector<std::string_view>& candidates) {
  if (auto i = closest_index(word, candidates)) return candidates[*i];
  return std::nullopt;
}

std::optional<std::string> closest(std::string_view word,
                                   const std::vector<std::string>& candidates) {
  if (auto i = closest_index(word, candidates)) return candidates[*i];
  return std::nullopt;
}

}  // namespace sluice
