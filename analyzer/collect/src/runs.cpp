// The investigation commands' fetchers: one run (RunDetail), its re-execution chain (RunGroup), its
// event log (RunEvents, paged, filtered client-side) and run lists (RunsInWindow).
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <limits>
#include <tuple>
#include <vector>

#include "analyzer/collect/runs.hpp"
#include "recorder/base/text.hpp"
#include "collect_helpers.hpp"

namespace analyzer {

using recorder::make_error;
using recorder::Result;

namespace {

constexpr std::array<std::string_view, 55> k_event_types = {
    "STEP_OUTPUT", "STEP_INPUT", "STEP_FAILURE", "STEP_START", "STEP_SUCCESS", "STEP_SKIPPED",
    "STEP_WORKER_STARTING", "STEP_WORKER_STARTED", "RESOURCE_INIT_STARTED", "RESOURCE_INIT_SUCCESS",
    "RESOURCE_INIT_FAILURE", "STEP_UP_FOR_RETRY", "STEP_RESTARTED", "ASSET_MATERIALIZATION",
    "ASSET_MATERIALIZATION_PLANNED", "ASSET_FAILED_TO_MATERIALIZE", "ASSET_OBSERVATION", "STEP_EXPECTATION_RESULT",
    "ASSET_CHECK_EVALUATION_PLANNED", "ASSET_CHECK_EVALUATION", "ASSET_HEALTH_CHANGED", "ASSET_WIPED",
    "RUN_ENQUEUED", "RUN_DEQUEUED", "RUN_STARTING", "RUN_START", "RUN_SUCCESS", "RUN_FAILURE", "RUN_CANCELING",
    "RUN_CANCELED", "RUN_SUSPENDED", "RUN_RESUMED", "PIPELINE_ENQUEUED", "PIPELINE_DEQUEUED", "PIPELINE_STARTING",
    "PIPELINE_START", "PIPELINE_SUCCESS", "PIPELINE_FAILURE", "PIPELINE_CANCELING", "PIPELINE_CANCELED",
    "OBJECT_STORE_OPERATION", "ASSET_STORE_OPERATION", "LOADED_INPUT", "HANDLED_OUTPUT", "ENGINE_EVENT",
    "HOOK_COMPLETED", "HOOK_ERRORED", "HOOK_SKIPPED", "ALERT_START", "ALERT_SUCCESS", "ALERT_FAILURE",
    "LOGS_CAPTURED", "FRESHNESS_STATE_EVALUATION", "FRESHNESS_STATE_CHANGE", "CODE_LOCATION_UPDATED"};

constexpr std::array<std::string_view, 43> k_event_typenames = {
    "ExecutionStepFailureEvent", "ExecutionStepInputEvent", "ExecutionStepOutputEvent", "ExecutionStepSkippedEvent",
    "ExecutionStepStartEvent", "ExecutionStepSuccessEvent", "ExecutionStepUpForRetryEvent",
    "ExecutionStepRestartEvent", "HealthChangedEvent", "LogMessageEvent", "ResourceInitFailureEvent",
    "ResourceInitStartedEvent", "ResourceInitSuccessEvent", "RunFailureEvent", "RunStartEvent", "RunEnqueuedEvent",
    "RunDequeuedEvent", "RunStartingEvent", "RunCancelingEvent", "RunCanceledEvent", "RunSuspendedEvent",
    "RunResumedEvent", "RunSuccessEvent", "StepWorkerStartedEvent", "StepWorkerStartingEvent", "HandledOutputEvent",
    "LoadedInputEvent", "LogsCapturedEvent", "ObjectStoreOperationEvent", "StepExpectationResultEvent",
    "MaterializationEvent", "ObservationEvent", "FailedToMaterializeEvent", "EngineEvent", "HookCompletedEvent",
    "HookSkippedEvent", "HookErroredEvent", "AlertStartEvent", "AlertSuccessEvent", "AlertFailureEvent",
    "AssetMaterializationPlannedEvent", "AssetCheckEvaluationPlannedEvent", "AssetCheckEvaluationEvent"};

constexpr std::array<std::string_view, 5> k_levels = {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"};

constexpr std::array<std::string_view, 9> k_run_statuses = {"QUEUED",  "NOT_STARTED", "MANAGED",  "STARTING", "STARTED",
                                                            "SUCCESS", "FAILURE",     "CANCELING", "CANCELED"};

// The stored spelling of run events is PIPELINE_*, the enum's RUN_*: one name for both.
std::string normalize_event_type(std::string type) {
  if (type.starts_with("PIPELINE_")) type = "RUN_" + type.substr(9);
  return type;
}

int level_rank(std::string_view level) {
  auto found = std::find(k_levels.begin(), k_levels.end(), level);
  return found == k_levels.end() ? -1 : static_cast<int>(found - k_levels.begin());
}

RunEvent read_event(const rapidjson::Value& event) {
  RunEvent out;
  out.type_name = recorder::get_string(event, "__typename").value_or("");
  out.event_type = normalize_event_type(recorder::get_string(event, "eventType").value_or(""));
  out.level = recorder::get_string(event, "level").value_or("");
  out.step_key = recorder::get_string(event, "stepKey").value_or("");
  if (const auto* keys = recorder::get_array(event, "stepKeys"); keys && out.step_key.empty()) {
    for (const auto& key : keys->GetArray()) {
      if (!key.IsString()) continue;
      out.step_key += (out.step_key.empty() ? "" : ",") + std::string(key.GetString());
    }
  }
  out.message = recorder::get_string(event, "message").value_or("");
  out.timestamp_ms = recorder::get_string(event, "timestamp").value_or("");
  if (auto instant = recorder::parse_epoch_millis(out.timestamp_ms)) out.timestamp = recorder::to_epoch_seconds(*instant);
  if (const auto* error = recorder::get_object(event, "error")) {
    std::string text = python_error_text(*error);
    auto top = error_chain_top(*error);
    if (!top.empty()) text = top;  // the user's exception, not Dagster's wrapper around it
    if (auto newline = text.find('\n'); newline != std::string::npos) text.resize(newline);
    out.error = text;
  }
  return out;
}

rapidjson::Value nullable_string(const std::string& text, Allocator& a) {
  return text.empty() ? rapidjson::Value() : recorder::json_string(text, a);
}

}  // namespace

Result<std::set<std::string>> parse_event_types(const std::string& list) {
  std::set<std::string> types;
  std::size_t start = 0;
  while (start <= list.size()) {
    auto comma = list.find(',', start);
    auto name = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    start = comma == std::string::npos ? list.size() + 1 : comma + 1;
    if (name.empty()) continue;
    bool known = std::find(k_event_types.begin(), k_event_types.end(), name) != k_event_types.end() ||
                 std::find(k_event_typenames.begin(), k_event_typenames.end(), name) != k_event_typenames.end();
    if (!known) {
      std::vector<std::string_view> names(k_event_types.begin(), k_event_types.end());
      names.insert(names.end(), k_event_typenames.begin(), k_event_typenames.end());
      auto nearest = recorder::nearest_name(name, names);
      return make_error(fmt::format("unknown event type {}{} (a DagsterEventType such as STEP_FAILURE, or an event "
                                    "type name such as ExecutionStepFailureEvent)",
                                    recorder::quote(name),
                                    nearest.empty() ? "" : fmt::format("; did you mean {}?", recorder::quote(nearest))));
    }
    types.insert(name.find('_') != std::string::npos ? normalize_event_type(name) : name);
  }
  if (types.empty()) return make_error("no event type given");
  return types;
}

Result<std::string> parse_level(const std::string& level) {
  std::string upper = level;
  std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return std::toupper(c); });
  if (upper == "WARN") upper = "WARNING";
  if (level_rank(upper) < 0) {
    return make_error(fmt::format("\"{}\" is not a level (DEBUG, INFO, WARNING, ERROR, CRITICAL)", level));
  }
  return upper;
}

