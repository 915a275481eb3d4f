// The Google Cloud APIs of a simulated world: Cloud Logging entries.list (the GKE event exporter's
// pod events and the audit log's agent pod creations, paged by pageToken like Logging), GKE node
// pools, and the routing to Error Reporting and Monitoring (simulate_gcp_signals.cpp). Shapes
// follow the discovery documents in docs/reference/gcp/ (tests/unit/analyzer/simulate_test.cpp
// validates them).
#include <fmt/format.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <set>
#include <string>

#include "recorder/base/json.hpp"
#include "simulate_world.hpp"

namespace analyzer::sim {

namespace {

recorder::HttpResponse json_response(int status, std::string body) {
  return {status, {{"content-type", "application/json; charset=UTF-8"}}, std::move(body)};
}

// The pod events of the world: the spec's own, plus the ones each oom / evicted / preempted /
// unschedulable run implies when the spec gives none, and the events of other pods.
std::vector<std::pair<const Run*, PodEvent>> pod_events(const World& world) { return all_pod_events(world); }

// A stable fake identifier derived from `seed` (uids, resource versions): same world, same bundle.
std::uint64_t fnv1a(std::string_view text) {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (char c : text) hash = (hash ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  return hash;
}

std::string uid_of(std::string_view seed) {
  auto h = fnv1a(seed);
  return fmt::format("{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}", h >> 32, (h >> 16) & 0xffff, h & 0xfff, (h >> 20) & 0xfff,
                     fnv1a(std::string(seed) + "#") & 0xffffffffffffULL);
}

// Who reports an event of `reason` and with which type, as Kubernetes does (docs/reference/
// real-samples/k8s-event-reasons.md): the scheduler names no host; kubelet names its node.
struct Reporter {
  const char* component;
  bool host;
  bool warning;
};

Reporter reporter_of(std::string_view reason, std::string_view kind = "Pod") {
  if (kind == "Job") return {"job-controller", false, reason != "SuccessfulCreate" && reason != "Completed"};
  if (kind == "Node" && reason == "NodeNotReady") return {"node-controller", false, false};
  if (reason == "Shutdown") return {"kubelet", true, false};
  if (reason == "Scheduled" || reason == "Preempted") return {"default-scheduler", false, false};
  if (reason == "FailedScheduling") return {"default-scheduler", false, true};
  if (reason == "Killing") return {"kubelet", true, false};
  if (reason == "TaintManagerEviction") return {"taint-eviction-controller", false, false};
  if (reason == "NodeNotReady") return {"node-controller", false, true};
  if (reason == "OOMKilling") return {"kernel-monitor", true, true};
  return {"kubelet", true, true};  // Evicted, BackOff, ...
}

// An Event as GKE's event exporter writes it to Cloud Logging: the Event object minus `count` and
// `firstTimestamp` (every update is its own entry; the entry's timestamp is the time), severity INFO
// for Normal and WARNING for Warning, resource k8s_pod for a Pod, k8s_node for a Node (like the real
// entries in docs/reference/real-samples/logging-k8s-events.json).
// The namespace of a pod: the agent's pods ("user-cloud-dagster-cloud-agent-*") live in the agent's
// namespace when the world gives it one; every other pod in "dagster".
std::string pod_namespace(const World& world, const std::string& pod) {
  bool agent = pod.rfind("user-cloud-dagster-cloud-agent", 0) == 0;
  return agent && !world.gcp.agent_namespace.empty() ? world.gcp.agent_namespace : "dagster";
}

std::string event_entry(const World& world, std::string_view kind, const std::string& name, const std::string& reason,
                        const std::string& message, double time, const std::string& node, std::size_t n) {
  auto who = reporter_of(reason, kind);
  bool pod = kind == "Pod", job = kind == "Job";
  // node-problem-detector files Node events in "default"; the agent's pods live in its namespace.
  std::string ns = !(pod || job) ? "default" : pod_namespace(world, name);
  std::string event_name = fmt::format("{}.{:016x}", name, fnv1a(fmt::format("{}/{}/{}", name, reason, time)));
  std::string involved =
      pod ? fmt::format(R"({{"apiVersion":"v1","kind":"Pod","name":{},"namespace":{},"resourceVersion":{},"uid":{}}})",
                        quote(name), quote(ns), quote(std::to_string(fnv1a(name) % 900000 + 100000)), quote(uid_of(name)))
      : job ? fmt::format(R"({{"apiVersion":"batch/v1","kind":"Job","name":{},"namespace":"dagster","resourceVersion":{},"uid":{}}})",
                          quote(name), quote(std::to_string(fnv1a(name) % 900000 + 100000)), quote(uid_of(name)))
            : fmt::format(R"({{"kind":"Node","name":{},"uid":{}}})", quote(name), quote(name));
  std::string source = who.host && !node.empty()
                           ? fmt::format(R"({{"component":{},"host":{}}})", quote(who.component), quote(node))
                           : fmt::format(R"({{"component":{}}})", quote(who.component));
  // The exporter files a Pod under k8s_pod, a Node under k8s_node, anything else (Jobs) under k8s_cluster.
  std::string labels =
      pod ? fmt::format(R"({{"cluster_name":{},"location":{},"namespace_name":{},"pod_name":{},"project_id":{}}})",
                        quote(world.gcp.cluster), quote(world.gcp.location), quote(ns), quote(name), quote(world.gcp.project))
      : job ? fmt::format(R"({{"cluster_name":{},"location":{},"project_id":{}}})", quote(world.gcp.cluster),
                          quote(world.gcp.location), quote(world.gcp.project))
            : fmt::format(R"({{"cluster_name":{},"location":{},"node_name":{},"project_id":{}}})", quote(world.gcp.cluster),
                          quote(world.gcp.location), quote(name), quote(world.gcp.project));
  return fmt::format(
      R"({{"insertId":{},"jsonPayload":{{"apiVersion":"v1","eventTime":null,"involvedObject":{},"kind":"Event","message":{},"metadata":{{"creationTimestamp":{},"name":{},"namespace":{},"resourceVersion":{},"uid":{}}},"reason":{},"reportingComponent":"","reportingInstance":"","source":{},"type":{}}},"logName":{},"receiveTimestamp":{},"resource":{{"labels":{},"type":{}}},"severity":{},"timestamp":{}}})",
      quote(fmt::format("sim{:06}", n)), involved, quote(message), quote(rfc3339(std::floor(time))), quote(event_name),
      quote(ns), quote(std::to_string(fnv1a(event_name) % 900000 + 100000)), quote(uid_of(event_name)), quote(reason),
      source, quote(who.warning ? "Warning" : "Normal"), quote(fmt::format("projects/{}/logs/events", world.gcp.project)),
      quote(rfc3339(time + 2)), labels, quote(pod ? "k8s_pod" : job ? "k8s_cluster" : "k8s_node"),
      quote(who.warning ? "WARNING" : "INFO"),
      quote(rfc3339(time)));
}

std::string pod_entry(const World& world, const Run* run, const PodEvent& e, std::size_t n) {
  std::string pod = !e.pod.empty() ? e.pod : run_pod(*run);
  return event_entry(world, "Pod", pod, e.reason, e.message.empty() ? e.reason : e.message, e.time, e.node, n);
}

// A controller's pods.create in the Kubernetes audit log (Admin Activity), as the real ones are
// (docs/reference/real-samples/audit-k8s-pods-create.json): the request has only generateName, so
// resourceName is the collection and the pod's name is in the response; a refused create answers a
// Status (403) and carries google.rpc code 7; k8s.io audit entries have no severity.
struct PodCreation {
  std::string controller;  // "replicaset-controller" (a Deployment's pods), "job-controller" (a Job's)
  std::string owner_kind;  // ReplicaSet, Job
  std::string owner_api;   // apps/v1, batch/v1
  std::string ns;
  std::string pod;
  std::string labels;      // a JSON object
  double time = 0;
  int code = 0;            // non-zero: refused
  std::string insert_id;
};

std::string creation_entry(const World& world, const PodCreation& c) {
  std::string generate = c.pod.substr(0, c.pod.rfind('-') + 1);
  std::string owner_name = generate.substr(0, generate.size() - 1);
  std::string owner = fmt::format(
      R"([{{"apiVersion":{},"blockOwnerDeletion":true,"controller":true,"kind":{},"name":{},"uid":{}}}])",
      quote(c.owner_api), quote(c.owner_kind), quote(owner_name), quote(uid_of(generate)));
  std::string request = fmt::format(
      R"({{"@type":"core.k8s.io/v1.Pod","apiVersion":"v1","kind":"Pod","metadata":{{"creationTimestamp":null,"generateName":{},"labels":{},"ownerReferences":{}}}}})",
      quote(generate), c.labels, owner);
  std::string response, status = "{}";
  if (c.code == 0) {
    response = fmt::format(
        R"({{"@type":"core.k8s.io/v1.Pod","apiVersion":"v1","kind":"Pod","metadata":{{"creationTimestamp":{},"generateName":{},"labels":{},"name":{},"namespace":{},"ownerReferences":{},"resourceVersion":{},"uid":{}}},"status":{{"phase":"Pending","qosClass":"Burstable"}}}})",
        quote(rfc3339(std::floor(c.time))), quote(generate), c.labels, quote(c.pod), quote(c.ns), owner,
        quote(std::to_string(fnv1a(c.pod) % 90000000 + 10000000)), quote(uid_of(c.pod)));
  } else {
    std::string why = fmt::format("pods \"{}\" is forbidden: exceeded quota: pods-quota", generate);
    response = fmt::format(
        R"({{"@type":"core.k8s.io/v1.Status","apiVersion":"v1","code":403,"details":{{"kind":"pods"}},"kind":"Status","message":{},"metadata":{{}},"reason":"Forbidden","status":"Failure"}})",
        quote(why));
    status = fmt::format(R"({{"code":{},"message":{}}})", c.code, quote("Forbidden"));
  }
  std::string reason = fmt::format(
      "RBAC: allowed by ClusterRoleBinding \"system:controller:{0}\" of ClusterRole \"system:controller:{0}\" to "
      "ServiceAccount \"{0}/kube-system\"",
      c.controller);
  std::string collection = "core/v1/namespaces/" + c.ns + "/pods";
  return fmt::format(
      R"({{"insertId":{},"labels":{{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":{}}},"logName":{},"operation":{{"first":true,"id":{},"last":true,"producer":"k8s.io"}},"protoPayload":{{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","authenticationInfo":{{"principalEmail":{}}},"authorizationInfo":[{{"granted":true,"permission":"io.k8s.core.v1.pods.create","resource":{}}}],"methodName":"io.k8s.core.v1.pods.create","request":{},"requestMetadata":{{"callerIp":"::1"}},"resourceName":{},"response":{},"serviceName":"k8s.io","status":{}}},"receiveTimestamp":{},"resource":{{"labels":{{"cluster_name":{},"location":{},"project_id":{}}},"type":"k8s_cluster"}},"timestamp":{}}})",
      quote(c.insert_id), quote(reason),
      quote(fmt::format("projects/{}/logs/cloudaudit.googleapis.com%2Factivity", world.gcp.project)),
      quote(uid_of("op/" + c.insert_id)), quote("system:serviceaccount:kube-system:" + c.controller), quote(collection),
      request, quote(collection), response, status, quote(rfc3339(c.time + 1)), quote(world.gcp.cluster),
      quote(world.gcp.location), quote(world.gcp.project), quote(rfc3339(c.time)));
}

// The agent Deployment's ReplicaSet controller creating a pod (step 08's churn).
std::string audit_entry(const World& world, const PodCreate& create, std::size_t n) {
  return creation_entry(world, {"replicaset-controller", "ReplicaSet", "apps/v1",
                                world.gcp.agent_namespace.empty() ? "dagster" : world.gcp.agent_namespace, create.pod,
                                R"({"app.kubernetes.io/name":"dagster-cloud-agent","pod-template-hash":"7d9f8c6b5"})",
                                create.time, create.code, fmt::format("audit{:06}", n)});
}

// The Job controller creating a step pod, with dagster-k8s' labels on it, `dagster/run-id` among them
// (docs/reference/real-samples/dagster-k8s-jobs.md).
std::string step_audit_entry(const World& world, const Run& run, const std::string& pod, double time, std::size_t n) {
  std::string job = pod.substr(0, pod.rfind('-'));
  std::string labels = fmt::format(
      R"({{"app.kubernetes.io/component":"step_worker","app.kubernetes.io/instance":"dagster","app.kubernetes.io/name":"dagster","app.kubernetes.io/part-of":"dagster","dagster/job":{},"dagster/op":{},"dagster/run-id":{},"job-name":{}}})",
      quote(run.job), quote(run.step.empty() ? "step" : run.step), quote(run.id), quote(job));
  return creation_entry(world, {"job-controller", "Job", "batch/v1", "dagster", pod, labels, time, 0,
                                fmt::format("step{:06}", n)});
}

// The exporter's own entry when it (re)starts watching: events before it may be missing.
std::string exporter_entry(const World& world, double time, std::size_t n) {
  return fmt::format(
      R"({{"insertId":{},"logName":{},"receiveTimestamp":{},"resource":{{"labels":{{"cluster_name":{},"location":{},"project_id":{}}},"type":"k8s_cluster"}},"severity":"WARNING","textPayload":"Event exporter started watching. Some events may have been lost up to this point.","timestamp":{}}})",
      quote(fmt::format("exp{:06}", n)), quote(fmt::format("projects/{}/logs/events", world.gcp.project)),
      quote(rfc3339(time + 1)), quote(world.gcp.cluster), quote(world.gcp.location), quote(world.gcp.project),
      quote(rfc3339(time)));
}

// Compute Engine's system-event audit entry of a Spot / preemptible VM reclaim, shaped as the real one
// (tests/data/gcp/real/compute-system-event-preempted.json). GKE node names are their instance names.
std::string spot_entry(const World& world, const std::string& node, double time, std::size_t n) {
  std::string zone = std::count(world.gcp.location.begin(), world.gcp.location.end(), '-') >= 2
                         ? world.gcp.location
                         : world.gcp.location + "-a";
  std::string op = fmt::format("systemevent-{}-{:x}", static_cast<long long>(time * 1000), fnv1a(node) & 0xffffffffULL);
  return fmt::format(
      R"({{"insertId":{},"logName":{},"operation":{{"first":true,"id":{},"last":true,"producer":"compute.instances.preempted"}},"protoPayload":{{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","authenticationInfo":{{"principalEmail":"system@google.com"}},"methodName":"compute.instances.preempted","request":{{"@type":"type.googleapis.com/compute.instances.preempted"}},"resourceName":{},"serviceName":"compute.googleapis.com","status":{{"message":"Instance was preempted."}}}},"receiveTimestamp":{},"resource":{{"labels":{{"instance_id":{},"project_id":{},"zone":{}}},"type":"gce_instance"}},"severity":"INFO","timestamp":{}}})",
      quote(fmt::format("spot{:06}", n)),
      quote(fmt::format("projects/{}/logs/cloudaudit.googleapis.com%2Fsystem_event", world.gcp.project)), quote(op),
      quote(fmt::format("projects/{}/zones/{}/instances/{}", world.gcp.project, zone, node)), quote(rfc3339(time + 1)),
      quote(std::to_string(fnv1a(node) % 9000000000000000000ULL)), quote(world.gcp.project), quote(zone),
      quote(rfc3339(time)));
}

