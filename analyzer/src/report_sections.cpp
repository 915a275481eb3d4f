// The report's Timeline, Impact and Emerging Issues, read from the artifact's steps. A step that is
// absent, skipped or holds an error adds nothing here: the header lists it as a missing signal.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>
#include <tuple>

#include "recorder/json.hpp"
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

  void row(std::optional<double> epoch, std::string signal, std::string source) {
    report.timeline.push_back({epoch, when(zone, epoch), std::move(signal), std::move(source), {}, {}});
  }
};

// The error text of a tick or load failure: the user's exception when known, else the error.
std::string tick_error(const Json& tick) {
  std::string top = brief(tick, "errorChainTop");
  return top != "-" ? top : brief(tick, "error");
}

void failed_runs(Context& c) {
  const Json* step = step_payload(c.artifact, "step_01_failed_runs");
  if (step == nullptr) { return; }
  std::map<std::string, std::pair<int, std::string>> jobs;  // job -> runs, location
  int total = 0;
  for (const auto& failure : array_of(*step, "failures").GetArray()) {
    std::string run = text_of(failure, "runId");
    c.row(epoch_of(failure, "endTime"),
          fmt::format("Run failed: `{}` `{}` — {} (`{}`)", text_of(failure, "jobName"), short_id(run),
                      text_of(failure, "category"), text_of(failure, "ruleId")),
          "Dagster runs (step 01)");
    auto& job = jobs[text_of(failure, "jobName")];
    ++job.first;
    job.second = text_of(failure, "location");
    ++total;
  }
  if (total == 0) { return; }
  Finding finding{"Run failures", fmt::format("{} failed run(s) in {} job(s)", total, jobs.size()), {}, {}, {}};
  for (const auto& [job, count] : jobs) {
    finding.items.push_back(fmt::format("`{}` ({}): {} run(s)", job, count.second, count.first));
  }
  c.report.impact.push_back(std::move(finding));
}

