// The Actions table. The rules, first match wins per item (also in docs/report.md):
//   1. A step holding "error" (or malformed)          → Investigate the collection (signals missing).
//   2. A failed run with a retry that succeeded         → No action (transient; the retry is definitive).
//   3. A failed run whose retry failed                  → Investigate (the retry did not absorb it).
//   4. Code error or Unclassified                       → Investigate (owner: the job's team).
//   5. Any other category (infrastructure), no retry:
//        3 or more runs of the same category and rule   → Escalate (sustained platform issue);
//        fewer                                         → Monitor (transient infrastructure).
//   6. A required daemon that is unhealthy              → Escalate.
//   7. Sensor / schedule tick failures, location load failures, stuck queued runs, failed backfills,
//      in-window ERROR asset checks                    → Investigate.
//   8. Alerts, asset-check warnings, in-window error groups → Monitor.
//   9. Stale open error groups, stale asset checks, stale degraded clusters → No action (cleanup candidates).
// Run rows are grouped by (action, category, rule); rows sort by action severity, then item.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <tuple>

#include "report_model.hpp"

namespace analyzer::report {

namespace {

using summary::member;
using summary::text_of;

constexpr std::size_t k_escalate_runs = 3;

struct Verdict {
  Action action;
  std::string rationale;
};

Verdict run_verdict(const RunEvidence& run, const Cause& cause, std::size_t unretried_in_cause) {
  if (run.retry.find(": SUCCESS") != std::string::npos) {
    return {Action::no_action, "transient: the retry succeeded"};
  }
  if (run.retry.find(": FAILURE") != std::string::npos) {
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
  for (const auto& cause : report.causes) {
    std::size_t unretried = 0;
    for (const auto& run : cause.runs) { unretried += run.retry.empty() ? 1 : 0; }
    std::map<std::pair<Action, std::string>, std::vector<std::string>> rows;
    for (const auto& run : cause.runs) {
      auto verdict = run_verdict(run, cause, unretried);
      rows[{verdict.action, verdict.rationale}].push_back(fmt::format("`{}` `{}`", run.job, short_id(run.run_id)));
    }
    for (auto& [key, runs] : rows) {
      std::string item = fmt::format("{} (`{}`): {}", cause.category, cause.rule_id, runs.front());
      for (std::size_t i = 1; i < runs.size(); ++i) { item += ", " + runs[i]; }
      report.actions.push_back({key.first, item, key.second});
    }
  }
}

void daemon_actions(const Json& artifact, Report& report) {
  const Json* step = step_payload(artifact, "step_09_daemons");
  if (step == nullptr) { return; }
  for (const auto& daemon : array_of(*step, "daemons").GetArray()) {
    const Json* healthy = member(daemon, "healthy");
    const Json* required = member(daemon, "required");
    if (healthy == nullptr || !healthy->IsFalse() || (required != nullptr && required->IsFalse())) { continue; }
    report.actions.push_back({Action::escalate, fmt::format("Daemon `{}`", text_of(daemon, "daemonType")),
                              "a required daemon is unhealthy: schedules, sensors or runs stall"});
  }
}

// Rules 7-9 by the finding's label; findings not named here (run failures, retries, degraded assets
// in the window) are covered by the run rows.
void finding_actions(const std::vector<Finding>& findings, Report& report) {
  static const std::map<std::string, Verdict> k_rules = {
      {"Tick failures", {Action::investigate, "sensors keep failing: their runs are not requested"}},
      {"Schedule tick failures", {Action::investigate, "terminal schedule failures: scheduled runs did not start"}},
      {"Location load failures", {Action::investigate, "the location's schedules and sensors are down"}},
      {"Queued runs", {Action::investigate, "runs stuck in the queue"}},
      {"Backfills", {Action::investigate, "partitions failed; re-run after the fix"}},
      {"Asset checks", {Action::investigate, "blocking data-quality failures"}},
      {"Alerts", {Action::monitor, "open alerts during the window"}},
      {"Asset check warnings", {Action::monitor, "schema drift: update the schema or allowlist the fields"}},
      {"Error groups in the window", {Action::monitor, "errors seen in the window, not (yet) failing runs"}},
      {"Stale open error groups", {Action::no_action, "cleanup candidates: not seen in the window"}},
      {"Stale asset checks", {Action::no_action, "cleanup candidates: failed before the window"}},
      {"Stale degraded assets", {Action::no_action, "cleanup candidates: runs ended before the window"}},
  };
  for (const auto& finding : findings) {
    auto rule = k_rules.find(finding.label);
    if (rule == k_rules.end()) { continue; }
    report.actions.push_back({rule->second.action, fmt::format("{}: {}", finding.label, finding.summary), rule->second.rationale});
  }
}

}  // namespace

void add_actions(const Json& artifact, Report& report) {
  for (const auto& step : report.missing) {
    report.actions.push_back({Action::investigate, fmt::format("`{}` collection", step.step),
                              "signals missing: re-run `day2 collect` before relying on findings that depend on it"});
  }
  run_actions(report);
  daemon_actions(artifact, report);
  finding_actions(report.impact, report);
  finding_actions(report.emerging, report);
  std::stable_sort(report.actions.begin(), report.actions.end(), [](const ActionRow& a, const ActionRow& b) {
    return std::tie(a.action, a.item) < std::tie(b.action, b.item);
  });
}

}  // namespace analyzer::report
