// Step 10 (GKE events) and the Google Cloud helpers the step_gcp files share. Kubernetes events
// come from Cloud Logging's log "events", written by GKE's event exporter, whose quirks shape the
// code: no `count` / `firstTimestamp` (every update is its own entry, LogEntry.timestamp is the
// time), Job events under resource.type k8s_cluster, and OOMKilling as a Node event naming the
// killed process, not the pod.
#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <tuple>

#include "analyzer/collect/steps.hpp"

namespace analyzer {

using recorder::Result;

// ---- shared helpers ---------------------------------------------------------------------------

std::string lql_quote(std::string_view text) {
  std::string out = "\"";
  for (char ch : text) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  return out + "\"";
}

std::optional<double> rfc3339_seconds(const rapidjson::Value& object, const char* key) {
  auto text = recorder::get_string(object, key);
  if (!text || text->empty()) return std::nullopt;
  auto instant = recorder::parse_rfc3339(*text);
  if (!instant) return std::nullopt;
  return recorder::to_epoch_seconds(*instant);
}

std::string string_at(const rapidjson::Value& object, std::string_view path) {
  const rapidjson::Value* at = &object;
  while (!path.empty()) {
    auto slash = path.find('/');
    std::string name(path.substr(0, slash));
    if (!at->IsObject()) return "";
    auto member = at->FindMember(name.c_str());
    if (member == at->MemberEnd()) return "";
    at = &member->value;
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
  }
  return at->IsString() ? std::string(at->GetString(), at->GetStringLength()) : "";
}

Result<std::map<std::string, std::string>> run_statuses(StepContext& context) {
  const auto& runs = context.runs->get();
  if (!runs) return runs.error();
  std::map<std::string, std::string> out;
  for (const auto& run : *runs) out[run.run_id] = run.status;
  return out;
}

std::string run_status_of(const std::optional<std::string>& run_id,
                          const std::map<std::string, std::string>& statuses) {
  if (!run_id) return "UNKNOWN";
  auto found = statuses.find(*run_id);
  if (found == statuses.end()) return "UNKNOWN";  // the run ended outside the window
  return found->second == "SUCCESS" || found->second == "FAILURE" ? found->second : "UNKNOWN";
}

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

// Node-level kills mapped to pods. OOMKilling (and SystemOOM) is reported by node-problem-detector
// on the Node and names only the killed process ("Killed process 4242 (python3)"); a Spot VM
// preemption names only the instance. The pods on that node are known from the pod events
// themselves: the scheduler's "Scheduled" event names the node in its message, kubelet events name
// it in source.host. Pods are not seen leaving a node, so a pod counts as on the node when it was
// scheduled there before the kill (or, known only from kubelet events, first seen there no later than
// 5 minutes after it: kubelet's Killing follows it) and last seen there no earlier than 6 hours before.
// Several pods on the node all get the kill: the kernel line names no pod (docs/gke-signals.md).
std::vector<PodEvent> map_node_events(const std::vector<PodEvent>& pods, const std::vector<ClusterEvent>& nodes) {
  struct Seen {
    double first = 0;
    double last = 0;
    std::optional<double> scheduled;  // the scheduler put it on the node then
  };
  std::map<std::pair<std::string, std::string>, Seen> seen;  // (node, pod)
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
  std::vector<PodEvent> mapped;
  for (const auto& node_event : nodes) {
    // kubelet's graceful node shutdown ("Shutdown manager detected shutdown event") is how a Spot
    // reclaim shows on the Node; its pods end "Terminated" without a Preempted event.
    bool shutdown = node_event.reason == "Shutdown" &&
                    node_event.message.find("detected shutdown event") != std::string::npos;
    bool kill = node_event.reason == "OOMKilling" || node_event.reason == "SystemOOM" ||
                node_event.reason == "InstancePreempted" || shutdown;
    if (!kill || node_event.kind != "Node") continue;
    std::vector<std::string> on_node;
    for (const auto& [key, when] : seen) {
      if (key.first != node_event.name) continue;
      // A pod the scheduler put on the node after the kill was not there; one known only from kubelet
      // events (which follow a kill) may have been.
      if (when.scheduled ? *when.scheduled > node_event.timestamp : when.first > node_event.timestamp + 300) continue;
      if (when.last < node_event.timestamp - 6 * 3600) continue;
      on_node.push_back(key.second);
    }
    for (const auto& pod : on_node) {
      PodEvent event;
      event.timestamp = node_event.timestamp;
      event.pod_name = pod;
      event.reason = node_event.reason == "InstancePreempted" ? "NodePreempted"
                     : shutdown                                 ? "NodeShutdown"
                                                                : node_event.reason;
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

// The pool of a GKE node: the one whose instance group's prefix starts the node's name; else, for
// pools listed without groups, the longest pool name found between dashes in it (node names are
// "gke-<cluster>-<pool>-<hash>-<suffix>", a long pool name shortened, which only the groups resolve).
const NodePool* pool_of(const std::string& node, const std::vector<NodePool>& pools) {
  const NodePool* best = nullptr;
  if (node.rfind("gke-", 0) != 0) return nullptr;
  for (const auto& pool : pools) {
    for (const auto& prefix : pool.node_prefixes) {
      if (node.size() > prefix.size() && node.compare(0, prefix.size(), prefix) == 0) return &pool;
    }
  }
  for (const auto& pool : pools) {
    if (pool.name.empty() || node.find("-" + pool.name + "-") == std::string::npos) continue;
    if (best == nullptr || pool.name.size() > best->name.size()) best = &pool;
  }
  return best;
}

std::vector<NodePool> parse_node_pools(const rapidjson::Value& list) {
  std::vector<NodePool> pools;
  if (!list.IsArray()) return pools;
  for (const auto& pool : list.GetArray()) {
    NodePool out;
    out.name = string_at(pool, "name");
    const auto* config = recorder::get_object(pool, "config");
    auto flag = [&](const char* key) {  // NodeConfig.spot / NodeConfig.preemptible (container-v1.json)
      return config && config->HasMember(key) && (*config)[key].IsBool() && (*config)[key].GetBool();
    };
    out.spot = flag("spot") || flag("preemptible");
    // ".../zones/<zone>/instanceGroupManagers/gke-<cluster>-<pool>-<hash>-grp" -> "gke-<cluster>-<pool>-<hash>-".
    if (const auto* groups = recorder::get_array(pool, "instanceGroupUrls")) {
      for (const auto& url : groups->GetArray()) {
        std::string_view text = url.IsString() ? std::string_view(url.GetString(), url.GetStringLength()) : "";
        auto name = text.substr(text.rfind('/') + 1);
        if (name.size() > 4 && name.substr(name.size() - 4) == "-grp") {
          out.node_prefixes.emplace_back(name.substr(0, name.size() - 3));
        }
      }
    }
    if (!out.name.empty()) pools.push_back(std::move(out));
  }
  std::sort(pools.begin(), pools.end(), [](const NodePool& x, const NodePool& y) { return x.name < y.name; });
  return pools;
}


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
  for (auto& event : events.pods) {
    if (const auto* pool = pool_of(event.node, events.pools)) {
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

StepResult step_gke_events(StepContext& context) {
  const auto& events = context.gke_events->get();
  if (!events) return events.error();
  auto statuses = run_statuses(context);
  rapidjson::Document out(rapidjson::kObjectType);
  auto& a = out.GetAllocator();
  rapidjson::Value pods(rapidjson::kArrayType);
  for (const auto& event : events->pods) {
    auto run_id = run_of_pod(event.pod_name, *events);
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
    pods.PushBack(row, a);
  }
  rapidjson::Value cluster(rapidjson::kArrayType);
  for (const auto& event : events->cluster) {
    rapidjson::Value row(rapidjson::kObjectType);
    row.AddMember("timestamp", event.timestamp, a);
    row.AddMember("kind", string_value(event.kind, a), a);
    row.AddMember("name", string_value(event.name, a), a);
    row.AddMember("reason", string_value(event.reason, a), a);
    row.AddMember("message", string_value(event.message, a), a);
    row.AddMember("resourceType", string_value(event.resource_type, a), a);
    cluster.PushBack(row, a);
  }
  out.AddMember("clusterEvents", cluster, a);
  out.AddMember("podEvents", pods, a);
  if (events->pools_read) {
    rapidjson::Value pools(rapidjson::kArrayType);
    for (const auto& pool : events->pools) {
      rapidjson::Value row(rapidjson::kObjectType);
      row.AddMember("name", string_value(pool.name, a), a);
      row.AddMember("spot", pool.spot, a);
      pools.PushBack(row, a);
    }
    out.AddMember("nodePools", pools, a);
  }
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
