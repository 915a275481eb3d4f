// Platform causes (analyzer/rules/causes.json, docs/report.md "Root causes across the night"): the
// incidents besides failed runs that start a root cause — the Dagster+ agent (a churn storm, lost
// heartbeats, control-plane timeouts), an infrastructure pod (the agent's, secret injection, a code
// server), a code location that does not load, an unhealthy daemon, an open alert — and which of the
// night's effects (tick failures, failed runs, stuck queued runs) each may explain. Data users extend
// like the rules: `day2 report --causes FILE` adds causes or replaces the built-in ones by id.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "recorder/base/result.hpp"

namespace analyzer {

// What starts a cause (the artifact's signal that is the incident).
enum class CauseSource {
  agent_churn_storm,     // step 08 verdict "storm"
  agent_heartbeat_loss,  // step 07 agent errors "no agents have recently heartbeated"
  agent_api_timeout,     // step 07 ReadTimeout to *.agent.dagster.cloud while agents were RUNNING
  infra_pod,             // step 10 pod events of pods matching `pod` with a reason in `reasons`
  location_load_failure, // step 05 load failures
  daemon_unhealthy,      // step 09 required daemons with healthy: false
  alert,                 // step 11 alerts open in the window (not a known self-resolving one)
  error_group,           // step 12 in-window unclassified error groups of a code location's service
};
// The file's names: "agentChurnStorm", "agentHeartbeatLoss", ...
std::string_view to_string(CauseSource source);

enum class EffectKind {
  tick_failure,  // sensor (step 03) and schedule (step 06) tick failures
  run_failure,   // failed runs (step 01) of the listed categories or rules
  queued_run,    // stuck queued runs (step 14)
};
std::string_view to_string(EffectKind kind);

// One kind of effect a cause may explain. Every effect is linked only when its extent passes the
// overlap gate with the cause's, and, for a location's cause, only within that location.
struct EffectSpec {
  EffectKind kind = EffectKind::tick_failure;
  std::vector<std::string> categories;    // run_failure: final categories ("Infra timeout"); empty = any
  std::vector<std::string> rules;         // run_failure: final rule ids ("start-timeout"); empty = any
  std::string pattern;                    // tick_failure: RE2 searched in the tick's error; "" = any failure
  bool same_error = false;                // tick_failure of an errorGroup cause: the tick's error names the group's exception class
  std::shared_ptr<const void> compiled;   // its RE2 (null when empty)
};

struct CauseDef {
  std::string id;          // the cause's rule id ("infra-pod-secrets")
  CauseSource source = CauseSource::alert;
  std::string title;       // "Secret injection pod disrupted"
  std::string meaning;     // what it breaks ("secret injection for new pods broken")
  std::string action = "Investigate";  // Escalate, Investigate or Monitor
  std::string rationale;
  // infra_pod: an RE2 over the pod name; {location}, {deployment} and {agent_deployment} are
  // replaced (a pattern with {location} makes one cause per location), the rest is RE2.
  std::string pod;
  std::vector<std::string> reasons;  // infra_pod: the disrupting event reasons
  bool per_location = false;         // {location} in `pod`, or a location's source
  bool claims_runs = true;           // linked runs are listed under this cause (false: correlated only)
  bool only_with_effects = false;    // a cause only when something passed the gate with it (an alert)
  std::vector<EffectSpec> effects;
  std::vector<std::string> supersedes;  // finding kinds whose action row this cause's replaces
  std::vector<std::string> folds_into;  // cause ids: an incident overlapping one of theirs joins it (one mechanism)
  std::string where;                    // "file:line" of its definition
};

struct PlatformCauses {
  std::string source;
  double burst_gap_seconds = 600;  // signals this close form one incident, tick failures one burst
  bool burst_gap_given = false;    // the file set burstGapMinutes (a merge keeps the base's otherwise)
  std::vector<CauseDef> causes;    // in file order: the first cause that claims a run keeps it
};

// Parses a causes file (JSON with comments). Never throws: an unknown key, source, effect kind,
// category, rule id or placeholder, a missing field or a value of the wrong type is an Error
// "<source>:<line>: <what>".
recorder::Result<PlatformCauses> parse_platform_causes(std::string_view text, std::string_view source);
recorder::Result<PlatformCauses> load_platform_causes(const std::string& path);
// The built-in causes (embedded at build time from analyzer/rules/causes.json).
const PlatformCauses& default_platform_causes();
// `base` with every cause of `extra` added, or replacing the one of the same id in place.
PlatformCauses merge_platform_causes(const PlatformCauses& base, const PlatformCauses& extra);

}  // namespace analyzer
