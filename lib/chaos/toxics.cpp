#include "sluice/chaos/toxics.hpp"

#include "sluice/core/suggest.hpp"

#include <algorithm>
#include <cctype>
#include <limits>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace sluice::chaos {

namespace {

using nlohmann::json;

Error bad(std::string message) {
  return make_error(ErrorKind::config, ErrorSource::internal, std::move(message));
}

// A candidate within two edits (one for short words), as a plausible typo.
std::string quoted_list(const std::vector<std::string_view>& items) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += ", ";
    out += fmt::format("\"{}\"", items[i]);
  }
  return out;
}

// " (did you mean \"x\"?)" or " (expected one of ...)".
std::string unknown_hint(std::string_view word, const std::vector<std::string_view>& candidates,
                         std::string_view expected_prefix) {
  if (auto near = closest(word, candidates)) return fmt::format(" (did you mean \"{}\"?)", *near);
  return fmt::format(" ({}{})", expected_prefix, quoted_list(candidates));
}

const std::vector<std::string_view>& attribute_names(std::size_t type_index) {
  static const std::vector<std::vector<std::string_view>> names = {
      {"latency", "jitter"},
      {"rate"},
      {"delay"},
      {"timeout"},
      {"timeout"},
      {"average_size", "size_variation", "delay"},
      {"bytes"},
  };
  return names[type_index];
}

// Builds the attribute struct of one type from already-read integer values.
ToxicAttributes make_attributes(std::size_t type_index, const std::vector<std::int64_t>& v) {
  using std::chrono::microseconds;
  using std::chrono::milliseconds;
  switch (type_index) {
    case 0:
      return Latency{milliseconds(v[0]), milliseconds(v[1])};
    case 1:
      return Bandwidth{v[0]};
    case 2:
      return SlowClose{milliseconds(v[0])};
    case 3:
      return Timeout{milliseconds(v[0])};
    case 4:
      return ResetPeer{milliseconds(v[0])};
    case 5:
      return Slicer{v[0], v[1], microseconds(v[2])};
    default:
      return LimitData{v[0]};
  }
}

}  // namespace

std::string_view to_string(Direction d) {
  return d == Direction::upstream ? "upstream" : "downstream";
}

const std::vector<std::string_view>& toxic_types() {
  static const std::vector<std::string_view> types = {
      "latency", "bandwidth", "slow_close", "timeout", "reset_peer", "slicer", "limit_data"};
  return types;
}

std::string_view Toxic::type() const {
  return toxic_types()[attributes.index()];
}

Result<Toxic> toxic_from_json(const json& j) {
  if (!j.is_object())
    return bad(fmt::format("toxic: must be a JSON object, got {}", j.type_name()));
  static const std::vector<std::string_view> fields = {"name", "type", "stream", "toxicity",
                                                       "attributes"};
  for (const auto& [key, value] : j.items()) {
    if (std::find(fields.begin(), fields.end(), key) == fields.end())
      return bad(fmt::format("toxic.{}: unknown field{}", key,
                             unknown_hint(key, fields, "expected one of ")));
  }

  auto type_it = j.find("type");
  if (type_it == j.end())
    return bad(fmt::format("toxic.type: missing (expected one of {})", quoted_list(toxic_types())));
  if (!type_it->is_string())
    return bad(fmt::format("toxic.type: must be a string, got {}", type_it->dump()));
  const auto type_name = type_it->get<std::string>();
  const auto& types = toxic_types();
  auto found = std::find(types.begin(), types.end(), type_name);
  if (found == types.end())
    return bad(fmt::format("toxic.type: unknown toxic type \"{}\"{}", type_name,
                           unknown_hint(type_name, types, "expected one of ")));
  const auto type_index = static_cast<std::size_t>(found - types.begin());

  Toxic t;
  if (auto it = j.find("stream"); it != j.end()) {
    if (!it->is_string() || (*it != "upstream" && *it != "downstream"))
      return bad(
          fmt::format("toxic.stream: must be \"upstream\" or \"downstream\", got {}", it->dump()));
    t.stream = *it == "upstream" ? Direction::upstream : Direction::downstream;
  }
  if (auto it = j.find("toxicity"); it != j.end()) {
    if (!it->is_number() || it->get<double>() < 0.0 || it->get<double>() > 1.0)
      return bad(fmt::format("toxic.toxicity: must be a number from 0 to 1, got {}", it->dump()));
    t.toxicity = it->get<double>();
  }
  if (auto it = j.find("name"); it != j.end()) {
    if (!it->is_string() || it->get<std::string>().empty())
      return bad(fmt::format("toxic.name: must be a non-empty string, got {}", it->dump()));
    t.name = it->get<std::string>();
  } else {
    t.name = fmt::format("{}_{}", type_name, to_string(t.stream));
  }

  const auto& names = attribute_names(type_index);
  std::vector<std::int64_t> values(names.size(), 0);
  if (auto it = j.find("attributes"); it != j.end()) {
    if (!it->is_object())
      return bad(fmt::format("toxic.attributes: must be a JSON object, got {}", it->type_name()));
    for (const auto& [key, value] : it->items()) {
      auto pos = std::find(names.begin(), names.end(), key);
      if (pos == names.end())
        return bad(fmt::format("toxic.attributes.{}: unknown attribute for {}{}", key, type_name,
                               unknown_hint(key, names, fmt::format("{} takes ", type_name))));
      bool non_negative_int = value.is_number_unsigned() ||
                              (value.is_number_integer() && value.get<std::int64_t>() >= 0);
      if (!non_negative_int)
        return bad(fmt::format("toxic.attributes.{}: must be a non-negative integer, got {}", key,
                               value.dump()));
      if (value.is_number_unsigned() &&
          value.get<std::uint64_t>() >
              static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max() / 1000))
        return bad(fmt::format("toxic.attributes.{}: too large, got {}", key, value.dump()));
      values[static_cast<std::size_t>(pos - names.begin())] = value.get<std::int64_t>();
    }
  }
  t.attributes = make_attributes(type_index, values);

  if (auto* b = std::get_if<Bandwidth>(&t.attributes); b && b->rate <= 0)
    return bad(fmt::format("toxic.attributes.rate: must be greater than 0, got {}", b->rate));
  if (auto* s = std::get_if<Slicer>(&t.attributes)) {
    if (s->average_size <= 0)
      return bad(fmt::format("toxic.attributes.average_size: must be greater than 0, got {}",
                             s->average_size));
    if (s->size_variation > s->average_size)
      return bad(
          fmt::format("toxic.attributes.size_variation: must not exceed average_size ({}), got {}",
                      s->average_size, s->size_variation));
  }
  return t;
}

