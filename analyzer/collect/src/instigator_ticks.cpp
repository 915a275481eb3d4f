// The sensors and schedules of the workspace and their failed ticks in the window, for steps 03
// (sensor ticks) and 06 (schedule ticks).
#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <tuple>

#include "collect_helpers.hpp"

namespace analyzer {

using recorder::make_error;
using recorder::Result;

namespace {

constexpr int k_tick_page = 1000;  // servers cap tick queries at 1000
// How far past the oldest tick seen a continuation asks (`beforeTimestamp` is strict; Dagster keeps
// tick times to the microsecond): the ticks of that instant come again and are dropped by id.
constexpr double k_tick_overlap_seconds = 0.001;

}  // namespace

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

TickHistory all_ticks(StepContext& context, const Instigator& instigator, std::deque<rapidjson::Document>& keep) {
  TickHistory history;
  std::set<std::string> seen;  // tick ids: a continuation repeats the ticks at the page's oldest time
  const auto* page = recorder::get_array(*instigator.state, "ticks");
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
      history.error = fmt::format("InstigatorTicks: {}: paging does not advance past tick time {}", instigator.name,
                                  keep.empty() ? oldest : history.oldest_asked);
      return history;
    }
    // `beforeTimestamp` is strict: asking before the oldest tick seen would lose another tick of that
    // same instant on the next page. Ask a millisecond past it; the repeats are dropped above.
    history.oldest_asked = oldest;
    rapidjson::Document vars(rapidjson::kObjectType);
    auto& a = vars.GetAllocator();
    rapidjson::Value selector(rapidjson::kObjectType);
    selector.AddMember("repositoryLocationName", string_value(instigator.location, a), a);
    selector.AddMember("repositoryName", string_value(instigator.repository, a), a);
    selector.AddMember("name", string_value(instigator.name, a), a);
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

void sort_ticks(std::vector<const rapidjson::Value*>& ticks) {
  std::sort(ticks.begin(), ticks.end(), [](const rapidjson::Value* x, const rapidjson::Value* y) {
    auto key = [](const rapidjson::Value* tick) {
      return std::make_pair(number_or(*tick, "timestamp", 0), recorder::get_string(*tick, "tickId").value_or(""));
    };
    return key(x) < key(y);
  });
}

}  // namespace analyzer