bool matches(const EventFilter& filter, const RunEvent& event) {
  if (!filter.types.empty() && !filter.types.contains(event.type_name) && !filter.types.contains(event.event_type)) {
    return false;
  }
  if (!filter.step_key.empty()) {
    // LogsCapturedEvent names several steps.
    bool found = event.step_key == filter.step_key;
    if (!found && event.step_key.find(',') != std::string::npos) {
      found = ("," + event.step_key + ",").find("," + filter.step_key + ",") != std::string::npos;
    }
    if (!found) return false;
  }
  if (!filter.min_level.empty() && level_rank(event.level) < level_rank(filter.min_level)) return false;
  return true;
}

bool is_run_status(const std::string& status) {
  return std::find(k_run_statuses.begin(), k_run_statuses.end(), status) != k_run_statuses.end();
}

namespace {

struct RawPage {
  std::vector<RunEvent> events;
  std::string cursor;
  bool has_more = false;
  bool not_found = false;
};

Result<RawPage> fetch_page(const DagsterClient& client, const std::string& run_id, const std::string& cursor,
                           int limit) {
  rapidjson::Document vars(rapidjson::kObjectType);
  auto& a = vars.GetAllocator();
  vars.AddMember("runId", recorder::json_string(run_id, a), a);
  vars.AddMember("afterCursor", nullable_string(cursor, a), a);
  // Above Dagster's maximum page, 1.11 and 1.12 refuse the query: ask for the maximum and page on.
  vars.AddMember("limit", std::min(limit, k_max_event_page), a);
  auto data = client.query("RunEvents", vars);
  if (!data) return make_error(fmt::format("run {}: {}", run_id, data.error().message));
  const auto* logs = recorder::get_object(*data, "logsForRun");
  if (!logs) return make_error(fmt::format("RunEvents: run {}: logsForRun is missing", run_id));
  RawPage page;
  if (recorder::get_string(*logs, "__typename").value_or("") == "RunNotFoundError") {
    page.not_found = true;
    return page;
  }
  if (auto ok = check_union(*logs, "RunEvents", "EventConnection"); !ok) {
    return make_error(fmt::format("run {}: {}", run_id, ok.error().message));
  }
  if (const auto* events = recorder::get_array(*logs, "events")) {
    for (const auto& event : events->GetArray()) page.events.push_back(read_event(event));
  }
  page.cursor = recorder::get_string(*logs, "cursor").value_or("");
  page.has_more = recorder::get_bool(*logs, "hasMore").value_or(false);
  return page;
}

}  // namespace