json to_json(const Toxic& t) {
  json attributes = json::object();
  std::visit(
      [&](const auto& a) {
        using A = std::decay_t<decltype(a)>;
        if constexpr (std::is_same_v<A, Latency>) {
          attributes["latency"] = a.latency.count();
          attributes["jitter"] = a.jitter.count();
        } else if constexpr (std::is_same_v<A, Bandwidth>) {
          attributes["rate"] = a.rate;
        } else if constexpr (std::is_same_v<A, SlowClose>) {
          attributes["delay"] = a.delay.count();
        } else if constexpr (std::is_same_v<A, Timeout> || std::is_same_v<A, ResetPeer>) {
          attributes["timeout"] = a.timeout.count();
        } else if constexpr (std::is_same_v<A, Slicer>) {
          attributes["average_size"] = a.average_size;
          attributes["size_variation"] = a.size_variation;
          attributes["delay"] = a.delay.count();
        } else {
          attributes["bytes"] = a.bytes;
        }
      },
      t.attributes);
  return json{{"name", t.name},
              {"type", t.type()},
              {"stream", to_string(t.stream)},
              {"toxicity", t.toxicity},
              {"attributes", attributes}};
}

bool toxic_applies(double toxicity, Rng& rng) {
  if (toxicity >= 1.0) return true;
  if (toxicity <= 0.0) return false;
  return rng.uniform() < toxicity;
}

std::chrono::microseconds latency_delay(const Latency& l, Rng& rng) {
  using std::chrono::microseconds;
  microseconds base = l.latency;
  microseconds jitter = l.jitter;
  if (jitter.count() > 0) {
    // Uniform in [-jitter, +jitter].
    auto span = static_cast<std::uint64_t>(2 * jitter.count() + 1);
    base += microseconds(static_cast<std::int64_t>(rng.next() % span) - jitter.count());
  }
  return std::max(base, microseconds(0));
}

std::vector<std::size_t> slice_sizes(std::size_t length, const Slicer& s, Rng& rng) {
  std::vector<std::size_t> out;
  const auto avg = std::max<std::int64_t>(s.average_size, 1);
  const auto var = std::clamp<std::int64_t>(s.size_variation, 0, avg);
  while (length > 0) {
    std::int64_t size = avg;
    if (var > 0)
      size += static_cast<std::int64_t>(rng.next() % static_cast<std::uint64_t>(2 * var + 1)) - var;
    auto piece = std::min(length, static_cast<std::size_t>(std::max<std::int64_t>(size, 1)));
    out.push_back(piece);
    length -= piece;
  }
  return out;
}

std::chrono::microseconds bandwidth_delay(std::size_t bytes, std::int64_t rate) {
  if (rate <= 0) return std::chrono::microseconds(0);
  // rate KB/s = rate * 1000 bytes per 1e6 us, so one byte takes 1000 / rate us.
  return std::chrono::microseconds(static_cast<std::int64_t>(bytes) * 1000 / rate);
}

std::size_t bandwidth_piece(std::int64_t rate) {
  return static_cast<std::size_t>(std::max<std::int64_t>(rate * 100, 1));
}

std::size_t limit_allowance(std::int64_t limit, std::uint64_t passed, std::size_t n) {
  auto cap = static_cast<std::uint64_t>(std::max<std::int64_t>(limit, 0));
  if (passed >= cap) return 0;
  return static_cast<std::size_t>(std::min<std::uint64_t>(cap - passed, n));
}

}  // namespace sluice::chaos
