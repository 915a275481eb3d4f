// The Google Cloud APIs of a simulated world: Cloud Logging entries.list (the GKE event exporter's
// pod events, paged by pageToken like Logging), and empty but well-formed answers from
// Monitoring, Error Reporting and GKE. Shapes follow the discovery documents in
// shared/reference/gcp/ (tests/unit/analyzer/simulate_test.cpp validates them).
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

std::string rfc3339(double epoch_seconds) {
  return recorder::format_rfc3339_utc(recorder::from_epoch_seconds(epoch_seconds));
}

// The pod events of the world: the spec's own, plus the one each oom / evicted / preempted run
// implies when the spec gives none.
std::vector<std::pair<const Run*, PodEvent>> pod_events(const World& world) {
  std::vector<std::pair<const Run*, PodEvent>> out;
  for (const auto& run : world.runs) {
    for (const auto& e : run.pod_events) out.emplace_back(&run, e);
    if (!run.pod_events.empty()) continue;
    double at = run.end != 0 ? run.end - 30 : run.created;
    if (run.mode == FailureMode::preempted) {
      out.emplace_back(&run, PodEvent{"Preempted", "Preempting pod to free node resources", at, "gke-pool-1-node-1"});
    } else if (run.mode == FailureMode::evicted) {
      out.emplace_back(&run, PodEvent{"Evicted", "The node was low on resource: memory. Threshold quantity: 100Mi, available: 81220Ki.", at, "gke-pool-1-node-1"});
    } else if (run.mode == FailureMode::oom) {
      out.emplace_back(&run, PodEvent{"OOMKilling", "Memory cgroup out of memory: Killed process 4242 (python3)", at, "gke-pool-1-node-1"});
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& x, const auto& y) {
    return std::tie(x.second.time, x.first->id) < std::tie(y.second.time, y.first->id);
  });
  return out;
}

std::string pod_entry(const World& world, const Run& run, const PodEvent& e, std::size_t n) {
  std::string pod = fmt::format("dagster-run-{}-x7k2p", run.id);
  std::string message = e.message.empty() ? e.reason : e.message;
  std::string labels = fmt::format(
      R"({{"project_id":{},"location":{},"cluster_name":{},"namespace_name":"dagster","pod_name":{}}})",
      quote(world.gcp.project), quote(world.gcp.location), quote(world.gcp.cluster), quote(pod));
  return fmt::format(
      R"({{"insertId":{},"jsonPayload":{{"apiVersion":"v1","kind":"Event","involvedObject":{{"kind":"Pod","namespace":"dagster","name":{}}},"reason":{},"message":{},"source":{{"component":"kubelet","host":{}}},"type":{},"lastTimestamp":{}}},"resource":{{"type":"k8s_pod","labels":{}}},"timestamp":{},"severity":{},"logName":{},"receiveTimestamp":{}}})",
      quote(fmt::format("sim{:06}", n)), quote(pod), quote(e.reason), quote(message), quote(e.node),
      quote(e.reason == "Preempted" || e.reason == "Scheduled" ? "Normal" : "Warning"), quote(rfc3339(e.time)), labels,
      quote(rfc3339(e.time)), quote(e.reason == "Preempted" ? "INFO" : "WARNING"),
      quote(fmt::format("projects/{}/logs/events", world.gcp.project)), quote(rfc3339(e.time + 2)));
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
      if (e.time >= start && e.time < end) entries.push_back(pod_entry(world, *run, e, n++));
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

recorder::HttpResponse answer_google(const World& world, const recorder::HttpRequest& request) {
  std::string path = path_of(request.url);
  if (request.method == "POST" && path == "/v2/entries:list") return list_entries(world, request.body);
  if (request.method == "GET") {
    // Nothing alerted, no error groups, no series: Google omits empty lists.
    if (ends_with(path, "/alerts") || ends_with(path, "/timeSeries") || ends_with(path, "/groupStats") ||
        ends_with(path, "/events")) {
      return json_response(200, "{}");
    }
    if (ends_with(path, "/nodePools")) return json_response(200, "{}");
  }
  return json_response(404, fmt::format(R"({{"error":{{"code":404,"message":{},"status":"NOT_FOUND"}}}})",
                                        quote("day2 simulate: " + request.method + " " + path + " is not simulated")));
}

}  // namespace analyzer::sim
