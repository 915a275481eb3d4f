// Error Reporting's groups (step 12) in the report: the seed's triage of in-window groups by their
// three categories, and the stale open groups (docs/report.md "Error groups"). Seed 000: "Three
// categories (sigterm_during_import, preemption_artifact, unclassified) need different treatment,
// including auto-mute and timeline-dedupe rules. staleOpen entries are cleanup candidates".
//   - unclassified: an error not (yet) failing runs — "Error groups in the window", Monitor, a
//     timeline row each;
//   - sigterm_during_import: a SIGTERM that arrived while the process imported its code, i.e. a pod
//     stopped during start-up (scale-down, rollout, preemption) — not a defect: auto-mute candidates
//     (`error-group-auto-mute`, No action), no timeline row;
//   - preemption_artifact: the error of a pod that was preempted or evicted, whose pod event step 12
//     correlated — explained by that event (`error-group-preemption-artifact`, No action); on the
//     timeline it joins the pod event's row instead of a row of its own (de-duplicated).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "analyzer/artifact/artifact.hpp"
#include "recorder/base/json.hpp"
#include "report_model.hpp"

namespace analyzer::report {

namespace {

using summary::member;
using summary::text_of;

// Step 12's groups by id, each with its place in the step's list (the artifact pointer's index).
struct ErrorGroup {
  const Json* json = nullptr;
  rapidjson::SizeType index = 0;
};
using ErrorGroupIndex = std::map<std::string, ErrorGroup>;

ErrorGroupIndex index_error_groups(const Json& step) {
  ErrorGroupIndex groups;
  const Json& group_list = array_of(step, "groups");
  for (rapidjson::SizeType i = 0; i < group_list.Size(); ++i) {
    groups[text_of(group_list[i], "groupId")] = {&group_list[i], i};
  }
  return groups;
}

// The group named `name`, or nullptr when step 12 listed no such group.
const ErrorGroup* find_group(const ErrorGroupIndex& groups, const std::string& name) {
  auto it = groups.find(name);
  return it == groups.end() ? nullptr : &it->second;
}

std::string group_pointer(const ErrorGroup& group) { return fmt::format("/step_12_error_groups/groups/{}", group.index); }

// Sorts the finding's items and counts them in its summary.
void summarize_groups(Finding& finding) {
  std::sort(finding.items.begin(), finding.items.end());
  finding.summary = fmt::format("{} group(s)", finding.items.size());
}

// The timeline row of the step 10 pod event a preemption artifact's `correlatedPodEvent` names (same
// pod, same second), or nullptr when step 10 does not hold it.
TimelineRow* pod_event_row(const Json& artifact, const Json& group, Report& report) {
  const Json* correlated = member(group, "correlatedPodEvent");
  const Json* step = step_payload(artifact, step_key(StepId::gke_events));
  if (correlated == nullptr || !correlated->IsObject() || step == nullptr) return nullptr;
  auto at = epoch_of(*correlated, "timestamp");
  std::string pod = text_of(*correlated, "podName");
  const Json& events = array_of(*step, "podEvents");
  for (rapidjson::SizeType i = 0; i < events.Size(); ++i) {
    auto t = epoch_of(events[i], "timestamp");
    if (text_of(events[i], "podName") != pod || !at || !t || std::abs(*t - *at) >= 1) continue;
    std::string pointer = fmt::format("/step_10_gke_events/podEvents/{}", i);
    for (auto& row : report.timeline) {
      if (row.pointer == pointer) return &row;
    }
  }
  return nullptr;
}

struct Triage {
  Finding unclassified{"Error groups in the window", "", {}, {}, {}};
  Finding mute{"Error groups to auto-mute", "", {}, "error-group-auto-mute", {}};
  Finding artifacts{"Error groups of preempted pods", "", {}, "error-group-preemption-artifact", {}};
  std::map<std::string, int> by_category;
};

// One in-window group into its triage finding; its timeline row as its category says.
void triage(const Json& artifact, const recorder::Zone& zone, const std::string& name, const ErrorGroup* found, Triage& t,
            Report& report) {
  const Json* group = found ? found->json : nullptr;
  std::string exception = group ? brief(*group, "exception") : "?";
  std::string category = group ? text_of(*group, "category") : "?";
  auto seen = group ? epoch_of(*group, "lastSeenTime") : std::nullopt;
  std::string pointer = found ? group_pointer(*found) : "";
  std::string line = fmt::format("{}: `{}` {}", category, name, exception);
  ++t.by_category[category];
  if (category == "sigterm_during_import") {
    t.mute.items.push_back(fmt::format("`{}` {}", name, exception));
    if (found) t.mute.evidence.push_back({"error_group", pointer, line, seen});
    return;  // auto-muted: not on the timeline
  }
  if (category == "preemption_artifact") {
    t.artifacts.items.push_back(fmt::format("`{}` {}", name, exception));
    if (found) t.artifacts.evidence.push_back({"error_group", pointer, line, seen});
    if (TimelineRow* row = group ? pod_event_row(artifact, *group, report) : nullptr) {
      row->signal += fmt::format("; error group `{}` ({}) is its artifact", name, exception);
      return;  // de-duplicated into its pod event's row
    }
  } else {
    t.unclassified.items.push_back(line);
  }
  report.timeline.push_back({seen, when(zone, seen), fmt::format("Error group `{}` ({}): {}", name, category, exception),
                             "Error Reporting (step 12)", "error_group", pointer});
}

// The groups seen in the window, triaged.
void in_window_groups(const Json& artifact, const recorder::Zone& zone, const Json& buckets, const ErrorGroupIndex& groups,
                      Report& report) {
  Triage t;
  for (const auto& id : array_of(buckets, "inWindow").GetArray()) {
    std::string name = summary::asset_text(&id);
    triage(artifact, zone, name, find_group(groups, name), t, report);
  }
  if (!t.unclassified.items.empty()) {
    summarize_groups(t.unclassified);
    std::string counts;  // every in-window group by the seed's three categories
    for (const auto& [category, count] : t.by_category) { counts += fmt::format("{}{} {}", counts.empty() ? "" : ", ", count, category); }
    t.unclassified.summary += fmt::format(" not (yet) failing runs (of {} in the window: {})", t.mute.items.size() + t.artifacts.items.size() + t.unclassified.items.size(), counts);
    report.emerging.push_back(std::move(t.unclassified));
  }
  if (!t.mute.items.empty()) {
    summarize_groups(t.mute);
    t.mute.summary += ": a SIGTERM arrived while the process was importing its code (a pod stopped during start-up: "
                      "scale-down, rollout or preemption) — not a code defect; mute them in Error Reporting";
    report.emerging.push_back(std::move(t.mute));
  }
  if (!t.artifacts.items.empty()) {
    summarize_groups(t.artifacts);
    t.artifacts.summary += ": the errors of pods that were preempted or evicted — explained by that pod event (shown with it "
                           "on the timeline), not a defect of their own";
    report.emerging.push_back(std::move(t.artifacts));
  }
}

// OPEN groups not seen in the window (step 12 finds them over 30 days): cleanup candidates.
Finding stale_groups(const recorder::Zone& zone, const Json& buckets, const ErrorGroupIndex& groups) {
  Finding stale{"Stale open error groups", "", {}, "stale-open-error-group", {}};
  for (const auto& id : array_of(buckets, "staleOpen").GetArray()) {
    std::string name = summary::asset_text(&id);
    const ErrorGroup* found = find_group(groups, name);
    const Json* group = found ? found->json : nullptr;
    auto seen = group ? epoch_of(*group, "lastSeenTime") : std::nullopt;
    stale.items.push_back(fmt::format("`{}` {}, last seen {} — cleanup candidate", name, group ? brief(*group, "exception") : "?",
                                      seen ? zone.format(recorder::from_epoch_seconds(*seen), "%F") : "unknown"));
    if (found) {
      stale.evidence.push_back({"error_group", group_pointer(*found), fmt::format("error group `{}` last seen before the window", name), seen});
    }
  }
  if (!stale.items.empty()) { summarize_groups(stale); }
  return stale;
}

}  // namespace

void add_error_groups(const Json& artifact, const recorder::Zone& zone, Report& report) {
  const Json* step = step_payload(artifact, step_key(StepId::error_groups));
  if (step == nullptr) { return; }
  ErrorGroupIndex groups = index_error_groups(*step);
  const Json* buckets = member(*step, "buckets");
  if (buckets == nullptr) { return; }
  in_window_groups(artifact, zone, *buckets, groups, report);
  Finding stale = stale_groups(zone, *buckets, groups);
  if (!stale.items.empty()) { report.emerging.push_back(std::move(stale)); }
}

}  // namespace analyzer::report
