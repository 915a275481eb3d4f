// Steps 01 (failed runs, each with the evidence a classifier needs) and 02 (retries).
#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <tuple>
#include <map>
#include <cstdlib>
#include <cmath>

#include "recorder/base/log.hpp"
#include "recorder/redact.hpp"
#include "recorder/base/secrets.hpp"
#include "recorder/base/text.hpp"
#include "analyzer/collect/steps.hpp"

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

// Folds one event of RunEvents into the record; `started`/`finished` track step lifecycles.
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
  if (step_key.empty() || (!start && outcome == k_outcomes.end())) return;
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

void read_event(const rapidjson::Value& event, FailureRecord& record, std::set<std::string>& started,
                std::set<std::string>& finished) {
  auto type = recorder::get_string(event, "__typename").value_or("");
  auto message = recorder::get_string(event, "message").value_or("");
  auto step_key = recorder::get_string(event, "stepKey").value_or("");
  auto event_type = recorder::get_string(event, "eventType").value_or("");
  const auto* error = recorder::get_object(event, "error");
  step_event(event, step_key, event_type, record);

  if (event_type == "STEP_START") started.insert(step_key);
  if (event_type == "STEP_SUCCESS" || event_type == "STEP_FAILURE" || event_type == "STEP_SKIPPED") {
    finished.insert(step_key);
  }

  if (type == "RunFailureEvent") {
    record.run_failure_message = message;
    if (error) {
      record.run_failure_error_class = recorder::get_string(*error, "className").value_or("");
      record.run_failure_error_message = python_error_text(*error);
    }
  } else if (type == "ExecutionStepFailureEvent" || type == "ExecutionStepUpForRetryEvent" ||
             type == "ResourceInitFailureEvent" || type == "HookErroredEvent") {
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
    record.step_errors.push_back(std::move(step_error));
  } else if (type == "EngineEvent") {
    std::string text = message;
    if (error) text += "\n" + python_error_text(*error);
    record.engine_events.push_back(std::move(text));
  } else if (type == "LogsCapturedEvent") {
    LogFile file{recorder::get_string(event, "fileKey").value_or(""), {}};
    if (const auto* keys = recorder::get_array(event, "stepKeys")) {
      for (const auto& key : keys->GetArray()) {
        if (!key.IsString()) continue;
        add_unique(record.logs_captured_steps, key.GetString());
        file.step_keys.emplace_back(key.GetString(), key.GetStringLength());
      }
    }
    if (!file.file_key.empty()) record.log_files.push_back(std::move(file));
  } else if (type == "AssetMaterializationPlannedEvent") {
    add_unique(record.planned_materializations, join_path(recorder::get_object(event, "assetKey")));
  } else if (type == "MaterializationEvent") {
    add_unique(record.materializations, join_path(recorder::get_object(event, "assetKey")));
  }
}

}  // namespace

RunRow read_run_row(const rapidjson::Value& run) {
  RunRow row;
  row.run_id = recorder::get_string(run, "runId").value_or("");
  row.job_name = recorder::get_string(run, "jobName").value_or("");
  row.status = recorder::get_string(run, "status").value_or("");
  row.start_time = number_or(run, "startTime", 0);
  row.end_time = number_or(run, "endTime", 0);
  row.update_time = number_or(run, "updateTime", 0);
  row.parent_run_id = recorder::get_string(run, "parentRunId").value_or("");
  row.root_run_id = recorder::get_string(run, "rootRunId").value_or("");
  if (const auto* origin = recorder::get_object(run, "repositoryOrigin")) {
    row.location = recorder::get_string(*origin, "repositoryLocationName").value_or("");
    row.repository = recorder::get_string(*origin, "repositoryName").value_or("");
  }
  if (const auto* stats = recorder::get_object(run, "stats")) row.launch_time = number_or(*stats, "launchTime", 0);
  row.tags = read_tags(run);
  return row;
}

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

Result<const rapidjson::Value*> union_results(const rapidjson::Value& data, std::string_view operation,
                                              const char* field, std::string_view type_name) {
  const auto* result = recorder::get_object(data, field);
  if (!result) return make_error(fmt::format("{}: {} is missing", operation, field));
  if (auto ok = check_union(*result, operation, type_name); !ok) return ok.error();
  const auto* results = recorder::get_array(*result, "results");
  if (!results) return make_error(fmt::format("{}: results is missing", operation));
  return results;
}

