#include "analyzer/artifact/artifact.hpp"

#include <stdexcept>

namespace analyzer {

const std::array<StepInfo, k_step_count>& step_table() {
  static const std::array<StepInfo, k_step_count> table = {{
      {StepId::failed_runs, "step_01_failed_runs", 1, "Failed runs", false},
      {StepId::retries, "step_02_retries", 2, "Retries", false},
      {StepId::sensor_ticks, "step_03_sensor_ticks", 3, "Sensor ticks", false},
      {StepId::freshness, "step_04_freshness", 4, "Freshness", false},
      {StepId::load_failures, "step_05_load_failures", 5, "Code location load failures", false},
      {StepId::schedule_ticks, "step_06_schedule_ticks", 6, "Schedule ticks", false},
      {StepId::agents, "step_07_agents", 7, "Agents", false},
      {StepId::agent_pod_churn, "step_08_agent_pod_churn", 8, "Agent pod churn", true},
      {StepId::daemons, "step_09_daemons", 9, "Daemons", false},
      {StepId::gke_events, "step_10_gke_events", 10, "GKE events", true},
      {StepId::alerts, "step_11_alerts", 11, "Alerts", true},
      {StepId::error_groups, "step_12_error_groups", 12, "Error groups", true},
      {StepId::oom_metrics, "step_13_oom_metrics", 13, "OOM metrics", true},
      {StepId::queued_runs, "step_14_queued_runs", 14, "Queued runs", false},
      {StepId::backfills, "step_15_backfills", 15, "Backfills", false},
      {StepId::asset_checks, "step_16_asset_checks", 16, "Asset checks", false},
      {StepId::degraded_assets, "step_17_degraded_assets", 17, "Degraded assets", false},
  }};
  return table;
}

const StepInfo& step_info(StepId id) {
  const auto& table = step_table();
  auto index = static_cast<std::size_t>(id);
  if (index >= table.size() || table[index].id != id) throw std::logic_error("step_table() is out of order");
  return table[index];
}

const char* step_key(StepId id) { return step_info(id).key; }

std::optional<StepId> step_of_key(std::string_view key) {
  for (const auto& step : step_table()) {
    if (key == step.key) return step.id;
  }
  return std::nullopt;
}

}  // namespace analyzer
