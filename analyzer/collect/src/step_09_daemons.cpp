// Step 09: the health of the instance's daemons and their last heartbeat errors.
#include <algorithm>

#include "collect_helpers.hpp"

namespace analyzer {

using recorder::make_error;

StepResult step_daemons(StepContext& context) {
  auto data = context.client.query("DaemonHealth");
  if (!data) return data.error();
  const auto* instance = recorder::get_object(*data, "instance");
  const auto* health = instance ? recorder::get_object(*instance, "daemonHealth") : nullptr;
  const auto* statuses = health ? recorder::get_array(*health, "allDaemonStatuses") : nullptr;
  if (!statuses) return make_error("DaemonHealth: instance.daemonHealth.allDaemonStatuses is missing");
  rapidjson::Document out(rapidjson::kObjectType);
  auto& a = out.GetAllocator();
  rapidjson::Value daemons(rapidjson::kArrayType);
  bool all_healthy = true;
  for (const auto& daemon : statuses->GetArray()) {
    bool required = recorder::get_bool(daemon, "required").value_or(false);
    auto healthy = recorder::get_bool(daemon, "healthy");
    if (required && healthy == false) all_healthy = false;
    rapidjson::Value item(rapidjson::kObjectType);
    item.AddMember("daemonType", string_value(recorder::get_string(daemon, "daemonType").value_or(""), a), a);
    item.AddMember("required", required, a);
    item.AddMember("healthy", healthy ? rapidjson::Value(*healthy) : rapidjson::Value(), a);
    item.AddMember("lastHeartbeatTime", nullable_number(daemon, "lastHeartbeatTime"), a);
    item.AddMember("lastHeartbeatErrors", python_errors_json(recorder::get_array(daemon, "lastHeartbeatErrors"), a), a);
    daemons.PushBack(item, a);
  }
  std::sort(daemons.Begin(), daemons.End(), [](const rapidjson::Value& x, const rapidjson::Value& y) {
    return std::string_view(x["daemonType"].GetString()) < std::string_view(y["daemonType"].GetString());
  });
  out.AddMember("daemons", daemons, a);
  out.AddMember("allHealthy", all_healthy, a);
  return out;
}

}  // namespace analyzer
