// Step 08: the agent's pod creations in the window, from the Kubernetes audit log (Admin Activity,
// always on and kept 400 days, unlike events), judged against the configured replicas and surge.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "collect_helpers.hpp"

namespace analyzer {

namespace {

// A pod the agent Deployment's ReplicaSet controller creates has no name yet in the request (only
// generateName "<deployment>-<hash>-"), so the audit entry's resourceName is the collection
// ("core/v1/namespaces/<ns>/pods") and the name is only in response.metadata.name; a refused create
// has no Pod in its response at all. So the filter selects the namespace's pod creations by
// generateName, name or resourceName prefix, and created_pod() takes the name where it is.
std::string churn_filter(const StepContext& context) {
  const auto& gcp = context.config.gcp;
  std::string filter =
      "log_id(\"cloudaudit.googleapis.com/activity\") resource.type=\"k8s_cluster\" "
      "protoPayload.serviceName=\"k8s.io\" "
      "protoPayload.methodName=\"io.k8s.core.v1.pods.create\"";
  if (!gcp.cluster.empty()) filter += " resource.labels.cluster_name=" + lql_quote(gcp.cluster);
  if (!gcp.location.empty()) filter += " resource.labels.location=" + lql_quote(gcp.location);
  // ':' is a substring test; the exact prefix is checked below.
  std::string prefix = gcp.agent_deployment + "-";
  filter += " protoPayload.resourceName:" + lql_quote(fmt::format("namespaces/{}/pods", gcp.agent_ns()));
  filter += fmt::format(" (protoPayload.request.metadata.generateName:{} OR protoPayload.response.metadata.name:{} OR "
                        "protoPayload.resourceName:{})",
                        lql_quote(prefix), lql_quote(prefix), lql_quote("/pods/" + prefix));
  return filter + fmt::format(" timestamp>={} timestamp<{}",
                              lql_quote(recorder::format_rfc3339_utc(context.window.start)),
                              lql_quote(recorder::format_rfc3339_utc(context.window.end)));
}

// The pod of a pods.create entry: the created Pod's name in the response; else a name in
// resourceName (a pod created with a fixed name); else, for a refused create, the request's
// generateName (the pod never got a name).
std::string created_pod(const rapidjson::Value& entry) {
  if (string_at(entry, "protoPayload/response/kind") == "Pod") {
    auto name = string_at(entry, "protoPayload/response/metadata/name");
    if (!name.empty()) return name;
  }
  std::string resource = string_at(entry, "protoPayload/resourceName");
  auto slash = resource.rfind("/pods/");
  if (slash != std::string::npos && slash + 6 < resource.size()) return resource.substr(slash + 6);
  auto name = string_at(entry, "protoPayload/request/metadata/name");
  return name.empty() ? string_at(entry, "protoPayload/request/metadata/generateName") : name;
}

}  // namespace

// One rollout of a Deployment creates its new pods once; maxSurge lets them start before the old
// ones stop, but never adds creations beyond one more per replica. So with R replicas and surge
// S%, a rollout creates up to R + min(ceil(R*S/100), R) pods (2 at R=1, S=200%), a rollout that
// was retried up to twice that (3-4 at R=1), and more is a crash or eviction storm.
std::string churn_verdict(int creates, int replicas, double surge_percent) {
  int r = std::max(replicas, 1);
  int surge = std::min(static_cast<int>(std::ceil(r * surge_percent / 100.0)), r);
  int normal = r + surge;
  if (creates == 0) return "none";
  if (creates <= normal) return "normal_rollout";
  if (creates <= 2 * normal) return "retried_rollout";
  return "storm";
}

StepResult step_agent_pod_churn(StepContext& context) {
  auto entries = context.gcp->list_log_entries(context.config.gcp.project, churn_filter(context));
  if (!entries) return entries.error();
  std::string prefix = context.config.gcp.agent_deployment + "-";
  struct Create {
    double time;
    std::string pod;
    std::string principal;
    int code;
  };
  std::vector<Create> creates;
  for (const auto& entry : entries->GetArray()) {
    std::string pod = created_pod(entry);
    if (pod.rfind(prefix, 0) != 0) continue;
    const auto* payload = recorder::get_object(entry, "protoPayload");
    const auto* status = payload ? recorder::get_object(*payload, "status") : nullptr;
    int code = status ? static_cast<int>(recorder::get_number(*status, "code").value_or(0)) : 0;
    double time = rfc3339_seconds(entry, "timestamp").value_or(0);
    creates.push_back({time, pod, string_at(entry, "protoPayload/authenticationInfo/principalEmail"), code});
  }
  std::sort(creates.begin(), creates.end(),
            [](const Create& x, const Create& y) { return std::tie(x.time, x.pod) < std::tie(y.time, y.pod); });

  rapidjson::Document out(rapidjson::kObjectType);
  auto& a = out.GetAllocator();
  rapidjson::Value events(rapidjson::kArrayType);
  int succeeded = 0;
  for (const auto& create : creates) {
    rapidjson::Value row(rapidjson::kObjectType);
    row.AddMember("timestamp", create.time, a);
    row.AddMember("podName", string_value(create.pod, a), a);
    row.AddMember("principal", string_value(create.principal, a), a);
    row.AddMember("statusCode", create.code, a);
    events.PushBack(row, a);
    succeeded += create.code == 0 ? 1 : 0;  // a refused create (status.code != 0) made no pod
  }
  out.AddMember("events", events, a);
  out.AddMember("skipped", false, a);
  out.AddMember("createCount", succeeded, a);
  out.AddMember("expectedReplicas", context.config.agent_replicas, a);
  out.AddMember("maxSurgePercent", context.config.agent_max_surge_percent, a);
  std::string verdict = churn_verdict(succeeded, context.config.agent_replicas, context.config.agent_max_surge_percent);
  out.AddMember("verdict", string_value(verdict, a), a);
  return out;
}

}  // namespace analyzer
