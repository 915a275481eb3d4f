#include "support/collect_operations.hpp"

namespace day2test {

const std::vector<std::pair<std::string, std::vector<std::string>>>& collect_operation_steps() {
  static const std::vector<std::pair<std::string, std::vector<std::string>>> table = {
      {"RunsInWindow", {"step_01_failed_runs", "step_02_retries"}},
      {"RunEvents", {"step_01_failed_runs"}},
      {"AllInstigatorTicks", {"step_03_sensor_ticks", "step_06_schedule_ticks"}},
      {"FreshnessLegacy", {"step_04_freshness"}},
      {"TypeFields", {"step_04_freshness"}},
      {"FreshnessNew", {"step_04_freshness"}},
      {"CodeLocations", {"step_05_load_failures"}},
      {"DaemonHealth", {"step_09_daemons"}},
      {"InFlightRuns", {"step_14_queued_runs"}},
      {"Backfills", {"step_15_backfills"}},
      {"AssetKeys", {"step_16_asset_checks", "step_17_degraded_assets"}},
      {"AssetChecksLatest", {"step_16_asset_checks"}},
      {"AssetCheckHistory", {"step_16_asset_checks"}},
      {"AssetsLatestInfo", {"step_17_degraded_assets"}},
  };
  return table;
}

std::vector<std::string> steps_of_operation(const std::string& operation) {
  for (const auto& [name, steps] : collect_operation_steps()) {
    if (name == operation) return steps;
  }
  return {};
}

const std::vector<std::string>& display_operations() {
  static const std::vector<std::string> operations = {"RunCapturedLogs"};
  return operations;
}

bool is_item_operation(const std::string& operation) {
  return operation == "RunEvents" || operation == "AssetCheckHistory" || operation == "InstigatorTicks";
}

const std::vector<GooglePath>& collect_google_paths() {
  static const std::vector<GooglePath> table = {
      {"logging", "/v2/entries:list", "logging entries.list", {"step_08_agent_pod_churn", "step_10_gke_events"},
       {"step_12_error_groups", "step_13_oom_metrics"}},
      {"monitoring", "/v3/projects/my-proj/alerts", "monitoring projects.alerts.list", {"step_11_alerts"}, {}},
      {"monitoring", "/v3/projects/my-proj/timeSeries", "monitoring projects.timeSeries.list", {"step_13_oom_metrics"},
       {}},
      {"error_reporting", "/v1beta1/projects/my-proj/groupStats", "errorreporting projects.groupStats.list",
       {"step_12_error_groups"}, {}},
      {"error_reporting", "/v1beta1/projects/my-proj/events", "errorreporting projects.events.list", {}, {},
       {"step_12_error_groups"}},
      {"container", "/v1/projects/my-proj/locations/us-central1/clusters/prod/nodePools",
       "container projects.locations.clusters.nodePools.list", {}, {}, {}, {"step_10_gke_events"}},
  };
  return table;
}

}  // namespace day2test
