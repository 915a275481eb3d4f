// Classification of failed runs: an ordered, declarative rules file (JSON with comments, RE2
// patterns over named fields of a FailureRecord). The first rule whose conditions all hold wins.
// Categories and fields are closed sets: a rules file naming anything else is rejected at load.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "analyzer/artifact/failure.hpp"
#include "recorder/base/result.hpp"

namespace analyzer {

// The seed's run categories. `to_string` gives the exact spelling used in artifacts and rules.
enum class Category {
  preemption_interrupt,  // "Preemption/Interrupt"
  node_oom_eviction,     // "Node OOM/eviction"
  scheduling_failure,    // "Scheduling failure"
  k8s_api_failure,       // "K8s API failure"
  backoff_limit,         // "Backoff limit"
  step_preempt_hang,     // "Step preempt-hang"
  network_ssh,           // "Network/SSH"
  connection_failure,    // "Connection failure"
  code_error,            // "Code error"
  infra_timeout,         // "Infra timeout"
  agent_api_timeout,     // "Agent API timeout" (set by `day2 report`'s reclassification)
  k8s_api_timeout,       // "K8s API timeout" (set by `day2 report`'s reclassification)
  slow_query_timeout,    // "Slow-query timeout (dbt)" (set by `day2 report`'s reclassification)
  k8s_prestart_kill,     // "K8s pre-start kill" (set by `day2 report`'s reclassification)
  unclassified,          // "Unclassified"
};
inline constexpr int k_category_count = 15;
std::string_view to_string(Category category);
std::optional<Category> parse_category(std::string_view name);

// The fields a rule can match. Each yields zero or more strings from a FailureRecord; a pattern
// matches a field when it matches (RE2 partial match) any of its strings.
enum class Field {
  run_failure_message,  // "runFailureMessage": RunFailureEvent message + its error message
  failure_reason,       // "failureReason": the dagster/failure_reason tag
  step_failure_message, // "stepFailureMessage": each step error's event message
  error_class,          // "errorClass": class names of step errors and the run error, and their chains
  error_message,        // "errorMessage": error messages of step errors and the run error, and their chains
  error_source,         // "errorSource": each step error's errorSource
  engine_event,         // "engineEvent": each engine event message
  any_message,          // "anyMessage": all of the above messages together
  job_name,             // "jobName"
  location,             // "location"
  tags,                 // "tags": each tag as "key=value"
};
std::string_view to_string(Field field);
std::optional<Field> parse_field(std::string_view name);
std::vector<std::string> field_values(const FailureRecord& record, Field field);

struct Condition {
  Field field;
  std::string pattern;
  std::shared_ptr<const void> compiled;  // the RE2 object; opaque here
};

struct Rule {
  std::string id;
  Category category;
  std::string description;
  // What the rule detects, when several rules read the same mechanism through different fields
  // ("interrupt": the run's failure message, its error class, its error source...): the report makes
  // one root cause of the runs of one category and one mechanism. Default: the rule's id.
  std::string mechanism;
  std::vector<Condition> when;    // all must match
  std::vector<Condition> unless;  // none may match
  std::string source;             // "file:line" of the rule, for messages
};

struct RuleSet {
  std::string source;  // the file it came from
  std::vector<Rule> rules;
};

struct Classification {
  Category category = Category::unclassified;
  std::string rule_id;  // "" when no rule matched (then the category is Unclassified)
};

// Parses rules from `text`; `source` names it in errors. Never throws: malformed JSON, an unknown
// category, field or key, a missing id, a duplicate id or an invalid RE2 pattern is an Error of the
// form "<source>:<line>: <what>".
recorder::Result<RuleSet> parse_rules(std::string_view text, std::string_view source);
recorder::Result<RuleSet> load_rules(const std::string& path);

// The rules shipped with day2 (analyzer/rules/default.rules.json, embedded at build time).
const RuleSet& default_rules();
std::string_view default_rules_text();

// The mechanism of rule `rule_id` in `rules` (Rule::mechanism); `rule_id` itself for a rule it does
// not hold (a reclassification rule, a rule of another file, "-").
std::string mechanism_of(const RuleSet& rules, std::string_view rule_id);

// The first matching rule's category and id; Unclassified with an empty id when none matches.
Classification classify(const RuleSet& rules, const FailureRecord& record);

}  // namespace analyzer
