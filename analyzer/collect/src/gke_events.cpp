// The Kubernetes events of the window (fetch_gke_events), for steps 10, 12 and 13 and the agents
// investigation. They come from Cloud Logging's log "events", written by GKE's event exporter,
// whose quirks shape the code: no `count` / `firstTimestamp` (every update is its own entry,
// LogEntry.timestamp is the time), Job events under resource.type k8s_cluster, and OOMKilling as a
// Node event naming the killed process, not the pod.
#include <fmt/format.h>

#include <algorithm>
#include <tuple>
#include <unordered_map>

#include "collect_helpers.hpp"

namespace analyzer {

using recorder::Result;

namespace {

// ---- filters ------------------------------------------------------------------------------------

std::string time_terms(const StepContext& context) {
  return fmt::format("timestamp>={} timestamp<{}", lql_quote(recorder::format_rfc3339_utc(context.window.start)),
                     lql_quote(recorder::format_rfc3339_utc(context.window.end)));
}

// The cluster's resource labels (unset settings are left out rather than matching "").
std::string cluster_terms(const GcpSettings& gcp) {
  std::string terms;
  if (!gcp.cluster.empty()) terms += " resource.labels.cluster_name=" + lql_quote(gcp.cluster);
  if (!gcp.location.empty()) terms += " resource.labels.location=" + lql_quote(gcp.location);
  return terms;
}

// `a` or `("a" OR "b")`: LQL's value list.
std::string one_of(const std::vector<std::string>& values) {
  if (values.size() == 1) return lql_quote(values.front());
  std::string out = "(";
  for (std::size_t i = 0; i < values.size(); ++i) out += (i ? " OR " : "") + lql_quote(values[i]);
  return out + ")";
}

// Select events by reason, never by severity (Preempted is a Normal event), from every namespace of
// pods day2 watches. "Scheduled" is read only to learn which node each pod ran on (see map_node_events).
std::string pod_filter(const StepContext& context) {
  const auto& gcp = context.config.gcp;
  return fmt::format(
      "log_id(\"events\") resource.type=\"k8s_pod\"{} resource.labels.namespace_name={} "
      "jsonPayload.reason=(\"Preempted\" OR \"Evicted\" OR \"OOMKilling\" OR \"FailedScheduling\" OR \"BackOff\" OR "
      "\"Killing\" OR \"NodeNotReady\" OR \"TaintManagerEviction\" OR \"ScaleDown\" OR \"Scheduled\") {}",
      cluster_terms(gcp), one_of(gcp.pod_namespaces()), time_terms(context));
}

std::string node_filter(const StepContext& context) {
  return fmt::format(
      "log_id(\"events\") resource.type=\"k8s_node\"{} "
      "jsonPayload.reason=(\"OOMKilling\" OR \"SystemOOM\" OR \"NodeNotReady\" OR \"Shutdown\" OR \"Rebooted\" OR "
      "\"RemovingNode\" OR \"DeletingNode\") {}",
      cluster_terms(context.config.gcp), time_terms(context));
}

// Job events live under k8s_cluster; so does the exporter's "started watching" marker of a gap.
std::string cluster_filter(const StepContext& context) {
  const auto& gcp = context.config.gcp;
  return fmt::format(
      "log_id(\"events\") resource.type=\"k8s_cluster\"{} ((jsonPayload.involvedObject.kind=\"Job\" "
      "jsonPayload.involvedObject.namespace={} jsonPayload.involvedObject.name=~\"^dagster-(run|step)-\") OR "
      "textPayload:\"Event exporter started watching\") {}",
      cluster_terms(gcp), lql_quote(gcp.namespace_name), time_terms(context));
}

// Step pods of the runs' namespace created from the day before the window on (a step pod evicted in
// the window may have started before it): the audit log's pods.create by the Job controller, whose
// response carries the pod's name and its `dagster/run-id` label.
std::string step_pod_filter(const StepContext& context) {
  const auto& gcp = context.config.gcp;
  auto from = context.window.start - std::chrono::hours(24);
  return fmt::format(
      "log_id(\"cloudaudit.googleapis.com/activity\") resource.type=\"k8s_cluster\"{} protoPayload.serviceName=\"k8s.io\" "
      "protoPayload.methodName=\"io.k8s.core.v1.pods.create\" protoPayload.resourceName:{} "
      "protoPayload.request.metadata.generateName:\"dagster-step-\" timestamp>={} timestamp<{}",
      cluster_terms(gcp), lql_quote(fmt::format("namespaces/{}/pods", gcp.namespace_name)),
      lql_quote(recorder::format_rfc3339_utc(from)), lql_quote(recorder::format_rfc3339_utc(context.window.end)));
}

// Spot / preemptible VM loss is a Compute Engine system event, not a Kubernetes event.
std::string spot_filter(const StepContext& context) {
  return fmt::format(
      "log_id(\"cloudaudit.googleapis.com/system_event\") resource.type=\"gce_instance\" "
      "protoPayload.methodName=\"compute.instances.preempted\" {}",
      time_terms(context));
}

// ---- entries -> events ----------------------------------------------------------------------------

double entry_time(const rapidjson::Value& entry) {
  if (auto t = rfc3339_seconds(entry, "timestamp")) return *t;
  if (const auto* payload = recorder::get_object(entry, "jsonPayload")) {
    if (auto t = rfc3339_seconds(*payload, "lastTimestamp")) return *t;
  }
  return rfc3339_seconds(entry, "receiveTimestamp").value_or(0);
}

PodEvent pod_event(const rapidjson::Value& entry) {
  PodEvent event;
  event.timestamp = entry_time(entry);
  event.pod_name = string_at(entry, "resource/labels/pod_name");
  if (event.pod_name.empty()) event.pod_name = string_at(entry, "jsonPayload/involvedObject/name");
  event.reason = string_at(entry, "jsonPayload/reason");
  event.message = string_at(entry, "jsonPayload/message");
  event.node = string_at(entry, "jsonPayload/source/host");
  // The scheduler names no host: its Preempted says "Preempted by pod <uid> on node <node>".
  constexpr std::string_view on_node = " on node ";
  if (event.node.empty() && event.reason == "Preempted") {
    if (auto at = event.message.rfind(on_node); at != std::string::npos) {
      event.node = event.message.substr(at + on_node.size());
      while (!event.node.empty() && (event.node.back() == '.' || event.node.back() == ' ')) event.node.pop_back();
    }
  }
  event.insert_id = string_at(entry, "insertId");
  return event;
}

ClusterEvent cluster_event(const rapidjson::Value& entry) {
  ClusterEvent event;
  event.timestamp = entry_time(entry);
  event.resource_type = string_at(entry, "resource/type");
  event.insert_id = string_at(entry, "insertId");
  if (event.resource_type == "gce_instance") {
    std::string resource = string_at(entry, "protoPayload/resourceName");
    event.kind = "Node";  // GKE node names equal their instance names
    event.name = resource.substr(resource.rfind('/') + 1);
    event.reason = "InstancePreempted";
    event.message = "Compute Engine preempted the Spot/preemptible VM " + resource;
    return event;
  }
  std::string text = string_at(entry, "textPayload");
  if (!text.empty()) {
    event.kind = "EventExporter";
    event.reason = "EventExporterRestarted";  // events before this entry may have been lost
    event.message = text;
    return event;
  }
  event.kind = string_at(entry, "jsonPayload/involvedObject/kind");
  event.name = string_at(entry, "jsonPayload/involvedObject/name");
  if (event.name.empty()) event.name = string_at(entry, "resource/labels/node_name");
  event.reason = string_at(entry, "jsonPayload/reason");
  event.message = string_at(entry, "jsonPayload/message");
  return event;
}

// "Successfully assigned NS/POD to NODE" -> NODE ("" otherwise).
std::string assigned_node(const PodEvent& event) {
  constexpr std::string_view marker = " to ";
  if (event.reason != "Scheduled") return "";
  auto at = event.message.rfind(marker);
  return at == std::string::npos ? "" : event.message.substr(at + marker.size());
}

// When a pod was seen on a node, from its events there.
struct Seen {
  double first = 0;
  double last = 0;
  std::optional<double> scheduled;  // the scheduler put it on the node then
};
using SeenOnNodes = std::map<std::pair<std::string, std::string>, Seen>;  // (node, pod)

SeenOnNodes pods_seen_on_nodes(const std::vector<PodEvent>& pods) {
  SeenOnNodes seen;
  for (const auto& event : pods) {
    std::string node = assigned_node(event);
    if (node.empty()) node = event.node;
    if (node.empty() || event.pod_name.empty()) continue;
    auto [it, inserted] = seen.try_emplace({node, event.pod_name}, Seen{event.timestamp, event.timestamp, std::nullopt});
    if (!inserted) {
      it->second.first = std::min(it->second.first, event.timestamp);
      it->second.last = std::max(it->second.last, event.timestamp);
    }
    if (event.reason == "Scheduled") {
      it->second.scheduled = std::min(it->second.scheduled.value_or(event.timestamp), event.timestamp);
    }
  }
  return seen;
}

// The reason a Node event that kills its pods gives them ("NodePreempted", "NodeShutdown", the
// event's own for an OOM kill); "" for other events.
std::string node_kill_reason(const ClusterEvent& node_event) {
  // kubelet's graceful node shutdown ("Shutdown manager detected shutdown event") is how a Spot
  // reclaim shows on the Node; its pods end "Terminated" without a Preempted event.
  bool shutdown = node_event.reason == "Shutdown" &&
                  node_event.message.find("detected shutdown event") != std::string::npos;
  bool kill = node_event.reason == "OOMKilling" || node_event.reason == "SystemOOM" ||
              node_event.reason == "InstancePreempted" || shutdown;
  if (!kill || node_event.kind != "Node") return "";
  return node_event.reason == "InstancePreempted" ? "NodePreempted"
         : shutdown                                 ? "NodeShutdown"
                                                    : node_event.reason;
}

// The pods on the node of `node_event` when it happened (the node's entries only: `seen` is ordered
// by node, and a night has thousands of pods and node events).
std::vector<std::string> pods_on_node(const SeenOnNodes& seen, const ClusterEvent& node_event) {
  std::vector<std::string> on_node;
  for (auto it = seen.lower_bound({node_event.name, std::string()}); it != seen.end() && it->first.first == node_event.name; ++it) {
    const auto& [key, when] = *it;
    // A pod the scheduler put on the node after the kill was not there; one known only from kubelet
    // events (which follow a kill) may have been.
    if (when.scheduled ? *when.scheduled > node_event.timestamp : when.first > node_event.timestamp + 300) continue;
    if (when.last < node_event.timestamp - 6 * 3600) continue;
    on_node.push_back(key.second);
  }
  return on_node;
}

// Node-level kills mapped to pods. OOMKilling (and SystemOOM) is reported by node-problem-detector
// on the Node and names only the killed process ("Killed process 4242 (python3)"); a Spot VM
// preemption names only the instance. The pods on that node are known from the pod events
// themselves: the scheduler's "Scheduled" event names the node in its message, kubelet events name
// it in source.host. Pods are not seen leaving a node, so a pod counts as on the node when it was
// scheduled there before the kill (or, known only from kubelet events, first seen there no later than
// 5 minutes after it: kubelet's Killing follows it) and last seen there no earlier than 6 hours before.
// Several pods on the node all get the kill: the kernel line names no pod (docs/gke-signals.md).
std::vector<PodEvent> map_node_events(const std::vector<PodEvent>& pods, const std::vector<ClusterEvent>& nodes) {
  SeenOnNodes seen = pods_seen_on_nodes(pods);
  std::vector<PodEvent> mapped;
  for (const auto& node_event : nodes) {
    std::string reason = node_kill_reason(node_event);
    if (reason.empty()) continue;
    std::vector<std::string> on_node = pods_on_node(seen, node_event);
    for (const auto& pod : on_node) {
      PodEvent event;
      event.timestamp = node_event.timestamp;
      event.pod_name = pod;
      event.reason = reason;
      event.message = node_event.message;
      event.node = node_event.name;
      event.node_event = true;
      event.node_event_pods = static_cast<int>(on_node.size());
      event.insert_id = node_event.insert_id;
      mapped.push_back(std::move(event));
    }
  }
  return mapped;
}

Result<std::vector<NodePool>> read_pools(const StepContext& context) {
  const auto& gcp = context.config.gcp;
  auto list = context.gcp->list_node_pools(gcp.project, gcp.location, gcp.cluster);
  if (!list) return list.error();
  return parse_node_pools(*list);
}

Result<std::map<std::string, std::string>> read_step_pods(const StepContext& context) {
  auto entries = context.gcp->list_log_entries(context.config.gcp.project, step_pod_filter(context));
  if (!entries) return entries.error();
  std::map<std::string, std::string> runs;
  for (const auto& entry : entries->GetArray()) {
    if (!entry.IsObject() || string_at(entry, "protoPayload/response/kind") != "Pod") continue;
    std::string pod = string_at(entry, "protoPayload/response/metadata/name");
    // The label's key holds a '/': read it as a member, not as a path.
    auto label = [&](const char* where) -> std::string {
      const auto* payload = recorder::get_object(entry, "protoPayload");
      const auto* part = payload ? recorder::get_object(*payload, where) : nullptr;
      const auto* metadata = part ? recorder::get_object(*part, "metadata") : nullptr;
      const auto* labels = metadata ? recorder::get_object(*metadata, "labels") : nullptr;
      return labels ? recorder::get_string(*labels, "dagster/run-id").value_or("") : "";
    };
    std::string run = label("response");
    if (run.empty()) run = label("request");
    if (!pod.empty() && !run.empty()) runs[pod] = run;
  }
  return runs;
}

Result<void> read_into(const StepContext& context, const std::string& filter, bool pods, GkeEvents& out) {
  auto entries = context.gcp->list_log_entries(context.config.gcp.project, filter);
  if (!entries) return entries.error();
  for (const auto& entry : entries->GetArray()) {
    if (!entry.IsObject()) continue;
    if (pods) {
      out.pods.push_back(pod_event(entry));
    } else {
      out.cluster.push_back(cluster_event(entry));
    }
  }
  return {};
}

}  // namespace

std::optional<std::string> run_of_pod(const std::string& pod, const GkeEvents& events) {
  if (auto run = run_id_from_pod_name(pod)) return run;
  auto found = events.step_pod_runs.find(pod);
  if (found == events.step_pod_runs.end()) return std::nullopt;
  return found->second;
}

Result<GkeEvents> fetch_gke_events(const StepContext& context, bool full) {
  GkeEvents events;
  GkeEvents parts[4];
  const std::pair<std::string, bool> queries[] = {{pod_filter(context), true},
                                                  {node_filter(context), false},
                                                  {cluster_filter(context), false},
                                                  {spot_filter(context), false}};
  // The node pools say which nodes are Spot: read with the events; without them the events stay.
  bool ask_pools = full && !context.config.gcp.cluster.empty() && !context.config.gcp.location.empty();
  Result<std::vector<NodePool>> pools = std::vector<NodePool>{};
  Result<std::map<std::string, std::string>> step_pods = std::map<std::string, std::string>{};
  auto read = parallel_for(6, 6, [&](std::size_t i) -> Result<void> {
    if (i == 4) {
      if (ask_pools) pools = read_pools(context);
      return {};
    }
    if (i == 5) {
      if (full) step_pods = read_step_pods(context);
      return {};
    }
    return read_into(context, queries[i].first, queries[i].second, parts[i]);
  });
  if (!read) return read.error();
  events.pools_read = ask_pools && pools.ok();
  if (pools) {
    events.pools = std::move(*pools);
  } else {
    events.pools_error = pools.error().message;
  }
  if (step_pods) {
    events.step_pod_runs = std::move(*step_pods);
  } else {
    events.step_pods_error = step_pods.error().message;
  }
  events.pods = std::move(parts[0].pods);
  for (auto& part : parts) {
    for (auto& event : part.cluster) events.cluster.push_back(std::move(event));
  }
  auto mapped = map_node_events(events.pods, events.cluster);
  std::erase_if(events.pods, [](const PodEvent& event) { return event.reason == "Scheduled"; });
  for (auto& event : mapped) events.pods.push_back(std::move(event));
  std::unordered_map<std::string, const NodePool*> pool_by_node;  // a night has few nodes and many events
  for (auto& event : events.pods) {
    auto [known, added] = pool_by_node.try_emplace(event.node, nullptr);
    if (added) known->second = pool_of(event.node, events.pools);
    if (const auto* pool = known->second) {
      event.node_pool = pool->name;
      event.spot = pool->spot;
    }
  }
  std::sort(events.pods.begin(), events.pods.end(), [](const PodEvent& a, const PodEvent& b) {
    return std::tie(a.timestamp, a.pod_name, a.reason, a.insert_id) <
           std::tie(b.timestamp, b.pod_name, b.reason, b.insert_id);
  });
  std::sort(events.cluster.begin(), events.cluster.end(), [](const ClusterEvent& a, const ClusterEvent& b) {
    return std::tie(a.timestamp, a.name, a.reason, a.insert_id) < std::tie(b.timestamp, b.name, b.reason, b.insert_id);
  });
  return events;
}

std::string preemption_kind(const PodEvent& event) {
  if (event.reason == "Preempted") return "priority";
  if (event.reason == "NodePreempted") return "spot";
  if (event.reason == "NodeShutdown") return event.spot.value_or(false) ? "spot" : "node_shutdown";
  return "";
}

}  // namespace analyzer
