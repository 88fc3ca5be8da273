#include <fmt/format.h>

#include "sluice/core/config/load.hpp"

namespace sluice::config {

Error config_error(const SourcePos& pos, std::string_view key, std::string_view what,
                   std::string_view hint) {
  std::string where = pos.line ? fmt::format("{}:{}:{}", pos.file, pos.line, pos.column) : pos.file;
  return make_error(ErrorKind::config, ErrorSource::internal,
                    fmt::format("{}: {}: {} (hint: {})", where, key, what, hint));
}

}  // namespace sluice::config
