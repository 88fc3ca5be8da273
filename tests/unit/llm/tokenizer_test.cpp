// llm/tokenizer: parity with js-tiktoken on the committed corpus (fixtures/tokenizer), the
// character classes of the patterns against Node's, and the two BPE merges against each other.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "sluice/llm/tokenizer.hpp"

#include <pcre2.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include "pretokenizer.hpp"
#include "rank_data.hpp"
#include "sluice/core/text.hpp"
#include "sluice/llm/bpe.hpp"

using namespace sluice::llm;
using nlohmann::json;

namespace {

const std::filesystem::path kFixtures =
    std::filesystem::path(SLUICE_SOURCE_DIR) / "fixtures/tokenizer";

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string from_hex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out += static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16));
  }
  return out;
}

std::string fnv1a64(const std::vector<std::uint32_t>& ids) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (std::uint32_t id : ids) {
    for (int k = 0; k < 4; ++k) {
      h ^= (id >> (8 * k)) & 0xFF;
      h *= 0x100000001b3ULL;
    }
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

// name -> input bytes, for every case of cases.json and every corpus file.
std::map<std::string, std::string> parity_inputs() {
  std::map<std::string, std::string> inputs;
  for (const auto& c : json::parse(read_file(kFixtures / "cases.json"))) {
    std::string name = "cases/" + c.at("name").get<std::string>();
    inputs[name] = c.contains("hex") ? from_hex(c.at("hex").get<std::string>())
                                     : c.at("text").get<std::string>();
  }
  for (const auto& f : std::filesystem::directory_iterator(kFixtures / "corpus")) {
    inputs["corpus/" + f.path().filename().string()] = read_file(f.path());
  }
  return inputs;
}

}  // namespace

TEST_CASE("tokenizer: encoding names", "[llm][tokenizer]") {
  CHECK(encoding_named("cl100k_base") == Encoding::cl100k_base);
  CHECK(encoding_named("o200k_base") == Encoding::o200k_base);
  CHECK_FALSE(encoding_named("p50k_base"));
  CHECK_FALSE(encoding_named(""));
  CHECK(to_string(Encoding::cl100k_base) == "cl100k_base");
  CHECK(to_string(Encoding::o200k_base) == "o200k_base");
  CHECK(Tokenizer::get(Encoding::o200k_base).encoding() == Encoding::o200k_base);
  CHECK(&Tokenizer::get(Encoding::cl100k_base) == &Tokenizer::get(Encoding::cl100k_base));
}

TEST_CASE("tokenizer: the embedded rank data and patterns are js-tiktoken's", "[llm][tokenizer]") {
  const auto& cl = Tokenizer::get(Encoding::cl100k_base);
  const auto& o = Tokenizer::get(Encoding::o200k_base);
  CHECK(cl.vocabulary_size() == 100256);
  CHECK(o.vocabulary_size() == 199998);
  CHECK(rank_file(Encoding::cl100k_base) ==
        read_file(SLUICE_SOURCE_DIR "/data/tokenizers/cl100k_base.ranks"));
  CHECK(rank_file(Encoding::o200k_base) ==
        read_file(SLUICE_SOURCE_DIR "/data/tokenizers/o200k_base.ranks"));
  CHECK(std::string(kCl100kPattern) + "\n" ==
        read_file(SLUICE_SOURCE_DIR "/data/tokenizers/cl100k_base.pattern"));
  CHECK(std::string(kO200kPattern) + "\n" ==
        read_file(SLUICE_SOURCE_DIR "/data/tokenizers/o200k_base.pattern"));
  // Well-known ids.
  CHECK(cl.encode("hello world") == std::vector<std::uint32_t>{15339, 1917});
  CHECK(o.encode("hello world") == std::vector<std::uint32_t>{24912, 2375});
  CHECK(cl.decode({100257}) == "<|endoftext|>");
  CHECK(o.decode({199999}) == "<|endoftext|>");
  CHECK(cl.decode({15339, 4294967295u, 1917}) == "hello world");  // unknown ids are skipped
  // A rank file that is not one gives an empty table rather than a crash.
  CHECK_FALSE(RankTable("not a rank file").valid());
  std::string truncated(rank_file(Encoding::cl100k_base).substr(0, 5000));
  CHECK_FALSE(RankTable(truncated).valid());
}

TEST_CASE("tokenizer: ids identical to js-tiktoken on the parity corpus", "[llm][tokenizer]") {
  auto inputs = parity_inputs();
  json reference = json::parse(read_file(kFixtures / "reference.json"));
  REQUIRE(reference.at("cases").size() == inputs.size());
  for (const auto& entry : reference.at("cases")) {
    std::string name = entry.at("name").get<std::string>();
    REQUIRE(inputs.count(name) == 1);
    const std::string& text = inputs.at(name);
    for (Encoding e : {Encoding::cl100k_base, Encoding::o200k_base}) {
      INFO(name << " with " << to_string(e));
      const auto& tok = Tokenizer::get(e);
      const json& want = entry.at(std::string(to_string(e)));
      auto ids = tok.encode(text);
      if (want.is_array()) {
        CHECK(ids == want.get<std::vector<std::uint32_t>>());
      } else {
        CHECK(ids.size() == want.at("count").get<std::size_t>());
        CHECK(fnv1a64(ids) == want.at("fnv1a64").get<std::string>());
      }
      CHECK(tok.count(text) == ids.size());
      CHECK(tok.decode(ids) == sluice::text::decode_utf8_whatwg(text));
    }
  }
}