Result<std::vector<RunRow>> fetch_runs_in_window(const StepContext& context) {
  std::vector<RunRow> rows;
  std::string cursor;
  for (int page = 0;; ++page) {
    rapidjson::Document vars(rapidjson::kObjectType);
    auto& a = vars.GetAllocator();
    rapidjson::Value filter(rapidjson::kObjectType);
    rapidjson::Value statuses(rapidjson::kArrayType);
    for (const char* status : {"FAILURE", "SUCCESS", "CANCELED"}) statuses.PushBack(rapidjson::StringRef(status), a);
    filter.AddMember("statuses", statuses, a);
    // A run that ended in the window was last updated at or after its end; end-time is filtered
    // client-side (tags added after a failure bump updateTime, so no updatedBefore).
    filter.AddMember("updatedAfter", context.start, a);
    filter.AddMember("createdBefore", context.end, a);
    vars.AddMember("filter", filter, a);
    vars.AddMember("limit", context.config.page_size, a);
    if (cursor.empty()) vars.AddMember("cursor", rapidjson::Value(), a);
    else vars.AddMember("cursor", recorder::json_string(cursor, a), a);

    auto data = context.client.query("RunsInWindow", vars);
    if (!data) return data.error();
    auto found = union_results(*data, "RunsInWindow", "runsOrError", "Runs");
    if (!found) return found.error();
    const auto* results = *found;
    const std::string sent = cursor;
    for (const auto& run : results->GetArray()) {
      RunRow row = read_run_row(run);
      if (row.end_time >= context.start && row.end_time <= context.end) rows.push_back(std::move(row));
      cursor = recorder::get_string(run, "runId").value_or("");
    }
    if (static_cast<int>(results->Size()) < context.config.page_size || cursor.empty()) break;
    // A server that ignores the cursor would send the same full page forever.
    if (cursor == sent) return make_error(fmt::format("RunsInWindow: paging does not advance past run {}", cursor));
  }
  std::sort(rows.begin(), rows.end(), [](const RunRow& x, const RunRow& y) {
    return std::tie(x.end_time, x.run_id) < std::tie(y.end_time, y.run_id);
  });
  rows.erase(std::unique(rows.begin(), rows.end(),
                         [](const RunRow& x, const RunRow& y) { return x.run_id == y.run_id; }),
             rows.end());
  return rows;
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

bool blank(std::string_view text) {
  return text.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

// The last file whose LogsCapturedEvent names `step_key` (a retried step's final attempt); null when none.
const LogFile* log_file_of(const FailureRecord& record, const std::string& step_key) {
  for (auto it = record.log_files.rbegin(); it != record.log_files.rend(); ++it) {
    if (std::find(it->step_keys.begin(), it->step_keys.end(), step_key) != it->step_keys.end()) return &*it;
  }
  return nullptr;
}

// Reads the captured output of the step whose error the report shows (the first step error's step)
// into record.captured_log: the excerpt, or why it could not be read. Nothing when the step has no
// captured log file or `max_lines` is 0.
void read_captured_log(const DagsterClient& client, int max_lines, FailureRecord& record) {
  if (max_lines <= 0 || record.step_errors.empty()) return;
  const std::string& step_key = record.step_errors.front().step_key;
  const LogFile* file = step_key.empty() ? nullptr : log_file_of(record, step_key);
  if (file == nullptr) return;
  rapidjson::Document vars(rapidjson::kObjectType);
  auto& a = vars.GetAllocator();
  vars.AddMember("runId", recorder::json_string(record.run_id, a), a);
  vars.AddMember("fileKey", recorder::json_string(file->file_key, a), a);
  CapturedLog log;
  auto data = client.query("RunCapturedLogs", vars);
  const rapidjson::Value* result = data ? recorder::get_object(*data, "runOrError") : nullptr;
  if (!data) {
    log.error = data.error().message;
  } else if (result == nullptr) {
    log.error = "RunCapturedLogs: runOrError is missing";
  } else if (auto ok = check_union(*result, "RunCapturedLogs", "Run"); !ok) {
    log.error = ok.error().message;
  } else if (const auto* captured = recorder::get_object(*result, "capturedLogs"); captured == nullptr) {
    log.error = "RunCapturedLogs: capturedLogs is missing";
  } else {
    log = captured_log_tail(recorder::get_string(*captured, "stdout").value_or(""),
                            recorder::get_string(*captured, "stderr").value_or(""), max_lines);
  }
  if (!log.error.empty()) recorder::log::info("day2: run {}: captured logs of {}: {}", record.run_id, step_key, log.error);
  log.step_key = step_key;
  log.file_key = file->file_key;
  record.captured_log = std::move(log);
}

}  // namespace

CapturedLog captured_log_tail(std::string_view stdout_text, std::string_view stderr_text, int max_lines) {
  CapturedLog log;
  std::string_view text = stderr_text;
  log.stream = "stderr";
  if (blank(stderr_text)) {
    text = stdout_text;
    log.stream = blank(stdout_text) ? "" : "stdout";
  }
  if (log.stream.empty()) return log;
  std::vector<std::string_view> lines;
  for (std::size_t from = 0; from <= text.size();) {
    std::size_t end = text.find('\n', from);
    if (end == std::string_view::npos) end = text.size();
    auto line = text.substr(from, end - from);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    from = end + 1;
  }
  while (!lines.empty() && blank(lines.back())) lines.pop_back();
  log.total_lines = static_cast<int>(lines.size());
  std::size_t keep = std::min(lines.size(), static_cast<std::size_t>(std::max(max_lines, 0)));
  log.lines.assign(lines.end() - static_cast<std::ptrdiff_t>(keep), lines.end());
  return log;
}

void redact_captured_log(CapturedLog& log, const recorder::Redactor& redactor) {
  for (auto& line : log.lines) line = recorder::clip(redactor.redact_text(recorder::scrub_held_secrets(line)), 400);
}

CapturedLog captured_log_excerpt(std::string_view stdout_text, std::string_view stderr_text, int max_lines,
                                 const recorder::Redactor& redactor) {
  CapturedLog log = captured_log_tail(stdout_text, stderr_text, max_lines);
  redact_captured_log(log, redactor);
  return log;
}

StepResult step_failed_runs(StepContext& context) {
  const auto& rows = context.runs->get();
  if (!rows) return rows.error();

  std::vector<FailureRecord> records;
  int success = 0;
  int canceled = 0;
  std::vector<std::string> success_ids;
  for (const auto& row : *rows) {
    if (row.status == "FAILURE") records.push_back(failure_record(row));
    else if (row.status == "SUCCESS") ++success, success_ids.push_back(row.run_id);
    else if (row.status == "CANCELED") ++canceled;
  }

  // Event logs of failed runs are independent: read them concurrently, at most `concurrency` threads.
  // A log that cannot be read is that run's problem, not the step's: the run stays, marked with
  // its error and classified from what is known (its tags and any events read before the error).
  (void)parallel_for(records.size(), context.config.concurrency, [&](std::size_t i) -> Result<void> {
    if (auto result = read_run_events(context.client, context.config.page_size, records[i]); !result) {
      records[i].events_complete = false;
      records[i].events_error = result.error().message;
    }
    read_captured_log(context.client, context.config.captured_log_lines, records[i]);
    return {};
  });
  // One redactor (its patterns compiled once), applied in record order: placeholders are numbered
  // the same whatever order the threads read the logs in.
  const recorder::Redactor redactor;
  for (auto& record : records) {
    if (record.captured_log) redact_captured_log(*record.captured_log, redactor);
  }

  rapidjson::Document out(rapidjson::kObjectType);
  auto& a = out.GetAllocator();
  rapidjson::Value failures(rapidjson::kArrayType);
  rapidjson::Value item_errors(rapidjson::kArrayType);
  for (const auto& record : records) {
    auto json = failure_to_json(record, a);
    auto verdict = classify(context.rules, record);
    json.AddMember("category", string_value(to_string(verdict.category), a), a);
    json.AddMember("ruleId", verdict.rule_id.empty() ? rapidjson::Value() : string_value(verdict.rule_id, a), a);
    if (!record.events_complete) {
      json.AddMember("eventsError", string_value(record.events_error, a), a);
      item_errors.PushBack(item_error("run " + record.run_id, record.events_error, a), a);
    }
    failures.PushBack(json, a);
  }
  rapidjson::Value ids(rapidjson::kArrayType);
  std::sort(success_ids.begin(), success_ids.end());
  for (const auto& id : success_ids) ids.PushBack(string_value(id, a), a);
  out.AddMember("failureCount", static_cast<int>(records.size()), a);
  out.AddMember("failures", failures, a);
  out.AddMember("successCount", success, a);
  out.AddMember("canceledCount", canceled, a);
  out.AddMember("successRunIds", ids, a);
  if (!item_errors.Empty()) out.AddMember("itemErrors", item_errors, a);
  return out;
}

StepResult step_retries(StepContext& context) {
  const auto& rows = context.runs->get();
  if (!rows) return rows.error();
  rapidjson::Document out(rapidjson::kObjectType);
  auto& a = out.GetAllocator();
  rapidjson::Value retries(rapidjson::kArrayType);
  std::vector<const RunRow*> children;
  for (const auto& row : *rows) {
    if (!row.parent_run_id.empty()) children.push_back(&row);
  }
  std::sort(children.begin(), children.end(), [](const RunRow* x, const RunRow* y) {
    return std::tie(x->parent_run_id, x->run_id) < std::tie(y->parent_run_id, y->run_id);
  });
  for (const auto* row : children) {
    rapidjson::Value retry(rapidjson::kObjectType);
    retry.AddMember("parentRunId", string_value(row->parent_run_id, a), a);
    retry.AddMember("retryRunId", string_value(row->run_id, a), a);
    retry.AddMember("retryStatus", string_value(row->status, a), a);
    retry.AddMember("rootRunId", string_value(row->root_run_id, a), a);
    retry.AddMember("jobName", string_value(row->job_name, a), a);
    auto number = row->tags.find("dagster/retry_number");
    retry.AddMember("automatic", number != row->tags.end(), a);
    retry.AddMember("retryNumber", number != row->tags.end() ? string_value(number->second, a) : rapidjson::Value(), a);
    retries.PushBack(retry, a);
  }
  out.AddMember("retries", retries, a);
  return out;
}

}  // namespace analyzer
