// Step 07: the Dagster+ agents, their heartbeats and errors, against the configured replicas.
#include "collect_helpers.hpp"

namespace analyzer {

using recorder::make_error;

StepResult step_agents(StepContext& context) {
  auto data = context.client.query("PlusAgents");
  if (!data) return data.error();
  const auto* agents = recorder::get_array(*data, "agents");
  if (!agents) return make_error("PlusAgents: agents is missing");
  rapidjson::Document out(rapidjson::kObjectType);
  auto& a = out.GetAllocator();
  rapidjson::Value list(rapidjson::kArrayType);
  int running = 0;
  for (const auto& agent : agents->GetArray()) {
    rapidjson::Value item(rapidjson::kObjectType);
    auto status = recorder::get_string(agent, "status").value_or("");
    double heartbeat = number_or(agent, "lastHeartbeatTime", 0);
    if (status == "RUNNING") ++running;
    item.AddMember("id", string_value(recorder::get_string(agent, "id").value_or(""), a), a);
    item.AddMember("agentLabel", string_value(recorder::get_string(agent, "agentLabel").value_or(""), a), a);
    item.AddMember("status", string_value(status, a), a);
    item.AddMember("lastHeartbeatTime", heartbeat, a);
    item.AddMember("heartbeatAgeSeconds", context.end - heartbeat, a);
    item.AddMember("errors", python_errors_json(recorder::get_array(agent, "errors"), a), a);
    list.PushBack(item, a);
  }
  out.AddMember("agents", list, a);
  out.AddMember("agentCount", static_cast<int>(agents->Size()), a);
  out.AddMember("runningCount", running, a);
  out.AddMember("expectedReplicas", context.config.agent_replicas, a);
  out.AddMember("topologyDeviation", running != context.config.agent_replicas, a);
  return out;
}

}  // namespace analyzer
