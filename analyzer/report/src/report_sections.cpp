// The report's Timeline, Impact and Emerging Issues, read from the artifact's steps. A step that is
// absent, skipped or holds an error adds nothing here: the header lists it as a missing signal.
// Asset checks and degraded assets: report_findings_assets.cpp; the Alerts line and the reasoning
// rules' findings: report_findings*.cpp. Every timeline row carries its kind and artifact pointer.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <iterator>
#include <map>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "analyzer/artifact/artifact.hpp"
#include "recorder/base/json.hpp"
#include "recorder/base/workers.hpp"
#include "report_model.hpp"

namespace analyzer::report {

namespace {

using summary::member;
using summary::text_of;

struct Context {
  const Json& artifact;
  const recorder::Zone& zone;
  Report& report;
  std::optional<double> window_start;

  void row(std::optional<double> epoch, std::string signal, std::string source, std::string kind, std::string pointer) {
    report.timeline.push_back({epoch, when(zone, epoch), std::move(signal), std::move(source), std::move(kind), std::move(pointer)});
  }
};

// The error text of a tick or load failure: the user's exception when known, else the error.
std::string tick_error(const Json& tick) {
  std::string top = brief(tick, "errorChainTop");
  return top != "-" ? top : brief(tick, "error");
}

// run id -> the category and rule of the cause it sits under (the first, in the causes' order),
// built once: looking each run up by scanning every cause made the report quadratic in failed runs.
// Views into the report's causes, which outlive it.
struct CauseOf {
  const std::string* category;
  const std::string* rule;
};
using CauseIndex = std::unordered_map<std::string_view, CauseOf>;
CauseIndex index_causes(const Report& report) {
  CauseIndex index;
  for (const auto& cause : report.causes) {
    for (const auto& run : cause.runs) { index.try_emplace(run.run_id, CauseOf{&run.category, &run.rule_id}); }
  }
  return index;
}

// The run's category and rule after the report's reclassification (its root cause); what collect
// gave when the run is in no root cause.
std::pair<std::string, std::string> final_category(const CauseIndex& causes, const std::string& run_id, const Json& failure) {
  if (auto it = causes.find(run_id); it != causes.end()) { return {*it->second.category, *it->second.rule}; }
  return {text_of(failure, "category"), text_of(failure, "ruleId")};
}

void failed_runs(Context& c) {
  const Json* step = step_payload(c.artifact, step_key(StepId::failed_runs));
  if (step == nullptr) { return; }
  const Json& failures = array_of(*step, "failures");
  const CauseIndex causes = index_causes(c.report);
  // A timeline row per run, made in parts at once (each alone), then added in the artifact's order.
  std::vector<TimelineRow> rows(failures.Size());
  constexpr std::size_t k_min_part = 512;  // a part of fewer rows is made faster than a thread starts
  recorder::for_each_part(failures.Size(), k_min_part, [&](std::size_t from, std::size_t to) {
    for (auto i = static_cast<rapidjson::SizeType>(from); i < to; ++i) {
      const Json& failure = failures[i];
      std::string run = text_of(failure, "runId");
      auto [category, rule] = final_category(causes, run, failure);
      auto epoch = epoch_of(failure, "endTime");
      rows[i] = {epoch, when(c.zone, epoch),
                 fmt::format("Run failed: `{}` `{}` — {} (`{}`)", text_of(failure, "jobName"), short_id(run), category, rule),
                 "Dagster runs (step 01)", "run", fmt::format("/step_01_failed_runs/failures/{}", i)};
    }
  });
  std::move(rows.begin(), rows.end(), std::back_inserter(c.report.timeline));
  std::map<std::string, std::pair<int, std::string>> jobs;  // job -> runs, location
  for (const auto& failure : failures.GetArray()) {
    auto& job = jobs[text_of(failure, "jobName")];
    ++job.first;
    job.second = text_of(failure, "location");
  }
  if (failures.Empty()) { return; }
  Finding finding{"Run failures", fmt::format("{} failed run(s) in {} job(s)", failures.Size(), jobs.size()), {}, {}, {}};
  for (const auto& [job, count] : jobs) {
    finding.items.push_back(fmt::format("`{}` ({}): {} run(s)", job, count.second, count.first));
  }
  c.report.impact.push_back(std::move(finding));
}

void retries(Context& c) {
  const Json* step = step_payload(c.artifact, step_key(StepId::retries));
  if (step == nullptr || array_of(*step, "retries").Empty()) { return; }
  std::map<std::string, int> by_status;
  std::vector<std::string> items;
  for (const auto& retry : array_of(*step, "retries").GetArray()) {
    ++by_status[text_of(retry, "retryStatus")];
    items.push_back(fmt::format("`{}` → retry `{}`: {}", text_of(retry, "parentRunId"), text_of(retry, "retryRunId"),
                                text_of(retry, "retryStatus")));
  }
  std::sort(items.begin(), items.end());
  std::string summary;
  for (const auto& [status, count] : by_status) { summary += fmt::format("{}{} {}", summary.empty() ? "" : ", ", count, status); }
  c.report.impact.push_back({"Retries", fmt::format("{} retry run(s): {}", items.size(), summary), items, {}, {}});
}

void sensor_ticks(Context& c) {
  const Json* step = step_payload(c.artifact, step_key(StepId::sensor_ticks));
  if (step == nullptr) { return; }
  Finding finding{"Tick failures", "", {}, {}, {}};
  std::size_t total = 0;
  for (const auto& location : step->GetObject()) {
    if (!location.value.IsObject()) { continue; }
    for (const auto& sensor : location.value.GetObject()) {
      const Json& ticks = array_of(sensor.value, "ticks");
      if (ticks.Empty()) { continue; }
      std::string name = summary::clean(std::string(location.name.GetString()) + "/" + sensor.name.GetString());
      std::optional<double> first, last;
      rapidjson::SizeType first_index = 0;
      for (rapidjson::SizeType i = 0; i < ticks.Size(); ++i) {
        auto at = epoch_of(ticks[i], "timestamp");
        finding.covers.push_back(fmt::format("/step_03_sensor_ticks/{}/{}/ticks/{}", pointer_token(location.name.GetString()),
                                             pointer_token(sensor.name.GetString()), i));
        if (at && (!first || *at < *first)) { first = at, first_index = i; }
        if (at && (!last || *at > *last)) { last = at; }
      }
      std::string error = tick_error(ticks[0]);
      c.row(first, fmt::format("Sensor `{}`: {} failed tick(s) until {} — {}", name, ticks.Size(), when(c.zone, last), error),
            "Sensor ticks (step 03)", "tick",
            fmt::format("/step_03_sensor_ticks/{}/{}/ticks/{}", pointer_token(location.name.GetString()),
                        pointer_token(sensor.name.GetString()), first_index));
      finding.items.push_back(fmt::format("`{}`: {} failed tick(s) — {}", name, ticks.Size(), error));
      total += ticks.Size();
    }
  }
  if (total == 0) { return; }
  std::sort(finding.items.begin(), finding.items.end());
  finding.summary = fmt::format("{} failed sensor tick(s) in {} sensor(s)", total, finding.items.size());
  c.report.impact.push_back(std::move(finding));
}

void schedule_ticks(Context& c) {
  const Json* step = step_payload(c.artifact, step_key(StepId::schedule_ticks));
  const Json* failures = step ? member(*step, "scheduleTickFailures") : nullptr;
  if (failures == nullptr || !failures->IsObject()) { return; }
  Finding finding{"Schedule tick failures", "", {}, {}, {}};
  std::size_t total = 0;
  for (const auto& schedule : failures->GetObject()) {
    std::string name = summary::clean(schedule.name.GetString());
    if (!schedule.value.IsArray() || schedule.value.Empty()) { continue; }
    for (rapidjson::SizeType i = 0; i < schedule.value.Size(); ++i) {
      const Json& tick = schedule.value[i];
      std::string pointer = fmt::format("/step_06_schedule_ticks/scheduleTickFailures/{}/{}", pointer_token(schedule.name.GetString()), i);
      c.row(epoch_of(tick, "timestamp"), fmt::format("Schedule `{}` tick failed — {}", name, tick_error(tick)),
            "Schedule ticks (step 06)", "schedule_tick", pointer);
      finding.covers.push_back(std::move(pointer));
    }
    total += schedule.value.Size();
    finding.items.push_back(fmt::format("`{}`: {} failed tick(s) — {}", name, schedule.value.Size(), tick_error(schedule.value[0])));
  }
  if (total == 0) { return; }
  std::sort(finding.items.begin(), finding.items.end());
  finding.summary = fmt::format("{} terminal failure(s) in {} schedule(s)", total, finding.items.size());
  c.report.impact.push_back(std::move(finding));
}

void load_failures(Context& c) {
  const Json* step = step_payload(c.artifact, step_key(StepId::load_failures));
  if (step == nullptr || array_of(*step, "loadFailures").Empty()) { return; }
  Finding finding{"Location load failures", "", {}, {}, {}};
  const Json& failures = array_of(*step, "loadFailures");
  for (rapidjson::SizeType i = 0; i < failures.Size(); ++i) {
    const Json& failure = failures[i];
    std::string line = fmt::format("Code location `{}` failed to load — {}", text_of(failure, "location"), tick_error(failure));
    c.row(epoch_of(failure, "updatedTimestamp"), line, "Code locations (step 05)", "load_failure",
          fmt::format("/step_05_load_failures/loadFailures/{}", i));
    finding.covers.push_back(fmt::format("/step_05_load_failures/loadFailures/{}", i));
    finding.items.push_back(line);
  }
  std::sort(finding.items.begin(), finding.items.end());
  finding.summary = fmt::format("{} location(s): their schedules and sensors do not run", finding.items.size());
  c.report.impact.push_back(std::move(finding));
}

void agents_and_daemons(Context& c) {
  if (const Json* step = step_payload(c.artifact, step_key(StepId::agents))) {
    const Json& agents = array_of(*step, "agents");
    for (rapidjson::SizeType a = 0; a < agents.Size(); ++a) {
      const Json& errors = array_of(agents[a], "errors");
      for (rapidjson::SizeType e = 0; e < errors.Size(); ++e) {
        c.row(epoch_of(errors[e], "timestamp"),
              fmt::format("Agent `{}` error — {}", text_of(agents[a], "id"), brief(errors[e], "message")), "Agents (step 07)",
              "agent_error", fmt::format("/step_07_agents/agents/{}/errors/{}", a, e));
      }
    }
  }
  if (const Json* step = step_payload(c.artifact, step_key(StepId::daemons))) {
    const Json& daemons = array_of(*step, "daemons");
    for (rapidjson::SizeType i = 0; i < daemons.Size(); ++i) {
      const Json* healthy = member(daemons[i], "healthy");
      if (healthy == nullptr || !healthy->IsFalse()) { continue; }
      c.row(epoch_of(daemons[i], "lastHeartbeatTime"),
            fmt::format("Daemon `{}` unhealthy (last heartbeat)", text_of(daemons[i], "daemonType")), "Daemons (step 09)", "daemon",
            fmt::format("/step_09_daemons/daemons/{}", i));
    }
  }
}

void gke_and_alerts(Context& c) {
  if (const Json* step = step_payload(c.artifact, step_key(StepId::gke_events))) {
    const Json& pods = array_of(*step, "podEvents");
    for (rapidjson::SizeType i = 0; i < pods.Size(); ++i) {
      const Json& event = pods[i];
      std::string run = text_of(event, "runId");
      std::string suffix = run == "-" ? "" : fmt::format(" (run `{}`, {})", short_id(run), text_of(event, "runStatus"));
      c.row(epoch_of(event, "timestamp"),
            fmt::format("Pod `{}` {}: {}{}", text_of(event, "podName"), text_of(event, "reason"), brief(event, "message"), suffix),
            "GKE pod events (step 10)", "pod_event", fmt::format("/step_10_gke_events/podEvents/{}", i));
    }
    const Json& cluster = array_of(*step, "clusterEvents");
    for (rapidjson::SizeType i = 0; i < cluster.Size(); ++i) {
      const Json& event = cluster[i];
      c.row(epoch_of(event, "timestamp"),
            fmt::format("{} `{}` {}: {}", text_of(event, "kind"), text_of(event, "name"), text_of(event, "reason"), brief(event, "message")),
            "GKE cluster events (step 10)", "cluster_event", fmt::format("/step_10_gke_events/clusterEvents/{}", i));
    }
  }
  // The Alerts finding (and known self-resolving alerts) is built by add_findings: it needs the config.
  const Json* step = step_payload(c.artifact, step_key(StepId::alerts));
  if (step == nullptr) { return; }
  const Json& alerts = array_of(*step, "alerts");
  for (rapidjson::SizeType i = 0; i < alerts.Size(); ++i) {
    const Json& alert = alerts[i];
    std::string line = fmt::format("Alert `{}` ({}, {})", text_of(alert, "policy"), text_of(alert, "severity"), text_of(alert, "state"));
    c.row(epoch_of(alert, "openTime"), line + " opened", "Cloud Monitoring alerts (step 11)", "alert",
          fmt::format("/step_11_alerts/alerts/{}", i));
  }
}

void queued_and_backfills(Context& c) {
  if (const Json* step = step_payload(c.artifact, step_key(StepId::queued_runs))) {
    Finding finding{"Queued runs", "", {}, "queued-run-stuck", {}};
    const Json& runs = array_of(*step, "runs");
    for (rapidjson::SizeType i = 0; i < runs.Size(); ++i) {
      const Json& run = runs[i];
      const Json* stuck = member(run, "stuck");
      if (stuck == nullptr || !stuck->IsTrue()) { continue; }
      std::string line = fmt::format("`{}` `{}` {} since {} — {}", text_of(run, "jobName"), short_id(text_of(run, "runId")),
                                     text_of(run, "status"), when(c.zone, epoch_of(run, "since")), text_of(run, "reason"));
      std::string pointer = fmt::format("/step_14_queued_runs/runs/{}", i);
      c.row(epoch_of(run, "since"), "Run stuck: " + line, "Queued runs (step 14)", "queued_run", pointer);
      finding.items.push_back(line);
      finding.evidence.push_back({"queued_run", pointer, "Run stuck: " + line, epoch_of(run, "since")});
      finding.covers.push_back(pointer);
    }
    if (!finding.items.empty()) {
      std::sort(finding.items.begin(), finding.items.end());
      finding.summary = fmt::format("{} stuck run(s)", finding.items.size());
      c.report.impact.push_back(std::move(finding));
    }
  }
  const Json* step = step_payload(c.artifact, step_key(StepId::backfills));
  if (step == nullptr || array_of(*step, "failed").Empty()) { return; }
  Finding finding{"Backfills", "", {}, "backfill-failed", {}};
  const Json& failed = array_of(*step, "failed");
  for (rapidjson::SizeType i = 0; i < failed.Size(); ++i) {
    const Json& backfill = failed[i];
    std::string error = brief(backfill, "error");
    std::string line = fmt::format("`{}` {}: {} of {} partition(s) failed{}", text_of(backfill, "id"), text_of(backfill, "status"),
                                   summary::count_text(backfill, "failedPartitions"), summary::count_text(backfill, "numPartitions"),
                                   error == "-" ? "" : " — " + error);
    auto at = epoch_of(backfill, "endTimestamp");
    std::string pointer = fmt::format("/step_15_backfills/failed/{}", i);
    c.row(at ? at : epoch_of(backfill, "timestamp"), "Backfill " + line, "Backfills (step 15)", "backfill", pointer);
    finding.items.push_back(line);
    finding.evidence.push_back({"backfill", pointer, "Backfill " + line, at ? at : epoch_of(backfill, "timestamp")});
  }
  std::sort(finding.items.begin(), finding.items.end());
  finding.summary = fmt::format("{} failed backfill(s)", finding.items.size());
  c.report.impact.push_back(std::move(finding));
}

}  // namespace

void add_sections(const Json& artifact, const recorder::Zone& zone, Report& report) {
  Context c{artifact, zone, report, epoch_of(*member(artifact, "window"), "utc_start")};
  failed_runs(c);
  retries(c);
  sensor_ticks(c);
  schedule_ticks(c);
  load_failures(c);
  agents_and_daemons(c);
  gke_and_alerts(c);
  queued_and_backfills(c);
  add_asset_sections(artifact, zone, report);
  add_error_groups(artifact, zone, report);  // after the pod events: a preemption artifact joins its pod event's row
  // By time (untimed rows last), then by text, so the order never depends on the artifact's.
  std::sort(report.timeline.begin(), report.timeline.end(), [](const TimelineRow& a, const TimelineRow& b) {
    auto key = [](const TimelineRow& r) {  // references: a comparison copies no text
      return std::tuple<bool, double, const std::string&, const std::string&>(!r.epoch.has_value(), r.epoch.value_or(0),
                                                                               r.signal, r.source);
    };
    return key(a) < key(b);
  });
}

}  // namespace analyzer::report
