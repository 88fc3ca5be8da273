// The rank files of data/tokenizers/, embedded with the assembler's .incbin: no generated source
// to compile, and the binary works from any directory. CMake passes the folder and a hash of the
// files (so ccache, which cannot see .incbin, misses when they change).
#include "rank_data.hpp"

#ifndef SLUICE_TOKENIZER_DATA_DIR
#error "SLUICE_TOKENIZER_DATA_DIR must name data/tokenizers"
#endif

#define SLUICE_EMBED(sym, file)                             \
  ".pushsection .rodata.sluice_tokenizer,\"a\",@progbits\n" \
  ".balign 16\n"                                            \
  ".globl " #sym "_begin\n" #sym                            \
  "_begin:\n"                                               \
  ".incbin \"" SLUICE_TOKENIZER_DATA_DIR "/" file           \
  "\"\n"                                                    \
  ".globl " #sym "_end\n" #sym                              \
  "_end:\n"                                                 \
  ".popsection\n"

asm(SLUICE_EMBED(sluice_llm_cl100k_base, "cl100k_base.ranks"));
asm(SLUICE_EMBED(sluice_llm_o200k_base, "o200k_base.ranks"));

extern "C" {
extern const char sluice_llm_cl100k_base_begin[];
extern const char sluice_llm_cl100k_base_end[];
extern const char sluice_llm_o200k_base_begin[];
extern const char sluice_llm_o200k_base_end[];
}

namespace sluice::llm {

// Keeps the data hash in the object file's compile command (and so in ccache's key).
[[maybe_unused]] static constexpr const char* kDataHash = SLUICE_TOKENIZER_DATA_HASH;

std::string_view rank_file(Encoding e) {
  switch (e) {
    case Encoding::cl100k_base:
      return {sluice_llm_cl100k_base_begin,
              static_cast<std::size_t>(sluice_llm_cl100k_base_end - sluice_llm_cl100k_base_begin)};
    case Encoding::o200k_base:
      return {sluice_llm_o200k_base_begin,
              static_cast<std::size_t>(sluice_llm_o200k_base_end - sluice_llm_o200k_base_begin)};
  }
  return {};
}

}  // namespace sluice::llm
