// "Did you mean" suggestions, shared by every parser and lookup that names an unknown word.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

// Optimal string alignment distance, case-insensitive: a transposition counts as one typo.
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate within two edits (one for words of three letters or fewer), as a plausible typo.
std::optional<std::string_view> closest(std::string_view word,
                                        const std::vector<std::string_view>& candidates);
std::optional<std::string> closest(std::string_view word,
                                   const std::vector<std::string>& candidates);

}  // namespace sluice
