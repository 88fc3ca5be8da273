// Error messages that point into the source: the offending line, then a caret and the message.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "sluice/core/error.hpp"

namespace sluice::expr {

// "client.p99 < 50 ms\n                ^ expected ..." for pos 16. Only the line holding pos is
// shown; the caret counts characters, not bytes, so UTF-8 text before it does not shift it.
std::string point_at(std::string_view source, std::size_t pos, std::string_view message);

inline Error located_error(std::string_view source, std::size_t pos, std::string_view message,
                           ErrorKind kind = ErrorKind::config) {
  return make_error(kind, ErrorSource::internal, point_at(source, pos, message));
}

}  // namespace sluice::expr
