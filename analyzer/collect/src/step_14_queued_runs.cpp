// Step 14: the in-flight runs that are not simply running (queued, starting, canceling), each marked
// stuck when in its state too long, the started runs past their max runtime, and the run queue's limit.
#include <fmt/format.h>

#include <algorithm>

#include "collect_helpers.hpp"

namespace analyzer {

using recorder::make_error;

namespace {

// How long a run has been in its state, and whether that is too long.
struct Stuck {
  double since = 0;
  double limit = 0;  // 0 = no limit applies
  std::string reason;
};

Stuck stuck_state(const rapidjson::Value& run, const std::map<std::string, std::string>& tags, const Config& config) {
  auto status = recorder::get_string(run, "status").value_or("");
  const auto* stats = recorder::get_object(run, "stats");
  auto stat = [&](const char* key) { return stats ? number_or(*stats, key, 0) : 0.0; };
  Stuck stuck;
  if (status == "QUEUED" || status == "NOT_STARTED") {
    stuck.since = stat("enqueuedTime");
    if (stuck.since == 0) stuck.since = number_or(run, "updateTime", 0);
    stuck.limit = config.thresholds.stuck_queue_minutes * 60;
    stuck.reason = fmt::format("{} longer than {} minutes", status, config.thresholds.stuck_queue_minutes);
  } else if (status == "STARTING") {
    stuck.since = stat("launchTime");
    if (stuck.since == 0) stuck.since = number_or(run, "updateTime", 0);
    stuck.limit = config.thresholds.start_timeout_seconds;
    stuck.reason = fmt::format("STARTING longer than the start timeout ({} s)", config.thresholds.start_timeout_seconds);
  } else if (status == "CANCELING") {
    stuck.since = number_or(run, "updateTime", 0);
    stuck.limit = config.thresholds.cancel_timeout_seconds;
    stuck.reason = fmt::format("CANCELING longer than the cancel timeout ({} s)", config.thresholds.cancel_timeout_seconds);
  } else if (status == "STARTED") {
    stuck.since = number_or(run, "startTime", 0);
    auto max_runtime = tags.find("dagster/max_runtime");
    if (max_runtime == tags.end()) max_runtime = tags.find("dagster/max_runtime_seconds");
    if (max_runtime != tags.end()) {
      try {
        stuck.limit = std::stod(max_runtime->second);
      } catch (const std::exception&) {
        stuck.limit = 0;  // an unparsable tag sets no limit
      }
      stuck.reason = fmt::format("STARTED past its max runtime ({} s)", max_runtime->second);
    }
  }
  return stuck;
}

// The InFlightRuns variables of the page after `cursor` ("" = the first page).
rapidjson::Document in_flight_vars(const std::string& cursor, int page_size) {
  rapidjson::Document vars(rapidjson::kObjectType);
  auto& va = vars.GetAllocator();
  rapidjson::Value filter(rapidjson::kObjectType);
  rapidjson::Value statuses(rapidjson::kArrayType);
  for (const char* status : {"QUEUED", "NOT_STARTED", "STARTING", "STARTED", "CANCELING"}) {
    statuses.PushBack(rapidjson::StringRef(status), va);
  }
  filter.AddMember("statuses", statuses, va);
  vars.AddMember("filter", filter, va);
  vars.AddMember("limit", page_size, va);
  vars.AddMember("cursor", cursor.empty() ? rapidjson::Value() : recorder::json_string(cursor, va), va);
  return vars;
}

// The run queue's limit, from the instance's runQueueConfig (nothing when there is none).
void add_queue_config(const rapidjson::Value& data, rapidjson::Value& queue_config, Allocator& a) {
  if (const auto* instance = recorder::get_object(data, "instance")) {
    if (const auto* queue = recorder::get_object(*instance, "runQueueConfig")) {
      queue_config.AddMember("maxConcurrentRuns", nullable_number(*queue, "maxConcurrentRuns"), a);
    }
  }
}

rapidjson::Value in_flight_run_json(const rapidjson::Value& run, const std::string& run_id, const std::string& status,
                                    const Stuck& stuck, bool is_stuck, double end, Allocator& a) {
  rapidjson::Value item(rapidjson::kObjectType);
  item.AddMember("runId", string_value(run_id, a), a);
  item.AddMember("jobName", string_value(recorder::get_string(run, "jobName").value_or(""), a), a);
  const auto* origin = recorder::get_object(run, "repositoryOrigin");
  item.AddMember("location", string_value(origin ? recorder::get_string(*origin, "repositoryLocationName").value_or("") : "", a), a);
  item.AddMember("status", string_value(status, a), a);
  item.AddMember("since", stuck.since > 0 ? rapidjson::Value(stuck.since) : rapidjson::Value(), a);
  item.AddMember("ageSeconds", stuck.since > 0 ? rapidjson::Value(end - stuck.since) : rapidjson::Value(), a);
  item.AddMember("stuck", is_stuck, a);
  item.AddMember("reason", is_stuck ? string_value(stuck.reason, a) : rapidjson::Value(), a);
  return item;
}

}  // namespace

StepResult step_queued_runs(StepContext& context) {
  rapidjson::Document out(rapidjson::kObjectType);
  auto& a = out.GetAllocator();
  rapidjson::Value runs(rapidjson::kArrayType);
  int stuck_count = 0;
  std::string cursor;
  rapidjson::Value queue_config(rapidjson::kObjectType);
  for (;;) {
    auto vars = in_flight_vars(cursor, context.config.page_size);
    auto data = context.client.query("InFlightRuns", vars);
    if (!data) return data.error();
    auto found = union_results(*data, "InFlightRuns", "runsOrError", "Runs");
    if (!found) return found.error();
    const auto* results = *found;
    if (cursor.empty()) add_queue_config(*data, queue_config, a);
    const std::string sent = cursor;
    for (const auto& run : results->GetArray()) {
      cursor = recorder::get_string(run, "runId").value_or("");
      auto tags = read_tags(run);
      auto stuck = stuck_state(run, tags, context.config);
      auto status = recorder::get_string(run, "status").value_or("");
      bool is_stuck = stuck.limit > 0 && stuck.since > 0 && context.end - stuck.since > stuck.limit;
      if (status == "STARTED" && !is_stuck) continue;  // running normally: not a queue problem
      if (is_stuck) ++stuck_count;
      runs.PushBack(in_flight_run_json(run, cursor, status, stuck, is_stuck, context.end, a), a);
    }
    if (static_cast<int>(results->Size()) < context.config.page_size || cursor.empty()) break;
    // A server that ignores the cursor would send the same full page forever.
    if (cursor == sent) return make_error(fmt::format("InFlightRuns: paging does not advance past run {}", cursor));
  }
  std::sort(runs.Begin(), runs.End(), [](const rapidjson::Value& x, const rapidjson::Value& y) {
    return std::string_view(x["runId"].GetString()) < std::string_view(y["runId"].GetString());
  });
  out.AddMember("runs", runs, a);
  out.AddMember("stuckCount", stuck_count, a);
  out.AddMember("queueConfig", queue_config, a);
  return out;
}

}  // namespace analyzer
