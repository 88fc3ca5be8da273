// Checked access to JSON bodies for the wire parsers: nlohmann throws on a wrong type, so every
// read goes through these, which report the field's path instead.
#pragma once

#include <cstdint>
#include <optional>
#include <type_traits>
#include <string>
#include <string_view>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "sluice/core/error.hpp"

namespace sluice::llm::wire {

using Json = nlohmann::json;

inline Error bad(std::string_view where, std::string_view what) {
  return make_error(ErrorKind::protocol, ErrorSource::downstream,
                    fmt::format("{}: {}", where, what));
}

inline std::string path(std::string_view base, std::string_view key) {
  return base.empty() ? std::string(key) : fmt::format("{}.{}", base, key);
}
inline std::string path(std::string_view base, std::size_t i) {
  return fmt::format("{}[{}]", base, i);
}

// The member, or null when absent or not an object.
inline Json* member(Json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}
inline const Json* member(const Json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

// Moves a string member out into out. Absent or null leaves out untouched; a non-string is an
// error.
inline std::optional<Error> take_string(Json& obj, const char* key, std::string& out,
                                        std::string_view where) {
  Json* v = member(obj, key);
  if (!v || v->is_null()) return std::nullopt;
  if (!v->is_string()) return bad(path(where, key), "expected a string");
  out = std::move(v->get_ref<std::string&>());
  return std::nullopt;
}

inline std::string_view string_or_empty(const Json& obj, const char* key) {
  const Json* v = member(obj, key);
  if (!v || !v->is_string()) return {};
  return v->get_ref<const std::string&>();
}

template <class T>
std::optional<Error> take_number(const Json& obj, const char* key, std::optional<T>& out,
                                 std::string_view where) {
  const Json* v = member(obj, key);
  if (!v || v->is_null()) return std::nullopt;
  if constexpr (std::is_integral_v<T>) {
    // A float or an unsigned beyond int64 would convert with undefined or surprising results.
    if (!v->is_number_integer() || (v->is_number_unsigned() && v->get<std::uint64_t>() > INT64_MAX))
      return bad(path(where, key), "expected an integer");
  } else if (!v->is_number()) {
    return bad(path(where, key), "expected a number");
  }
  out = v->get<T>();
  return std::nullopt;
}

inline std::int64_t int_or_zero(const Json& obj, const char* key) {
  const Json* v = member(obj, key);
  return v && v->is_number_integer() && !v->is_number_unsigned() ? v->get<std::int64_t>()
         : v && v->is_number_unsigned() && v->get<std::uint64_t>() <= INT64_MAX
             ? v->get<std::int64_t>()
             : 0;
}

// JSON text of v: strings are taken as already being JSON text (OpenAI's arguments).
inline std::string json_text(Json&& v) {
  if (v.is_string()) return std::move(v.get_ref<std::string&>());
  return v.dump();
}

// Parses JSON text that should hold an object (tool arguments, schemas); anything that is not
// an object becomes {} so that a provider that needs an object still gets one.
inline Json object_from_text(std::string_view text, std::string_view where,
                             std::optional<Error>& err) {
  if (text.empty()) return Json::object();
  Json j = Json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    err = bad(where, "expected a JSON object");
    return Json::object();
  }
  return j;
}

}  // namespace sluice::llm::wire
