// Step 02: the re-executions (automatic retries and manual re-runs) among the window's runs.
#include <algorithm>
#include <tuple>

#include "collect_helpers.hpp"

namespace analyzer {

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
