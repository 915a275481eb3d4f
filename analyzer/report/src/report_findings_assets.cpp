// Asset checks (step 16) and degraded assets (step 17), reconciled with the failed runs of step 01
// as the seed asks: an in-window ERROR check of a failed run is the same event as the run, so it is
// folded into the run's timeline row (rule asset-check-folded); a degraded-asset cluster of a run
// that failed on one step while the rest materialized is mostly noise (rule degraded-cluster-noise).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>
#include <set>

#include "analyzer/artifact/artifact.hpp"
#include "recorder/base/json.hpp"
#include "recorder/base/text.hpp"
#include "report_model.hpp"

namespace analyzer::report {

namespace {

using summary::member;
using summary::text_of;

struct FailedRun {
  rapidjson::SizeType index = 0;
  const Json* failure = nullptr;
};

// step 01's failures by run id.
std::map<std::string, FailedRun> failed_runs(const Json& artifact) {
  std::map<std::string, FailedRun> out;
  const Json* step = step_payload(artifact, step_key(StepId::failed_runs));
  if (step == nullptr) { return out; }
  const Json& failures = array_of(*step, "failures");
  for (rapidjson::SizeType i = 0; i < failures.Size(); ++i) { out[text_of(failures[i], "runId")] = {i, &failures[i]}; }
  return out;
}

std::string run_pointer(rapidjson::SizeType index) { return fmt::format("/step_01_failed_runs/failures/{}", index); }

std::string check_name(const Json& check) {
  return fmt::format("`{}:{}`", summary::asset_text(member(check, "asset")), text_of(check, "check"));
}

TimelineRow* row_with_pointer(Report& report, const std::string& pointer) {
  auto it = std::find_if(report.timeline.begin(), report.timeline.end(), [&](const TimelineRow& r) { return r.pointer == pointer; });
  return it == report.timeline.end() ? nullptr : &*it;
}

// In-window ERROR checks: folded into their failed run's row, else a row of their own.
void error_checks(const Json& step, const recorder::Zone& zone, const std::map<std::string, FailedRun>& runs, Report& report) {
  Finding errors{"Asset checks", "", {}, {}, {}};
  Finding folded{"Asset checks folded into failed runs", "", {}, "asset-check-folded", {}};
  const Json& checks = array_of(step, "inWindow_error");
  for (rapidjson::SizeType i = 0; i < checks.Size(); ++i) {
    const Json& check = checks[i];
    std::string run_id = text_of(check, "runId");
    std::string line = fmt::format("{} {} ({}): {} (run `{}`)", check_name(check), text_of(check, "status"),
                                   text_of(check, "severity"), brief(check, "description"), short_id(run_id));
    std::string pointer = fmt::format("/step_16_asset_checks/inWindow_error/{}", i);
    auto at = epoch_of(check, "timestamp");
    auto run = runs.find(run_id);
    TimelineRow* run_row = run == runs.end() ? nullptr : row_with_pointer(report, run_pointer(run->second.index));
    if (run_row == nullptr) {
      report.timeline.push_back({at, when(zone, at), "Asset check " + line, "Asset checks (step 16)", "asset_check", pointer});
      errors.items.push_back(line);
      errors.evidence.push_back({"asset_check", pointer, "Asset check " + line, at});
      continue;
    }
    run_row->signal += fmt::format("; asset check {} {} (folded)", check_name(check), text_of(check, "status"));
    folded.items.push_back(fmt::format("{} — the same event as failed run `{}`", line, short_id(run_id)));
    folded.evidence.push_back({"asset_check", pointer, "Asset check " + line, at});
    folded.evidence.push_back({"run", run_pointer(run->second.index), fmt::format("run {} failed", run_id), epoch_of(*run->second.failure, "endTime")});
  }
  for (Finding* finding : {&errors, &folded}) {
    if (finding->items.empty()) { continue; }
    std::sort(finding->items.begin(), finding->items.end());
    finding->summary = finding == &errors
                           ? fmt::format("{} blocking check failure(s) in the window", finding->items.size())
                           : fmt::format("{} ERROR check(s) noted under their failed run (one timeline row each)", finding->items.size());
    report.impact.push_back(std::move(*finding));
  }
}

// A schema-validation check (the seed's avro_schema_valid, warning on vendor schema drift with the
// extra fields in its "extras" metadata): its name or description speaks of a schema, or it reports
// extras. Only these get the schema advice; other WARN checks are advised from their own words.
bool is_schema_check(const std::string& name, const std::string& description, bool has_extras) {
  return has_extras || recorder::lower(name).find("schema") != std::string::npos ||
         recorder::lower(description).find("schema") != std::string::npos;
}

void warn_and_stale_checks(const Json& step, const recorder::Zone& zone, Report& report) {
  struct WarnCheck {
    std::vector<std::string> assets;
    std::string description;
    bool schema = false;
  };
  std::map<std::string, WarnCheck> warn_by_check;
  for (const auto& check : array_of(step, "inWindow_warn").GetArray()) {
    std::string extras;
    const Json* metadata = member(check, "metadata");
    bool has_extras = metadata && member(*metadata, "extras");
    if (has_extras) extras = fmt::format(" (extras: {})", brief(*metadata, "extras"));
    auto name = text_of(check, "check");
    auto description = text_of(check, "description");
    auto& entry = warn_by_check[name];
    entry.assets.push_back(summary::asset_text(member(check, "asset")) + extras);
    if (entry.description.empty() && description != "-") entry.description = description;
    entry.schema = entry.schema || is_schema_check(name, description == "-" ? "" : description, has_extras);
  }
  for (auto& [name, check] : warn_by_check) {
    std::sort(check.assets.begin(), check.assets.end());
    auto summary = fmt::format("`{}` failed (WARN) on {} asset(s){}", name, check.assets.size(),
                               check.description.empty() ? "" : ": " + check.description);
    report.emerging.push_back({"Asset check warnings", summary, check.assets,
                               check.schema ? "asset-check-schema-drift" : "asset-check-warning", {}});
  }
  Finding stale{"Stale asset checks", "", {}, {}, {}};
  for (const char* bucket : {"stale_error", "stale_warn"}) {
    for (const auto& check : array_of(step, bucket).GetArray()) {
      stale.items.push_back(fmt::format("{} {} ({}), last run {} — cleanup candidate", check_name(check), text_of(check, "status"),
                                        text_of(check, "severity"), when(zone, epoch_of(check, "timestamp"))));
    }
  }
  if (!stale.items.empty()) {
    std::sort(stale.items.begin(), stale.items.end());
    stale.summary = fmt::format("{} check(s) whose latest execution failed before the window", stale.items.size());
    report.emerging.push_back(std::move(stale));
  }
}

// A degraded cluster read against its run (step 01): the assets the run planned and did not
// materialize (genuinely failed) and those it did materialize (noise), each decided per asset. A
// multi-asset step that materialized some assets and then raised fails only the missing ones.
struct ClusterReading {
  std::vector<std::string> failed;
  std::vector<std::string> materialized;
};

ClusterReading read_cluster(const Json& failure, const std::vector<std::string>& cluster) {
  std::set<std::string> materialized, missing;
  for (const auto& asset : array_of(failure, "materializations").GetArray()) { materialized.insert(summary::asset_text(&asset)); }
  for (const auto& asset : array_of(failure, "unmaterializedAssets").GetArray()) { missing.insert(summary::asset_text(&asset)); }
  ClusterReading out;
  if (materialized.empty()) { return out; }
  for (const auto& asset : cluster) {
    if (missing.count(asset)) { out.failed.push_back(asset); }
    else if (materialized.count(asset)) { out.materialized.push_back(asset); }
  }
  if (!missing.empty()) { return out; }
  // No planned-but-missing list (an older artifact): the one failing step names the failed asset when
  // it is one of the cluster's — never the step itself as an asset.
  std::set<std::string> steps;
  for (const auto& error : array_of(failure, "stepErrors").GetArray()) { steps.insert(text_of(error, "stepKey")); }
  if (steps.size() != 1) { return {}; }
  const std::string& step = *steps.begin();
  for (const auto& asset : cluster) {
    auto leaf = asset.substr(asset.rfind('/') + 1);
    if (!materialized.count(asset) && (step == leaf || step.ends_with("__" + leaf) || step.ends_with("." + leaf))) {
      out.failed.push_back(asset);
    }
  }
  return out;
}

void degraded_assets(const Json& artifact, const recorder::Zone& zone, const std::map<std::string, FailedRun>& runs, Report& report) {
  const Json* step = step_payload(artifact, step_key(StepId::degraded_assets));
  if (step == nullptr) { return; }
  auto window_start = epoch_of(*member(artifact, "window"), "utc_start");
  Finding current{"Degraded assets", "", {}, {}, {}};
  Finding stale{"Stale degraded assets", "", {}, {}, {}};
  Finding noise{"Degraded-asset noise", "", {}, "degraded-cluster-noise", {}};
  const Json& clusters = array_of(*step, "byRun");
  for (rapidjson::SizeType i = 0; i < clusters.Size(); ++i) {
    const Json& cluster = clusters[i];
    auto end = epoch_of(cluster, "endTime");
    const Json* in_window = member(cluster, "inWindow");
    bool stale_cluster = in_window ? in_window->IsFalse() : (end && window_start && *end < *window_start);
    std::vector<std::string> assets;
    for (const auto& asset : array_of(cluster, "assets").GetArray()) { assets.push_back(summary::asset_text(&asset)); }
    std::sort(assets.begin(), assets.end());
    std::string run_id = text_of(cluster, "runId");
    std::string line = fmt::format("run `{}` (ended {}): {} asset(s): {}", short_id(run_id), when(zone, end),
                                   summary::count_text(cluster, "count", "assets"), fmt::join(assets, ", "));
    (stale_cluster ? stale : current).items.push_back(line);
    auto run = runs.find(run_id);
    if (stale_cluster || run == runs.end()) { continue; }
    auto reading = read_cluster(*run->second.failure, assets);
    if (reading.failed.empty() || reading.materialized.empty()) { continue; }
    noise.items.push_back(fmt::format("run `{}`: genuinely failed `{}`; {} other degraded asset(s) are noise (the run materialized them)",
                                      short_id(run_id), fmt::join(reading.failed, "`, `"), reading.materialized.size()));
    noise.evidence.push_back({"degraded_asset", fmt::format("/step_17_degraded_assets/byRun/{}", i), line, end});
    noise.evidence.push_back({"run", run_pointer(run->second.index), fmt::format("run {}: what it planned and materialized (step 01)", run_id),
                              epoch_of(*run->second.failure, "endTime")});
  }
  if (!current.items.empty()) {
    std::sort(current.items.begin(), current.items.end());
    current.summary = fmt::format("{} failed run(s) left assets degraded (by run)", current.items.size());
    report.impact.push_back(std::move(current));
  }
  if (!noise.items.empty()) {
    std::sort(noise.items.begin(), noise.items.end());
    noise.summary = fmt::format("{} cluster(s) verified against step 01: one asset failed, the rest are noise", noise.items.size());
    report.impact.push_back(std::move(noise));
  }
  if (!stale.items.empty()) {
    std::sort(stale.items.begin(), stale.items.end());
    stale.summary = fmt::format("{} cluster(s) from runs that ended before the window — cleanup candidates", stale.items.size());
    report.emerging.push_back(std::move(stale));
  }
}

}  // namespace

void add_asset_sections(const Json& artifact, const recorder::Zone& zone, Report& report) {
  auto runs = failed_runs(artifact);
  if (const Json* step = step_payload(artifact, step_key(StepId::asset_checks))) {
    error_checks(*step, zone, runs, report);
    warn_and_stale_checks(*step, zone, report);
  }
  degraded_assets(artifact, zone, runs, report);
}

}  // namespace analyzer::report
