#include "sluice/llm/cache_key.hpp"

#include <fmt/format.h>

namespace sluice::llm {

// A field added to these structs must be added to the key below (or the cache would serve one
// request's answer to another that differs in it). These sizes catch an addition on the one
// platform the project builds for; update them with the key.
#if defined(__GLIBCXX__) && defined(__x86_64__) && !defined(_GLIBCXX_DEBUG)
static_assert(sizeof(Part) == 240, "Part changed: update exact_cache_key");
static_assert(sizeof(Message) == 32, "Message changed: update exact_cache_key");
static_assert(sizeof(Tool) == 96, "Tool changed: update exact_cache_key");
static_assert(sizeof(ToolChoice) == 40, "ToolChoice changed: update exact_cache_key");
static_assert(sizeof(ResponseFormat) == 80, "ResponseFormat changed: update exact_cache_key");
static_assert(sizeof(ChatRequest) == 320, "ChatRequest changed: update exact_cache_key");
#endif

namespace {

class Encoder {
 public:
  explicit Encoder(std::string& out) : out_(out) {}

  void str(std::string_view s) {
    fmt::format_to(std::back_inserter(out_), "{}:", s.size());
    out_.append(s);
  }
  void i64(std::int64_t v) { fmt::format_to(std::back_inserter(out_), "i{};", v); }
  void f64(double v) { fmt::format_to(std::back_inserter(out_), "d{};", v); }  // round-trips
  void flag(bool b) { out_.push_back(b ? 'T' : 'F'); }
  template <class E>
  void enumeration(E e) {
    i64(static_cast<std::int64_t>(e));
  }
  template <class T>
  void opt(const std::optional<T>& v) {
    if (!v) {
      out_.push_back('N');
      return;
    }
    out_.push_back('S');
    if constexpr (std::is_floating_point_v<T>)
      f64(*v);
    else
      i64(*v);
  }
  void count(std::size_t n) { fmt::format_to(std::back_inserter(out_), "#{};", n); }
  void tag(char c) { out_.push_back(c); }

 private:
  std::string& out_;
};

void encode(Encoder& e, const Part& p) {
  e.tag('p');
  e.enumeration(p.kind);
  e.str(p.text);
  e.str(p.url);
  e.str(p.media_type);
  e.str(p.data);
  e.str(p.detail);
  e.str(p.id);
  e.str(p.name);
  e.flag(p.is_error);
}

void encode(Encoder& e, const std::vector<Part>& parts) {
  e.count(parts.size());
  for (const Part& p : parts) encode(e, p);
}

}  // namespace

bool is_cacheable(const ChatRequest& req) {
  if (req.stream) return false;
  return (req.temperature && *req.temperature == 0.0) || req.seed.has_value();
}

std::optional<std::string> exact_cache_key(const ChatRequest& req, std::string_view scope) {
  if (!is_cacheable(req)) return std::nullopt;
  std::string out;
  Encoder e(out);
  e.str("sluice-exact-cache-v1");
  e.str(scope);

  e.tag('M');
  e.str(req.model);
  e.tag('S');
  encode(e, req.system);
  e.tag('G');
  e.count(req.messages.size());
  for (const Message& m : req.messages) {
    e.tag('m');
    e.enumeration(m.role);
    encode(e, m.parts);
  }
  e.tag('T');
  e.count(req.tools.size());
  for (const Tool& t : req.tools) {
    e.tag('t');
    e.str(t.name);
    e.str(t.description);
    e.str(t.parameters);
  }
  e.tag('C');
  e.enumeration(req.tool_choice.mode);
  e.str(req.tool_choice.name);
  e.tag('P');
  e.count(req.stop.size());
  for (const std::string& s : req.stop) e.str(s);
  e.tag('O');
  e.opt(req.temperature);
  e.opt(req.top_p);
  e.opt(req.max_tokens);
  e.opt(req.seed);
  e.tag('R');
  e.enumeration(req.response_format.kind);
  e.str(req.response_format.name);
  e.str(req.response_format.schema);
  e.flag(req.response_format.strict);
  e.tag('X');
  e.flag(req.stream);
  e.flag(req.include_usage);
  return out;
}

}  // namespace sluice::llm
