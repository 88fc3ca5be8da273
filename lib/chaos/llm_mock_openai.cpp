// The mock OpenAI provider: chat completions (streamed or not, through lib/llm's writers, which
// write the client-facing OpenAI format, the same the provider sends), embeddings with
// deterministic vectors, and the models list of every provider.
#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "llm_mock_internal.hpp"
#include "sluice/llm/stream.hpp"
#include "sluice/llm/tokenizer.hpp"
#include "sluice/llm/wire.hpp"

namespace sluice::chaos::detail {

using Json = nlohmann::json;

namespace {

std::uint64_t fnv1a(std::string_view s, std::uint64_t h = 1469598103934665603ull) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::uint64_t splitmix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// A unit vector of dims floats derived from the input's hash: equal inputs, equal vectors.
std::vector<float> embedding_of(std::string_view input, std::size_t dims) {
  std::vector<float> v(dims);
  const std::uint64_t seed = fnv1a(input);
  double norm = 0;
  for (std::size_t i = 0; i < dims; ++i) {
    auto bits = splitmix(seed + i);
    double x = static_cast<double>(bits >> 11) / static_cast<double>(1ull << 53) * 2.0 - 1.0;
    v[i] = static_cast<float>(x);
    norm += x * x;
  }
  norm = std::sqrt(norm);
  if (norm > 0)
    for (auto& x : v) x = static_cast<float>(x / norm);
  return v;
}

std::string base64(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    auto n = (std::uint32_t(std::uint8_t(bytes[i])) << 16) |
             (std::uint32_t(std::uint8_t(bytes[i + 1])) << 8) | std::uint8_t(bytes[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  if (i < bytes.size()) {
    std::uint32_t n = std::uint32_t(std::uint8_t(bytes[i])) << 16;
    if (i + 1 < bytes.size()) n |= std::uint32_t(std::uint8_t(bytes[i + 1])) << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

}  // namespace

void openai_chat(LlmMockState& st, MockExchange& ex) {
  auto turn = accept_chat(st, ex);
  if (!turn) return;
  const ChatTurn& t = *turn;
  llm::ChatResponse r = turn_response(t, "chatcmpl-mock", "call_mock");
  llm::WriteOptions opt;
  opt.created = kMockCreated;
  if (!t.req.stream) {
    respond_json(ex, 200, llm::write_response(r, llm::WireFormat::openai, opt));
    return;
  }
  llm::StreamWriter w(llm::WireFormat::openai, t.req.include_usage, opt);
  std::string sse = stream_turn(t, r, st.spec.chunk_chars, w, llm::Usage{});
  send_sse(ex, split_sse(sse), st.spec.chunk_delay);
}

void openai_embeddings(LlmMockState& st, MockExchange& ex) {
  const LlmProvider p = LlmProvider::openai;
  ex.note("llm.provider", "openai");
  auto body = Json::parse(ex.body(), nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    reject(ex, p, 400, "invalid_request_error", "The body must be a JSON object.");
    return;
  }
  std::string model = "text-embedding-3-small";
  if (auto it = body.find("model"); it != body.end() && it->is_string())
    model = it->get<std::string>();
  std::size_t dims = 8;
  if (auto it = body.find("dimensions"); it != body.end()) {
    if (!it->is_number_integer() || it->get<std::int64_t>() < 1 || it->get<std::int64_t>() > 4096) {
      reject(ex, p, 400, "invalid_request_error", "dimensions: expected an integer from 1 to 4096",
             "dimensions");
      return;
    }
    dims = static_cast<std::size_t>(it->get<std::int64_t>());
  }
  bool as_base64 = false;
  if (auto it = body.find("encoding_format"); it != body.end() && it->is_string())
    as_base64 = it->get<std::string>() == "base64";
  // Inputs: a string, strings, a token array or token arrays. Token arrays count as their length.
  std::vector<std::string> inputs;
  std::vector<std::int64_t> tokens;
  const auto enc = mock_encoding(p, model);
  auto is_token_array = [](const Json& a) {
    if (!a.is_array() || a.empty()) return false;
    for (const auto& e : a)
      if (!e.is_number_integer()) return false;
    return true;
  };
  auto add_token_array = [&](const Json& a) {
    inputs.push_back(a.dump());
    tokens.push_back(static_cast<std::int64_t>(a.size()));
  };
  auto it = body.find("input");
  bool ok = it != body.end();
  if (ok && it->is_string()) {
    inputs.push_back(it->get<std::string>());
    tokens.push_back(count_tokens(enc, inputs.back()));
  } else if (ok && is_token_array(*it)) {
    add_token_array(*it);
  } else if (ok && it->is_array() && !it->empty()) {
    for (const auto& e : *it) {
      if (e.is_string()) {
        inputs.push_back(e.get<std::string>());
        tokens.push_back(count_tokens(enc, inputs.back()));
      } else if (is_token_array(e)) {
        add_token_array(e);
      } else {
        ok = false;
      }
    }
  } else {
    ok = false;
  }
  if (!ok) {
    reject(ex, p, 400, "invalid_request_error",
           "'input' must be a string, an array of strings or an array of token arrays", "input");
    return;
  }
  std::int64_t total = 0;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    total += tokens[i];
    if (tokens[i] > st.spec.window()) {
      ex.note("llm.prompt_tokens", std::to_string(tokens[i]));
      ex.note("llm.rejected", "context_length_exceeded");
      auto err = error_body(
          p, 400, "invalid_request_error",
          fmt::format("This model's maximum context length is {} tokens, however you requested "
                      "{} tokens ({} in your prompt; 0 for the completion). Please reduce your "
                      "prompt; or completion length.",
                      st.spec.window(), tokens[i], tokens[i]),
          "input");
      err["error"]["code"] = "context_length_exceeded";
      respond_json(ex, 400, err);
      return;
    }
  }
  ex.note("llm.prompt_tokens", std::to_string(total));
  Json data = Json::array();
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    auto v = embedding_of(inputs[i], dims);
    Json item = {{"object", "embedding"}, {"index", i}};
    if (as_base64) {
      std::string bytes(v.size() * sizeof(float), '\0');
      std::memcpy(bytes.data(), v.data(), bytes.size());  // little-endian float32, as OpenAI's
      item["embedding"] = base64(bytes);
    } else {
      item["embedding"] = v;
    }
    data.push_back(std::move(item));
  }
  respond_json(ex, 200,
               {{"object", "list"},
                {"data", std::move(data)},
                {"model", model},
                {"usage", {{"prompt_tokens", total}, {"total_tokens", total}}}});
}

void list_models(const LlmMockState& st, MockExchange& ex) {
  std::vector<std::string> models = st.spec.models;
  if (models.empty()) {
    switch (st.spec.provider) {
      case LlmProvider::openai:
        models = {"gpt-4o-mini"};
        break;
      case LlmProvider::anthropic:
        models = {"claude-sonnet-4-5"};
        break;
      case LlmProvider::gemini:
        models = {"gemini-2.5-flash"};
        break;
    }
  }
  Json data = Json::array();
  switch (st.spec.provider) {
    case LlmProvider::openai:
      for (const auto& m : models)
        data.push_back(
            {{"id", m}, {"object", "model"}, {"created", kMockCreated}, {"owned_by", st.name}});
      respond_json(ex, 200, {{"object", "list"}, {"data", std::move(data)}});
      return;
    case LlmProvider::anthropic:
      for (const auto& m : models)
        data.push_back({{"type", "model"},
                        {"id", m},
                        {"display_name", m},
                        {"created_at", "2025-01-01T00:00:00Z"}});
      respond_json(ex, 200,
                   {{"data", data},
                    {"has_more", false},
                    {"first_id", models.front()},
                    {"last_id", models.back()}});
      return;
    case LlmProvider::gemini:
      for (const auto& m : models)
        data.push_back({{"name", "models/" + m},
                        {"displayName", m},
                        {"inputTokenLimit", st.spec.window()},
                        {"supportedGenerationMethods",
                         {"generateContent", "streamGenerateContent", "countTokens"}}});
      respond_json(ex, 200, {{"models", std::move(data)}});
      return;
  }
}

}  // namespace sluice::chaos::detail
