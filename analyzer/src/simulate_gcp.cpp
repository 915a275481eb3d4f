// The Google Cloud APIs of a simulated world: Cloud Logging entries.list (the GKE event exporter's
// pod events and the audit log's agent pod creations, paged by pageToken like Logging), GKE node
// pools, and the routing to Error Reporting and Monitoring (simulate_gcp_signals.cpp). Shapes
// follow the discovery documents in docs/reference/gcp/ (tests/unit/analyzer/simulate_test.cpp
// validates them).
#include <fmt/format.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <string>

#include "recorder/json.hpp"
#include "simulate_world.hpp"

namespace analyzer::sim {

namespace {

recorder::HttpResponse json_response(int status, std::string body) {
  return {status, {{"content-type", "application/json; charset=UTF-8"}}, std::move(body)};
}

// The pod events of the world: the spec's own, plus the one each oom / evicted / preempted /
// unschedulable run implies when the spec gives none, and the events of other pods.
std::vector<std::pair<const Run*, PodEvent>> pod_events(const World& world) { return all_pod_events(world); }

std::string pod_entry(const World& world, const Run* run, const PodEvent& e, std::size_t n) {
  std::string pod = !e.pod.empty() ? e.pod : run_pod(*run);
  std::string message = e.message.empty() ? e.reason : e.message;
  std::string labels = fmt::format(
      R"({{"project_id":{},"location":{},"cluster_name":{},"namespace_name":"dagster","pod_name":{}}})",
      quote(world.gcp.project), quote(world.gcp.location), quote(world.gcp.cluster), quote(pod));
  return fmt::format(
      R"({{"insertId":{},"jsonPayload":{{"apiVersion":"v1","kind":"Event","involvedObject":{{"kind":"Pod","namespace":"dagster","name":{}}},"reason":{},"message":{},"source":{{"component":"kubelet","host":{}}},"type":{},"lastTimestamp":{}}},"resource":{{"type":"k8s_pod","labels":{}}},"timestamp":{},"severity":{},"logName":{},"receiveTimestamp":{}}})",
      quote(fmt::format("sim{:06}", n)), quote(pod), quote(e.reason), quote(message), quote(e.node),
      quote(e.reason == "Preempted" || e.reason == "Scheduled" || e.reason == "Killing" ? "Normal" : "Warning"), quote(rfc3339(e.time)), labels,
      quote(rfc3339(e.time)), quote(e.reason == "Preempted" || e.reason == "Killing" ? "INFO" : "WARNING"),
      quote(fmt::format("projects/{}/logs/events", world.gcp.project)), quote(rfc3339(e.time + 2)));
}

// A Kubernetes audit-log entry (Admin Activity) of the agent Deployment's controller creating a pod.
std::string audit_entry(const World& world, const PodCreate& create, std::size_t n) {
  std::string resource = fmt::format("core/v1/namespaces/dagster/pods/{}", create.pod);
  std::string status = create.code == 0 ? "{}" : fmt::format(R"({{"code":{},"message":"pods is forbidden: exceeded quota"}})", create.code);
  return fmt::format(
      R"({{"insertId":{},"logName":{},"resource":{{"type":"k8s_cluster","labels":{{"project_id":{},"location":{},"cluster_name":{}}}}},"timestamp":{},"receiveTimestamp":{},"severity":"NOTICE","protoPayload":{{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","serviceName":"k8s.io","methodName":"io.k8s.core.v1.pods.create","resourceName":{},"authenticationInfo":{{"principalEmail":"system:serviceaccount:kube-system:replicaset-controller"}},"status":{}}}}})",
      quote(fmt::format("audit{:06}", n)), quote(fmt::format("projects/{}/logs/cloudaudit.googleapis.com%2Factivity", world.gcp.project)),
      quote(world.gcp.project), quote(world.gcp.location), quote(world.gcp.cluster), quote(rfc3339(create.time)),
      quote(rfc3339(create.time + 1)), quote(resource), status);
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
  if (filter.find("resource.type=\"k8s_pod\"") != std::string::npos) {
    double start = recorder::to_epoch_seconds(world.window.start), end = recorder::to_epoch_seconds(world.window.end);
    std::size_t n = 0;
    for (const auto& [run, e] : pod_events(world)) {
      if (e.time >= start && e.time < end) entries.push_back(pod_entry(world, run, e, n++));
    }
  } else if (filter.find("io.k8s.core.v1.pods.create") != std::string::npos) {
    double start = recorder::to_epoch_seconds(world.window.start), end = recorder::to_epoch_seconds(world.window.end);
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

std::vector<std::pair<const Run*, PodEvent>> all_pod_events(const World& world) {
  std::vector<std::pair<const Run*, PodEvent>> out;
  for (const auto& run : world.runs) {
    for (const auto& e : run.pod_events) out.emplace_back(&run, e);
    if (!run.pod_events.empty()) continue;
    double at = run.end != 0 ? run.end - 30 : run.created;
    const char* node = "gke-pool-1-node-1";
    if (run.mode == FailureMode::preempted) {
      out.emplace_back(&run, PodEvent{"Preempted", "Preempting pod to free node resources", at, node, ""});
    } else if (run.mode == FailureMode::evicted) {
      out.emplace_back(&run, PodEvent{"Evicted", "The node was low on resource: memory. Threshold quantity: 100Mi, available: 81220Ki.", at, node, ""});
    } else if (run.mode == FailureMode::oom) {
      out.emplace_back(&run, PodEvent{"OOMKilling", "Memory cgroup out of memory: Killed process 4242 (python3)", at, node, ""});
    } else if (run.mode == FailureMode::unschedulable) {
      out.emplace_back(&run, PodEvent{"FailedScheduling", "0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.", run.created + 30, "", ""});
    }
  }
  for (const auto& e : world.pod_events) out.emplace_back(nullptr, e);
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
    if (ends_with(path, "/nodePools")) return json_response(200, "{}");
  }
  return json_response(404, fmt::format(R"({{"error":{{"code":404,"message":{},"status":"NOT_FOUND"}}}})",
                                        quote("day2 simulate: " + request.method + " " + path + " is not simulated")));
}

}  // namespace analyzer::sim