void retries(Context& c) {
  const Json* step = step_payload(c.artifact, "step_02_retries");
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
  const Json* step = step_payload(c.artifact, "step_03_sensor_ticks");
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
      for (const auto& tick : ticks.GetArray()) {
        auto at = epoch_of(tick, "timestamp");
        if (at && (!first || *at < *first)) { first = at; }
        if (at && (!last || *at > *last)) { last = at; }
      }
      std::string error = tick_error(ticks[0]);
      c.row(first, fmt::format("Sensor `{}`: {} failed tick(s) until {} — {}", name, ticks.Size(), when(c.zone, last), error),
            "Sensor ticks (step 03)");
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
  const Json* step = step_payload(c.artifact, "step_06_schedule_ticks");
  const Json* failures = step ? member(*step, "scheduleTickFailures") : nullptr;
  if (failures == nullptr || !failures->IsObject()) { return; }
  Finding finding{"Schedule tick failures", "", {}, {}, {}};
  std::size_t total = 0;
  for (const auto& schedule : failures->GetObject()) {
    std::string name = summary::clean(schedule.name.GetString());
    if (!schedule.value.IsArray() || schedule.value.Empty()) { continue; }
    for (const auto& tick : schedule.value.GetArray()) {
      c.row(epoch_of(tick, "timestamp"), fmt::format("Schedule `{}` tick failed — {}", name, tick_error(tick)),
            "Schedule ticks (step 06)");
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
  const Json* step = step_payload(c.artifact, "step_05_load_failures");
  if (step == nullptr || array_of(*step, "loadFailures").Empty()) { return; }
  Finding finding{"Location load failures", "", {}, {}, {}};
  for (const auto& failure : array_of(*step, "loadFailures").GetArray()) {
    std::string line = fmt::format("Code location `{}` failed to load — {}", text_of(failure, "location"), tick_error(failure));
    c.row(epoch_of(failure, "updatedTimestamp"), line, "Code locations (step 05)");
    finding.items.push_back(line);
  }
  std::sort(finding.items.begin(), finding.items.end());
  finding.summary = fmt::format("{} location(s): their schedules and sensors do not run", finding.items.size());
  c.report.impact.push_back(std::move(finding));
}

void agents_and_daemons(Context& c) {
  if (const Json* step = step_payload(c.artifact, "step_07_agents")) {
    for (const auto& agent : array_of(*step, "agents").GetArray()) {
      for (const auto& error : array_of(agent, "errors").GetArray()) {
        c.row(epoch_of(error, "timestamp"), fmt::format("Agent `{}` error — {}", text_of(agent, "id"), brief(error, "message")),
              "Agents (step 07)");
      }
    }
  }
  if (const Json* step = step_payload(c.artifact, "step_09_daemons")) {
    for (const auto& daemon : array_of(*step, "daemons").GetArray()) {
      const Json* healthy = member(daemon, "healthy");
      if (healthy == nullptr || !healthy->IsFalse()) { continue; }
      c.row(epoch_of(daemon, "lastHeartbeatTime"), fmt::format("Daemon `{}` unhealthy (last heartbeat)", text_of(daemon, "daemonType")),
            "Daemons (step 09)");
    }
  }
}

void gke_and_alerts(Context& c) {
  if (const Json* step = step_payload(c.artifact, "step_10_gke_events")) {
    for (const auto& event : array_of(*step, "podEvents").GetArray()) {
      std::string run = text_of(event, "runId");
      std::string suffix = run == "-" ? "" : fmt::format(" (run `{}`, {})", short_id(run), text_of(event, "runStatus"));
      c.row(epoch_of(event, "timestamp"),
            fmt::format("Pod `{}` {}: {}{}", text_of(event, "podName"), text_of(event, "reason"), brief(event, "message"), suffix),
            "GKE pod events (step 10)");
    }
    for (const auto& event : array_of(*step, "clusterEvents").GetArray()) {
      c.row(epoch_of(event, "timestamp"),
            fmt::format("{} `{}` {}: {}", text_of(event, "kind"), text_of(event, "name"), text_of(event, "reason"), brief(event, "message")),
            "GKE cluster events (step 10)");
    }
  }
  const Json* step = step_payload(c.artifact, "step_11_alerts");
  if (step == nullptr || array_of(*step, "alerts").Empty()) { return; }
  Finding finding{"Alerts", "", {}, {}, {}};
  for (const auto& alert : array_of(*step, "alerts").GetArray()) {
    std::string line = fmt::format("Alert `{}` ({}, {})", text_of(alert, "policy"), text_of(alert, "severity"), text_of(alert, "state"));
    c.row(epoch_of(alert, "openTime"), line + " opened", "Cloud Monitoring alerts (step 11)");
    finding.items.push_back(line);
  }
  std::sort(finding.items.begin(), finding.items.end());
  finding.summary = fmt::format("{} alert(s) open during the window", finding.items.size());
  c.report.impact.push_back(std::move(finding));
}

void queued_and_backfills(Context& c) {
  if (const Json* step = step_payload(c.artifact, "step_14_queued_runs")) {
    Finding finding{"Queued runs", "", {}, {}, {}};
    for (const auto& run : array_of(*step, "runs").GetArray()) {
      const Json* stuck = member(run, "stuck");
      if (stuck == nullptr || !stuck->IsTrue()) { continue; }
      std::string line = fmt::format("`{}` `{}` {} since {} — {}", text_of(run, "jobName"), short_id(text_of(run, "runId")),
                                     text_of(run, "status"), when(c.zone, epoch_of(run, "since")), text_of(run, "reason"));
      c.row(epoch_of(run, "since"), "Run stuck: " + line, "Queued runs (step 14)");
      finding.items.push_back(line);
    }
    if (!finding.items.empty()) {
      std::sort(finding.items.begin(), finding.items.end());
      finding.summary = fmt::format("{} stuck run(s)", finding.items.size());
      c.report.impact.push_back(std::move(finding));
    }
  }
  const Json* step = step_payload(c.artifact, "step_15_backfills");
  if (step == nullptr || array_of(*step, "failed").Empty()) { return; }
  Finding finding{"Backfills", "", {}, {}, {}};
  for (const auto& backfill : array_of(*step, "failed").GetArray()) {
    std::string error = brief(backfill, "error");
    std::string line = fmt::format("`{}` {}: {} of {} partition(s) failed{}", text_of(backfill, "id"), text_of(backfill, "status"),
                                   summary::count_text(backfill, "failedPartitions"), summary::count_text(backfill, "numPartitions"),
                                   error == "-" ? "" : " — " + error);
    auto at = epoch_of(backfill, "endTimestamp");
    c.row(at ? at : epoch_of(backfill, "timestamp"), "Backfill " + line, "Backfills (step 15)");
    finding.items.push_back(line);
  }
  std::sort(finding.items.begin(), finding.items.end());
  finding.summary = fmt::format("{} failed backfill(s)", finding.items.size());
  c.report.impact.push_back(std::move(finding));
}

std::string check_name(const Json& check) {
  return fmt::format("`{}:{}`", summary::asset_text(member(check, "asset")), text_of(check, "check"));
}

void asset_checks(Context& c) {
  const Json* step = step_payload(c.artifact, "step_16_asset_checks");
  if (step == nullptr) { return; }
  Finding errors{"Asset checks", "", {}, {}, {}};
  for (const auto& check : array_of(*step, "inWindow_error").GetArray()) {
    std::string line = fmt::format("{} {} ({}): {} (run `{}`)", check_name(check), text_of(check, "status"),
                                   text_of(check, "severity"), brief(check, "description"), short_id(text_of(check, "runId")));
    c.row(epoch_of(check, "timestamp"), "Asset check " + line, "Asset checks (step 16)");
    errors.items.push_back(line);
  }
  if (!errors.items.empty()) {
    std::sort(errors.items.begin(), errors.items.end());
    errors.summary = fmt::format("{} blocking check failure(s) in the window", errors.items.size());
    c.report.impact.push_back(std::move(errors));
  }
  std::map<std::string, std::vector<std::string>> warn_by_check;
  for (const auto& check : array_of(*step, "inWindow_warn").GetArray()) {
    std::string extras;
    if (const Json* metadata = member(check, "metadata"); metadata && member(*metadata, "extras")) {
      extras = fmt::format(" (extras: {})", brief(*metadata, "extras"));
    }
    warn_by_check[text_of(check, "check")].push_back(summary::asset_text(member(check, "asset")) + extras);
  }
  for (auto& [name, assets] : warn_by_check) {
    std::sort(assets.begin(), assets.end());
    c.report.emerging.push_back({"Asset check warnings", fmt::format("`{}` failed (WARN) on {} asset(s)", name, assets.size()), assets, {}, {}});
  }
  Finding stale{"Stale asset checks", "", {}, {}, {}};
  for (const char* bucket : {"stale_error", "stale_warn"}) {
    for (const auto& check : array_of(*step, bucket).GetArray()) {
      stale.items.push_back(fmt::format("{} {} ({}), last run {} — cleanup candidate", check_name(check), text_of(check, "status"),
                                        text_of(check, "severity"), when(c.zone, epoch_of(check, "timestamp"))));
    }
  }
  if (!stale.items.empty()) {
    std::sort(stale.items.begin(), stale.items.end());
    stale.summary = fmt::format("{} check(s) whose latest execution failed before the window", stale.items.size());
    c.report.emerging.push_back(std::move(stale));
  }
}

// byRun clusters: in the window → Impact; older → Emerging Issues (stale candidates).
void degraded_assets(Context& c) {
  const Json* step = step_payload(c.artifact, "step_17_degraded_assets");
  if (step == nullptr) { return; }
  Finding current{"Degraded assets", "", {}, {}, {}};
  Finding stale{"Stale degraded assets", "", {}, {}, {}};
  for (const auto& cluster : array_of(*step, "byRun").GetArray()) {
    auto end = epoch_of(cluster, "endTime");
    const Json* in_window = member(cluster, "inWindow");
    bool stale_cluster = in_window ? in_window->IsFalse() : (end && c.window_start && *end < *c.window_start);
    std::vector<std::string> assets;
    for (const auto& asset : array_of(cluster, "assets").GetArray()) { assets.push_back(summary::asset_text(&asset)); }
    std::sort(assets.begin(), assets.end());
    std::string joined = fmt::format("{}", fmt::join(assets, ", "));
    std::string line = fmt::format("run `{}` (ended {}): {} asset(s): {}", short_id(text_of(cluster, "runId")), when(c.zone, end),
                                   summary::count_text(cluster, "count", "assets"), joined);
    (stale_cluster ? stale : current).items.push_back(line);
  }
  if (!current.items.empty()) {
    std::sort(current.items.begin(), current.items.end());
    current.summary = fmt::format("{} failed run(s) left assets degraded (by run)", current.items.size());
    c.report.impact.push_back(std::move(current));
  }
  if (!stale.items.empty()) {
    std::sort(stale.items.begin(), stale.items.end());
    stale.summary = fmt::format("{} cluster(s) from runs that ended before the window — cleanup candidates", stale.items.size());
    c.report.emerging.push_back(std::move(stale));
  }
}

void error_groups(Context& c) {
  const Json* step = step_payload(c.artifact, "step_12_error_groups");
  if (step == nullptr) { return; }
  std::map<std::string, const Json*> groups;
  for (const auto& group : array_of(*step, "groups").GetArray()) { groups[text_of(group, "groupId")] = &group; }
  const Json* buckets = member(*step, "buckets");
  if (buckets == nullptr) { return; }
  Finding in_window{"Error groups in the window", "", {}, {}, {}};
  Finding stale{"Stale open error groups", "", {}, {}, {}};
  for (const auto& id : array_of(*buckets, "inWindow").GetArray()) {
    std::string name = summary::asset_text(&id);
    const Json* group = groups.count(name) ? groups[name] : nullptr;
    std::string exception = group ? brief(*group, "exception") : "?";
    std::string category = group ? text_of(*group, "category") : "?";
    auto seen = group ? epoch_of(*group, "lastSeenTime") : std::nullopt;
    in_window.items.push_back(fmt::format("{}: `{}` {}", category, name, exception));
    c.row(seen, fmt::format("Error group `{}` ({}): {}", name, category, exception), "Error Reporting (step 12)");
  }
  for (const auto& id : array_of(*buckets, "staleOpen").GetArray()) {
    std::string name = summary::asset_text(&id);
    const Json* group = groups.count(name) ? groups[name] : nullptr;
    auto seen = group ? epoch_of(*group, "lastSeenTime") : std::nullopt;
    stale.items.push_back(fmt::format("`{}` {}, last seen {} — cleanup candidate", name, group ? brief(*group, "exception") : "?",
                                      seen ? c.zone.format(recorder::from_epoch_seconds(*seen), "%F") : "unknown"));
  }
  for (Finding* finding : {&in_window, &stale}) {
    if (finding->items.empty()) { continue; }
    std::sort(finding->items.begin(), finding->items.end());
    finding->summary = fmt::format("{} group(s)", finding->items.size());
    c.report.emerging.push_back(std::move(*finding));
  }
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
  asset_checks(c);
  degraded_assets(c);
  error_groups(c);
  // By time (untimed rows last), then by text, so the order never depends on the artifact's.
  std::sort(report.timeline.begin(), report.timeline.end(), [](const TimelineRow& a, const TimelineRow& b) {
    auto key = [](const TimelineRow& r) { return std::make_tuple(!r.epoch.has_value(), r.epoch.value_or(0), r.signal, r.source); };
    return key(a) < key(b);
  });
}

}  // namespace analyzer::report
