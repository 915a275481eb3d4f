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

}  // namespace day2test
