// Step 13: the runs whose containers restarted or hit their memory limit (Monitoring time series
// joined to run pods), with the kernel's OOM kills on their nodes (step 10's events).
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>

#include "collect_helpers.hpp"

namespace analyzer {

using recorder::Result;

namespace {

// A container this close to its memory limit was about to be OOM-killed.
constexpr double k_memory_limit_hit = 0.95;

// The value of a TypedValue: int64Value is a string, doubleValue a number.
std::optional<double> point_value(const rapidjson::Value& point) {
  const auto* value = recorder::get_object(point, "value");
  if (value == nullptr) return std::nullopt;
  if (auto text = recorder::get_string(*value, "int64Value")) {
    char* end = nullptr;
    double number = std::strtod(text->c_str(), &end);
    return end != text->c_str() ? std::optional<double>(number) : std::nullopt;
  }
  return recorder::get_number(*value, "doubleValue");
}

struct ContainerSeries {
  std::string pod;
  std::string container;
  double restarts = 0;
  std::optional<double> first_restart;
  double max_utilization = 0;
  bool has_utilization = false;
};

std::string monitoring_filter(const StepContext& context, std::string_view metric, std::string_view extra) {
  const auto& gcp = context.config.gcp;
  std::string filter = fmt::format("metric.type=\"{}\" AND resource.type=\"k8s_container\"", metric);
  if (!gcp.cluster.empty()) filter += " AND resource.labels.cluster_name=" + lql_quote(gcp.cluster);
  filter += " AND resource.labels.namespace_name=" + lql_quote(gcp.namespace_name);
  // Run pods and step pods (the k8s executor runs each step in its own pod).
  filter += " AND (resource.labels.pod_name=starts_with(\"dagster-run-\") OR "
            "resource.labels.pod_name=starts_with(\"dagster-step-\"))";
  return filter + std::string(extra);
}

QueryParams series_params(const StepContext& context, std::string filter, const char* aligner) {
  return {{"filter", std::move(filter)},
          {"interval.startTime", recorder::format_rfc3339_utc(context.window.start)},
          {"interval.endTime", recorder::format_rfc3339_utc(context.window.end)},
          // A minute: GKE samples container memory every 60 s, so ALIGN_MAX over 60 s keeps a spike
          // that a longer period would still hold but place less precisely.
          {"aggregation.alignmentPeriod", "60s"},
          {"aggregation.perSeriesAligner", aligner},
          {"view", "FULL"}};
}

// Folds every series (a series split across pages arrives more than once) into per-container rows.
void fold(const rapidjson::Value& series_list, bool restarts, std::map<std::string, ContainerSeries>& out) {
  for (const auto& series : series_list.GetArray()) {
    std::string pod = string_at(series, "resource/labels/pod_name");
    std::string container = string_at(series, "resource/labels/container_name");
    if (pod.empty()) continue;
    auto& row = out[pod + "/" + container];
    row.pod = pod;
    row.container = container;
    const auto* points = recorder::get_array(series, "points");
    if (points == nullptr) continue;
    for (const auto& point : points->GetArray()) {
      auto value = point_value(point);
      if (!value) continue;
      if (restarts && *value > 0) {
        row.restarts += *value;
        const auto* interval = recorder::get_object(point, "interval");
        auto end = interval ? rfc3339_seconds(*interval, "endTime") : std::nullopt;
        if (end && (!row.first_restart || *end < *row.first_restart)) row.first_restart = end;
      } else if (!restarts) {
        row.max_utilization = std::max(row.max_utilization, *value);
        row.has_utilization = true;
      }
    }
  }
}

// Every container of a run or step pod, with its restarts and peak memory-limit utilization.
Result<std::map<std::string, ContainerSeries>> read_containers(const StepContext& context) {
  std::string restart_filter = monitoring_filter(context, "kubernetes.io/container/restart_count", "");
  std::string memory_filter = monitoring_filter(context, "kubernetes.io/container/memory/limit_utilization",
                                                " AND metric.labels.memory_type=\"non-evictable\"");
  auto restarts = context.gcp->list_time_series(context.config.gcp.project,
                                                series_params(context, restart_filter, "ALIGN_DELTA"));
  if (!restarts) return restarts.error();
  auto memory = context.gcp->list_time_series(context.config.gcp.project,
                                              series_params(context, memory_filter, "ALIGN_MAX"));
  if (!memory) return memory.error();
  std::map<std::string, ContainerSeries> containers;
  fold(*restarts, true, containers);
  fold(*memory, false, containers);
  return containers;
}

// Step 10's events, or none (and why in `error`) when they could not be read.
const GkeEvents& gke_events_or_none(StepContext& context, std::string& error) {
  static const GkeEvents k_none;
  if (!context.gke_events) return k_none;
  const auto& fetched = context.gke_events->get();
  if (fetched) return *fetched;
  error = fetched.error().message;
  return k_none;
}

// A run's flagged containers and the kernel's OOM kills on its pods' nodes.
struct OomRun {
  std::vector<const ContainerSeries*> containers;
  std::vector<const PodEvent*> kills;
};

// run id -> its evidence: the containers that restarted or reached the limit, the node kills.
std::map<std::string, OomRun> oom_runs(const std::map<std::string, ContainerSeries>& containers,
                                       const GkeEvents& events) {
  std::map<std::string, OomRun> runs;
  for (const auto& [key, row] : containers) {
    bool flagged = row.restarts > 0 || (row.has_utilization && row.max_utilization >= k_memory_limit_hit);
    auto run_id = run_of_pod(row.pod, events);
    if (flagged && run_id) runs[*run_id].containers.push_back(&row);
  }
  // The kernel's OOM kills on a node of one of the run's pods (step 10: node-problem-detector's
  // Node events mapped to the pods on the node), a run's other evidence.
  for (const auto& event : events.pods) {
    if (!event.node_event || (event.reason != "OOMKilling" && event.reason != "SystemOOM")) continue;
    if (auto run_id = run_of_pod(event.pod_name, events)) {
      runs[*run_id].kills.push_back(&event);  // listed even without a metric at the limit
    }
  }
  return runs;
}

rapidjson::Value containers_json(const std::vector<const ContainerSeries*>& containers, Allocator& a) {
  rapidjson::Value pods(rapidjson::kArrayType);
  for (const auto* row : containers) {
    rapidjson::Value pod(rapidjson::kObjectType);
    pod.AddMember("podName", string_value(row->pod, a), a);
    pod.AddMember("containerName", string_value(row->container, a), a);
    pod.AddMember("restarts", row->restarts, a);
    pod.AddMember("firstRestartTime", nullable_time(row->first_restart), a);
    auto utilization = row->has_utilization ? rapidjson::Value(row->max_utilization) : rapidjson::Value();
    pod.AddMember("maxMemoryLimitUtilization", utilization, a);
    pods.PushBack(pod, a);
  }
  return pods;
}

rapidjson::Value node_kills_json(const std::vector<const PodEvent*>& kills, Allocator& a) {
  rapidjson::Value node_kills(rapidjson::kArrayType);
  for (const auto* kill : kills) {
    rapidjson::Value row(rapidjson::kObjectType);
    row.AddMember("podName", string_value(kill->pod_name, a), a);
    row.AddMember("node", string_value(kill->node, a), a);
    row.AddMember("timestamp", kill->timestamp, a);
    row.AddMember("podsOnNode", kill->node_event_pods, a);
    node_kills.PushBack(row, a);
  }
  return node_kills;
}

rapidjson::Value oom_run_json(const std::string& run_id, const OomRun& run, const std::string& run_status,
                              Allocator& a) {
  rapidjson::Value entry(rapidjson::kObjectType);
  entry.AddMember("runId", string_value(run_id, a), a);
  entry.AddMember("runStatus", string_value(run_status, a), a);
  double restart_total = 0;
  double max_utilization = 0;
  for (const auto* row : run.containers) {
    restart_total += row->restarts;
    max_utilization = std::max(max_utilization, row->max_utilization);
  }
  bool at_limit = max_utilization >= k_memory_limit_hit;
  bool sole_kill = false, shared_kill = false;
  for (const auto* kill : run.kills) (kill->node_event_pods <= 1 ? sole_kill : shared_kill) = true;
  // What the verdict rests on, and how much: the kernel killing a process on a node where only this
  // run's pod was is the run's kill; a container at its memory limit was about to be; a kill on a
  // node shared with other pods could be any of theirs.
  rapidjson::Value evidence(rapidjson::kArrayType);
  if (sole_kill) evidence.PushBack("kernel OOM kill on the node, the run's pod the only one there", a);
  if (at_limit) evidence.PushBack(string_value(fmt::format("memory at {:.1f} % of the limit", max_utilization * 100), a), a);
  if (restart_total > 0) evidence.PushBack("container restarted", a);
  if (shared_kill) evidence.PushBack("kernel OOM kill on a node shared with other pods", a);
  const char* strength = sole_kill && at_limit ? "strong" : sole_kill || at_limit || restart_total > 0 ? "medium" : "weak";
  entry.AddMember("restarts", restart_total, a);
  entry.AddMember("maxMemoryLimitUtilization", max_utilization, a);
  entry.AddMember("hitMemoryLimit", at_limit, a);
  entry.AddMember("containers", containers_json(run.containers, a), a);
  entry.AddMember("nodeOomKills", node_kills_json(run.kills, a), a);
  entry.AddMember("evidence", evidence, a);
  entry.AddMember("strength", rapidjson::StringRef(strength), a);
  return entry;
}

}  // namespace

StepResult step_oom_metrics(StepContext& context) {
  auto containers = read_containers(context);
  if (!containers) return containers.error();
  auto statuses = run_statuses(context);
  // Step pods reach their run through the labels of their creation (step 10's fetch), when it was read.
  std::string events_error;
  const GkeEvents& events = gke_events_or_none(context, events_error);
  rapidjson::Document out(rapidjson::kObjectType);
  auto& a = out.GetAllocator();
  rapidjson::Value list(rapidjson::kArrayType);
  for (const auto& [run_id, run] : oom_runs(*containers, events)) {
    std::string run_status = statuses ? run_status_of(run_id, *statuses) : "UNKNOWN";
    list.PushBack(oom_run_json(run_id, run, run_status, a), a);
  }
  out.AddMember("oomRuns", list, a);
  // Without step 10's events the metrics stand; the node kills (and step pods' runs) are missing.
  if (!events_error.empty()) out.AddMember("podEventsError", string_value(events_error, a), a);
  out.AddMember("skipped", false, a);
  out.AddMember("memoryLimitThreshold", k_memory_limit_hit, a);
  return out;
}

}  // namespace analyzer
