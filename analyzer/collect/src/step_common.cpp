// Helpers shared by the step files, and the JSON form of a FailureRecord.
#include <algorithm>

#include "analyzer/collect/steps.hpp"

namespace analyzer {

std::string join_path(const rapidjson::Value* key) {
  // Accepts an AssetKey object ({"path": [...]}) or the path array itself.
  if (!key) return "";
  const rapidjson::Value* path = key->IsArray() ? key : recorder::get_array(*key, "path");
  if (!path) return "";
  std::string out;
  for (const auto& part : path->GetArray()) {
    if (!part.IsString()) continue;
    if (!out.empty()) out += "/";
    out += part.GetString();
  }
  return out;
}

std::map<std::string, std::string> read_tags(const rapidjson::Value& run) {
  std::map<std::string, std::string> tags;
  if (const auto* list = recorder::get_array(run, "tags")) {
    for (const auto& tag : list->GetArray()) {
      auto key = recorder::get_string(tag, "key");
      auto value = recorder::get_string(tag, "value");
      if (key && value) tags[*key] = *value;
    }
  }
  return tags;
}

double number_or(const rapidjson::Value& object, const char* key, double fallback) {
  return recorder::get_number(object, key).value_or(fallback);
}

rapidjson::Value string_value(std::string_view text, Allocator& allocator) {
  return recorder::json_string(text, allocator);
}

rapidjson::Value item_error(std::string_view item, std::string_view error, Allocator& allocator) {
  rapidjson::Value out(rapidjson::kObjectType);
  out.AddMember("item", string_value(item, allocator), allocator);
  out.AddMember("error", string_value(error, allocator), allocator);
  return out;
}

rapidjson::Value nullable_number(const rapidjson::Value& object, const char* key) {
  if (!object.IsObject()) return rapidjson::Value();
  auto found = object.FindMember(key);
  if (found == object.MemberEnd() || !found->value.IsNumber()) return rapidjson::Value();
  // Keep integers integers (counts, limits); floats stay floats (timestamps).
  if (found->value.IsInt64()) return rapidjson::Value(found->value.GetInt64());
  return rapidjson::Value(found->value.GetDouble());
}

std::string error_chain_top(const rapidjson::Value& python_error) {
  const auto* chain = recorder::get_array(python_error, "errorChain");
  if (!chain || chain->Empty()) return "";
  const auto* inner = recorder::get_object((*chain)[0], "error");
  if (!inner) return "";
  // The exception's own line (a SyntaxError's message starts with its location).
  return exception_line(python_error_text(*inner));
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
  // The error class a reader looks at first: the first failed step's (the user's exception, not
  // Dagster's wrapper around it), else the run error's.
  std::string error_class = record.run_failure_error_class;
  for (const auto& error : record.step_errors) {
    if (error.error_class.empty()) continue;
    error_class = error.error_class;
    if (is_wrapper_error(error_class) && !error.cause_chain.empty() && !error.cause_chain.front().class_name.empty()) {
      error_class = error.cause_chain.front().class_name;
    }
    break;
  }
  out.AddMember("errorClass", string_value(error_class, a), a);
  rapidjson::Value step_errors(rapidjson::kArrayType);
  for (const auto& error : record.step_errors) step_errors.PushBack(step_error_json(error, a), a);
  out.AddMember("stepErrors", step_errors, a);
  out.AddMember("engineEvents", string_list(record.engine_events, a), a);
  out.AddMember("logsCapturedSteps", string_list(record.logs_captured_steps, a), a);
  out.AddMember("plannedMaterializations", string_list(record.planned_materializations, a), a);
  out.AddMember("materializations", string_list(record.materializations, a), a);
  std::vector<std::string> missing;
  for (const auto& planned : record.planned_materializations) {
    if (!std::binary_search(record.materializations.begin(), record.materializations.end(), planned)) {
      missing.push_back(planned);
    }
  }
  out.AddMember("unmaterializedAssets", string_list(missing, a), a);
  out.AddMember("inProgressSteps", string_list(record.in_progress_steps, a), a);
  rapidjson::Value spans(rapidjson::kArrayType);
  for (const auto& span : record.step_spans) {
    rapidjson::Value item(rapidjson::kObjectType);
    item.AddMember("stepKey", string_value(span.step_key, a), a);
    item.AddMember("startTime", span.start ? rapidjson::Value(*span.start) : rapidjson::Value(), a);
    item.AddMember("endTime", span.end ? rapidjson::Value(*span.end) : rapidjson::Value(), a);
    item.AddMember("status", string_value(span.status, a), a);
    spans.PushBack(item, a);
  }
  out.AddMember("steps", spans, a);
  if (const auto& log = record.captured_log) {
    rapidjson::Value captured(rapidjson::kObjectType);
    captured.AddMember("stepKey", string_value(log->step_key, a), a);
    captured.AddMember("fileKey", string_value(log->file_key, a), a);
    if (!log->error.empty()) {
      captured.AddMember("error", string_value(log->error, a), a);
    } else {
      captured.AddMember("stream", log->stream.empty() ? rapidjson::Value() : string_value(log->stream, a), a);
      captured.AddMember("totalLines", log->total_lines, a);
      captured.AddMember("lines", string_list(log->lines, a), a);
    }
    out.AddMember("capturedLog", captured, a);
  }
  return out;
}

}  // namespace analyzer

#include <atomic>
#include <thread>

namespace analyzer {

recorder::Result<void> parallel_for(std::size_t count, int concurrency,
                                    const std::function<recorder::Result<void>(std::size_t)>& fn) {
  std::vector<std::optional<recorder::Error>> errors(count);
  std::atomic<std::size_t> next{0};
  auto deadline = recorder::current_deadline();  // the step's, on every worker
  auto worker = [&]() {
    recorder::DeadlineScope scope(deadline);
    for (std::size_t i = next++; i < count; i = next++) {
      auto result = fn(i);
      if (!result) errors[i] = result.error();
    }
  };
  std::vector<std::thread> threads;
  std::size_t n = std::min<std::size_t>(count, static_cast<std::size_t>(std::max(concurrency, 1)));
  for (std::size_t t = 1; t < n; ++t) threads.emplace_back(worker);
  if (n > 0) worker();
  for (auto& thread : threads) thread.join();
  for (auto& error : errors) {
    if (error) return *error;
  }
  return {};
}

}  // namespace analyzer
