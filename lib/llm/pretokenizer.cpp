// PCRE2 with JIT runs the pre-tokenizer patterns.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "pretokenizer.hpp"

#include <pcre2.h>

#include <cstdlib>
#include <cstdio>

namespace sluice::llm {

namespace {

// ECMAScript's \s: WhiteSpace (TAB, VT, FF, ZWNBSP, any Zs) and LineTerminator (LF, CR, LS, PS).
// PCRE2's \s in UCP mode is Z plus TAB, LF, VT, FF, CR: the same except U+FEFF (a Cf).
constexpr std::string_view kJsSpace = R"(\t\n\x{0B}\f\r\p{Zs}\x{2028}\x{2029}\x{FEFF})";

// Per-thread match state: PCRE2 match data must not be shared between threads.
struct MatchState {
  pcre2_match_data* data = nullptr;
  pcre2_match_context* context = nullptr;
  pcre2_jit_stack* stack = nullptr;
  MatchState() {
    data = pcre2_match_data_create(1, nullptr);
    context = pcre2_match_context_create(nullptr);
    stack = pcre2_jit_stack_create(32 * 1024, 1024 * 1024, nullptr);
    if (context && stack) pcre2_jit_stack_assign(context, nullptr, stack);
  }
  ~MatchState() {
    pcre2_jit_stack_free(stack);
    pcre2_match_context_free(context);
    pcre2_match_data_free(data);
  }
};

MatchState& match_state() {
  thread_local MatchState state;
  return state;
}

}  // namespace

std::string pcre2_pattern_from_js(std::string_view js) {
  std::string out;
  out.reserve(js.size() + 128);
  bool in_class = false;
  for (std::size_t i = 0; i < js.size(); ++i) {
    char c = js[i];
    if (c == '\\' && i + 1 < js.size()) {
      char e = js[++i];
      if (e == 's') {
        if (in_class) {
          out += kJsSpace;
        } else {
          out += '[';
          out += kJsSpace;
          out += ']';
        }
      } else if (e == 'S' && !in_class) {
        out += "[^";
        out += kJsSpace;
        out += ']';
      } else {
        // \S inside a class never occurs in these patterns; other escapes mean the same.
        out += '\\';
        out += e;
      }
      continue;
    }
    if (c == '[' && !in_class) {
      in_class = true;
    } else if (c == ']' && in_class) {
      in_class = false;
    }
    out += c;
  }
  // U+0295 (ʕ) was Ll until Unicode 16 made it Lo. The reference (Node 20) has it as Lo, so
  // o200k's class of "upper-case-like" letters, which holds Lo but not Ll, must match it with
  // PCRE2's Unicode 14 too. It is the only Unicode 14 character whose class differs
  // (tests/unit/llm/tokenizer_test.cpp checks every one); the class of lower-case-like letters
  // holds both Ll and Lo, so it matches ʕ either way.
  constexpr std::string_view upper = R"(\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}])";
  for (std::size_t at = out.find(upper); at != std::string::npos; at = out.find(upper, at + 1)) {
    out.insert(at + upper.size() - 1, R"(\x{295})");
  }
  return out;
}

PreTokenizer::PreTokenizer(std::string_view js_pattern) {
  std::string pattern = pcre2_pattern_from_js(js_pattern);
  int error = 0;
  PCRE2_SIZE offset = 0;
  // UTF without UCP: \p{..} works in UTF mode, and every other escape is explicit ASCII.
  // NO_AUTO_CAPTURE: the groups only group.
  code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                        PCRE2_UTF | PCRE2_NO_AUTO_CAPTURE | PCRE2_NO_UTF_CHECK, &error, &offset,
                        nullptr);
  if (!code_) {
    // The patterns are constants checked by the unit tests; this cannot happen in a built binary.
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error, message, sizeof message);
    std::fprintf(stderr, "sluice: tokenizer pattern does not compile at %zu: %s\n",
                 static_cast<std::size_t>(offset), reinterpret_cast<char*>(message));
    std::abort();
  }
  jit_ = pcre2_jit_compile(code_, PCRE2_JIT_COMPLETE) == 0;
}

PreTokenizer::~PreTokenizer() {
  pcre2_code_free(code_);
}

bool PreTokenizer::next(std::string_view text, std::size_t from, std::size_t& begin,
                        std::size_t& end) const {
  MatchState& state = match_state();
  auto subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  int rc = PCRE2_ERROR_NOMATCH;
  if (jit_) {
    rc = pcre2_jit_match(code_, subject, text.size(), from, 0, state.data, state.context);
  }
  if (!jit_ || (rc < 0 && rc != PCRE2_ERROR_NOMATCH)) {
    // Without JIT, or if the JIT ran out of stack: the interpreter keeps its state on the heap.
    rc = pcre2_match(code_, subject, text.size(), from, PCRE2_NO_UTF_CHECK, state.data, nullptr);
  }
  if (rc == PCRE2_ERROR_NOMATCH || from >= text.size()) return false;
  if (rc < 0) {
    // A resource limit (never seen with these patterns): the next character becomes a piece of
    // its own rather than losing the rest of the text.
    begin = from;
    end = from + 1;
    while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) ++end;
    return true;
  }
  PCRE2_SIZE* ov = pcre2_get_ovector_pointer(state.data);
  begin = ov[0];
  end = ov[1];
  return true;
}

}  // namespace sluice::llm