// entries.list: the pod events when the filter asks for k8s_pod events in the window, else none.
recorder::HttpResponse list_entries(const World& world, const std::string& body) {
  auto request = recorder::parse_json(body, "entries.list request");
  if (!request) return json_response(400, R"({"error":{"code":400,"message":"invalid JSON body","status":"INVALID_ARGUMENT"}})");
  std::string filter = recorder::get_string(*request, "filter").value_or("");
  auto page_size = static_cast<std::size_t>(std::max(1.0, recorder::get_number(*request, "pageSize").value_or(50)));
  std::size_t from = 0;
  if (auto token = recorder::get_string(*request, "pageToken")) from = std::stoul("0" + token->substr(token->find('-') + 1));
  std::vector<std::string> entries;
  double start = recorder::to_epoch_seconds(world.window.start), end = recorder::to_epoch_seconds(world.window.end);
  if (filter.find("resource.type=\"k8s_pod\"") != std::string::npos) {
    // As Logging does: only the namespaces the filter names.
    std::size_t n = 0;
    for (const auto& [run, e] : pod_events(world)) {
      std::string pod = !e.pod.empty() ? e.pod : run_pod(*run);
      if (filter.find(quote(pod_namespace(world, pod))) == std::string::npos) continue;
      if (e.time >= start && e.time < end) entries.push_back(pod_entry(world, run, e, n++));
    }
  } else if (filter.find("resource.type=\"k8s_node\"") != std::string::npos) {
    std::size_t n = 0;
    for (const auto& e : node_events(world)) {
      if (e.reason == "InstancePreempted") continue;  // Compute Engine's, below
      if (e.time >= start && e.time < end) entries.push_back(event_entry(world, "Node", e.node, e.reason, e.message, e.time, e.node, n++));
    }
  } else if (filter.find("compute.instances.preempted") != std::string::npos) {
    std::size_t n = 0;
    for (const auto& e : node_events(world)) {
      if (e.reason == "InstancePreempted" && e.time >= start && e.time < end) entries.push_back(spot_entry(world, e.node, e.time, n++));
    }
  } else if (filter.find("textPayload:") != std::string::npos) {  // Job events and the exporter's restarts
    std::vector<std::pair<double, std::string>> timed;
    std::size_t n = 0;
    for (const auto& run : world.runs) {
      // The step's Job failed (backoffLimit 0): the job controller's event, a k8s_cluster entry.
      bool job_failed = run.mode == FailureMode::backoff_limit || run.mode == FailureMode::prestart_kill;
      if (!job_failed || run.end == 0) continue;
      std::string job = fmt::format("dagster-step-{}", run.id.substr(0, 8));  // as its step failure names it
      double t = run.end - 5;
      timed.emplace_back(t, event_entry(world, "Job", job, "BackoffLimitExceeded", "Job has reached the specified backoff limit",
                                        t, "", n++));
    }
    for (double t : world.exporter_restarts) timed.emplace_back(t, exporter_entry(world, t, n++));
    std::stable_sort(timed.begin(), timed.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
    for (auto& [t, entry] : timed) {
      if (t >= start && t < end) entries.push_back(std::move(entry));
    }
  } else if (filter.find("io.k8s.core.v1.pods.create") != std::string::npos &&
             filter.find("generateName:\"dagster-step-\"") != std::string::npos) {
    // The step pods the spec names (pod events of "dagster-step-..." pods of a run), created when
    // the run started; the query reaches back a day before the window.
    std::size_t n = 0;
    std::set<std::string> done;
    for (const auto& run : world.runs) {
      for (const auto& e : run.pod_events) {
        if (e.pod.rfind("dagster-step-", 0) != 0 || !done.insert(e.pod).second) continue;
        double t = (run.start != 0 ? run.start : run.created) + 5;
        if (t >= start - 86400 && t < end) entries.push_back(step_audit_entry(world, run, e.pod, t, n++));
      }
    }
  } else if (filter.find("io.k8s.core.v1.pods.create") != std::string::npos &&
             filter.find(fmt::format("namespaces/{}/pods", world.gcp.agent_namespace.empty() ? "dagster"
                                                                                              : world.gcp.agent_namespace)) !=
                 std::string::npos) {  // the agent's creations, only when asked in its namespace
    std::size_t n = 0;
    for (const auto& create : world.agent_pod_creates) {
      if (create.time >= start && create.time < end) entries.push_back(audit_entry(world, create, n++));
    }
  }
  from = std::min(from, entries.size());
  std::size_t to = std::min(entries.size(), from + page_size);
  std::string out = fmt::format(R"({{"entries":[{}]}})", fmt::join(entries.begin() + static_cast<long>(from),
                                                                    entries.begin() + static_cast<long>(to), ","));
  if (to < entries.size()) out = fmt::format(R"({{"entries":[{}],"nextPageToken":"page-{}"}})",
                                             fmt::join(entries.begin() + static_cast<long>(from),
                                                       entries.begin() + static_cast<long>(to), ","), to);
  if (from == to) out = to < entries.size() ? fmt::format(R"({{"nextPageToken":"page-{}"}})", to) : "{}";
  return json_response(200, out);
}

// The managed instance groups of `pool`, as nodePools.list gives them (instanceGroupUrls): a node
// "gke-<cluster>-<pool>-<hash>-<suffix>" belongs to the group "gke-<cluster>-<pool>-<hash>-grp". One
// per distinct prefix among the world's nodes whose name holds the pool's (the longest pool name
// wins), else one for the pool alone.
std::vector<std::string> instance_groups(const World& world, const std::vector<NodePoolSpec>& pools,
                                         const std::string& pool) {
  std::set<std::string> nodes;
  for (const auto& e : node_events(world)) nodes.insert(e.node);
  for (const auto& [run, e] : all_pod_events(world)) nodes.insert(e.node);
  std::set<std::string> groups;
  for (const auto& node : nodes) {
    std::string best;
    for (const auto& other : pools) {
      if (node.find("-" + other.name + "-") != std::string::npos && other.name.size() > best.size()) best = other.name;
    }
    auto dash = node.rfind('-');
    if (best == pool && dash != std::string::npos) groups.insert(node.substr(0, dash) + "-grp");
  }
  if (groups.empty()) groups.insert(fmt::format("gke-{}-{}-{:08x}-grp", world.gcp.cluster, pool, fnv1a(pool) & 0xffffffffULL));
  std::vector<std::string> urls;
  for (const auto& group : groups) {
    urls.push_back(quote(fmt::format("https://www.googleapis.com/compute/v1/projects/{}/zones/{}-a/instanceGroupManagers/{}",
                                     world.gcp.project, world.gcp.location, group)));
  }
  return urls;
}

// nodePools.list: the world's pools (one ordinary pool "pool-1" when it names none).
recorder::HttpResponse node_pools(const World& world) {
  std::vector<NodePoolSpec> pools = world.node_pools;
  if (pools.empty()) pools.push_back({"pool-1", false});
  std::vector<std::string> out;
  for (const auto& pool : pools) {
    out.push_back(fmt::format(
        R"({{"config":{{"diskSizeGb":100,"machineType":"e2-standard-8"{}}},"initialNodeCount":3,"instanceGroupUrls":[{}],"name":{},"selfLink":{},"status":"RUNNING","version":"1.30.5-gke.1014001"}})",
        pool.spot ? R"(,"spot":true)" : "", fmt::join(instance_groups(world, pools, pool.name), ","), quote(pool.name),
        quote(fmt::format("https://container.googleapis.com/v1/projects/{}/locations/{}/clusters/{}/nodePools/{}",
                          world.gcp.project, world.gcp.location, world.gcp.cluster, pool.name))));
  }
  return json_response(200, fmt::format(R"({{"nodePools":[{}]}})", fmt::join(out, ",")));
}

std::string path_of(const std::string& url) {
  auto scheme = url.find("://");
  auto slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  if (slash == std::string::npos) return "/";
  auto query = url.find('?', slash);
  return url.substr(slash, query == std::string::npos ? std::string::npos : query - slash);
}

bool ends_with(const std::string& text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::string rfc3339(double epoch_seconds) {
  return recorder::format_rfc3339_utc(recorder::from_epoch_seconds(epoch_seconds));
}

std::string run_pod(const Run& run) { return fmt::format("dagster-run-{}-x7k2p", run.id); }

// Each run's pod on its own node of pool-1 unless the spec names one: GKE node names are
// "gke-<cluster>-<pool>-<hash>-<suffix>". Pods that share a node share its node-level events.
std::string run_node(const Run& run) {
  auto h = fnv1a(run.id);
  return fmt::format("gke-pool-1-{:08x}-{:04x}", h & 0xffffffffULL, (h >> 32) & 0xffffULL);
}

namespace {

constexpr const char* k_default_node = "gke-pool-1-node-1";

// Pod events of a spec that GKE shows on the Node: an OOM kill (node-problem-detector names only the
// process) and "NodeShutdown", a spec shorthand for the node shutting down under the pod.
bool is_node_kill(std::string_view reason) {
  return reason == "OOMKilling" || reason == "SystemOOM" || reason == "NodeShutdown";
}

bool spot_node(const World& world, const std::string& node) {
  for (const auto& pool : world.node_pools) {
    if (pool.spot && node.find("-" + pool.name + "-") != std::string::npos) return true;
  }
  return false;
}

PodEvent scheduled_on(const std::string& pod, const std::string& node, double time) {
  std::string on = node.empty() ? k_default_node : node;
  return PodEvent{"Scheduled", fmt::format("Successfully assigned dagster/{} to {}", pod, on), time, on, pod};
}

std::string kernel_oom_line(std::uint64_t seed) {
  return fmt::format("Memory cgroup out of memory: Killed process {} (python3) total-vm:{}kB, anon-rss:{}kB, "
                     "file-rss:{}kB, shmem-rss:0kB, UID:0 pgtables:{}kB oom_score_adj:999",
                     3000000 + seed % 900000, 4000000 + seed % 100000, 2000000 + seed % 50000, 30000 + seed % 9000,
                     5000 + seed % 900);
}

// The Node events a pod event of the spec stands for: an OOM kill on its node, or the node's
// graceful shutdown ("NodeShutdown"), which on a Spot pool follows Compute Engine's reclaim.
void node_side(const World& world, const PodEvent& e, const std::string& seed, std::vector<NodeEvent>& out) {
  std::string node = e.node.empty() ? k_default_node : e.node;
  if (e.reason == "NodeShutdown") {
    if (spot_node(world, node)) out.push_back({"InstancePreempted", "", e.time - 25, node});
    out.push_back({"Shutdown", e.message.empty() ? "Shutdown manager detected shutdown event" : e.message, e.time, node});
    return;
  }
  out.push_back({e.reason, e.message.empty() ? kernel_oom_line(fnv1a(seed)) : e.message, e.time, node});
}

}  // namespace

std::vector<NodeEvent> node_events(const World& world) {
  std::vector<NodeEvent> out;
  for (const auto& run : world.runs) {
    for (const auto& given : run.pod_events) {
      if (!is_node_kill(given.reason)) continue;
      PodEvent e = given;
      if (e.node.empty()) e.node = run_node(run);
      node_side(world, e, run.id, out);
    }
    if (run.pod_events.empty() && run.mode == FailureMode::oom) {
      double at = run.end != 0 ? run.end - 30 : run.created;
      out.push_back({"OOMKilling", kernel_oom_line(fnv1a(run.id)), at, run_node(run)});
    }
  }
  for (const auto& e : world.pod_events) {
    if (is_node_kill(e.reason)) node_side(world, e, e.pod, out);
  }
  for (const auto& e : world.node_happenings) {
    std::string message = e.message;
    if (message.empty() && e.reason == "Shutdown") message = "Shutdown manager detected shutdown event";
    if (message.empty() && e.reason == "NodeNotReady") message = fmt::format("Node {} status is now: NodeNotReady", e.node);
    if (message.empty() && e.reason == "OOMKilling") message = kernel_oom_line(fnv1a(e.node));
    out.push_back({e.reason, message, e.time, e.node});
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const NodeEvent& x, const NodeEvent& y) { return std::tie(x.time, x.node) < std::tie(y.time, y.node); });
  return out;
}

std::vector<std::pair<const Run*, PodEvent>> all_pod_events(const World& world) {
  std::vector<std::pair<const Run*, PodEvent>> out;
  for (const auto& run : world.runs) {
    for (const auto& given : run.pod_events) {
      PodEvent e = given;
      if (e.node.empty()) e.node = run_node(run);
      if (is_node_kill(e.reason)) {  // a spec's OOM kill of the run pod: the pod was on e.node
        // Scheduled before it was killed there (a spec may put the kill before the run's start).
        double placed = std::min(run.start != 0 ? run.start : run.created, e.time - 5);
        out.emplace_back(&run, scheduled_on(e.pod.empty() ? run_pod(run) : e.pod, e.node, placed));
      } else {
        out.emplace_back(&run, e);
      }
    }
    if (!run.pod_events.empty()) continue;
    double at = run.end != 0 ? run.end - 30 : run.created;
    std::string node = run_node(run);
    if (run.mode == FailureMode::preempted) {
      // Priority preemption by the scheduler, as it words it (the preemptor's uid and the node).
      out.emplace_back(&run, PodEvent{"Preempted", fmt::format("Preempted by pod {} on node {}", uid_of(run.id + "/preemptor"), node), at, node, ""});
    } else if (run.mode == FailureMode::evicted) {
      out.emplace_back(&run, PodEvent{"Evicted", "The node was low on resource: memory. Threshold quantity: 100Mi, available: 81220Ki.", at, node, ""});
    } else if (run.mode == FailureMode::oom) {
      // The kill itself is a Node event (node_events); the scheduler's Scheduled event is what says
      // the run pod was on that node.
      out.emplace_back(&run, scheduled_on(run_pod(run), node, run.start != 0 ? run.start : run.created));
    } else if (run.mode == FailureMode::unschedulable) {
      out.emplace_back(&run, PodEvent{"FailedScheduling", "0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.", run.created + 30, "", ""});
    }
  }
  for (const auto& e : world.pod_events) {
    if (is_node_kill(e.reason)) {
      out.emplace_back(nullptr, scheduled_on(e.pod, e.node, e.time - 600));
    } else {
      out.emplace_back(nullptr, e);
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& x, const auto& y) {
    auto pod = [](const std::pair<const Run*, PodEvent>& p) { return p.second.pod.empty() ? run_pod(*p.first) : p.second.pod; };
    return std::make_tuple(x.second.time, pod(x)) < std::make_tuple(y.second.time, pod(y));
  });
  return out;
}

recorder::HttpResponse answer_google(const World& world, const recorder::HttpRequest& request) {
  std::string path = path_of(request.url);
  if (request.method == "POST" && path == "/v2/entries:list") return list_entries(world, request.body);
  if (request.method == "GET") {
    if (auto answer = answer_google_signals(world, request, path)) return *answer;
    if (ends_with(path, "/nodePools")) return node_pools(world);
  }
  return json_response(404, fmt::format(R"({{"error":{{"code":404,"message":{},"status":"NOT_FOUND"}}}})",
                                        quote("day2 simulate: " + request.method + " " + path + " is not simulated")));
}

}  // namespace analyzer::sim
