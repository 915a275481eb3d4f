// The artifact (day2.json, docs/artifact.md): the contract between collection and analysis. The one
// table of its steps — each step's key, number, title and whether it needs Google Cloud — and its
// format version. Step keys are spelled here only: code names a step by StepId, so a misspelt step
// is a compile error, not an empty section.
#pragma once

#include <array>
#include <optional>
#include <string_view>

namespace analyzer {

enum class StepId {
  failed_runs,
  retries,
  sensor_ticks,
  freshness,
  load_failures,
  schedule_ticks,
  agents,
  agent_pod_churn,
  daemons,
  gke_events,
  alerts,
  error_groups,
  oom_metrics,
  queued_runs,
  backfills,
  asset_checks,
  degraded_assets,
};

struct StepInfo {
  StepId id;
  const char* key;  // "step_13_oom_metrics": the artifact's member
  int number;       // 13
  const char* title;
  bool google;      // needs Google Cloud (gcp.project)
};

inline constexpr std::size_t k_step_count = 17;

// Every step, in the artifact's order.
const std::array<StepInfo, k_step_count>& step_table();
const StepInfo& step_info(StepId id);
// The artifact member of `id` ("step_10_gke_events").
const char* step_key(StepId id);
// The step whose key is `key`; nullopt for anything else.
std::optional<StepId> step_of_key(std::string_view key);

// The artifact's format version, written as the top-level "artifactVersion". An artifact without
// one is in the seed's own shape (the operators' original collector) and reads as version 1.
inline constexpr int k_artifact_version = 1;

}  // namespace analyzer