Result<EventPage> fetch_events(const DagsterClient& client, const std::string& run_id, const std::string& cursor,
                               const EventFilter& filter, int limit, int page_size) {
  EventPage out;
  std::string at = cursor;
  for (;;) {
    auto page = fetch_page(client, run_id, at, page_size);
    if (!page) return page.error();
    if (page->not_found) {
      out.not_found = true;
      return out;
    }
    for (std::size_t i = 0; i < page->events.size(); ++i) {
      ++out.scanned;
      if (!matches(filter, page->events[i])) continue;
      out.events.push_back(page->events[i]);
      if (limit <= 0 || static_cast<int>(out.events.size()) < limit) continue;
      if (i + 1 == page->events.size()) {
        out.cursor = page->cursor;
        out.complete = !page->has_more;
      } else {  // stopped inside a page: ask for exactly the events read to learn the cursor after them
        auto upto = fetch_page(client, run_id, at, static_cast<int>(i + 1));
        if (!upto) return upto.error();
        out.cursor = upto->cursor;
        out.complete = false;
      }
      return out;
    }
    out.cursor = page->cursor;
    if (!page->has_more) return out;
    if (page->cursor.empty() || page->cursor == at) {
      return make_error(fmt::format("RunEvents: run {}: hasMore without a new cursor", run_id));
    }
    at = page->cursor;
  }
}

namespace {

// `operation` (RunDetail, RunGroup) for `run_id`: the `field` object of its answer, copied out.
Result<rapidjson::Document> query_run_field(const DagsterClient& client, std::string_view operation, const char* field,
                                            const std::string& run_id) {
  rapidjson::Document vars(rapidjson::kObjectType);
  vars.AddMember("runId", recorder::json_string(run_id, vars.GetAllocator()), vars.GetAllocator());
  auto data = client.query(operation, vars);
  if (!data) return data.error();
  const auto* found = recorder::get_object(*data, field);
  if (!found) return make_error(fmt::format("{}: {} is missing", operation, field));
  rapidjson::Document out;
  out.CopyFrom(*found, out.GetAllocator());
  return out;
}

// The runs of `operation` (RunsInWindow, InFlightRuns) matching `query`, newest created first,
// paged by run id until `query.limit` rows or the end.
Result<std::vector<RunRowInfo>> page_runs(const DagsterClient& client, std::string_view operation,
                                          const RunsQuery& query, int page_size) {
  std::vector<RunRowInfo> rows;
  std::string cursor;
  int size = std::min(page_size, std::max(query.limit, 1));
  while (static_cast<int>(rows.size()) < query.limit) {
    rapidjson::Document vars(rapidjson::kObjectType);
    auto& a = vars.GetAllocator();
    rapidjson::Value filter(rapidjson::kObjectType);
    if (!query.statuses.empty()) {
      rapidjson::Value statuses(rapidjson::kArrayType);
      for (const auto& status : query.statuses) statuses.PushBack(recorder::json_string(status, a), a);
      filter.AddMember("statuses", statuses, a);
    }
    if (!query.job.empty()) filter.AddMember("pipelineName", recorder::json_string(query.job, a), a);
    if (query.updated_after) filter.AddMember("updatedAfter", *query.updated_after, a);
    vars.AddMember("filter", filter, a);
    vars.AddMember("cursor", nullable_string(cursor, a), a);
    vars.AddMember("limit", size, a);
    auto data = client.query(operation, vars);
    if (!data) return data.error();
    auto results = union_results(*data, operation, "runsOrError", "Runs");
    if (!results) return results.error();
    const std::string sent = cursor;
    for (const auto& run : (*results)->GetArray()) {
      RunRowInfo row = read_run_row(run);
      cursor = row.run_id;
      if (static_cast<int>(rows.size()) < query.limit) rows.push_back(std::move(row));
    }
    if (static_cast<int>((*results)->Size()) < size || cursor.empty()) break;
    if (cursor == sent) return make_error(fmt::format("{}: paging does not advance past run {}", operation, cursor));
  }
  return rows;
}

}  // namespace

