// `sluice tokens count [--encoding E | --model M] [--chat] [--format text|json] [--ids] [FILE|-]`:
// exact token counts, as tiktoken gives them, or a chat request counted as OpenAI bills it.
// See man sluice-tokens.1.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "sluice/llm/chat_tokens.hpp"
#include "sluice/llm/models.hpp"
#include "sluice/llm/tokenizer.hpp"

namespace sluice::cmd {
namespace {

using Json = nlohmann::json;

struct TokensFlags {
  std::string encoding;
  std::string model;
  std::string format = "text";
  bool ids = false;
  bool chat = false;
  std::string file = "-";
};

int usage(const std::string& message) {
  fmt::print(stderr, "sluice tokens count: {}\n", message);
  return 2;
}

// The whole input, bytes as they are; nullopt when the file cannot be read.
std::optional<std::string> read_input(const std::string& file) {
  if (file == "-") {
    std::ostringstream ss;
    ss << std::cin.rdbuf();
    return ss.str();
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

int run(const TokensFlags& f) {
  if (!f.encoding.empty() && !f.model.empty())
    return usage("give --encoding or --model, not both (hint: --model picks the encoding)");
  if (f.ids && f.format != "json")
    return usage("--ids lists the token ids in the JSON details (hint: add --format json)");
  if (f.ids && f.chat) return usage("--ids counts plain text; --chat reports per message");
  llm::ModelEncoding me;  // o200k_base, exact, unless told otherwise
  if (!f.model.empty()) {
    auto m = llm::encoding_for_model(f.model);
    if (!m)
      return usage(fmt::format(
          "unknown model \"{}\" (hint: name an OpenAI, Anthropic or Gemini model such as gpt-4o, "
          "or give --encoding cl100k_base or o200k_base)",
          f.model));
    me = *m;
  } else if (!f.encoding.empty()) {
    auto e = llm::encoding_named(f.encoding);
    if (!e)
      return usage(
          fmt::format("unknown encoding \"{}\" (hint: cl100k_base or o200k_base)", f.encoding));
    me.encoding = *e;
  }
  auto input = read_input(f.file);
  if (!input)
    return usage(fmt::format("cannot read {} (hint: check the path, or use - for stdin)", f.file));
  const auto& tok = llm::Tokenizer::get(me.encoding);
  Json out{{"encoding", std::string(llm::to_string(me.encoding))}};
  if (!f.model.empty()) out["model"] = f.model;

  if (f.chat) {
    auto request = Json::parse(*input, nullptr, false);
    if (request.is_discarded())
      return usage(fmt::format("{}: not valid JSON (hint: --chat reads a chat-completions request)",
                               f.file == "-" ? "stdin" : f.file));
    std::string model = f.model;
    if (model.empty() && request.is_object() && request.contains("model") &&
        request["model"].is_string())
      model = request["model"].get<std::string>();
    if (f.model.empty() && f.encoding.empty() && !model.empty()) {
      if (auto m = llm::encoding_for_model(model)) me = *m;
    }
    const auto& ctok = llm::Tokenizer::get(me.encoding);
    auto c = llm::count_chat(request, ctok, llm::chat_rules_for(model, me.encoding));
    if (!c)
      return usage(fmt::format("{}: {}", f.file == "-" ? "stdin" : f.file, c.error().message));
    std::size_t total = llm::scaled_count(me, c->total);
    bool estimate = me.estimate || c->estimate;
    if (f.format == "text") {
      fmt::print("{}\n", total);
      return 0;
    }
    out["encoding"] = std::string(llm::to_string(me.encoding));
    if (!model.empty()) out["model"] = model;
    out["tokens"] = total;
    out["estimate"] = estimate;
    if (me.estimate) out["exact_" + std::string(llm::to_string(me.encoding))] = c->total;
    Json msgs = Json::array();
    for (const auto& m : c->messages) msgs.push_back({{"role", m.role}, {"tokens", m.tokens}});
    out["messages"] = std::move(msgs);
    out["tools"] = c->tools;
    out["reply_priming"] = c->priming;
    fmt::print("{}\n", out.dump(2, ' ', false, Json::error_handler_t::replace));
    return 0;
  }

  if (f.format == "text") {
    fmt::print("{}\n", llm::scaled_count(me, tok.count(*input)));
    return 0;
  }
  auto ids = tok.encode(*input);
  out["tokens"] = llm::scaled_count(me, ids.size());
  out["estimate"] = me.estimate;
  if (me.estimate) out["exact_" + std::string(llm::to_string(me.encoding))] = ids.size();
  out["bytes"] = input->size();
  if (f.ids) out["ids"] = ids;
  fmt::print("{}\n", out.dump(2, ' ', false, Json::error_handler_t::replace));
  return 0;
}

}  // namespace

void add_tokens(CLI::App& app) {
  auto* tokens = app.add_subcommand("tokens", "Count tokens exactly, as the providers bill them");
  tokens->require_subcommand(1);
  auto f = std::make_shared<TokensFlags>();
  auto* count = tokens->add_subcommand(
      "count", "Print the number of tokens of FILE (or stdin); --chat counts a chat request");
  count->add_option("-e,--encoding", f->encoding, "cl100k_base or o200k_base (default o200k_base)");
  count->add_option("-m,--model", f->model,
                    "Count as this model does (gpt-4o, gpt-4, o3, ...; claude-* and gemini-* are "
                    "estimates)");
  count->add_flag("--chat", f->chat,
                  "FILE is a chat-completions request (JSON): count it with OpenAI's per-message "
                  "rules, tools and reply priming included");
  count->add_option("--format", f->format, "text (the count alone) or json (with details)")
      ->check(CLI::IsMember({"text", "json"}));
  count->add_flag("--ids", f->ids, "With --format json: list the token ids");
  count->add_option("file", f->file, "Input file; - or nothing reads stdin");
  count->callback([f] { exit_code = run(*f); });
}

}  // namespace sluice::cmd
