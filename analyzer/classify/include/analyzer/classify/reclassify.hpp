// Phase 2 reclassification (the seed's "Reclassify runs" table): ordered, declarative rules that move
// a failed run from the category `collect` gave it to a more specific one using signals from other
// steps of the artifact (step 07 agent errors, step 10 pod events) and the run's own event log.
// Rules are built from a closed set of typed predicates (docs/report.md "Reclassification"); a
// predicate over another signal holds only when that signal passes the overlap gate with the run
// (analyzer/overlap.hpp). Used by `day2 report` and `day2 regress`.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "analyzer/classify/rules.hpp"
#include "recorder/base/json.hpp"
#include "recorder/base/result.hpp"

namespace analyzer {

// The closed set of predicates; `to_string` gives the spelling used in rules files.
enum class Predicate {
  pod_event,               // "podEvent" {"reason": [names]}
  agent_error,             // "agentError" {"pattern": RE2}
  run_failure_message,     // "runFailureMessage" {"pattern": RE2}
  engine_event,            // "engineEvent" {"pattern": RE2}
  step_error,              // "stepError" {"pattern": RE2}
  materializations,        // "materializations" {"present": bool}
  logs_captured_absent,    // "logsCapturedAbsentForFailingStep" {}
  error_class,             // "errorClass" {"equals": name}
  tag,                     // "tag" {"key": name, "value"?: text}
};
std::string_view to_string(Predicate predicate);

// One predicate with its typed arguments (only those of its predicate are set).
struct PredicateCall {
  Predicate predicate = Predicate::tag;
  std::vector<std::string> reasons;           // podEvent
  std::string pattern;                        // agentError, runFailureMessage, engineEvent, stepError
  std::shared_ptr<const void> compiled;       // the RE2 object of `pattern`; opaque here
  bool present = true;                        // materializations
  std::string name;                           // errorClass: equals; tag: key
  std::optional<std::string> value;           // tag
};

struct ReclassifyRule {
  std::string id;
  std::vector<Category> from;  // the collected categories it applies to
  Category to = Category::unclassified;
  std::string description;
  std::string guidance;        // what the operator should do about such a run
  std::vector<PredicateCall> when;    // all must hold
  std::vector<PredicateCall> unless;  // none may hold
  std::string source;                 // "file:line" of the rule
};

struct ReclassifyRules {
  std::string source;
  std::vector<ReclassifyRule> rules;
};

// A reference to an artifact item a reclassification rests on.
struct ReclassifyEvidence {
  std::string kind;     // "run", "run_event", "pod_event", "agent_error"
  std::string pointer;  // RFC 6901 pointer into the artifact: "/step_10_gke_events/podEvents/3"
  std::string summary;  // one line
  std::optional<double> epoch;
};

struct Reclassification {
  std::string run_id;
  Category category = Category::unclassified;  // final
  std::string rule_id;                         // the reclassify rule's id, else the collect rule's ("" for none)
  Category collected = Category::unclassified; // what `collect` wrote
  std::string collected_rule_id;
  bool reclassified = false;                   // a reclassify rule fired
  std::string guidance;                        // the firing rule's guidance, else ""
  std::vector<ReclassifyEvidence> evidence;    // the run first, then every item that fired a `when` predicate
};

// Parses reclassify rules from `text`; `source` names it in errors. Never throws: malformed JSON, an
// unknown key, predicate, argument or category, a wrong argument type, a missing or duplicate id, an
// empty `from` or `when` or an invalid RE2 pattern is an Error "<source>:<line>: <what>".
recorder::Result<ReclassifyRules> parse_reclassify_rules(std::string_view text, std::string_view source);
recorder::Result<ReclassifyRules> load_reclassify_rules(const std::string& path);

// The rules shipped with day2 (analyzer/rules/reclassify.rules.json, embedded at build time).
const ReclassifyRules& default_reclassify_rules();
std::string_view default_reclassify_rules_text();

// Reclassifies every failed run of `artifact` (step_01_failed_runs.failures[], each with the
// `category` and `ruleId` collect wrote). Never throws on bad input: a missing step or a field of the
// wrong type makes the predicates over it false. Keyed by run id; runs without an id are skipped.
std::map<std::string, Reclassification> reclassify(const rapidjson::Value& artifact, const ReclassifyRules& rules);

}  // namespace analyzer
