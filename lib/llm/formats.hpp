// The per-format halves of wire.hpp, which dispatches to them by WireFormat (internal).
#pragma once

#include <nlohmann/json.hpp>

#include "sluice/llm/wire.hpp"

namespace sluice::llm {

Result<nlohmann::json> write_openai_request(const ChatRequest& req, WireFormat provider);
Result<ChatResponse> parse_openai_response(nlohmann::json&& body);
nlohmann::json write_openai_response(const ChatResponse& r, const WriteOptions& opt);
Usage openai_usage(const nlohmann::json& u);
nlohmann::json openai_usage_json(const Usage& u);

Result<nlohmann::json> write_anthropic_request(const ChatRequest& req, const WriteOptions& opt);
Result<ChatResponse> parse_anthropic_response(nlohmann::json&& body);
nlohmann::json write_anthropic_response(const ChatResponse& r);
Usage anthropic_usage(const nlohmann::json& u);
nlohmann::json anthropic_usage_json(const Usage& u);

Result<nlohmann::json> write_gemini_request(const ChatRequest& req);
Result<ChatResponse> parse_gemini_response(nlohmann::json&& body);
Usage gemini_usage(const nlohmann::json& u);

}  // namespace sluice::llm
