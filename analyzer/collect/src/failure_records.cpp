// A failed run's FailureRecord, for step 01 and the investigation of one run: its row, its event log
// folded into evidence (read_run_events) and its JSON form (failure_to_json).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>
#include <tuple>

#include "collect_helpers.hpp"

namespace analyzer {

using recorder::make_error;
using recorder::Result;

namespace {

std::vector<ErrorLink> read_chain(const rapidjson::Value& error) {
  std::vector<ErrorLink> chain;
  const auto* links = recorder::get_array(error, "errorChain");
  if (!links) return chain;
  for (const auto& link : links->GetArray()) {
    const auto* inner = recorder::get_object(link, "error");
    if (!inner) continue;
    chain.push_back(ErrorLink{recorder::get_string(*inner, "className").value_or(""), python_error_text(*inner),
                              recorder::get_bool(link, "isExplicitLink").value_or(false)});
  }
  return chain;
}

void add_unique(std::vector<std::string>& list, std::string value) {
  if (value.empty() || std::find(list.begin(), list.end(), value) != list.end()) return;
  list.push_back(std::move(value));
}

// The span of `step_key` in `spans`, added when new.
StepSpan& span_of(std::vector<StepSpan>& spans, const std::string& step_key) {
  for (auto& span : spans) {
    if (span.step_key == step_key) return span;
  }
  spans.push_back(StepSpan{step_key, std::nullopt, std::nullopt, "STARTED"});
  return spans.back();
}

// A MessageEvent's timestamp: a string of epoch milliseconds.
std::optional<double> event_seconds(const rapidjson::Value& event) {
  auto text = recorder::get_string(event, "timestamp");
  if (!text || text->empty()) return std::nullopt;
  char* end = nullptr;
  double ms = std::strtod(text->c_str(), &end);
  if (end == text->c_str() || *end != '\0' || !std::isfinite(ms) || ms < 0) return std::nullopt;
  return ms / 1000.0;
}

// Folds a STEP_* event into the step's span.
void step_event(const rapidjson::Value& event, const std::string& step_key, const std::string& event_type,
                FailureRecord& record) {
  static const std::map<std::string, std::string, std::less<>> k_outcomes = {
      {"STEP_SUCCESS", "SUCCESS"}, {"STEP_FAILURE", "FAILURE"}, {"STEP_SKIPPED", "SKIPPED"}, {"STEP_UP_FOR_RETRY", "UP_FOR_RETRY"}};
  bool start = event_type == "STEP_START";
  auto outcome = k_outcomes.find(event_type);
  if (step_key.empty()) return;
  if (!start && outcome == k_outcomes.end()) {  // a step Dagster did not execute: SKIPPED at its message
    if (!event_type.empty()) return;  // that message has no event type
    auto message = recorder::get_string(event, "message").value_or("");
    if (not_executed_reason(step_key, event_type, message).empty()) return;
    outcome = k_outcomes.find("STEP_SKIPPED");
  }
  StepSpan& span = span_of(record.step_spans, step_key);
  auto at = event_seconds(event);
  if (start) {
    if (!span.start || (at && *at < *span.start)) span.start = at;
    if (span.status == "UP_FOR_RETRY") span.status = "STARTED";
  } else {
    if (at && (!span.end || *at >= *span.end)) span.end = at;
    span.status = outcome->second;
  }
}

// Tracks step lifecycles: a step started and not finished was in progress when the log ended.
void track_lifecycle(const std::string& step_key, const std::string& event_type, std::set<std::string>& started,
                     std::set<std::string>& finished) {
  if (event_type == "STEP_START") started.insert(step_key);
  if (event_type == "STEP_SUCCESS" || event_type == "STEP_FAILURE" || event_type == "STEP_SKIPPED") {
    finished.insert(step_key);
  }
}

// The events that carry a step's (or its resources' or hooks') error.
bool is_step_error_event(std::string_view type) {
  return type == "ExecutionStepFailureEvent" || type == "ExecutionStepUpForRetryEvent" ||
         type == "ResourceInitFailureEvent" || type == "HookErroredEvent";
}

StepError step_error_of(const rapidjson::Value& event, const std::string& type, const std::string& step_key,
                        const std::string& message, const rapidjson::Value* error) {
  StepError step_error;
  step_error.step_key = step_key;
  step_error.event_type = type;
  step_error.message = message;
  step_error.error_source = recorder::get_string(event, "errorSource").value_or("");
  if (error) {
    step_error.error_class = recorder::get_string(*error, "className").value_or("");
    step_error.error_message = python_error_text(*error);
    step_error.cause_chain = read_chain(*error);
  }
  return step_error;
}

// A LogsCapturedEvent: the steps whose output was captured, and the file that holds it.
void read_logs_captured(const rapidjson::Value& event, FailureRecord& record) {
  LogFile file{recorder::get_string(event, "fileKey").value_or(""), {}};
  if (const auto* keys = recorder::get_array(event, "stepKeys")) {
    for (const auto& key : keys->GetArray()) {
      if (!key.IsString()) continue;
      add_unique(record.logs_captured_steps, key.GetString());
      file.step_keys.emplace_back(key.GetString(), key.GetStringLength());
    }
  }
  if (!file.file_key.empty()) record.log_files.push_back(std::move(file));
}

// Folds one event of RunEvents into the record; `started`/`finished` track step lifecycles.
void read_event(const rapidjson::Value& event, FailureRecord& record, std::set<std::string>& started,
                std::set<std::string>& finished) {
  auto type = recorder::get_string(event, "__typename").value_or("");
  auto message = recorder::get_string(event, "message").value_or("");
  auto step_key = recorder::get_string(event, "stepKey").value_or("");
  auto event_type = recorder::get_string(event, "eventType").value_or("");
  const auto* error = recorder::get_object(event, "error");
  step_event(event, step_key, event_type, record);
  track_lifecycle(step_key, event_type, started, finished);

  if (type == "RunFailureEvent") {
    record.run_failure_message = message;
    if (error) {
      record.run_failure_error_class = recorder::get_string(*error, "className").value_or("");
      record.run_failure_error_message = python_error_text(*error);
    }
  } else if (is_step_error_event(type)) {
    record.step_errors.push_back(step_error_of(event, type, step_key, message, error));
  } else if (type == "EngineEvent") {
    std::string text = message;
    if (error) text += "\n" + python_error_text(*error);
    record.engine_events.push_back(std::move(text));
  } else if (type == "LogsCapturedEvent") {
    read_logs_captured(event, record);
  } else if (type == "AssetMaterializationPlannedEvent") {
    add_unique(record.planned_materializations, join_path(recorder::get_object(event, "assetKey")));
  } else if (type == "MaterializationEvent") {
    add_unique(record.materializations, join_path(recorder::get_object(event, "assetKey")));
  }
}

}  // namespace

FailureRecord failure_record(const RunRow& run) {
  FailureRecord record;
  record.run_id = run.run_id;
  record.job_name = run.job_name;
  record.location = run.location;
  record.repository = run.repository;
  record.status = run.status;
  record.start_time = run.start_time;
  record.end_time = run.end_time;
  record.update_time = run.update_time;
  record.tags = run.tags;
  record.parent_run_id = run.parent_run_id;
  record.root_run_id = run.root_run_id;
  return record;
}

Result<void> read_run_events(const DagsterClient& client, int page_size, FailureRecord& record) {
  std::string cursor;
  std::set<std::string> started;
  std::set<std::string> finished;
  for (;;) {
    rapidjson::Document vars(rapidjson::kObjectType);
    auto& a = vars.GetAllocator();
    vars.AddMember("runId", recorder::json_string(record.run_id, a), a);
    if (cursor.empty()) vars.AddMember("afterCursor", rapidjson::Value(), a);
    else vars.AddMember("afterCursor", recorder::json_string(cursor, a), a);
    vars.AddMember("limit", page_size, a);

    auto data = client.query("RunEvents", vars);
    if (!data) return make_error(fmt::format("run {}: {}", record.run_id, data.error().message));
    const auto* logs = recorder::get_object(*data, "logsForRun");
    if (!logs) return make_error(fmt::format("RunEvents: run {}: logsForRun is missing", record.run_id));
    if (auto ok = check_union(*logs, "RunEvents", "EventConnection"); !ok) {
      return make_error(fmt::format("run {}: {}", record.run_id, ok.error().message));
    }
    if (const auto* events = recorder::get_array(*logs, "events")) {
      for (const auto& event : events->GetArray()) read_event(event, record, started, finished);
    }
    auto next = recorder::get_string(*logs, "cursor").value_or("");
    bool more = recorder::get_bool(*logs, "hasMore").value_or(false);
    if (!more) break;
    if (next.empty() || next == cursor) {
      return make_error(fmt::format("RunEvents: run {}: hasMore without a new cursor", record.run_id));
    }
    cursor = next;
  }
  for (const auto& step : started) {
    if (!finished.contains(step)) record.in_progress_steps.push_back(step);
  }
  std::sort(record.step_spans.begin(), record.step_spans.end(), [](const StepSpan& a, const StepSpan& b) {
    return std::make_tuple(a.start.value_or(1e18), a.step_key) < std::make_tuple(b.start.value_or(1e18), b.step_key);
  });
  std::sort(record.logs_captured_steps.begin(), record.logs_captured_steps.end());
  std::sort(record.planned_materializations.begin(), record.planned_materializations.end());
  std::sort(record.materializations.begin(), record.materializations.end());
  return {};
}

namespace {

rapidjson::Value string_list(const std::vector<std::string>& list, Allocator& a) {
  rapidjson::Value out(rapidjson::kArrayType);
  for (const auto& item : list) out.PushBack(string_value(item, a), a);
  return out;
}

rapidjson::Value tag_or_null(const FailureRecord& record, const char* key, Allocator& a) {
  auto found = record.tags.find(key);
  return found == record.tags.end() ? rapidjson::Value() : string_value(found->second, a);
}

// Dagster's framework exceptions that wrap a user exception carried in the cause chain.
bool is_wrapper_error(std::string_view class_name) {
  return class_name == "DagsterExecutionStepExecutionError" || class_name == "DagsterUserCodeExecutionError" ||
         class_name == "SensorExecutionError" || class_name == "ScheduleExecutionError" ||
         class_name == "DagsterExecutionLoadInputError" || class_name == "DagsterExecutionHandleOutputError" ||
         class_name == "DagsterResourceFunctionError";
}

rapidjson::Value step_error_json(const StepError& error, Allocator& a) {
  rapidjson::Value out(rapidjson::kObjectType);
  out.AddMember("stepKey", string_value(error.step_key, a), a);
  out.AddMember("eventType", string_value(error.event_type, a), a);
  out.AddMember("message", string_value(error.message, a), a);
  out.AddMember("errorClass", string_value(error.error_class, a), a);
  out.AddMember("errorMessage", string_value(error.error_message, a), a);
  out.AddMember("errorSource", string_value(error.error_source, a), a);
  rapidjson::Value chain(rapidjson::kArrayType);
  for (const auto& link : error.cause_chain) {
    rapidjson::Value item(rapidjson::kObjectType);
    item.AddMember("className", string_value(link.class_name, a), a);
    item.AddMember("message", string_value(link.message, a), a);
    item.AddMember("isExplicitLink", link.explicit_link, a);
    chain.PushBack(item, a);
  }
  out.AddMember("causeChain", chain, a);
  return out;
}

// The error class a reader looks at first: the first failed step's (the user's exception, not
// Dagster's wrapper around it), else the run error's.
std::string headline_error_class(const FailureRecord& record) {
  std::string error_class = record.run_failure_error_class;
  for (const auto& error : record.step_errors) {
    if (error.error_class.empty()) continue;
    error_class = error.error_class;
    if (is_wrapper_error(error_class) && !error.cause_chain.empty() && !error.cause_chain.front().class_name.empty()) {
      error_class = error.cause_chain.front().class_name;
    }
    break;
  }
  return error_class;
}

// The planned materializations that did not happen (both lists are sorted).
std::vector<std::string> unmaterialized_assets(const FailureRecord& record) {
  std::vector<std::string> missing;
  for (const auto& planned : record.planned_materializations) {
    if (!std::binary_search(record.materializations.begin(), record.materializations.end(), planned)) {
      missing.push_back(planned);
    }
  }
  return missing;
}

rapidjson::Value step_spans_json(const std::vector<StepSpan>& step_spans, Allocator& a) {
  rapidjson::Value spans(rapidjson::kArrayType);
  for (const auto& span : step_spans) {
    rapidjson::Value item(rapidjson::kObjectType);
    item.AddMember("stepKey", string_value(span.step_key, a), a);
    item.AddMember("startTime", span.start ? rapidjson::Value(*span.start) : rapidjson::Value(), a);
    item.AddMember("endTime", span.end ? rapidjson::Value(*span.end) : rapidjson::Value(), a);
    item.AddMember("status", string_value(span.status, a), a);
    spans.PushBack(item, a);
  }
  return spans;
}

rapidjson::Value captured_log_json(const CapturedLog& log, Allocator& a) {
  rapidjson::Value captured(rapidjson::kObjectType);
  captured.AddMember("stepKey", string_value(log.step_key, a), a);
  captured.AddMember("fileKey", string_value(log.file_key, a), a);
  if (!log.error.empty()) {
    captured.AddMember("error", string_value(log.error, a), a);
  } else {
    captured.AddMember("stream", log.stream.empty() ? rapidjson::Value() : string_value(log.stream, a), a);
    captured.AddMember("totalLines", log.total_lines, a);
    captured.AddMember("lines", string_list(log.lines, a), a);
  }
  return captured;
}

}  // namespace

rapidjson::Value failure_to_json(const FailureRecord& record, Allocator& a) {
  rapidjson::Value out(rapidjson::kObjectType);
  out.AddMember("runId", string_value(record.run_id, a), a);
  out.AddMember("jobName", string_value(record.job_name, a), a);
  out.AddMember("location", string_value(record.location, a), a);
  out.AddMember("repository", string_value(record.repository, a), a);
  out.AddMember("status", string_value(record.status, a), a);
  out.AddMember("startTime", record.start_time > 0 ? rapidjson::Value(record.start_time) : rapidjson::Value(), a);
  out.AddMember("endTime", record.end_time > 0 ? rapidjson::Value(record.end_time) : rapidjson::Value(), a);
  out.AddMember("updateTime", record.update_time > 0 ? rapidjson::Value(record.update_time) : rapidjson::Value(), a);
  rapidjson::Value tags(rapidjson::kObjectType);
  for (const auto& [key, value] : record.tags) tags.AddMember(string_value(key, a), string_value(value, a), a);
  out.AddMember("tags", tags, a);
  out.AddMember("parentRunId", record.parent_run_id.empty() ? rapidjson::Value() : string_value(record.parent_run_id, a), a);
  out.AddMember("rootRunId", record.root_run_id.empty() ? rapidjson::Value() : string_value(record.root_run_id, a), a);
  out.AddMember("retryNumber", tag_or_null(record, "dagster/retry_number", a), a);
  out.AddMember("willRetry", tag_or_null(record, "dagster/will_retry", a), a);
  out.AddMember("autoRetryRunId", tag_or_null(record, "dagster/auto_retry_run_id", a), a);
  out.AddMember("maxRuntime", tag_or_null(record, "dagster/max_runtime", a), a);
  out.AddMember("failureReason", tag_or_null(record, "dagster/failure_reason", a), a);
  out.AddMember("runFailureMessage", string_value(record.run_failure_message, a), a);
  out.AddMember("runFailureErrorClass", string_value(record.run_failure_error_class, a), a);
  out.AddMember("runFailureErrorMessage", string_value(record.run_failure_error_message, a), a);
  out.AddMember("errorClass", string_value(headline_error_class(record), a), a);
  rapidjson::Value step_errors(rapidjson::kArrayType);
  for (const auto& error : record.step_errors) step_errors.PushBack(step_error_json(error, a), a);
  out.AddMember("stepErrors", step_errors, a);
  out.AddMember("engineEvents", string_list(record.engine_events, a), a);
  out.AddMember("logsCapturedSteps", string_list(record.logs_captured_steps, a), a);
  out.AddMember("plannedMaterializations", string_list(record.planned_materializations, a), a);
  out.AddMember("materializations", string_list(record.materializations, a), a);
  out.AddMember("unmaterializedAssets", string_list(unmaterialized_assets(record), a), a);
  out.AddMember("inProgressSteps", string_list(record.in_progress_steps, a), a);
  out.AddMember("steps", step_spans_json(record.step_spans, a), a);
  if (const auto& log = record.captured_log) out.AddMember("capturedLog", captured_log_json(*log, a), a);
  return out;
}

}  // namespace analyzer
