// The report's header (window, run volume, missing signals) and Root Causes, plus the helpers every
// section shares. Timeline, Impact and Emerging Issues: report_sections.cpp; Actions: report_actions.cpp.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <optional>
#include <tuple>

#include "analyzer/artifact/artifact.hpp"
#include "analyzer/artifact/failure.hpp"
#include "analyzer/artifact/overlap.hpp"
#include "recorder/base/json.hpp"
#include "recorder/base/workers.hpp"
#include "report_model.hpp"

namespace analyzer::report {

namespace {

using summary::member;
using summary::text_of;

bool is_step_key(std::string_view key) {
  auto digit = [&](std::size_t i) { return std::isdigit(static_cast<unsigned char>(key[i])) != 0; };
  return key.size() > 8 && key.substr(0, 5) == "step_" && digit(5) && digit(6) && key[7] == '_';
}

std::string window_time(const Json& window, const char* key, const recorder::Zone& zone) {
  auto text = recorder::get_string(window, key);
  if (!text) { return "?"; }
  auto instant = recorder::parse_rfc3339(*text);
  return instant ? zone.format(*instant, "%F %H:%M %Z") : summary::clean(*text);
}

// Steps holding "error" (or not an object) are missing signals; skipped steps were not collected.
void note_steps(const Json& artifact, Report& report) {
  std::map<std::string, const Json*> steps;
  for (const auto& entry : artifact.GetObject()) {
    std::string key(entry.name.GetString(), entry.name.GetStringLength());
    if (is_step_key(key)) { steps.insert_or_assign(summary::clean(key), &entry.value); }
  }
  for (const auto& [key, value] : steps) {
    if (!value->IsObject()) {
      report.missing.push_back({key, fmt::format("malformed: {}, expected an object", summary::type_name(*value))});
    } else if (const Json* error = member(*value, "error")) {
      report.missing.push_back({key, error->IsString() ? brief(*value, "error", 300) : summary::json_text(*error)});
    } else if (const Json* skipped = member(*value, "skipped"); skipped && skipped->IsTrue()) {
      report.not_collected.push_back({key, brief(*value, "reason")});
    } else if (const Json* items = member(*value, "itemErrors"); items && items->IsArray()) {
      for (const auto& item : items->GetArray()) {
        if (!item.IsObject()) { continue; }
        report.missing.push_back({fmt::format("{} ({})", key, brief(item, "item")), brief(item, "error", 300)});
      }
    }
  }
}


void run_volume(const Json& artifact, Report& report) {
  const Json* runs = step_payload(artifact, step_key(StepId::failed_runs));
  if (runs == nullptr) { return; }
  report.failed = summary::count_text(*runs, "failureCount", "failures");
  report.succeeded = summary::count_text(*runs, "successCount", "successRunIds");
  report.canceled = summary::count_text(*runs, "canceledCount");
}

// The run section's material: the steps' spans, the failing step's error lines, the captured steps.
void run_details(const Json& failure, RunEvidence& run) {
  for (const auto& step : array_of(failure, "steps").GetArray()) {
    if (!step.IsObject()) { continue; }
    run.steps.push_back({text_of(step, "stepKey"), epoch_of(step, "startTime"), epoch_of(step, "endTime"), text_of(step, "status")});
  }
  if (auto shown = summary::shown_step_error(failure); shown.error != nullptr) {
    const Json& error = *shown.error;
    for (const char* key : {"message", "errorMessage"}) {
      if (auto line = brief(error, key, 400); line != "-" && line != "?") { run.error_lines.push_back(line); }
    }
    for (const auto& link : array_of(error, "causeChain").GetArray()) {
      if (auto line = brief(link, "message", 400); line != "-" && line != "?") { run.error_lines.push_back("caused by: " + line); }
    }
  }
  for (const auto& key : array_of(failure, "logsCapturedSteps").GetArray()) {
    if (key.IsString()) { run.captured_steps.emplace_back(key.GetString(), key.GetStringLength()); }
  }
  if (const Json* log = member(failure, "capturedLog"); log != nullptr && log->IsObject()) {
    run.log_stream = recorder::get_string(*log, "stream").value_or("");
    run.log_error = recorder::get_string(*log, "error").value_or("");
    if (const Json* total = member(*log, "totalLines"); total != nullptr && total->IsInt()) { run.log_total_lines = total->GetInt(); }
    for (const auto& line : array_of(*log, "lines").GetArray()) {
      if (line.IsString()) { run.log_lines.emplace_back(line.GetString(), line.GetStringLength()); }
    }
  }
}

// "step: the user's exception": the first cause in the chain (the exception under Dagster's
// wrapper), else the step's error message, else its event message.
std::string first_step_error(const Json& failure) {
  auto shown = summary::shown_step_error(failure);
  if (shown.error == nullptr) { return "-"; }
  const Json& error = *shown.error;
  std::string text;
  const Json& chain = array_of(error, "causeChain");
  if (!chain.Empty()) {
    // The exception's own line: a SyntaxError's message starts with its location.
    const Json* message = member(chain[0], "message");
    text = message != nullptr && message->IsString()
               ? cut(summary::clean(exception_line({message->GetString(), message->GetStringLength()})))
               : brief(chain[0], "message");
    if (text.empty()) { text = "-"; }
  }
  auto unset = [](const std::string& t) { return t.empty() || t == "-" || t == "?"; };
  if (unset(text)) {
    // No chained cause: the step's own exception, prefixed with its class when the message lacks it.
    text = brief(error, "errorMessage");
    std::string error_class = text_of(error, "errorClass");
    if (!unset(text) && !unset(error_class) && text.find(error_class) == std::string::npos) {
      text = error_class + ": " + text;
    }
  }
  if (unset(text) && !chain.Empty()) { text = brief(chain[0], "className"); }
  if (unset(text)) { text = brief(error, "message"); }
  if (shown.attempts > 1) { text += fmt::format(" (final attempt of {})", shown.attempts); }
  return fmt::format("{}: {}", text_of(error, "stepKey"), text);
}

// The mechanism of a run's final rule: the one collect's rules gave it (failures[].mechanism) while
// the report kept collect's rule; else (a reclassified run, an artifact without the field) what
// the built-in rules say of the rule, the rule id itself for a rule they do not hold.
std::string mechanism_of_run(const Json& failure, const std::string& rule_id) {
  const Json* mechanism = member(failure, "mechanism");
  if (mechanism != nullptr && mechanism->IsString() && mechanism->GetStringLength() > 0 && text_of(failure, "ruleId") == rule_id) {
    return mechanism->GetString();
  }
  return mechanism_of(default_rules(), rule_id);
}

// The retry chain after each parent run (step 02), oldest link first: "retry <id>: <status>" for
// Dagster's automatic retries, "re-execution <id> (manual): <status>" for re-executions someone
// launched. A chain's outcome is its last run: A failed, its retry B failed, B's re-execution C
// succeeded reads "retry B: FAILURE; re-execution C (manual): SUCCESS" for A, and for B.
std::map<std::string, RetryChain> retries_by_parent(const Json& artifact) {
  struct Child {
    std::string line;
    std::string id;
    std::string status;
    bool manual;
  };
  std::map<std::string, std::vector<Child>> children;
  const Json* step = step_payload(artifact, step_key(StepId::retries));
  if (step == nullptr) { return {}; }
  for (const auto& retry : array_of(*step, "retries").GetArray()) {
    const Json* automatic = member(retry, "automatic");  // absent in the seed's shape: a retry
    bool manual = automatic != nullptr && automatic->IsFalse();
    auto id = text_of(retry, "retryRunId");
    auto line = manual ? fmt::format("re-execution {} (manual): {}", id, text_of(retry, "retryStatus"))
                       : fmt::format("retry {}: {}", id, text_of(retry, "retryStatus"));
    children[text_of(retry, "parentRunId")].push_back({std::move(line), std::move(id), text_of(retry, "retryStatus"), manual});
  }
  std::map<std::string, RetryChain> out;
  for (const auto& [parent, direct] : children) {
    std::vector<std::string> lines;
    RetryChain chain;
    std::set<std::string> seen{parent};
    std::vector<std::string> next{parent};
    while (!next.empty()) {  // breadth first: generation by generation
      std::vector<std::string> generation;
      for (const auto& id : next) {
        auto found = children.find(id);
        if (found == children.end()) { continue; }
        for (const auto& child : found->second) {
          if (!seen.insert(child.id).second) { continue; }  // a malformed artifact's cycle
          lines.push_back(child.line);
          generation.push_back(child.id);
          chain.outcome = child.status;  // the last link so far
          chain.last_manual = child.manual;
        }
      }
      next = std::move(generation);
    }
    chain.text = fmt::format("{}", fmt::join(lines, "; "));
    out[parent] = std::move(chain);
  }
  return out;
}

struct RunPodEvent {
  std::string pointer;  // /step_10_gke_events/podEvents/<i>
  std::optional<double> epoch;
  std::string line;     // "<time> <reason> on pod `<pod>`: <message>"
  std::string reason;
};

// Whether a pod event's reason bears out a run's category: the Kubernetes side of what the run's own
// messages said (a run classified Preemption/Interrupt from its messages whose pod was preempted).
bool corroborates(const std::string& category, const std::string& reason) {
  static const std::map<std::string, std::set<std::string>> k_reasons = {
      {"Preemption/Interrupt", {"Preempted", "NodePreempted", "NodeShutdown", "TaintManagerEviction", "NodeNotReady"}},
      {"Node OOM/eviction", {"OOMKilling", "SystemOOM", "Evicted"}},
      {"Scheduling failure", {"FailedScheduling", "FailedCreate"}},
  };
  auto found = k_reasons.find(category);
  return found != k_reasons.end() && found->second.count(reason) > 0;
}

// Pod events of step 10 that carry a run id, by run id, oldest first.
std::map<std::string, std::vector<RunPodEvent>> pod_events_by_run(const Json& artifact, const recorder::Zone& zone) {
  std::map<std::string, std::vector<RunPodEvent>> out;
  const Json* step = step_payload(artifact, step_key(StepId::gke_events));
  if (step == nullptr) { return out; }
  const Json& events = array_of(*step, "podEvents");
  for (rapidjson::SizeType i = 0; i < events.Size(); ++i) {
    const Json& event = events[i];
    const Json* run = member(event, "runId");
    if (run == nullptr || !run->IsString()) { continue; }
    auto epoch = epoch_of(event, "timestamp");
    out[text_of(event, "runId")].push_back({fmt::format("/step_10_gke_events/podEvents/{}", i), epoch,
                                            fmt::format("{} {} on pod `{}`: {}", when(zone, epoch), text_of(event, "reason"),
                                                        text_of(event, "podName"), brief(event, "message")),
                                            text_of(event, "reason")});
  }
  for (auto& [run, list] : out) {
    std::sort(list.begin(), list.end(), [](const RunPodEvent& a, const RunPodEvent& b) {
      return std::tie(a.epoch, a.line) < std::tie(b.epoch, b.line);
    });
  }
  return out;
}

// The pod events of the run's pods that no rule cited, each saying whether it passes the overlap gate
// with the run's lifetime: only those may be read as part of the run's story. One that passes the gate
// and bears out the run's `category` is cited as its evidence instead (corroboration).
std::vector<std::string> uncited_pod_events(const std::vector<RunPodEvent>& events, RunEvidence& run,
                                            const Json& failure, const std::string& category) {
  std::vector<std::string> out;
  auto extent = run_extent(run.start_epoch, run.end_epoch, never_started_timeout(text_of(failure, "runFailureMessage")));
  for (const auto& event : events) {
    bool cited = std::any_of(run.evidence.begin(), run.evidence.end(),
                             [&](const Evidence& e) { return e.pointer == event.pointer; });
    if (cited) { continue; }
    bool linked = extent && event.epoch && overlaps(pod_event_extent(*event.epoch, extent), *extent);
    if (linked && corroborates(category, event.reason)) {
      run.evidence.push_back({"pod_event", event.pointer, event.line + " (during the run: corroborates " + category + ")", event.epoch});
      ++run.pod_events_corroborating;
      continue;
    }
    ++(linked ? run.pod_events_during : run.pod_events_outside);
    out.push_back(fmt::format("{} ({})", event.line,
                              linked ? "during the run; it does not explain the failure" : "outside the run's lifetime: not linked"));
  }
  return out;
}

Evidence evidence_of(const ReclassifyEvidence& item, const recorder::Zone& zone) {
  std::string summary = item.summary;
  if (item.epoch) { summary = fmt::format("{} ({})", summary, when(zone, item.epoch)); }
  return Evidence{item.kind, item.pointer, summary, item.epoch};
}

// Fills the run's reclassification (docs/report.md "Reclassification"); returns its final category and rule.
std::pair<std::string, std::string> apply_reclassification(const Json& failure, const Reclassification* result,
                                                           const recorder::Zone& zone, RunEvidence& run) {
  std::string category = text_of(failure, "category");
  if (category == "-") { category = "Unclassified"; }
  run.collected_category = category;
  if (result == nullptr) { return {category, text_of(failure, "ruleId")}; }
  for (const auto& item : result->evidence) { run.evidence.push_back(evidence_of(item, zone)); }
  if (!result->reclassified) { return {category, text_of(failure, "ruleId")}; }
  run.reclassified = true;
  run.guidance = result->guidance;
  return {std::string(to_string(result->category)), result->rule_id};
}

// The rules that put `runs` in their cause: one id, or several (one mechanism) sorted and joined by ", ".
std::string rules_of(const std::vector<RunEvidence>& runs) {
  std::set<std::string> ids;
  for (const auto& run : runs) ids.insert(run.rule_id);
  std::string joined;
  for (const auto& id : ids) joined += (joined.empty() ? "" : ", ") + id;
  return joined;
}

// What the report reads of one failure, and what the run joins: its cause's category and mechanism.
struct BuiltRun {
  RunEvidence run;
  std::pair<std::string, std::string> cause;
};

// What every run of the night is read against (read-only while the runs are built).
struct RunContext {
  const recorder::Zone& zone;
  std::map<std::string, RetryChain> retries;
  std::map<std::string, std::vector<RunPodEvent>> pod_events;
  std::map<std::string, Reclassification> reclassified;
};

BuiltRun build_run(const Json& failure, const RunContext& context) {
  const recorder::Zone& zone = context.zone;
  RunEvidence run;
  run.run_id = text_of(failure, "runId");
  run.job = text_of(failure, "jobName");
  run.location = text_of(failure, "location");
  run.repository = text_of(failure, "repository") == "-" ? std::string() : text_of(failure, "repository");
  run.end_epoch = epoch_of(failure, "endTime");
  run.ended = when(zone, run.end_epoch);
  run.error_class = text_of(failure, "errorClass");
  run.first_step_error = first_step_error(failure);
  if (auto shown = summary::shown_step_error(failure); shown.error != nullptr) {
    run.step_key = text_of(*shown.error, "stepKey") == "-" ? std::string() : text_of(*shown.error, "stepKey");
  }
  run.run_message = brief(failure, "runFailureMessage", 300);
  run_details(failure, run);
  if (auto retry = context.retries.find(run.run_id); retry != context.retries.end()) run.retry = retry->second;
  run.start_epoch = epoch_of(failure, "startTime");
  auto found = context.reclassified.find(run.run_id);
  auto key = apply_reclassification(failure, found == context.reclassified.end() ? nullptr : &found->second, zone, run);
  static const std::vector<RunPodEvent> k_none;
  auto events = context.pod_events.find(run.run_id);
  run.pod_events = uncited_pod_events(events == context.pod_events.end() ? k_none : events->second, run, failure, key.first);
  run.category = key.first;
  run.rule_id = key.second;
  auto mechanism = mechanism_of_run(failure, key.second);
  return {std::move(run), {std::move(key.first), std::move(mechanism)}};
}

// Every failure read into its run, in the artifact's order. Each run is read alone, so the runs
// are read in parts at once (a night of 20,000 runs spends most of the report here).
std::vector<BuiltRun> build_runs(const Json& failures, const RunContext& context) {
  std::vector<BuiltRun> built(failures.Size());
  constexpr std::size_t k_min_part = 256;  // a part of fewer runs is read faster than a thread starts
  recorder::for_each_part(failures.Size(), k_min_part, [&](std::size_t from, std::size_t to) {
    for (auto i = static_cast<rapidjson::SizeType>(from); i < to; ++i) built[i] = build_run(failures[i], context);
  });
  return built;
}

void root_causes(const Json& artifact, const recorder::Zone& zone, const ReclassifyRules& rules, Report& report) {
  const Json* step = step_payload(artifact, step_key(StepId::failed_runs));
  if (step == nullptr) { return; }
  RunContext context{zone, retries_by_parent(artifact), pod_events_by_run(artifact, zone), reclassify(artifact, rules)};
  // One cause per category and mechanism: rules that read one mechanism through different fields
  // (default.rules.json "mechanism") make one cause, and one action row, for all their runs.
  // Grouped and sorted by index: a run is moved once, into its cause.
  auto built = build_runs(array_of(*step, "failures"), context);
  std::map<std::pair<std::string, std::string>, std::vector<std::size_t>> groups;
  for (std::size_t i = 0; i < built.size(); ++i) groups[built[i].cause].push_back(i);
  for (auto& [key, indexes] : groups) {
    std::stable_sort(indexes.begin(), indexes.end(), [&](std::size_t a, std::size_t b) {
      return std::tie(built[a].run.end_epoch, built[a].run.run_id) < std::tie(built[b].run.end_epoch, built[b].run.run_id);
    });
    std::vector<RunEvidence> runs;
    runs.reserve(indexes.size());
    for (std::size_t i : indexes) runs.push_back(std::move(built[i].run));
    Cause cause{key.first, rules_of(runs), std::move(runs), {}};
    cause.narrative = narrative(cause);
    report.causes.push_back(std::move(cause));
  }
  // Largest group first; ties by category and rule, so the order never depends on the input's.
  std::stable_sort(report.causes.begin(), report.causes.end(),
                   [](const Cause& a, const Cause& b) { return a.runs.size() > b.runs.size(); });
}

}  // namespace

std::string missing_summary(const std::vector<StepNote>& missing) {
  auto items = static_cast<std::size_t>(std::count_if(missing.begin(), missing.end(), [](const StepNote& note) {
    return note.step.find(" (") != std::string::npos;
  }));
  std::vector<std::string> parts;
  if (missing.size() > items) { parts.push_back(fmt::format("{} step(s) hold an error", missing.size() - items)); }
  if (items > 0) { parts.push_back(fmt::format("{} item(s) could not be read", items)); }
  return fmt::format("{}", fmt::join(parts, "; "));
}

const Json* step_payload(const Json& artifact, const char* key) {
  const Json* step = member(artifact, key);
  if (step == nullptr || !step->IsObject() || member(*step, "error") != nullptr) { return nullptr; }
  if (const Json* skipped = member(*step, "skipped"); skipped && skipped->IsTrue()) { return nullptr; }
  return step;
}

std::string missing_reason(const Json& artifact, const char* key) {
  if (step_payload(artifact, key) != nullptr) { return ""; }
  const Json* step = member(artifact, key);
  if (step == nullptr) { return fmt::format("`{}` is absent from the artifact", key); }
  if (!step->IsObject()) { return fmt::format("`{}` is not an object", key); }
  if (member(*step, "error") != nullptr) { return fmt::format("`{}` holds an error: {}", key, brief(*step, "error")); }
  return fmt::format("`{}` was not collected: {}", key, brief(*step, "reason"));
}

std::optional<double> epoch_of(const Json& object, const char* key) {
  const Json* value = member(object, key);
  if (value == nullptr) { return std::nullopt; }
  if (value->IsNumber()) {
    double seconds = value->GetDouble();
    if (seconds > 0 && seconds < 253402300800.0) { return seconds; }
    return std::nullopt;
  }
  if (!value->IsString()) { return std::nullopt; }
  auto instant = recorder::parse_rfc3339({value->GetString(), value->GetStringLength()});
  if (!instant) { return std::nullopt; }
  return recorder::to_epoch_seconds(*instant);
}

std::string when(const recorder::Zone& zone, std::optional<double> epoch) {
  return epoch ? zone.format(recorder::from_epoch_seconds(*epoch)) : "-";
}

std::string brief(const Json& object, const char* key, std::size_t limit) { return cut(text_of(object, key), limit); }

std::string cut(std::string text, std::size_t limit) {
  if (text.size() <= limit) { return text; }
  std::size_t cut = limit;
  // Never cut inside a UTF-8 sequence.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) { --cut; }
  return text.substr(0, cut) + "…";
}

const Json& array_of(const Json& object, const char* key) {
  static const Json k_empty(rapidjson::kArrayType);
  const Json* value = member(object, key);
  return value != nullptr && value->IsArray() ? *value : k_empty;
}

std::string short_id(const std::string& run_id) { return run_id.substr(0, 8); }

std::string_view action_name(Action action) {
  switch (action) {
    case Action::escalate: return "Escalate";
    case Action::investigate: return "Investigate";
    case Action::monitor: return "Monitor";
    case Action::no_action: return "No action";
  }
  return "?";
}

Report build_report(const Json& artifact, const recorder::Zone& zone, const Config& config,
                    const ReclassifyRules& reclassify_rules, const Runbook& runbook, const PlatformCauses& causes) {
  Report report;
  const Json& window = *member(artifact, "window");
  report.zone = zone.name();
  report.window_start = window_time(window, "utc_start", zone);
  report.window_end = window_time(window, "utc_end", zone);
  report.utc_start = text_of(window, "utc_start");
  report.utc_end = text_of(window, "utc_end");
  note_steps(artifact, report);
  run_volume(artifact, report);
  root_causes(artifact, zone, reclassify_rules, report);
  add_platform_causes(artifact, zone, config, causes, report);
  add_sections(artifact, zone, report);
  add_findings(artifact, zone, config, report);
  add_actions(artifact, report);
  add_next_steps(runbook, config, report);
  add_headline(zone, report);
  add_links(artifact, make_links(artifact, &config), report);
  auto end = recorder::parse_rfc3339(report.utc_end);
  report.zone_label = zone_label(zone, end ? *end : recorder::Instant{});
  return report;
}

}  // namespace analyzer::report
