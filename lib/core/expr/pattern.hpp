// Regular expressions for `matches`, on POSIX extended syntax (grep -E) through the C library:
// its matcher does not recurse per input byte as std::regex does, so a large response body
// cannot overflow the stack.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "sluice/core/error.hpp"

namespace sluice::expr {

class Pattern {
 public:
  // Errors carry the bare reason; the caller adds where the pattern is.
  static Result<std::shared_ptr<const Pattern>> compile(std::string_view pattern);
  ~Pattern();
  Pattern(const Pattern&) = delete;
  Pattern& operator=(const Pattern&) = delete;

  // Does it match anywhere in the subject? The subject may hold NUL bytes.
  bool search(std::string_view subject) const;

 private:
  struct Compiled;
  explicit Pattern(std::unique_ptr<Compiled> c);
  std::unique_ptr<Compiled> compiled_;
};

// Limits that keep compiling a hostile pattern cheap.
inline constexpr std::size_t kMaxPatternBytes = 4096;
inline constexpr std::size_t kMaxPatternNesting = 32;

}  // namespace sluice::expr
