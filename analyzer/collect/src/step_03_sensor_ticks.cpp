// Step 03: the failed ticks of every sensor in the window, by code location.
#include <deque>

#include "collect_helpers.hpp"

namespace analyzer {

StepResult step_sensor_ticks(StepContext& context) {
  auto list = instigators(context, true);
  if (!list) return list.error();
  rapidjson::Document out(rapidjson::kObjectType);
  auto& a = out.GetAllocator();
  std::deque<rapidjson::Document> keep;
  rapidjson::Value item_errors(rapidjson::kArrayType);
  for (const auto& sensor : *list) {
    auto history = all_ticks(context, sensor, keep);
    if (history.ticks.empty() && !history.error) continue;
    sort_ticks(history.ticks);
    auto location = recorder::json_string(sensor.location, a);
    auto found = out.FindMember(location);
    if (found == out.MemberEnd()) {
      out.AddMember(location, rapidjson::Value(rapidjson::kObjectType), a);
      found = out.MemberEnd() - 1;
    }
    rapidjson::Value entry(rapidjson::kObjectType);
    rapidjson::Value items(rapidjson::kArrayType);
    for (const auto* tick : history.ticks) items.PushBack(tick_json(*tick, a), a);
    entry.AddMember("failureCount", static_cast<int>(history.ticks.size()), a);
    entry.AddMember("ticks", items, a);
    if (history.error) {
      // The ticks read are kept; the count is a lower bound.
      entry.AddMember("ticksError", string_value(*history.error, a), a);
      item_errors.PushBack(item_error("sensor " + sensor.location + "/" + sensor.name, *history.error, a), a);
    }
    found->value.AddMember(string_value(sensor.name, a), entry, a);
  }
  // Step 03 is keyed by location: "itemErrors" is the one member that is not (an array, not an object).
  if (!item_errors.Empty()) out.AddMember("itemErrors", item_errors, a);
  return out;
}

}  // namespace analyzer
