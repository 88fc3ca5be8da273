// Counts the tokens of a file with each encoding and prints the throughput (bench/tokens.sh).
// Usage: tokens_bench FILE [SECONDS]
// Prints one line per encoding: "sluice ENCODING tokens=N bytes=B seconds=S mb_per_s=X", after
// a first pass that builds the tokenizer (its time is printed as init_ms).
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "sluice/llm/tokenizer.hpp"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: tokens_bench FILE [SECONDS]\n");
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "tokens_bench: cannot read %s\n", argv[1]);
    return 2;
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  const std::string text = buf.str();
  const double seconds = argc > 2 ? std::stod(argv[2]) : 3.0;
  using clock = std::chrono::steady_clock;
  for (auto e : {sluice::llm::Encoding::cl100k_base, sluice::llm::Encoding::o200k_base}) {
    auto t0 = clock::now();
    const auto& tok = sluice::llm::Tokenizer::get(e);
    double init_ms = std::chrono::duration<double, std::milli>(clock::now() - t0).count();
    std::size_t tokens = tok.count(text);  // warm-up
    std::size_t rounds = 0;
    auto start = clock::now();
    double elapsed = 0;
    do {
      if (tok.count(text) != tokens) {
        std::fprintf(stderr, "tokens_bench: counts differ between rounds\n");
        return 1;
      }
      ++rounds;
      elapsed = std::chrono::duration<double>(clock::now() - start).count();
    } while (elapsed < seconds);
    double mb = static_cast<double>(text.size()) * static_cast<double>(rounds) / 1e6;
    std::printf(
        "sluice %s tokens=%zu bytes=%zu rounds=%zu seconds=%.3f mb_per_s=%.2f init_ms=%.1f\n",
        std::string(sluice::llm::to_string(e)).c_str(), tokens, text.size(), rounds, elapsed,
        mb / elapsed, init_ms);
  }
  return 0;
}
