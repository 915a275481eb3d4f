// One headline count per known step. Each function takes the step's payload, which may be any
// JSON value in a damaged artifact, and prints "?" for any count it cannot read.
#include <fmt/format.h>

#include <map>
#include <optional>

#include "analyzer/artifact/artifact.hpp"
#include "summarize_steps.hpp"

namespace analyzer::summary {

namespace {

using Headline = std::string (*)(const Json&);

std::string failed_runs(const Json& p) {
  return fmt::format("{} failed, {} succeeded, {} canceled", count_text(p, "failureCount", "failures"),
                     count_text(p, "successCount", "successRunIds"), count_text(p, "canceledCount"));
}

std::string retries(const Json& p) {
  const Json* list = member(p, "retries");
  if (list == nullptr || !list->IsArray()) { return "? retries"; }
  std::size_t succeeded = 0;
  for (const auto& retry : list->GetArray()) {
    if (text_of(retry, "retryStatus") == "SUCCESS") { ++succeeded; }
  }
  return fmt::format("{}, {} SUCCESS", counted(std::to_string(list->Size()), "retry", "retries"), succeeded);
}

// Failed ticks of one sensor: failureCount, else the length of ticks; nullopt when unreadable.
std::optional<std::uint64_t> sensor_failures(const Json& sensor) {
  if (const Json* count = member(sensor, "failureCount")) { return as_count(*count); }
  const Json* ticks = member(sensor, "ticks");
  if (ticks != nullptr && ticks->IsArray()) { return ticks->Size(); }
  return std::nullopt;
}

// Step 03 is {"<location>": {"<sensor>": {"failureCount": N, "ticks": [...]}}}, and "itemErrors" when
// some sensor's ticks could not all be read.
std::string sensor_ticks(const Json& p) {
  std::uint64_t sensors = 0;
  std::uint64_t ticks = 0;
  for (const auto& location : p.GetObject()) {
    if (location.value.IsArray() && std::string_view(location.name.GetString()) == "itemErrors") { continue; }
    if (!location.value.IsObject()) { return "? sensors with failed ticks"; }
    for (const auto& sensor : location.value.GetObject()) {
      auto failures = sensor_failures(sensor.value);
      if (!failures) { return "? sensors with failed ticks"; }
      sensors += *failures > 0 ? 1 : 0;
      ticks += *failures;
    }
  }
  return fmt::format("{} with failed ticks, {}", counted(std::to_string(sensors), "sensor", "sensors"),
                     counted(std::to_string(ticks), "failed tick", "failed ticks"));
}

std::string freshness(const Json& p) {
  return fmt::format("{}, {}", counted(length_text(p, "flaggedAssets"), "flagged asset", "flagged assets"),
                     counted(count_text(p, "policyCount"), "policy", "policies"));
}

std::string load_failures(const Json& p) {
  return counted(length_text(p, "loadFailures"), "load failure", "load failures");
}

// Step 06 is {"scheduleTickFailures": {"<loc>/<schedule>": [...]}}.
std::string schedule_ticks(const Json& p) {
  const Json* failures = member(p, "scheduleTickFailures");
  if (failures == nullptr || !failures->IsObject()) { return "? schedules with failed ticks"; }
  std::uint64_t schedules = 0;
  std::uint64_t ticks = 0;
  for (const auto& schedule : failures->GetObject()) {
    if (!schedule.value.IsArray()) { return "? schedules with failed ticks"; }
    schedules += schedule.value.Empty() ? 0 : 1;
    ticks += schedule.value.Size();
  }
  return fmt::format("{} with failed ticks, {}", counted(std::to_string(schedules), "schedule", "schedules"),
                     counted(std::to_string(ticks), "failed tick", "failed ticks"));
}

std::string agents(const Json& p) { return counted(count_text(p, "agentCount", "agents"), "agent", "agents"); }

std::string pod_churn(const Json& p) { return counted(length_text(p, "events"), "event", "events"); }

std::string daemons(const Json& p) {
  const Json* healthy = member(p, "allHealthy");
  std::string_view all = healthy == nullptr || !healthy->IsBool() ? "?" : healthy->IsTrue() ? "true" : "false";
  return fmt::format("{}, allHealthy={}", counted(length_text(p, "daemons"), "daemon", "daemons"), all);
}

std::string gke_events(const Json& p) {
  return fmt::format("{}, {}", counted(length_text(p, "clusterEvents"), "cluster event", "cluster events"),
                     counted(length_text(p, "podEvents"), "pod event", "pod events"));
}

std::string alerts(const Json& p) { return counted(length_text(p, "alerts"), "alert", "alerts"); }

std::string error_groups(const Json& p) {
  static const Json k_absent;  // null: both bucket counts become "?"
  const Json* buckets = member(p, "buckets");
  const Json& b = buckets != nullptr ? *buckets : k_absent;
  return fmt::format("{}, {} in window, {} stale-open", counted(length_text(p, "groups"), "group", "groups"),
                     length_text(b, "inWindow"), length_text(b, "staleOpen"));
}

std::string oom_runs(const Json& p) { return counted(length_text(p, "oomRuns"), "OOM run", "OOM runs"); }

std::string queued_runs(const Json& p) {
  return fmt::format("{}, {} stuck", counted(length_text(p, "runs"), "queued run", "queued runs"),
                     count_text(p, "stuckCount"));
}

std::string backfills(const Json& p) {
  return fmt::format("{} requested, {} failed", length_text(p, "requested"), length_text(p, "failed"));
}

std::string asset_checks(const Json& p) {
  const Json* error = member(p, "stale_error");
  const Json* warn = member(p, "stale_warn");
  std::string stale = error != nullptr && error->IsArray() && warn != nullptr && warn->IsArray()
                          ? std::to_string(error->Size() + warn->Size())
                          : "?";
  return fmt::format("{}, {} in-window error, {} in-window warn, {} stale",
                     counted(count_text(p, "totalChecks"), "check", "checks"), length_text(p, "inWindow_error"),
                     length_text(p, "inWindow_warn"), stale);
}

std::string degraded_assets(const Json& p) {
  return fmt::format("{}, {}", counted(count_text(p, "degradedCount", "degraded"), "degraded asset", "degraded assets"),
                     counted(length_text(p, "byRun"), "run cluster", "run clusters"));
}

const std::map<std::string, Headline, std::less<>>& headlines() {
  static const std::map<std::string, Headline, std::less<>> table = {
      {step_key(StepId::failed_runs), failed_runs},       {step_key(StepId::retries), retries},
      {step_key(StepId::sensor_ticks), sensor_ticks},     {step_key(StepId::freshness), freshness},
      {step_key(StepId::load_failures), load_failures},   {step_key(StepId::schedule_ticks), schedule_ticks},
      {step_key(StepId::agents), agents},                 {step_key(StepId::agent_pod_churn), pod_churn},
      {step_key(StepId::daemons), daemons},               {step_key(StepId::gke_events), gke_events},
      {step_key(StepId::alerts), alerts},                 {step_key(StepId::error_groups), error_groups},
      {step_key(StepId::oom_metrics), oom_runs},          {step_key(StepId::queued_runs), queued_runs},
      {step_key(StepId::backfills), backfills},           {step_key(StepId::asset_checks), asset_checks},
      {step_key(StepId::degraded_assets), degraded_assets},
  };
  return table;
}

}  // namespace

std::string headline(const std::string& key, const Json& payload) {
  auto it = headlines().find(key);
  if (it == headlines().end() || !payload.IsObject()) { return ""; }
  return it->second(payload);
}

}  // namespace analyzer::summary
