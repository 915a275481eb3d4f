// Step 15: the backfills requested in the window, and those that failed (a failed status, an error,
// or failed partitions) among the ones that concern it.
#include <fmt/format.h>

#include <algorithm>

#include "collect_helpers.hpp"

namespace analyzer {

using recorder::make_error;

namespace {

bool in_window(const StepContext& context, double t) { return t >= context.start && t <= context.end; }

int failed_partitions(const rapidjson::Value& backfill) {
  int failed = 0;
  if (const auto* counts = recorder::get_array(backfill, "partitionStatusCounts")) {
    for (const auto& count : counts->GetArray()) {
      if (recorder::get_string(count, "runStatus") == "FAILURE") failed += static_cast<int>(number_or(count, "count", 0));
    }
  }
  const auto* data = recorder::get_object(backfill, "assetBackfillData");
  if (const auto* statuses = data ? recorder::get_array(*data, "assetBackfillStatuses") : nullptr) {
    for (const auto& status : statuses->GetArray()) {
      failed += static_cast<int>(number_or(status, "numPartitionsFailed", 0));
      if (recorder::get_bool(status, "failed") == true) ++failed;
    }
  }
  return failed;
}

rapidjson::Value backfill_json(const rapidjson::Value& backfill, int failed, Allocator& a) {
  rapidjson::Value item(rapidjson::kObjectType);
  item.AddMember("id", string_value(recorder::get_string(backfill, "id").value_or(""), a), a);
  item.AddMember("status", string_value(recorder::get_string(backfill, "status").value_or(""), a), a);
  item.AddMember("timestamp", number_or(backfill, "timestamp", 0), a);
  item.AddMember("endTimestamp", nullable_number(backfill, "endTimestamp"), a);
  item.AddMember("partitionSetName", string_value(recorder::get_string(backfill, "partitionSetName").value_or(""), a), a);
  item.AddMember("isAssetBackfill", recorder::get_bool(backfill, "isAssetBackfill").value_or(false), a);
  item.AddMember("numPartitions", nullable_number(backfill, "numPartitions"), a);
  item.AddMember("failedPartitions", failed, a);
  rapidjson::Value assets(rapidjson::kArrayType);
  if (const auto* selection = recorder::get_array(backfill, "assetSelection")) {
    for (const auto& key : selection->GetArray()) assets.PushBack(string_value(join_path(&key), a), a);
  }
  item.AddMember("assets", assets, a);
  const auto* error = recorder::get_object(backfill, "error");
  item.AddMember("error", error ? string_value(python_error_text(*error), a) : rapidjson::Value(), a);
  return item;
}

// The Backfills variables of the page after `cursor` ("" = the first page).
rapidjson::Document backfills_vars(const std::string& cursor, int page_size) {
  rapidjson::Document vars(rapidjson::kObjectType);
  auto& va = vars.GetAllocator();
  vars.AddMember("status", rapidjson::Value(), va);  // fetch all: status values differ by version
  vars.AddMember("limit", page_size, va);
  vars.AddMember("cursor", cursor.empty() ? rapidjson::Value() : recorder::json_string(cursor, va), va);
  return vars;
}

// Requested or ended in the window, or still active and requested before its end.
bool concerns_window(const StepContext& context, const rapidjson::Value& backfill) {
  double requested_at = number_or(backfill, "timestamp", 0);
  double ended_at = number_or(backfill, "endTimestamp", 0);
  auto status = recorder::get_string(backfill, "status").value_or("");
  bool active = status == "REQUESTED" || status == "CANCELING" || status == "FAILING";
  return in_window(context, requested_at) || in_window(context, ended_at) ||
         (active && requested_at <= context.end);
}

bool is_failed_backfill(const rapidjson::Value& backfill, int failed_partitions) {
  auto status = recorder::get_string(backfill, "status").value_or("");
  return status == "FAILED" || status == "COMPLETED_FAILED" || status == "FAILING" ||
         recorder::get_object(backfill, "error") != nullptr || failed_partitions > 0;
}

}  // namespace

StepResult step_backfills(StepContext& context) {
  rapidjson::Document out(rapidjson::kObjectType);
  auto& a = out.GetAllocator();
  rapidjson::Value requested(rapidjson::kArrayType);
  rapidjson::Value failed(rapidjson::kArrayType);
  std::string cursor;
  constexpr int k_page = 100;
  for (;;) {
    auto vars = backfills_vars(cursor, k_page);
    auto data = context.client.query("Backfills", vars);
    if (!data) return data.error();
    auto found = union_results(*data, "Backfills", "partitionBackfillsOrError", "PartitionBackfills");
    if (!found) return found.error();
    const auto* results = *found;
    const std::string sent = cursor;
    for (const auto& backfill : results->GetArray()) {
      cursor = recorder::get_string(backfill, "id").value_or("");
      if (!concerns_window(context, backfill)) continue;
      int failures = failed_partitions(backfill);
      if (in_window(context, number_or(backfill, "timestamp", 0))) {
        requested.PushBack(backfill_json(backfill, failures, a), a);
      }
      if (is_failed_backfill(backfill, failures)) failed.PushBack(backfill_json(backfill, failures, a), a);
    }
    if (static_cast<int>(results->Size()) < k_page || cursor.empty()) break;
    if (cursor == sent) return make_error(fmt::format("Backfills: paging does not advance past backfill {}", cursor));
  }
  for (auto* list : {&requested, &failed}) {
    std::sort(list->Begin(), list->End(), [](const rapidjson::Value& x, const rapidjson::Value& y) {
      return std::string_view(x["id"].GetString()) < std::string_view(y["id"].GetString());
    });
  }
  out.AddMember("requested", requested, a);
  out.AddMember("failed", failed, a);
  return out;
}

}  // namespace analyzer
