// Internal to scenario loading: readers for the smaller tables of a scenario file, [[mocks.routes]]
// and phases.slowloris, kept apart from the loader's cross-checks in scenario_load.cpp.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/reader.hpp"
#include "sluice/chaos/scenario.hpp"

namespace sluice::chaos::detail {

// RFC 9110 token characters, for methods and header names.
bool valid_token(std::string_view s);

// A `headers` table of string values, in the order written.
void read_headers(const config::detail::TableReader& t,
                  std::vector<std::pair<std::string, std::string>>& out);

// A mock's `routes`: the string "demo" (out stays empty) or an array of route tables. A body_file
// is read now, relative to base_dir.
void read_mock_routes(const config::detail::TableReader& mock, const std::string& base_dir,
                      std::vector<MockRouteSpec>& out);

// A mock's `llm` table (a mock LLM provider).
void read_mock_llm(const config::detail::TableReader& mock, std::optional<LlmMockSpec>& out);

// A phase's `slowloris` table.
void read_slowloris(const config::detail::TableReader& phase, std::optional<Slowloris>& out);

}  // namespace sluice::chaos::detail
