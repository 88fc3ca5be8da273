#include "expr/pattern.hpp"

#include <regex.h>

#include <fmt/format.h>

#include "sluice/core/expr/value.hpp"

namespace sluice::expr {
namespace {

Error pattern_error(std::string_view pattern, std::string_view reason) {
  return make_error(ErrorKind::config, ErrorSource::internal,
                    fmt::format("invalid regular expression {}: {}", quote(pattern), reason));
}

// Perl's \d and \D mean nothing in POSIX syntax, where they would silently match a letter; the
// C library already knows \w \W \s \S \b \B.
std::string translate(std::string_view pattern) {
  std::string out;
  bool in_brackets = false;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (!in_brackets && c == '\\' && i + 1 < pattern.size()) {
      char e = pattern[++i];
      if (e == 'd')
        out += "[0-9]";
      else if (e == 'D')
        out += "[^0-9]";
      else
        out += {c, e};
      continue;
    }
    if (!in_brackets && c == '[') {
      in_brackets = true;
      out += c;
      // A ] right after [ or [^ is a literal, not the end.
      if (i + 1 < pattern.size() && pattern[i + 1] == '^') out += pattern[++i];
      if (i + 1 < pattern.size() && pattern[i + 1] == ']') out += pattern[++i];
      continue;
    }
    if (in_brackets && c == ']') in_brackets = false;
    out += c;
  }
  return out;
}

std::size_t nesting(std::string_view pattern) {
  std::size_t depth = 0, deepest = 0;
  for (char c : pattern) {
    if (c == '(') deepest = std::max(deepest, ++depth);
    if (c == ')' && depth > 0) --depth;
  }
  return deepest;
}

}  // namespace

struct Pattern::Compiled {
  regex_t re{};
  bool compiled = false;  // a failed regcomp leaves nothing for regfree
  ~Compiled() {
    if (compiled) regfree(&re);
  }
};

Pattern::Pattern(std::unique_ptr<Compiled> c) : compiled_(std::move(c)) {}
Pattern::~Pattern() = default;

Result<std::shared_ptr<const Pattern>> Pattern::compile(std::string_view pattern) {
  if (pattern.size() > kMaxPatternBytes)
    return pattern_error(pattern.substr(0, 40),
                         fmt::format("longer than {} bytes", kMaxPatternBytes));
  if (nesting(pattern) > kMaxPatternNesting)
    return pattern_error(pattern, fmt::format("nested more than {} levels", kMaxPatternNesting));
  if (pattern.find('\0') != std::string_view::npos)
    return pattern_error(pattern, "it contains a NUL byte");
  auto c = std::make_unique<Compiled>();
  auto text = translate(pattern);
  if (int rc = regcomp(&c->re, text.c_str(), REG_EXTENDED | REG_NOSUB); rc != 0) {
    char reason[256];
    regerror(rc, &c->re, reason, sizeof reason);
    return pattern_error(pattern, reason);
  }
  c->compiled = true;
  return std::shared_ptr<const Pattern>(new Pattern(std::move(c)));
}

bool Pattern::search(std::string_view subject) const {
  regmatch_t range[1];
  range[0].rm_so = 0;
  range[0].rm_eo = static_cast<regoff_t>(subject.size());
  // REG_STARTEND bounds the subject explicitly, so it needs no terminating NUL.
  return regexec(&compiled_->re, subject.data(), 1, range, REG_STARTEND) == 0;
}

}  // namespace sluice::expr