Result<RunLookup> fetch_run(const DagsterClient& client, const std::string& run_id) {
  auto result = query_run_field(client, "RunDetail", "runOrError", run_id);
  if (!result) return result.error();
  RunLookup lookup;
  if (recorder::get_string(*result, "__typename").value_or("") == "RunNotFoundError") {
    lookup.not_found = true;
    return lookup;
  }
  if (auto ok = check_union(*result, "RunDetail", "Run"); !ok) return ok.error();
  RunInfo run;
  static_cast<RunRowInfo&>(run) = read_run_row(*result);
  run.run_id = recorder::get_string(*result, "runId").value_or(run_id);
  run.run_config_yaml = recorder::get_string(*result, "runConfigYaml").value_or("");
  if (const auto* stats = recorder::get_object(*result, "stats");
      stats && recorder::get_string(*stats, "__typename").value_or("") == "RunStatsSnapshot") {
    run.enqueued_time = number_or(*stats, "enqueuedTime", 0);
    if (auto n = recorder::get_number(*stats, "stepsSucceeded")) run.steps_succeeded = static_cast<int>(*n);
    if (auto n = recorder::get_number(*stats, "stepsFailed")) run.steps_failed = static_cast<int>(*n);
    if (auto n = recorder::get_number(*stats, "materializations")) run.materializations = static_cast<int>(*n);
  }
  if (auto found = result->FindMember("stepKeysToExecute"); found != result->MemberEnd()) {
    run.step_keys_known = true;
    if (found->value.IsArray()) {
      run.step_keys_to_execute.emplace();
      for (const auto& key : found->value.GetArray()) {
        if (key.IsString()) run.step_keys_to_execute->insert(key.GetString());
      }
    }
  }
  if (const auto* steps = recorder::get_array(*result, "stepStats")) {
    for (const auto& step : steps->GetArray()) {
      StepStat stat;
      stat.step_key = recorder::get_string(step, "stepKey").value_or("");
      stat.status = recorder::get_string(step, "status").value_or("");
      stat.start_time = number_or(step, "startTime", 0);
      stat.end_time = number_or(step, "endTime", 0);
      if (const auto* attempts = recorder::get_array(step, "attempts")) stat.attempts = static_cast<int>(attempts->Size());
      run.step_stats.push_back(std::move(stat));
    }
  }
  lookup.run = std::move(run);
  return lookup;
}

Result<std::vector<ChainRun>> fetch_run_group(const DagsterClient& client, const std::string& run_id) {
  auto group = query_run_field(client, "RunGroup", "runGroupOrError", run_id);
  if (!group) return group.error();
  if (auto ok = check_union(*group, "RunGroup", "RunGroup"); !ok) return ok.error();
  std::vector<ChainRun> chain;
  if (const auto* runs = recorder::get_array(*group, "runs")) {
    for (const auto& run : runs->GetArray()) {
      if (!run.IsObject()) continue;  // the list's elements are nullable
      ChainRun entry;
      static_cast<RunRowInfo&>(entry) = read_run_row(run);
      if (auto found = entry.tags.find("dagster/retry_number"); found != entry.tags.end()) {
        entry.retry_number = found->second;
      }
      chain.push_back(std::move(entry));
    }
  }
  // Oldest first: the root (no parent), then by start time (a retry starts after its parent ends).
  std::sort(chain.begin(), chain.end(), [](const ChainRun& x, const ChainRun& y) {
    auto key = [](const ChainRun& r) { return std::tuple(!r.parent_run_id.empty(), r.start_time, r.run_id); };
    return key(x) < key(y);
  });
  return chain;
}

Result<std::vector<RunRowInfo>> fetch_runs(const DagsterClient& client, const RunsQuery& query, int page_size) {
  return page_runs(client, "RunsInWindow", query, page_size);
}

Result<std::vector<RunRowInfo>> fetch_in_flight(const DagsterClient& client, int page_size) {
  RunsQuery query;
  query.statuses = {"STARTING", "STARTED", "CANCELING"};
  query.limit = std::numeric_limits<int>::max();  // every page
  return page_runs(client, "InFlightRuns", query, page_size);
}

}  // namespace analyzer
