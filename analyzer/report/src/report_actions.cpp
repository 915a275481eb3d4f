// The Actions table. The rules, first match wins per item (also in docs/report.md):
//   1. A step holding "error" (or malformed)          → Investigate the collection (signals missing).
//   2. A failed run with a retry that succeeded         → No action (transient; the retry is definitive),
//      except a dbt run killed by max runtime (rule dbt-retry-not-definitive) → Monitor: confirm the
//      destination table's last write post-dates the retry.
//   3. A failed run whose retry failed                  → Investigate (the retry did not absorb it).
//   4. Code error or Unclassified                       → Investigate (owner: the job's team).
//   5. Any other category (infrastructure), no retry:
//        3 or more runs of one cause (category, mechanism) → Escalate (sustained platform issue);
//        fewer                                         → Monitor (transient infrastructure).
//   6. A required daemon that is unhealthy              → Escalate.
//   7. Sensor / schedule tick failures, location load failures, stuck queued runs, failed backfills,
//      in-window ERROR asset checks                    → Investigate.
//   8. Alerts, asset-check warnings, in-window unclassified error groups → Monitor (auto-mute candidates
//      and preemption artifacts → No action, by rule 10).
//   9. Stale open error groups, stale asset checks, stale degraded clusters → No action (cleanup candidates).
//  10. Reasoning-rule findings (docs/report.md "Reasoning rules") by rule id: see k_rule_actions;
//      known self-resolving alerts → No action with the configured reason.
//  11. A platform cause (analyzer/rules/causes.json) → its own action, one row naming the runs it claims
//      (they get no other row); the findings it supersedes and the daemons it is lose their rows.
// Run rows are grouped by (action, category, rule); rows sort by action severity, then item.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <rapidjson/pointer.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <tuple>

#include "analyzer/artifact/artifact.hpp"
#include "report_model.hpp"

