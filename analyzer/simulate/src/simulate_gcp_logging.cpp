// Cloud Logging entries.list of a simulated world: the GKE event exporter's pod, Node and Job
// events, the audit log's pod creations (the agent's and the step pods') and Compute Engine's Spot
// reclaims, paged by pageToken like Logging. Shapes follow the discovery documents in
// docs/reference/gcp/ (tests/unit/analyzer/simulate_test.cpp validates them).
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

// The pod events of the world: the spec's own, plus the ones each oom / evicted / preempted /
// unschedulable run implies when the spec gives none, and the events of other pods.
std::vector<std::pair<const Run*, PodEvent>> pod_events(const World& world) { return all_pod_events(world); }

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

// The pod events of the window, as Logging does: only the namespaces the filter names.
std::vector<std::string> pod_event_entries(const World& world, const std::string& filter, double start, double end) {
  std::vector<std::string> entries;
  std::size_t n = 0;
  for (const auto& [run, e] : pod_events(world)) {
    std::string pod = !e.pod.empty() ? e.pod : run_pod(*run);
    if (filter.find(quote(pod_namespace(world, pod))) == std::string::npos) continue;
    if (e.time >= start && e.time < end) entries.push_back(pod_entry(world, run, e, n++));
  }
  return entries;
}

std::vector<std::string> node_event_entries(const World& world, double start, double end) {
  std::vector<std::string> entries;
  std::size_t n = 0;
  for (const auto& e : node_events(world)) {
    if (e.reason == "InstancePreempted") continue;  // Compute Engine's, below
    if (e.time >= start && e.time < end) entries.push_back(event_entry(world, "Node", e.node, e.reason, e.message, e.time, e.node, n++));
  }
  return entries;
}

std::vector<std::string> spot_entries(const World& world, double start, double end) {
  std::vector<std::string> entries;
  std::size_t n = 0;
  for (const auto& e : node_events(world)) {
    if (e.reason == "InstancePreempted" && e.time >= start && e.time < end) entries.push_back(spot_entry(world, e.node, e.time, n++));
  }
  return entries;
}

// Job events and the exporter's restarts, in time order.
std::vector<std::string> job_and_exporter_entries(const World& world, double start, double end) {
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
  std::vector<std::string> entries;
  for (auto& [t, entry] : timed) {
    if (t >= start && t < end) entries.push_back(std::move(entry));
  }
  return entries;
}

// The step pods the spec names (pod events of "dagster-step-..." pods of a run), created when
// the run started; the query reaches back a day before the window.
std::vector<std::string> step_creation_entries(const World& world, double start, double end) {
  std::vector<std::string> entries;
  std::size_t n = 0;
  std::set<std::string> done;
  for (const auto& run : world.runs) {
    for (const auto& e : run.pod_events) {
      if (e.pod.rfind("dagster-step-", 0) != 0 || !done.insert(e.pod).second) continue;
      double t = (run.start != 0 ? run.start : run.created) + 5;
      if (t >= start - 86400 && t < end) entries.push_back(step_audit_entry(world, run, e.pod, t, n++));
    }
  }
  return entries;
}

std::vector<std::string> agent_creation_entries(const World& world, double start, double end) {
  std::vector<std::string> entries;
  std::size_t n = 0;
  for (const auto& create : world.agent_pod_creates) {
    if (create.time >= start && create.time < end) entries.push_back(audit_entry(world, create, n++));
  }
  return entries;
}

// The entries of the window that the filter asks for (by the resource type or method it names), else none.
std::vector<std::string> matching_entries(const World& world, const std::string& filter) {
  double start = recorder::to_epoch_seconds(world.window.start), end = recorder::to_epoch_seconds(world.window.end);
  auto names = [&filter](const std::string& text) { return filter.find(text) != std::string::npos; };
  if (names("resource.type=\"k8s_pod\"")) return pod_event_entries(world, filter, start, end);
  if (names("resource.type=\"k8s_node\"")) return node_event_entries(world, start, end);
  if (names("compute.instances.preempted")) return spot_entries(world, start, end);
  if (names("textPayload:")) return job_and_exporter_entries(world, start, end);
  if (names("io.k8s.core.v1.pods.create") && names("generateName:\"dagster-step-\"")) {
    return step_creation_entries(world, start, end);
  }
  // The agent's creations, only when asked in its namespace.
  if (names("io.k8s.core.v1.pods.create") &&
      names(fmt::format("namespaces/{}/pods", world.gcp.agent_namespace.empty() ? "dagster" : world.gcp.agent_namespace))) {
    return agent_creation_entries(world, start, end);
  }
  return {};
}

// The page of `entries` from index `from`, with the next page's token while more follow.
std::string entries_page(const std::vector<std::string>& entries, std::size_t from, std::size_t page_size) {
  from = std::min(from, entries.size());
  std::size_t to = std::min(entries.size(), from + page_size);
  std::string out = fmt::format(R"({{"entries":[{}]}})", fmt::join(entries.begin() + static_cast<long>(from),
                                                                    entries.begin() + static_cast<long>(to), ","));
  if (to < entries.size()) out = fmt::format(R"({{"entries":[{}],"nextPageToken":"page-{}"}})",
                                             fmt::join(entries.begin() + static_cast<long>(from),
                                                       entries.begin() + static_cast<long>(to), ","), to);
  if (from == to) out = to < entries.size() ? fmt::format(R"({{"nextPageToken":"page-{}"}})", to) : "{}";
  return out;
}

}  // namespace

// entries.list: the pod events when the filter asks for k8s_pod events in the window, else none.
recorder::HttpResponse list_entries(const World& world, const std::string& body) {
  auto request = recorder::parse_json(body, "entries.list request");
  if (!request) return json_response(400, R"({"error":{"code":400,"message":"invalid JSON body","status":"INVALID_ARGUMENT"}})");
  std::string filter = recorder::get_string(*request, "filter").value_or("");
  auto page_size = static_cast<std::size_t>(std::max(1.0, recorder::get_number(*request, "pageSize").value_or(50)));
  std::size_t from = 0;
  if (auto token = recorder::get_string(*request, "pageToken")) from = std::stoul("0" + token->substr(token->find('-') + 1));
  return json_response(200, entries_page(matching_entries(world, filter), from, page_size));
}

}  // namespace analyzer::sim
