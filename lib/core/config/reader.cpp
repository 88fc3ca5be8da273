// Typed reads from toml++ tables for the config loader, and the shared error plumbing: problem
// collection, "did you mean" suggestions, file readability checks.
#include "reader.hpp"

#include "sluice/core/suggest.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <system_error>

namespace sluice::config::detail {

// ---- Problems

void Problems::add(const toml::source_position& at, std::string_view path, std::string_view what,
                   std::string_view hint) {
  add_body(at, path, fmt::format("{} (hint: {})", what, hint));
}

void Problems::add_body(const toml::source_position& at, std::string_view path,
                        std::string_view body) {
  list_.push_back({at, fmt::format("{}:{}:{}: {}: {}", file_, at.line, at.column, path, body)});
}

Error Problems::error() const {
  auto sorted = list_;
  std::stable_sort(sorted.begin(), sorted.end(), [](const Problem& a, const Problem& b) {
    return a.at.line != b.at.line ? a.at.line < b.at.line : a.at.column < b.at.column;
  });
  std::string text;
  for (const auto& p : sorted) {
    if (!text.empty()) text += '\n';
    text += p.text;
  }
  return make_error(ErrorKind::config, ErrorSource::internal, std::move(text));
}

// ---- helpers

std::optional<std::string_view> closest(std::string_view word,
                                        const std::vector<std::string_view>& candidates) {
  if (auto best = sluice::closest(word, candidates)) return best;
  // A shortened or lengthened word ("warning" for "warn", "max_header" for "max_header_bytes").
  auto low = [](std::string_view s) {
    std::string out(s);
    for (auto& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return out;
  };
  for (auto c : candidates) {
    std::string a = low(word), b = low(c);
    if (std::min(a.size(), b.size()) >= 4 && (a.starts_with(b) || b.starts_with(a))) return c;
  }
  return std::nullopt;
}

std::string key_segment(std::string_view key) {
  bool bare = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
  return bare ? std::string(key) : fmt::format("\"{}\"", key);
}

std::string quoted_list(const std::vector<std::string_view>& items) {
  std::string out;
  for (auto item : items) {
    if (!out.empty()) out += ", ";
    out += fmt::format("\"{}\"", item);
  }
  return out;
}

std::pair<std::string, std::string> split_hint(std::string_view message) {
  auto open = message.rfind(" (");
  if (open == std::string_view::npos || message.back() != ')')
    return {std::string(message), "see sluice.toml(5)"};
  return {std::string(message.substr(0, open)),
          std::string(message.substr(open + 2, message.size() - open - 3))};
}

std::optional<std::string> unreadable(const std::string& path) {
  if (path.empty()) return "the path is empty";
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::generic_category().message(errno);
  if (S_ISDIR(st.st_mode)) return "it is a directory";
  if (::access(path.c_str(), R_OK) != 0) return std::generic_category().message(errno);
  return std::nullopt;
}

std::string_view type_phrase(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

namespace {

// Keys whose value would be a credential. Matching the suffix catches "client_secret" and the like.
bool looks_like_secret(std::string_view key) {
  static constexpr std::string_view words[] = {"key_password", "password", "api_key", "token",
                                               "secret"};
  for (auto w : words) {
    if (key == w) return true;
    if (key.size() > w.size() && key.ends_with(w) && key[key.size() - w.size() - 1] == '_')
      return true;
  }
  return false;
}

}  // namespace

// ---- TableReader

TableReader::TableReader(const toml::table& table, std::string path, std::string label,
                         std::vector<std::string_view> keys, Problems& problems)
    : table_(table),
      path_(std::move(path)),
      label_(std::move(label)),
      keys_(std::move(keys)),
      problems_(problems) {
  check_keys();
}

void TableReader::check_keys() const {
  for (auto&& [k, v] : table_) {
    std::string_view name = k.str();
    if (std::find(keys_.begin(), keys_.end(), name) != keys_.end()) continue;
    const auto& at = k.source().begin;
    if (looks_like_secret(name)) {
      problems_.add(at, path_of(name), "secrets are never written inline",
                    fmt::format("use \"{0}_env\" or \"{0}_file\" instead: the name of an "
                                "environment variable or the path of a file that holds the secret",
                                name));
      continue;
    }
    std::string hint;
    if (auto near = closest(name, keys_))
      hint = fmt::format("did you mean \"{}\"?", *near);
    else
      hint = fmt::format("valid keys {} are: {}", label_, quoted_list(keys_));
    problems_.add(at, path_of(name), "unknown key", hint);
  }
}

std::string TableReader::path_of(std::string_view key) const {
  return path_.empty() ? key_segment(key) : fmt::format("{}.{}", path_, key_segment(key));
}

void TableReader::fail(std::string_view key, std::string_view what, std::string_view hint) const {
  const toml::node* n = find(key);
  problems_.add(n ? n->source().begin : where(), path_of(key), what, hint);
}

void TableReader::fail_body(std::string_view key, std::string_view body) const {
  const toml::node* n = find(key);
  problems_.add_body(n ? n->source().begin : where(), path_of(key), body);
}

void TableReader::missing(std::string_view key, std::string_view hint) const {
  problems_.add(where(), path_of(key), "required key is missing", hint);
}

bool TableReader::string(std::string_view key, std::string& out, std::string_view example) const {
  const toml::node* n = find(key);
  if (!n) return false;
  if (auto s = n->as_string()) {
    out = s->get();
    return true;
  }
  fail(key, fmt::format("expected a string, got {}", type_phrase(*n)),
       fmt::format("write it in quotes, e.g. {} = \"{}\"", key, example));
  return false;
}

bool TableReader::boolean(std::string_view key, bool& out) const {
  const toml::node* n = find(key);
  if (!n) return false;
  if (auto b = n->as_boolean()) {
    out = b->get();
    return true;
  }
  fail(key, fmt::format("expected true or false, got {}", type_phrase(*n)),
       fmt::format("write {0} = true or {0} = false, without quotes", key));
  return false;
}

bool TableReader::integer_in(std::string_view key, std::int64_t& out, std::int64_t min,
                             std::int64_t max, std::int64_t example) const {
  const toml::node* n = find(key);
  if (!n) return false;
  auto i = n->as_integer();
  if (!i) {
    fail(key, fmt::format("expected an integer, got {}", type_phrase(*n)),
         fmt::format("write a whole number without quotes, e.g. {} = {}", key, example));
    return false;
  }
  if (i->get() < min || i->get() > max) {
    fail(key, fmt::format("{} is out of range", i->get()),
         fmt::format("use a number from {} to {}", min, max));
    return false;
  }
  out = i->get();
  return true;
}

bool TableReader::number(std::string_view key, double& out, double min, double max) const {
  const toml::node* n = find(key);
  if (!n) return false;
  double v = 0;
  if (auto i = n->as_integer()) {
    v = static_cast<double>(i->get());
  } else if (auto f = n->as_floating_point()) {
    v = f->get();
  } else {
    fail(key, fmt::format("expected a number, got {}", type_phrase(*n)),
         fmt::format("write a number without quotes, e.g. {} = {}", key, out));
    return false;
  }
  if (!(v >= min && v <= max)) {
    fail(key, fmt::format("{} is out of range", v),
         fmt::format("use a number from {} to {}", min, max));
    return false;
  }
  out = v;
  return true;
}

bool TableReader::duration(std::string_view key, Duration& out, bool allow_zero) const {
  const toml::node* n = find(key);
  if (!n) return false;
  auto s = n->as_string();
  if (!s) {
    fail(
        key, fmt::format("expected a duration string such as \"10s\", got {}", type_phrase(*n)),
        fmt::format("write it in quotes with a unit, e.g. {} = \"{}\"", key, format_duration(out)));
    return false;
  }
  auto d = parse_duration(s->get());
  if (!d) {
    auto [what, hint] = split_hint(d.error().message);
    fail(key, what, hint);
    return false;
  }
  if (d->count() == 0 && !allow_zero) {
    fail(key, "must be greater than zero",
         fmt::format("use a positive duration, e.g. {} = \"{}\"", key, format_duration(out)));
    return false;
  }
  out = *d;
  return true;
}

bool TableReader::size(std::string_view key, std::uint64_t& out) const {
  const toml::node* n = find(key);
  if (!n) return false;
  std::uint64_t bytes = 0;
  if (auto i = n->as_integer()) {
    if (i->get() < 0) {
      fail(key, fmt::format("{} is negative", i->get()), "a size is a number of bytes, 0 or more");
      return false;
    }
    bytes = static_cast<std::uint64_t>(i->get());
  } else if (auto s = n->as_string()) {
    auto r = parse_size(s->get());
    if (!r) {
      auto [what, hint] = split_hint(r.error().message);
      fail(key, what, hint);
      return false;
    }
    bytes = *r;
  } else {
    fail(key,
         fmt::format("expected a size such as \"64KiB\" or a number of bytes, got {}",
                     type_phrase(*n)),
         fmt::format("e.g. {} = \"{}\"", key, format_size(out)));
    return false;
  }
  if (bytes == 0) {
    fail(key, "must be greater than zero",
         fmt::format("use a positive size, e.g. {} = \"{}\"", key, format_size(out)));
    return false;
  }
  out = bytes;
  return true;
}

bool TableReader::strings(std::string_view key, std::vector<const toml::value<std::string>*>& out,
                          std::string_view example) const {
  const toml::node* n = find(key);
  if (!n) return false;
  auto arr = n->as_array();
  if (!arr) {
    fail(key, fmt::format("expected an array of strings, got {}", type_phrase(*n)),
         fmt::format("e.g. {} = [{}]", key, example));
    return false;
  }
  bool ok = true;
  std::vector<const toml::value<std::string>*> items;
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const toml::node& item = *arr->get(i);
    if (auto s = item.as_string()) {
      items.push_back(s);
      continue;
    }
    problems_.add(item.source().begin, fmt::format("{}[{}]", path_of(key), i),
                  fmt::format("expected a string, got {}", type_phrase(item)),
                  fmt::format("e.g. {} = [{}]", key, example));
    ok = false;
  }
  if (ok) out = std::move(items);
  return ok;
}

const toml::table* TableReader::table(std::string_view key) const {
  const toml::node* n = find(key);
  if (!n) return nullptr;
  if (auto t = n->as_table()) return t;
  fail(key, fmt::format("expected a table, got {}", type_phrase(*n)),
       fmt::format("write it as a [{}] section", path_of(key)));
  return nullptr;
}

const toml::array* TableReader::array_of_tables(std::string_view key) const {
  const toml::node* n = find(key);
  if (!n) return nullptr;
  if (const toml::array* arr = n->as_array()) {
    bool ok = true;
    for (std::size_t i = 0; i < arr->size(); ++i) {
      const toml::node& item = *arr->get(i);
      if (item.is_table()) continue;
      problems_.add(item.source().begin, fmt::format("{}[{}]", path_of(key), i),
                    fmt::format("expected a table, got {}", type_phrase(item)),
                    fmt::format("write each entry as a [[{}]] section", key));
      ok = false;
    }
    return ok ? arr : nullptr;
  }
  fail(key, fmt::format("expected an array of tables, got {}", type_phrase(*n)),
       fmt::format("write each entry as a [[{}]] section, with two brackets", key));
  return nullptr;
}

}  // namespace sluice::config::detail
