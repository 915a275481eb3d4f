// The Google Cloud APIs of a simulated world: GKE node pools, the Node and pod events of the world,
// and the routing to Cloud Logging's entries.list (simulate_gcp_logging.cpp) and to Error Reporting
// and Monitoring (simulate_gcp_signals.cpp). Shapes follow the discovery documents in
// docs/reference/gcp/ (tests/unit/analyzer/simulate_test.cpp validates them).
#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>

#include "simulate_world.hpp"

namespace analyzer::sim {

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

recorder::HttpResponse json_response(int status, std::string body) {
  return {status, {{"content-type", "application/json; charset=UTF-8"}}, std::move(body)};
}

namespace {

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

std::optional<recorder::HttpResponse> denied_answer(const World& world, recorder::Service service) {
  std::string api(recorder::to_string(service));
  if (std::find(world.gcp.denied.begin(), world.gcp.denied.end(), api) == world.gcp.denied.end()) return std::nullopt;
  // The permission of the API's read that day2 sends most.
  static const std::map<std::string, std::string> k_permission = {{"logging", "logging.logEntries.list"},
                                                                 {"monitoring", "monitoring.timeSeries.list"},
                                                                 {"error_reporting", "errorreporting.groups.list"},
                                                                 {"container", "container.clusters.get"}};
  auto permission = k_permission.count(api) ? k_permission.at(api) : api + ".get";
  return json_response(403, fmt::format(
      R"({{"error":{{"code":403,"message":{},"status":"PERMISSION_DENIED","details":[{{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"IAM_PERMISSION_DENIED","domain":"iam.googleapis.com","metadata":{{"permission":{}}}}}]}}}})",
      quote(fmt::format("Permission '{}' denied on resource (or it may not exist).", permission)), quote(permission)));
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
