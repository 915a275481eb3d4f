// Step 11: the Cloud Monitoring alerts open during the window.
#include <algorithm>

#include "collect_helpers.hpp"

namespace analyzer {

namespace {

rapidjson::Value labels_json(const rapidjson::Value* labels, Allocator& a) {
  rapidjson::Value out(rapidjson::kObjectType);
  if (labels == nullptr || !labels->IsObject()) return out;
  for (const auto& member : labels->GetObject()) {
    if (member.value.IsString()) {
      out.AddMember(string_value({member.name.GetString(), member.name.GetStringLength()}, a),
                    string_value({member.value.GetString(), member.value.GetStringLength()}, a), a);
    }
  }
  return out;
}

}  // namespace

StepResult step_alerts(StepContext& context) {
  auto alerts = context.gcp->list_alerts(context.config.gcp.project);
  if (!alerts) return alerts.error();
  std::vector<std::pair<double, rapidjson::Value>> rows;
  rapidjson::Document out(rapidjson::kObjectType);
  auto& a = out.GetAllocator();
  for (const auto& alert : alerts->GetArray()) {
    auto open = rfc3339_seconds(alert, "openTime");
    auto close = rfc3339_seconds(alert, "closeTime");
    // Open during the window: opened before its end, not closed before its start.
    if (!open || *open >= context.end || (close && *close < context.start)) continue;
    rapidjson::Value row(rapidjson::kObjectType);
    row.AddMember("name", string_value(string_at(alert, "name"), a), a);
    row.AddMember("state", string_value(string_at(alert, "state"), a), a);
    row.AddMember("openTime", *open, a);
    row.AddMember("closeTime", nullable_time(close), a);
    row.AddMember("policy", string_value(string_at(alert, "policy/displayName"), a), a);
    row.AddMember("policyName", string_value(string_at(alert, "policy/name"), a), a);
    row.AddMember("severity", string_value(string_at(alert, "policy/severity"), a), a);
    row.AddMember("resourceType", string_value(string_at(alert, "resource/type"), a), a);
    const auto* resource = recorder::get_object(alert, "resource");
    row.AddMember("resourceLabels", labels_json(resource ? recorder::get_object(*resource, "labels") : nullptr, a), a);
    row.AddMember("metricType", string_value(string_at(alert, "metric/type"), a), a);
    rows.emplace_back(*open, std::move(row));
  }
  std::stable_sort(rows.begin(), rows.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  rapidjson::Value list(rapidjson::kArrayType);
  for (auto& [time, row] : rows) list.PushBack(row, a);
  out.AddMember("alerts", list, a);
  return out;
}

}  // namespace analyzer
