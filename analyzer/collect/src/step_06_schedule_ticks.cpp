// Step 06: the failed ticks of every schedule in the window, by location/name.
#include <deque>

#include "collect_helpers.hpp"

namespace analyzer {

StepResult step_schedule_ticks(StepContext& context) {
  auto list = instigators(context, false);
  if (!list) return list.error();
  rapidjson::Document out(rapidjson::kObjectType);
  auto& a = out.GetAllocator();
  rapidjson::Value failures(rapidjson::kObjectType);
  std::deque<rapidjson::Document> keep;
  rapidjson::Value item_errors(rapidjson::kArrayType);
  for (const auto& schedule : *list) {
    auto history = all_ticks(context, schedule, keep);
    std::string name = schedule.location + "/" + schedule.name;
    if (history.error) item_errors.PushBack(item_error("schedule " + name, *history.error, a), a);
    if (history.ticks.empty()) continue;
    sort_ticks(history.ticks);
    rapidjson::Value items(rapidjson::kArrayType);
    for (const auto* tick : history.ticks) items.PushBack(tick_json(*tick, a), a);
    failures.AddMember(string_value(name, a), items, a);
  }
  out.AddMember("scheduleTickFailures", failures, a);
  if (!item_errors.Empty()) out.AddMember("itemErrors", item_errors, a);
  return out;
}

}  // namespace analyzer
