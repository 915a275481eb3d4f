// Steps 03 (sensor tick failures), 05 (code location load failures), 06 (schedule tick failures).
#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <optional>
#include <set>

#include "analyzer/collect/steps.hpp"

namespace analyzer {

using recorder::make_error;
using recorder::Result;

namespace {

constexpr int k_tick_page = 1000;  // servers cap tick queries at 1000
// How far past the oldest tick seen a continuation asks (`beforeTimestamp` is strict; Dagster keeps
// tick times to the microsecond): the ticks of that instant come again and are dropped by id.
constexpr double k_tick_overlap_seconds = 0.001;

rapidjson::Value tick_json(const rapidjson::Value& tick, Allocator& a) {
  rapidjson::Value out(rapidjson::kObjectType);
  out.AddMember("tickId", string_value(recorder::get_string(tick, "tickId").value_or(""), a), a);
  out.AddMember("timestamp", number_or(tick, "timestamp", 0), a);
  out.AddMember("endTimestamp", nullable_number(tick, "endTimestamp"), a);
  const auto* error = recorder::get_object(tick, "error");
  out.AddMember("error", string_value(error ? python_error_text(*error) : "", a), a);
  out.AddMember("errorClass", string_value(error ? recorder::get_string(*error, "className").value_or("") : "", a), a);
  out.AddMember("errorChainTop", string_value(error ? error_chain_top(*error) : "", a), a);
  return out;
}

// Every failed tick of one instigator in the window: the page from the workspace query, continued
// with InstigatorTicks while pages come back full. A continuation that fails keeps the ticks read so
// far and says why the rest is missing (`error`): one instigator's history is not the step's.
struct TickHistory {
  std::vector<const rapidjson::Value*> ticks;
  std::optional<std::string> error;
  double oldest_asked = 0;  // the oldest tick time of the page last continued
};

TickHistory all_ticks(StepContext& context, const rapidjson::Value& state, const std::string& location,
                      const std::string& repository, const std::string& name, std::deque<rapidjson::Document>& keep) {
  TickHistory history;
  std::set<std::string> seen;  // tick ids: a continuation repeats the ticks at the page's oldest time
  const auto* page = recorder::get_array(state, "ticks");
  while (page) {
    double oldest = context.end;
    std::size_t added = 0;
    for (const auto& tick : page->GetArray()) {
      auto id = recorder::get_string(tick, "tickId").value_or(recorder::get_string(tick, "id").value_or(""));
      if (!id.empty() && !seen.insert(id).second) continue;
      history.ticks.push_back(&tick);
      ++added;
      oldest = std::min(oldest, number_or(tick, "timestamp", context.end));
    }
    if (static_cast<int>(page->Size()) < k_tick_page) break;
    // A full page of ticks already seen (a server that ignores `before`, or more than a page of
    // ticks at one instant) would come back forever.
    if (added == 0) {
      history.error = fmt::format("InstigatorTicks: {}: paging does not advance past tick time {}", name,
                                  keep.empty() ? oldest : history.oldest_asked);
      return history;
    }
    // `beforeTimestamp` is strict: asking before the oldest tick seen would lose another tick of that
    // same instant on the next page. Ask a millisecond past it; the repeats are dropped above.
    history.oldest_asked = oldest;
    rapidjson::Document vars(rapidjson::kObjectType);
    auto& a = vars.GetAllocator();
    rapidjson::Value selector(rapidjson::kObjectType);
    selector.AddMember("repositoryLocationName", string_value(location, a), a);
    selector.AddMember("repositoryName", string_value(repository, a), a);
    selector.AddMember("name", string_value(name, a), a);
    vars.AddMember("selector", selector, a);
    vars.AddMember("after", context.start, a);
    vars.AddMember("before", oldest + k_tick_overlap_seconds, a);
    vars.AddMember("limit", k_tick_page, a);
    auto data = context.client.query("InstigatorTicks", vars);
    if (!data) {
      history.error = data.error().message;
      return history;
    }
    keep.push_back(std::move(*data));
    const auto* result = recorder::get_object(keep.back(), "instigationStateOrError");
    if (!result) {
      history.error = "InstigatorTicks: instigationStateOrError is missing";
      return history;
    }
    if (auto ok = check_union(*result, "InstigatorTicks", "InstigationState"); !ok) {
      history.error = ok.error().message;
      return history;
    }
    page = recorder::get_array(*result, "ticks");
  }
  return history;
}

struct Instigator {
  std::string location;
  std::string repository;
  std::string name;
  const rapidjson::Value* state;
};

// Sensors (kind "sensor") or schedules ("schedule") of every loaded location.
Result<std::vector<Instigator>> instigators(StepContext& context, bool sensors) {
  const auto& data = context.workspace->get();
  if (!data) return data.error();
  const auto* workspace = recorder::get_object(*data, "workspaceOrError");
  if (!workspace) return make_error("AllInstigatorTicks: workspaceOrError is missing");
  if (auto ok = check_union(*workspace, "AllInstigatorTicks", "Workspace"); !ok) return ok.error();
  std::vector<Instigator> out;
  const auto* entries = recorder::get_array(*workspace, "locationEntries");
  if (!entries) return out;
  for (const auto& entry : entries->GetArray()) {
    const auto* location = recorder::get_object(entry, "locationOrLoadError");
    if (!location || recorder::get_string(*location, "__typename") != "RepositoryLocation") continue;
    auto location_name = recorder::get_string(entry, "name").value_or("");
    const auto* repositories = recorder::get_array(*location, "repositories");
    if (!repositories) continue;
    for (const auto& repository : repositories->GetArray()) {
      auto repository_name = recorder::get_string(repository, "name").value_or("");
      const auto* list = recorder::get_array(repository, sensors ? "sensors" : "schedules");
      if (!list) continue;
      for (const auto& item : list->GetArray()) {
        const auto* state = recorder::get_object(item, sensors ? "sensorState" : "scheduleState");
        if (!state) continue;
        out.push_back({location_name, repository_name, recorder::get_string(item, "name").value_or(""), state});
      }
    }
  }
  std::sort(out.begin(), out.end(), [](const Instigator& x, const Instigator& y) {
    return std::tie(x.location, x.name, x.repository) < std::tie(y.location, y.name, y.repository);
  });
  return out;
}

// Oldest first; ticks of one instant by tick id, so the order never depends on the pages.
void sort_ticks(std::vector<const rapidjson::Value*>& ticks) {
  std::sort(ticks.begin(), ticks.end(), [](const rapidjson::Value* x, const rapidjson::Value* y) {
    auto key = [](const rapidjson::Value* tick) {
      return std::make_pair(number_or(*tick, "timestamp", 0), recorder::get_string(*tick, "tickId").value_or(""));
    };
    return key(x) < key(y);
  });
}

}  // namespace

StepResult step_sensor_ticks(StepContext& context) {
  auto list = instigators(context, true);
  if (!list) return list.error();
  rapidjson::Document out(rapidjson::kObjectType);
  auto& a = out.GetAllocator();
  std::deque<rapidjson::Document> keep;
  rapidjson::Value item_errors(rapidjson::kArrayType);
  for (const auto& sensor : *list) {
    auto history = all_ticks(context, *sensor.state, sensor.location, sensor.repository, sensor.name, keep);
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

StepResult step_schedule_ticks(StepContext& context) {
  auto list = instigators(context, false);
  if (!list) return list.error();
  rapidjson::Document out(rapidjson::kObjectType);
  auto& a = out.GetAllocator();
  rapidjson::Value failures(rapidjson::kObjectType);
  std::deque<rapidjson::Document> keep;
  rapidjson::Value item_errors(rapidjson::kArrayType);
  for (const auto& schedule : *list) {
    auto history = all_ticks(context, *schedule.state, schedule.location, schedule.repository, schedule.name, keep);
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

StepResult step_load_failures(StepContext& context) {
  auto data = context.client.query("CodeLocations");
  if (!data) return data.error();
  const auto* workspace = recorder::get_object(*data, "workspaceOrError");
  if (!workspace) return make_error("CodeLocations: workspaceOrError is missing");
  if (auto ok = check_union(*workspace, "CodeLocations", "Workspace"); !ok) return ok.error();
  rapidjson::Document out(rapidjson::kObjectType);
  auto& a = out.GetAllocator();
  rapidjson::Value failures(rapidjson::kArrayType);
  int total = 0;
  if (const auto* entries = recorder::get_array(*workspace, "locationEntries")) {
    for (const auto& entry : entries->GetArray()) {
      ++total;
      const auto* location = recorder::get_object(entry, "locationOrLoadError");
      if (!location || recorder::get_string(*location, "__typename") != "PythonError") continue;
      rapidjson::Value failure(rapidjson::kObjectType);
      failure.AddMember("location", string_value(recorder::get_string(entry, "name").value_or(""), a), a);
      failure.AddMember("loadStatus", string_value(recorder::get_string(entry, "loadStatus").value_or(""), a), a);
      failure.AddMember("updatedTimestamp", nullable_number(entry, "updatedTimestamp"), a);
      failure.AddMember("errorClass", string_value(recorder::get_string(*location, "className").value_or(""), a), a);
      failure.AddMember("error", string_value(python_error_text(*location), a), a);
      failure.AddMember("errorChainTop", string_value(error_chain_top(*location), a), a);
      failures.PushBack(failure, a);
    }
  }
  out.AddMember("locationCount", total, a);
  out.AddMember("loadFailures", failures, a);
  return out;
}

}  // namespace analyzer