namespace analyzer::report {

namespace {

using summary::member;
using summary::text_of;

constexpr std::size_t k_escalate_runs = 3;

struct Verdict {
  Action action;
  std::string rationale;
  bool chain_succeeded = false;  // the run's retry chain ended in SUCCESS
};

constexpr std::string_view k_retried_rationale = "transient: the retry succeeded";
constexpr std::string_view k_reexecuted_rationale = "re-executed by hand and succeeded";
constexpr std::string_view k_dbt_rationale =
    "retry SUCCESS is not definitive for dbt killed by max runtime: confirm the destination table's last write "
    "post-dates the retry (JOBS_BY_PROJECT)";

// Run ids the dbt-retry-not-definitive finding names (its run evidence: "run <id> ...").
std::set<std::string> dbt_caveat_runs(const Report& report) {
  std::set<std::string> out;
  for (const auto& finding : report.impact) {
    if (finding.rule_id != "dbt-retry-not-definitive") { continue; }
    for (const auto& evidence : finding.evidence) {
      if (evidence.kind == "run") { out.insert(evidence.summary.substr(4, evidence.summary.find(' ', 4) - 4)); }
    }
  }
  return out;
}

Verdict run_verdict(const RunEvidence& run, const Cause& cause, std::size_t unretried_in_cause, const std::set<std::string>& dbt) {
  const std::string& outcome = run.retry.outcome;  // a chain's outcome is its last run
  if (outcome == "SUCCESS" && dbt.count(run.run_id) != 0) {
    return {Action::monitor, std::string(k_dbt_rationale)};
  }
  if (outcome == "SUCCESS") {
    // Someone's re-execution (the chain's last link is manual) may have followed a fix: not "transient".
    return {Action::no_action, std::string(run.retry.last_manual ? k_reexecuted_rationale : k_retried_rationale), true};
  }
  if (outcome == "FAILURE") {
    return {Action::investigate, "the retry failed too"};
  }
  if (cause.category == "Code error" || cause.category == "Unclassified") {
    return {Action::investigate, fmt::format("{} (owner: the job's team)", cause.category == "Code error"
                                                                              ? "user code raised"
                                                                              : "no rule matched")};
  }
  if (unretried_in_cause >= k_escalate_runs) {
    return {Action::escalate, fmt::format("sustained platform issue: {} runs, no successful retry", unretried_in_cause)};
  }
  return {Action::monitor, "transient infrastructure; no retry recorded"};
}

void run_actions(Report& report) {
  auto dbt = dbt_caveat_runs(report);
  for (const auto& cause : report.causes) {
    if (cause.platform) { continue; }  // platform_actions: one row per incident, its runs included
    std::size_t unretried = 0;
    for (const auto& run : cause.runs) { unretried += run.retry.empty() ? 1 : 0; }
    std::map<std::pair<Action, std::string>, std::vector<std::string>> rows;
    std::map<std::pair<Action, std::string>, std::vector<std::string>> ids;
    std::set<std::pair<Action, std::string>> succeeded;  // the rows of runs whose chains ended in SUCCESS
    for (const auto& run : cause.runs) {
      auto verdict = run_verdict(run, cause, unretried, dbt);
      rows[{verdict.action, verdict.rationale}].push_back(fmt::format("`{}` `{}`", run.job, short_id(run.run_id)));
      ids[{verdict.action, verdict.rationale}].push_back(run.run_id);
      if (verdict.chain_succeeded) { succeeded.insert({verdict.action, verdict.rationale}); }
    }
    for (auto& [key, runs] : rows) {
      std::string item = fmt::format("{} (`{}`): {}", cause.category, cause.rule_id, runs.front());
      for (std::size_t i = 1; i < runs.size(); ++i) { item += ", " + runs[i]; }
      report.actions.push_back({key.first, item, key.second, cause.category, ids[key].front(), runs.size(), {}, ids[key]});
      report.actions.back().chain_succeeded = succeeded.count(key) != 0;
    }
  }
}

// One row per platform cause (docs/report.md "Root causes across the night"): its action and rationale
// from causes.json; the runs it claims are named in it and get no row of their own.
void platform_actions(Report& report) {
  for (const auto& cause : report.causes) {
    if (!cause.platform) { continue; }
    const PlatformIncident& p = *cause.platform;
    std::string item = fmt::format("{} (`{}`){}", p.title, p.id, p.scope.empty() ? "" : fmt::format(" in `{}`", p.scope));
    if (!p.span.empty()) { item += " at " + p.span; }
    std::vector<std::string> runs;
    for (const auto& run : cause.runs) { runs.push_back(fmt::format("`{}` `{}`", run.job, short_id(run.run_id))); }
    if (!runs.empty()) { item += fmt::format(": {}", fmt::join(runs, ", ")); }
    std::size_t bursts = 0, queued = 0, correlated = 0;
    for (const auto& effect : p.effects) {
      bursts += effect.kind == "tickFailure" ? 1 : 0;
      queued += effect.kind == "queuedRun" ? 1 : 0;
      correlated += effect.kind == "runFailure" && !p.claims_runs ? 1 : 0;
    }
    std::vector<std::string> linked;
    if (bursts > 0) { linked.push_back(fmt::format("{} tick failure burst(s)", bursts)); }
    if (queued > 0) { linked.push_back(fmt::format("{} stuck queued run(s)", queued)); }
    if (correlated > 0) { linked.push_back(fmt::format("{} correlated failed run(s)", correlated)); }
    if (!linked.empty()) { item += fmt::format("{} {} linked", runs.empty() ? ":" : ";", fmt::join(linked, ", ")); }
    std::vector<std::string> ids;
    for (const auto& run : cause.runs) { ids.push_back(run.run_id); }
    report.actions.push_back({p.action, std::move(item), p.rationale, p.id, cause.runs.empty() ? "" : cause.runs.front().run_id,
                              cause.runs.size(), {}, std::move(ids)});
  }
}

// Whether the daemon at `pointer` is a platform cause's signal (its row is the cause's).
bool daemon_is_cause(const Report& report, const std::string& pointer) {
  return std::any_of(report.causes.begin(), report.causes.end(), [&](const Cause& cause) {
    return cause.platform && std::any_of(cause.platform->signals.begin(), cause.platform->signals.end(),
                                         [&](const Evidence& e) { return e.pointer == pointer; });
  });
}

void daemon_actions(const Json& artifact, Report& report) {
  const Json* step = step_payload(artifact, step_key(StepId::daemons));
  if (step == nullptr) { return; }
  const Json& daemons = array_of(*step, "daemons");
  for (rapidjson::SizeType i = 0; i < daemons.Size(); ++i) {
    const Json& daemon = daemons[i];
    if (daemon_is_cause(report, fmt::format("/step_09_daemons/daemons/{}", i))) { continue; }
    const Json* healthy = member(daemon, "healthy");
    const Json* required = member(daemon, "required");
    if (healthy == nullptr || !healthy->IsFalse() || (required != nullptr && required->IsFalse())) { continue; }
    report.actions.push_back({Action::escalate, fmt::format("Daemon `{}`", text_of(daemon, "daemonType")),
                              "a required daemon is unhealthy: schedules, sensors or runs stall", {}, {}, 0, {}});
  }
}

// Rules 7-9 by the finding's label.
const std::map<std::string, Verdict>& label_rules() {
  static const std::map<std::string, Verdict> k_rules = {
      {"Tick failures", {Action::investigate, "sensors keep failing: their runs are not requested"}},
      {"Schedule tick failures", {Action::investigate, "terminal schedule failures: scheduled runs did not start"}},
      {"Location load failures", {Action::investigate, "the location's schedules and sensors are down"}},
      {"Asset checks", {Action::investigate, "blocking data-quality failures"}},
      {"Alerts", {Action::monitor, "open alerts during the window"}},
      {"Error groups in the window", {Action::monitor, "errors seen in the window, not (yet) failing runs"}},
      {"Stale open error groups", {Action::no_action, "cleanup candidates: not seen in the window"}},
      {"Stale asset checks", {Action::no_action, "cleanup candidates: failed before the window"}},
      {"Stale degraded assets", {Action::no_action, "cleanup candidates: runs ended before the window"}},
  };
  return k_rules;
}

// Rule 10 by the finding's rule id.
const std::map<std::string, Verdict>& id_rules() {
  static const std::map<std::string, Verdict> k_rule_actions = {
      {"agent-topology", {Action::investigate, "agent replicas deviate from dagsterCloudAgent.replicas: check pod events and churn"}},
      {"agent-preempted-without-heartbeat",
       {Action::investigate, "rare: only a pod above the agents' priority could preempt it; find the preemptor"}},
      {"agent-control-plane-timeout", {Action::investigate, "control-plane connectivity (egress to *.agent.dagster.cloud), not preemption"}},
      {"tick-unavailable-procedure", {Action::investigate, "work through the procedure: preemption (cluster side) vs Service recreation (agent side)"}},
      {"run-never-started", {Action::investigate, "confirm the Job creation time with the audit-log query"}},
      {"top-of-hour-fan-out", {Action::monitor, "autoscaler latency at a scheduling spike; consider a longer start timeout or staggering"}},
      {"asset-check-folded", {Action::no_action, "the same event as the failed run: see the run's row"}},
      {"degraded-cluster-noise", {Action::no_action, "downstream noise of one failed asset: the run's row covers it"}},
      {"queued-run-stuck", {Action::investigate, "runs stuck in the queue"}},
      {"backfill-failed", {Action::investigate, "partitions failed; re-run after the fix"}},
      {"priority-preemption", {Action::monitor, "if it recurs: find the preemptor (the event names its uid) and raise the run pods' PriorityClass"}},
      {"spot-reclaim", {Action::monitor, "expected on Spot pools; move runs that must not be interrupted to an on-demand pool"}},
      {"event-exporter-gap", {Action::monitor, "Kubernetes evidence before the restart may be incomplete"}},
      {"agent-churn-storm", {Action::escalate, "sustained platform issue: the agent's pods keep being replaced"}},
      {"error-group-auto-mute", {Action::no_action, "auto-mute candidates: a SIGTERM during import is a pod stopped at start-up, not a defect"}},
      {"error-group-preemption-artifact", {Action::no_action, "explained by their pods' preemption or eviction: see the pod events"}},
      {"asset-check-schema-drift", {Action::monitor, "schema drift: update the schema (real new fields) or allowlist the fields (vendor fillers)"}},
      {"asset-check-warning", {Action::monitor, "a warning-level check: it blocks nothing; read what it says and its metadata, then fix the data or tune the check"}},
  };
  return k_rule_actions;
}

constexpr std::string_view k_self_resolving = "self-resolving-alert";
// Finding kinds the tables above do not key: run failures, retries and degraded assets in the window (the run
// rows cover them; dbt-retry-not-definitive sets its runs' rows), stale open error groups (keyed by label).
constexpr std::string_view k_other_finding_kinds[] = {"run-failures", "retries", "degraded-assets", "stale-open-error-group", "dbt-retry-not-definitive"};

// The verdict of a finding by rules 7-10; nullopt for findings not named there (run failures,
// retries, degraded assets in the window), which the run rows cover.
std::optional<Verdict> finding_verdict(const Finding& finding) {
  if (finding.rule_id == k_self_resolving) {
    return Verdict{Action::no_action, "known self-resolving alert: " + finding.summary.substr(finding.summary.find(": ") + 2)};
  }
  if (auto by_id = id_rules().find(finding.rule_id); by_id != id_rules().end()) { return by_id->second; }
  if (auto rule = label_rules().find(finding.label); rule != label_rules().end()) { return rule->second; }
  return std::nullopt;
}

// The failed runs (step 01) a finding's evidence names, by run id.
std::vector<std::string> finding_runs(const Json& artifact, const Finding& finding) {
  std::vector<std::string> out;
  for (const auto& e : finding.evidence) {
    if (e.kind != "run" || e.pointer.rfind("/step_01_failed_runs/failures/", 0) != 0) { continue; }
    const Json* failure = rapidjson::Pointer(e.pointer.c_str()).Get(artifact);
    if (failure != nullptr && failure->IsObject()) { out.push_back(text_of(*failure, "runId")); }
  }
  return out;
}

// One item, one action: a finding about failed runs that all have their row already (a root cause's)
// adds its reading to those rows' rationale instead of a second action for the same runs (a
// No-action finding, "the same event as the run", adds nothing). False when a run of it has no row
// (then the finding keeps its own).
bool fold_into_run_rows(const Finding& finding, const Verdict& verdict, const std::vector<std::string>& runs, Report& report) {
  if (runs.empty()) { return false; }
  std::vector<ActionRow*> rows;
  for (const auto& id : runs) {
    auto row = std::find_if(report.actions.begin(), report.actions.end(), [&](const ActionRow& r) {
      return std::find(r.run_ids.begin(), r.run_ids.end(), id) != r.run_ids.end();
    });
    if (row == report.actions.end()) { return false; }
    if (std::find(rows.begin(), rows.end(), &*row) == rows.end()) { rows.push_back(&*row); }
  }
  if (verdict.action == Action::no_action) { return true; }  // "the same event as the run": its row says it all
  for (ActionRow* row : rows) { row->readings.push_back(fmt::format("{} (`{}`): {}", finding.label, finding_kind(finding), verdict.rationale)); }
  return true;
}

void finding_actions(const Json& artifact, const std::vector<Finding>& findings, Report& report) {
  for (const auto& finding : findings) {
    auto verdict = finding_verdict(finding);
    if (!verdict || superseded(finding, report)) { continue; }  // a platform cause's row covers it
    if (fold_into_run_rows(finding, *verdict, finding_runs(artifact, finding), report)) { continue; }
    std::string item = finding.rule_id == k_self_resolving
                           ? fmt::format("{}: {}", finding.label, fmt::join(finding.items, ", "))
                           : fmt::format("{}: {}", finding.label, finding.summary);
    report.actions.push_back({verdict->action, std::move(item), verdict->rationale, finding_kind(finding), {}, 0, {}});
  }
}

// "Tick failures" -> "tick-failures".
std::string slug(std::string_view label) {
  std::string out;
  for (char c : label) {
    bool word = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (c >= 'A' && c <= 'Z') { c = static_cast<char>(c - 'A' + 'a'), word = true; }
    if (word) { out += c; }
    else if (!out.empty() && out.back() != '-') { out += '-'; }
  }
  while (!out.empty() && out.back() == '-') { out.pop_back(); }
  return out;
}

}  // namespace

std::string ActionRow::full_rationale() const {
  return readings.empty() ? rationale : fmt::format("{}; {}", rationale, fmt::join(readings, "; "));
}

std::string finding_kind(const Finding& finding) { return finding.rule_id.empty() ? slug(finding.label) : finding.rule_id; }

std::optional<Action> finding_action(const Finding& finding) {
  auto verdict = finding_verdict(finding);
  return verdict ? std::optional(verdict->action) : std::nullopt;
}

std::set<std::string> finding_kinds() {
  std::set<std::string> out{std::string(k_self_resolving)};
  for (const auto& [label, verdict] : label_rules()) { out.insert(slug(label)); }
  for (const auto& [id, verdict] : id_rules()) { out.insert(id); }
  for (const auto& kind : k_other_finding_kinds) { out.insert(std::string(kind)); }
  return out;
}

void add_actions(const Json& artifact, Report& report) {
  for (const auto& step : report.missing) {
    report.actions.push_back({Action::investigate, fmt::format("`{}` collection", step.step),
                              "signals missing: re-run `day2 collect` before relying on findings that depend on it", {}, {}, 0, {}});
  }
  run_actions(report);
  platform_actions(report);
  daemon_actions(artifact, report);
  finding_actions(artifact, report.impact, report);
  finding_actions(artifact, report.emerging, report);
  std::stable_sort(report.actions.begin(), report.actions.end(), [](const ActionRow& a, const ActionRow& b) {
    return std::tie(a.action, a.item) < std::tie(b.action, b.item);
  });
}

}  // namespace analyzer::report
