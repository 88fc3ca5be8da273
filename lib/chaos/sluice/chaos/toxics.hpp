// Toxics: the TCP faults of the proxy, with Toxiproxy's names, attributes and JSON shape, and the
// pure arithmetic the proxy applies to each chunk (delays, slices, limits). No sockets here.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "sluice/core/clock.hpp"
#include "sluice/core/error.hpp"

namespace sluice::chaos {

// "upstream" carries client->server bytes, "downstream" server->client bytes.
enum class Direction { upstream, downstream };

// Attributes, in Toxiproxy's units. Each struct is one toxic type.
struct Latency {
  std::chrono::milliseconds latency{0};
  std::chrono::milliseconds jitter{0};
};
struct Bandwidth {
  std::int64_t rate = 0;  // KB/s, 1 KB = 1000 bytes (as Toxiproxy)
};
struct SlowClose {
  std::chrono::milliseconds delay{0};
};
// Drops all data; closes the connection after `timeout` (never when it is 0).
struct Timeout {
  std::chrono::milliseconds timeout{0};
};
// Resets the connection (RST) `timeout` after the connection first sees the toxic.
struct ResetPeer {
  std::chrono::milliseconds timeout{0};
};
struct Slicer {
  std::int64_t average_size = 0;
  std::int64_t size_variation = 0;
  std::chrono::microseconds delay{0};  // between slices
};
// Closes the connection once `bytes` have passed in the toxic's direction.
struct LimitData {
  std::int64_t bytes = 0;
};

using ToxicAttributes =
    std::variant<Latency, Bandwidth, SlowClose, Timeout, ResetPeer, Slicer, LimitData>;

struct Toxic {
  std::string name;
  Direction stream = Direction::downstream;
  double toxicity = 1.0;  // probability that the toxic applies to a given connection
  ToxicAttributes attributes;

  // "latency", "bandwidth", ... (Toxiproxy's type names).
  std::string_view type() const;
};

std::string_view to_string(Direction d);
// The type names in variant order: latency, bandwidth, slow_close, timeout, reset_peer, slicer,
// limit_data.
const std::vector<std::string_view>& toxic_types();

// Parses Toxiproxy's shape: {"name", "type", "stream", "toxicity", "attributes": {...}}. As in
// Toxiproxy, stream defaults to "downstream", toxicity to 1, name to "<type>_<stream>" and missing
// attributes to 0. Errors name the field: `toxic.attributes.rate: must be greater than 0, got 0`.
Result<Toxic> toxic_from_json(const nlohmann::json& j);
nlohmann::json to_json(const Toxic& t);

// --- The per-chunk arithmetic, pure so that tests can check it with a seeded Rng. ---

// Whether a toxic with this toxicity applies to one connection: 0 never, 1 always, otherwise with
// that probability (one draw from rng; none at 0 or 1).
bool toxic_applies(double toxicity, Rng& rng);

// The delay of one chunk: latency plus a uniform jitter in [-jitter, +jitter], never negative.
std::chrono::microseconds latency_delay(const Latency& l, Rng& rng);

// The slice sizes a slicer cuts `length` bytes into: each average_size +- size_variation
// (uniform, at least 1), the last one whatever remains. They sum to `length`.
std::vector<std::size_t> slice_sizes(std::size_t length, const Slicer& s, Rng& rng);

// How long `bytes` take at `rate` KB/s.
std::chrono::microseconds bandwidth_delay(std::size_t bytes, std::int64_t rate);
// The most bytes a bandwidth toxic lets through at once (100ms worth, at least 1), so a big chunk
// is paced rather than delayed then burst.
std::size_t bandwidth_piece(std::int64_t rate);

// How many of `n` bytes a limit_data toxic still lets through after `passed` bytes.
std::size_t limit_allowance(std::int64_t limit, std::uint64_t passed, std::size_t n);

}  // namespace sluice::chaos
