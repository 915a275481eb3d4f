// The seed's reasoning rules about failed runs (docs/report.md "Reasoning rules"): runs that never
// started (with their approximated Kubernetes Job creation), top-of-hour fan-out of those, and dbt
// runs killed by max runtime whose successful retry is not definitive.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>

#include "analyzer/artifact/artifact.hpp"
#include "analyzer/artifact/overlap.hpp"
#include "recorder/base/json.hpp"
#include "report_model.hpp"

namespace analyzer::report {

namespace {

using summary::member;
using summary::text_of;

struct NeverStarted {
  std::string run_id;
  std::string job;
  std::string pointer;
  double created = 0;  // approximated Job creation: start (else end) time - N
  double seconds = 0;  // N
  std::optional<double> ended;
};

std::string run_pointer(rapidjson::SizeType index) { return fmt::format("/step_01_failed_runs/failures/{}", index); }

std::vector<NeverStarted> never_started_runs(const Json& failures) {
  std::vector<NeverStarted> out;
  for (rapidjson::SizeType i = 0; i < failures.Size(); ++i) {
    const Json& failure = failures[i];
    const Json* message = member(failure, "runFailureMessage");
    if (message == nullptr || !message->IsString()) { continue; }
    auto seconds = never_started_timeout({message->GetString(), message->GetStringLength()});
    auto start = epoch_of(failure, "startTime");
    auto end = epoch_of(failure, "endTime");
    if (!seconds || !(start || end)) { continue; }
    out.push_back({text_of(failure, "runId"), text_of(failure, "jobName"), run_pointer(i), (start ? *start : *end) - *seconds, *seconds, end});
  }
  return out;
}

void never_started(const std::vector<NeverStarted>& runs, const recorder::Zone& zone, Report& report) {
  if (runs.empty()) { return; }
  Finding finding{"Runs that never started", "", {}, "run-never-started", {}};
  for (const auto& run : runs) {
    finding.items.push_back(fmt::format(
        "`{}` `{}`: timed out after {:g} s waiting to start; Job created about {} (start − {:g} s). Confirm: "
        "`protoPayload.methodName=\"io.k8s.batch.v1.jobs.create\" protoPayload.resourceName=~\"dagster-run-{}.*\"`",
        run.job, short_id(run.run_id), run.seconds, when(zone, run.created), run.seconds, run.run_id));
    finding.evidence.push_back({"run", run.pointer, fmt::format("run {} never started", run.run_id), run.ended});
    finding.covers.push_back(run.pointer);  // all claimed by platform causes: their rows are its action
  }
  std::sort(finding.items.begin(), finding.items.end());
  finding.summary = fmt::format("{} run(s) timed out before starting: the pod never emitted its first event (K8s layer)", runs.size());
  report.impact.push_back(std::move(finding));
}

// Never-started runs whose Job was created in the first `minutes` of an hour, at least `min_runs` of
// them in the same hour (hours of UTC epoch time: whole hours in every zone with whole-hour offsets).
void top_of_hour(const std::vector<NeverStarted>& runs, const recorder::Zone& zone, const Config& config, Report& report) {
  std::map<long long, std::vector<const NeverStarted*>> by_hour;
  for (const auto& run : runs) {
    double into_hour = std::fmod(run.created, 3600.0);
    if (into_hour < config.thresholds.fan_out_minutes * 60.0) {
      by_hour[static_cast<long long>(std::floor(run.created / 3600.0))].push_back(&run);
    }
  }
  for (const auto& [hour, spike] : by_hour) {
    if (spike.size() < static_cast<std::size_t>(config.thresholds.fan_out_min_runs)) { continue; }
    Finding finding{"Top-of-hour fan-out",
                    fmt::format("{} run(s) created within {:g} min after {} never started: autoscaler latency at a scheduling "
                                "spike (image pull + node provisioning), not agent or K8s-API trouble",
                                spike.size(), config.thresholds.fan_out_minutes, when(zone, static_cast<double>(hour) * 3600.0)),
                    {}, "top-of-hour-fan-out", {}};
    for (const auto* run : spike) {
      finding.items.push_back(fmt::format("`{}` `{}`: Job created about {}", run->job, short_id(run->run_id), when(zone, run->created)));
      finding.evidence.push_back({"run", run->pointer, fmt::format("run {} never started", run->run_id), run->ended});
      finding.covers.push_back(run->pointer);
    }
    std::sort(finding.items.begin(), finding.items.end());
    report.impact.push_back(std::move(finding));
  }
}

bool mentions_dbt(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower.find("dbt") != std::string::npos;
}

// The job, an asset it planned or materialized, a tag or the category names dbt.
bool materializes_dbt(const Json& failure) {
  if (text_of(failure, "category") == "Slow-query timeout (dbt)" || mentions_dbt(text_of(failure, "jobName"))) { return true; }
  for (const char* key : {"plannedMaterializations", "materializations", "unmaterializedAssets"}) {
    for (const auto& asset : array_of(failure, key).GetArray()) {
      if (mentions_dbt(summary::asset_text(&asset))) { return true; }
    }
  }
  const Json* tags = member(failure, "tags");
  if (tags == nullptr || !tags->IsObject()) { return false; }
  for (const auto& tag : tags->GetObject()) {
    if (mentions_dbt(tag.name.GetString()) || (tag.value.IsString() && mentions_dbt(tag.value.GetString()))) { return true; }
  }
  return false;
}

void dbt_retries(const Json& artifact, const Json& failures, Report& report) {
  const Json* step = step_payload(artifact, step_key(StepId::retries));
  if (step == nullptr) { return; }
  std::map<std::string, std::pair<rapidjson::SizeType, std::string>> succeeded;  // parent -> retry index, retry id
  const Json& retries = array_of(*step, "retries");
  for (rapidjson::SizeType i = 0; i < retries.Size(); ++i) {
    if (text_of(retries[i], "retryStatus") == "SUCCESS") { succeeded[text_of(retries[i], "parentRunId")] = {i, text_of(retries[i], "retryRunId")}; }
  }
  Finding finding{"dbt retry not definitive", "", {}, "dbt-retry-not-definitive", {}};
  for (rapidjson::SizeType i = 0; i < failures.Size(); ++i) {
    const Json& failure = failures[i];
    std::string run_id = text_of(failure, "runId");
    auto retry = succeeded.find(run_id);
    if (retry == succeeded.end() || text_of(failure, "runFailureMessage").find("Exceeded maximum runtime") == std::string::npos ||
        !materializes_dbt(failure)) {
      continue;
    }
    finding.items.push_back(fmt::format("`{}` `{}` killed by max runtime; retry `{}` succeeded", text_of(failure, "jobName"),
                                        short_id(run_id), short_id(retry->second.second)));
    finding.evidence.push_back({"run", run_pointer(i), fmt::format("run {} exceeded its maximum runtime", run_id), epoch_of(failure, "endTime")});
    finding.evidence.push_back({"retry", fmt::format("/step_02_retries/retries/{}", retry->second.first),
                                fmt::format("retry {} SUCCESS", retry->second.second), std::nullopt});
  }
  if (finding.items.empty()) { return; }
  std::sort(finding.items.begin(), finding.items.end());
  finding.summary = fmt::format("{} dbt run(s): the orphaned BigQuery job may overwrite the retry's output; confirm the destination "
                                "table's last write post-dates the retry (JOBS_BY_PROJECT)", finding.items.size());
  report.impact.push_back(std::move(finding));
}

}  // namespace

void add_run_findings(const Json& artifact, const recorder::Zone& zone, const Config& config, Report& report) {
  const Json* step = step_payload(artifact, step_key(StepId::failed_runs));
  if (step == nullptr) { return; }
  const Json& failures = array_of(*step, "failures");
  auto runs = never_started_runs(failures);
  never_started(runs, zone, report);
  top_of_hour(runs, zone, config, report);
  dbt_retries(artifact, failures, report);
}

}  // namespace analyzer::report
