// Targets from a TOML file (--file): an optional [defaults] table and one [[targets]] table per
// target, with the keys of man sluice-probe.1 (TARGETS FILE). Every problem is reported at once,
// one per line, as FILE:LINE:COL: key.path: what is wrong (hint: how to fix it).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "sluice/probe/conditions.hpp"
#include "sluice/probe/target.hpp"

namespace sluice::probe {

// `base` and `base_expect` come from the command-line flags; [defaults] overrides them and each
// target overrides [defaults], key by key (expect as a whole).
Result<std::vector<Target>> load_targets_file(const std::string& path, const RequestOptions& base,
                                              const std::vector<ConditionText>& base_expect);
Result<std::vector<Target>> load_targets_string(std::string_view toml_text,
                                                std::string_view source_name,
                                                const RequestOptions& base,
                                                const std::vector<ConditionText>& base_expect);

}  // namespace sluice::probe
