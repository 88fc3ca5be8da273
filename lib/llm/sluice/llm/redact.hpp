// Redaction of prompt and completion text before it is logged ([routes.llm] log_bodies): what
// looks like a credential or personal data is replaced by a [REDACTED:kind] marker, and long text
// is cut to a limit with a note of how much was left out.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace sluice::llm {

// Replaces:
//   email addresses                                   [REDACTED:email]
//   API keys: sk-..., sk-ant-..., AIza..., AKIA..., ghp_/gho_/github_pat_..., xox[abp]-...
//                                                     [REDACTED:key]
//   "Bearer <token>"                                  Bearer [REDACTED:key]
//   13 to 19 digits, spaces or dashes between allowed (card numbers)   [REDACTED:number]
//   US social security numbers (ddd-dd-dddd)          [REDACTED:number]
// then keeps at most max_bytes of the result (cut on a UTF-8 boundary) plus
// "...[N more bytes]".
std::string redact(std::string_view text, std::size_t max_bytes = 4096);

}  // namespace sluice::llm
