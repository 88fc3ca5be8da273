// The key of the exact response cache: a canonical byte string of the neutral request, so two
// requests that differ only in JSON key order, whitespace or wire format spelling share a key, and
// any difference that can change the answer gives another.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "sluice/llm/chat.hpp"

namespace sluice::llm {

// Whether a reply to req may be served from the exact cache: not streamed, and deterministic as
// far as the client asked (temperature 0, or a seed).
bool is_cacheable(const ChatRequest& req);

// The key, or nullopt when the request is not cacheable. scope comes first: the caller passes
// what else decides the reply's bytes (the route's alias and the ingress format, say), so the
// same request through two routes or in two client formats gets two keys.
//
// Encoding: a version tag, then every field of ChatRequest (and of its parts, messages, tools,
// tool choice and response format) in declaration order. Strings are length-prefixed
// ("5:hello"), numbers decimal with a terminator, absent optionals a marker of their own, lists
// prefixed by their count: no two different requests encode alike. JSON texts inside the request
// (tool parameters, schemas) are stored by the parsers as nlohmann dumps, whose keys are sorted.
// Tool-call arguments are kept verbatim (the model sees them as text).
std::optional<std::string> exact_cache_key(const ChatRequest& req, std::string_view scope);

}  // namespace sluice::llm
