// Step 01: the failed runs of the window, each with the evidence a classifier needs (its event log,
// the captured output of its failed step), classified; the counts of the other terminal runs.
#include <algorithm>

#include "recorder/base/log.hpp"
#include "recorder/base/secrets.hpp"
#include "recorder/base/text.hpp"
#include "recorder/redact.hpp"
#include "collect_helpers.hpp"

namespace analyzer {

using recorder::Result;

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
    // What the rule detects, as the rules that classified the run say (the report's one cause per mechanism).
    json.AddMember("mechanism", verdict.rule_id.empty() ? rapidjson::Value() : string_value(mechanism_of(context.rules, verdict.rule_id), a), a);
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

}  // namespace analyzer
