// Probe conditions: the names each kind of target provides to the expression language
// (ProbeScope), the default condition of each kind, and the check of every name made before
// anything runs, so a typo is a usage error rather than a failed probe.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "sluice/core/expr/scope.hpp"
#include "sluice/probe/probe.hpp"
#include "sluice/probe/target.hpp"

namespace sluice::probe {

// status in 200..299, connected, grpc.status == SERVING, resolved.
std::string default_condition(Kind kind);

// Every name a condition on `kind` may use (header.* and json.* stand for their families).
std::vector<std::string> names_for(Kind kind);

struct ConditionText {
  std::string text;
  std::string origin;  // "--expect", "targets.toml:4:10"
};

// Parses `text` and checks every name and call against what `kind` provides. Errors are
// ErrorKind::usage and show the expression with a caret under the problem.
Result<Condition> compile_condition(std::string_view text, Kind kind, std::string origin);

// Fills t.conditions from `texts`, or with the kind's default when there are none; a tcp target
// with options.receive also gets `received ~ RECEIVE`. An error starts with the text's origin.
Result<void> build_conditions(Target& t, const std::vector<ConditionText>& texts);

enum class Redaction { off, on };

// The names of one probe result. `now` is the wall-clock time cert.expires_in counts from; with
// Redaction::on, sensitive header values read as "[redacted]" (for failure messages).
class ProbeScope : public expr::Scope {
 public:
  ProbeScope(Kind kind, const ProbeResult& result, std::chrono::system_clock::time_point now,
             Redaction redaction = Redaction::off);

  Result<expr::Value> get(std::string_view name) const override;
  Result<expr::Value> call(std::string_view name, const expr::Arguments& args) const override;
  Result<expr::Value> member(const expr::Value& object, std::string_view name) const override;

 private:
  Result<expr::Value> header(std::string_view name) const;
  Result<expr::Value> json_path(std::string_view path) const;
  Result<const nlohmann::json*> document() const;

  Kind kind_;
  const ProbeResult& r_;
  std::chrono::system_clock::time_point now_;
  Redaction redaction_;
  mutable std::shared_ptr<nlohmann::json> json_;  // the body, parsed on first use
  mutable std::string json_error_;
};

struct ConditionResult {
  std::string source;
  std::string origin;
  bool passed = false;
  std::string message;  // when failed: the explanation, or the evaluation error
};

// Evaluates every condition of `t` against one result.
std::vector<ConditionResult> evaluate_conditions(const Target& t, const ProbeResult& r,
                                                 std::chrono::system_clock::time_point now);

}  // namespace sluice::probe
