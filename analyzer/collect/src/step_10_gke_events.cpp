// Step 10: the window's GKE events (fetch_gke_events): pod events with their run and its status, and
// node-level kills mapped to pods; cluster events; the node pools and which are Spot.
#include <tuple>

#include "collect_helpers.hpp"

namespace analyzer {

using recorder::Result;

namespace {

rapidjson::Value pod_event_json(const PodEvent& event, const GkeEvents& events,
                                const Result<std::map<std::string, std::string>>& statuses, Allocator& a) {
  auto run_id = run_of_pod(event.pod_name, events);
  rapidjson::Value row(rapidjson::kObjectType);
  row.AddMember("timestamp", event.timestamp, a);
  row.AddMember("podName", string_value(event.pod_name, a), a);
  row.AddMember("reason", string_value(event.reason, a), a);
  row.AddMember("message", string_value(event.message, a), a);
  row.AddMember("runId", run_id ? string_value(*run_id, a) : rapidjson::Value(), a);
  std::string status = statuses ? run_status_of(run_id, *statuses) : "UNKNOWN";
  row.AddMember("runStatus", string_value(status, a), a);
  row.AddMember("node", event.node.empty() ? rapidjson::Value() : string_value(event.node, a), a);
  row.AddMember("fromNodeEvent", event.node_event, a);
  if (event.node_event) row.AddMember("nodeEventPods", event.node_event_pods, a);
  if (!event.node_pool.empty()) {
    row.AddMember("nodePool", string_value(event.node_pool, a), a);
    row.AddMember("spotNode", *event.spot, a);
  }
  if (auto kind = preemption_kind(event); !kind.empty()) row.AddMember("preemption", string_value(kind, a), a);
  return row;
}

rapidjson::Value cluster_event_json(const ClusterEvent& event, Allocator& a) {
  rapidjson::Value row(rapidjson::kObjectType);
  row.AddMember("timestamp", event.timestamp, a);
  row.AddMember("kind", string_value(event.kind, a), a);
  row.AddMember("name", string_value(event.name, a), a);
  row.AddMember("reason", string_value(event.reason, a), a);
  row.AddMember("message", string_value(event.message, a), a);
  row.AddMember("resourceType", string_value(event.resource_type, a), a);
  return row;
}

rapidjson::Value node_pools_json(const std::vector<NodePool>& node_pools, Allocator& a) {
  rapidjson::Value pools(rapidjson::kArrayType);
  for (const auto& pool : node_pools) {
    rapidjson::Value row(rapidjson::kObjectType);
    row.AddMember("name", string_value(pool.name, a), a);
    row.AddMember("spot", pool.spot, a);
    pools.PushBack(row, a);
  }
  return pools;
}

}  // namespace

StepResult step_gke_events(StepContext& context) {
  const auto& events = context.gke_events->get();
  if (!events) return events.error();
  auto statuses = run_statuses(context);
  rapidjson::Document out(rapidjson::kObjectType);
  auto& a = out.GetAllocator();
  rapidjson::Value pods(rapidjson::kArrayType);
  for (const auto& event : events->pods) pods.PushBack(pod_event_json(event, *events, statuses, a), a);
  rapidjson::Value cluster(rapidjson::kArrayType);
  for (const auto& event : events->cluster) cluster.PushBack(cluster_event_json(event, a), a);
  out.AddMember("clusterEvents", cluster, a);
  out.AddMember("podEvents", pods, a);
  if (events->pools_read) out.AddMember("nodePools", node_pools_json(events->pools, a), a);
  // Without the pools the events stand; only which nodes are Spot is missing (a Spot reclaim by graceful
  // shutdown reads "node_shutdown"), and the gate says so.
  // Without the step pods' creations, step-pod events have no run (and the gate says so).
  rapidjson::Value items(rapidjson::kArrayType);
  for (const auto& [item_name, member, error] :
       {std::tuple<const char*, const char*, const std::string*>{"node pools", "nodePoolsError", &events->pools_error},
        {"step pods", "stepPodsError", &events->step_pods_error}}) {
    if (error->empty()) continue;
    out.AddMember(rapidjson::StringRef(member), string_value(*error, a), a);
    items.PushBack(item_error(item_name, *error, a), a);
  }
  if (!items.Empty()) out.AddMember("itemErrors", items, a);
  // Without step 01's runs every runStatus is UNKNOWN; say why rather than fail the GKE signals.
  if (!statuses) out.AddMember("runStatusError", string_value(statuses.error().message, a), a);
  return out;
}

}  // namespace analyzer