TEST_CASE("tokenizer: character classes agree with Node's for Unicode 14 characters",
          "[llm][tokenizer]") {
  // The patterns can differ between the engines only through what their character classes
  // match. For every code point that PCRE2's tables (Unicode 14) know as assigned, each class
  // the patterns use, translated by pcre2_pattern_from_js, must match exactly what it matches
  // in Node (fixtures/tokenizer/js-unicode.json).
  json js = json::parse(read_file(kFixtures / "js-unicode.json")).at("classes");
  REQUIRE(js.size() == 8);
  auto compile = [](const std::string& p) {
    int err = 0;
    PCRE2_SIZE off = 0;
    return pcre2_compile(reinterpret_cast<PCRE2_SPTR>(p.data()), p.size(),
                         PCRE2_UTF | PCRE2_ANCHORED | PCRE2_ENDANCHORED, &err, &off, nullptr);
  };
  pcre2_code* assigned = compile(R"(\P{Cn})");
  REQUIRE(assigned);
  pcre2_match_data* md = pcre2_match_data_create(1, nullptr);
  auto test = [&](pcre2_code* code, char32_t cp) {
    std::string s;
    sluice::text::append_utf8(s, cp);
    return pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(s.data()), s.size(), 0, 0, md, nullptr) >=
           0;
  };
  std::vector<bool> known(0x110000, false);
  std::size_t known_count = 0;
  for (char32_t cp = 0; cp < 0x110000; ++cp) {
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;
    known[cp] = test(assigned, cp);
    known_count += known[cp];
  }
  CHECK(known_count > 280000);  // Unicode 14: 144,697 characters + 137,468 private use
  for (const auto& [js_class, ranges] : js.items()) {
    std::string pattern = pcre2_pattern_from_js(js_class);
    INFO("class " << js_class << " as " << pattern);
    pcre2_code* code = compile(pattern);
    CHECK(code);
    if (!code) continue;
    std::vector<bool> in_js(0x110000, false);
    for (const auto& r : ranges) {
      for (auto cp = r[0].get<std::uint32_t>(); cp <= r[1].get<std::uint32_t>(); ++cp) {
        in_js[cp] = true;
      }
    }
    std::size_t differ = 0;
    std::string examples;
    for (char32_t cp = 0; cp < 0x110000; ++cp) {
      if (!known[cp] || test(code, cp) == in_js[cp]) continue;
      if (++differ <= 8) examples += fmt::format(" U+{:04X}", static_cast<std::uint32_t>(cp));
    }
    INFO("differing code points:" << examples);
    CHECK(differ == 0);
    pcre2_code_free(code);
  }
  pcre2_match_data_free(md);
  pcre2_code_free(assigned);
}

TEST_CASE("tokenizer: the heap merge gives the linear merge's parts", "[llm][tokenizer]") {
  std::mt19937 gen(7);
  const std::string alphabet[] = {"a",
                                  "b",
                                  "e",
                                  "t",
                                  "h",
                                  " ",
                                  "\t",
                                  "\n",
                                  "0",
                                  "1",
                                  "!",
                                  "=",
                                  "\xc3\xa9",
                                  "\xe4\xb8\xad",
                                  "\xf0\x9f\x98\x80"};
  MergeScratch scratch;
  for (Encoding e : {Encoding::cl100k_base, Encoding::o200k_base}) {
    RankTable table(rank_file(e));
    REQUIRE(table.valid());
    for (int round = 0; round < 300; ++round) {
      std::string piece;
      std::size_t len = 1 + gen() % 400;
      int letters = 1 + gen() % 15;
      while (piece.size() < len) piece += alphabet[gen() % letters];
      std::vector<std::uint32_t> linear, heap;
      byte_pair_encode_linear(table, piece, scratch, linear);
      byte_pair_encode_heap(table, piece, scratch, heap);
      INFO(piece);
      REQUIRE(linear == heap);
      CHECK(byte_pair_count(table, piece, scratch) == linear.size());
      std::string back;
      for (auto id : heap) back += table.bytes(id);
      CHECK(back == piece);
    }
  }
}

TEST_CASE("tokenizer: any byte string is valid input", "[llm][tokenizer]") {
  std::mt19937 gen(11);
  for (Encoding e : {Encoding::cl100k_base, Encoding::o200k_base}) {
    const auto& tok = Tokenizer::get(e);
    for (int round = 0; round < 200; ++round) {
      std::string bytes(gen() % 300, '\0');
      for (auto& b : bytes) b = static_cast<char>(round % 2 ? gen() % 256 : 0x80 + gen() % 128);
      auto ids = tok.encode(bytes);
      CHECK(tok.count(bytes) == ids.size());
      CHECK(tok.decode(ids) == sluice::text::decode_utf8_whatwg(bytes));
    }
  }
}

TEST_CASE("tokenizer: concurrent use from several threads", "[llm][tokenizer]") {
  std::string text = read_file(kFixtures / "corpus/random-mixed.bin").substr(0, 40000);
  auto want_cl = Tokenizer::get(Encoding::cl100k_base).encode(text);
  auto want_o = Tokenizer::get(Encoding::o200k_base).encode(text);
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < 3; ++k) {
        Encoding e = (t + k) % 2 ? Encoding::o200k_base : Encoding::cl100k_base;
        const auto& want = e == Encoding::o200k_base ? want_o : want_cl;
        if (Tokenizer::get(e).encode(text) != want) ++wrong;
        if (Tokenizer::get(e).count(text) != want.size()) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(wrong == 0);
}
