// Helpers shared by the step files (Dagster answers, JSON), the fetchers behind StepContext's shared
// runs and asset graph, and parallel_for.
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <tuple>

#include "collect_helpers.hpp"
#include "recorder/base/workers.hpp"

namespace analyzer {

using recorder::make_error;
using recorder::Result;

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

rapidjson::Value nullable_time(std::optional<double> time) {
  return time ? rapidjson::Value(*time) : rapidjson::Value();
}

rapidjson::Value python_errors_json(const rapidjson::Value* errors, Allocator& a) {
  rapidjson::Value out(rapidjson::kArrayType);
  if (!errors) return out;
  for (const auto& error : errors->GetArray()) {
    rapidjson::Value item(rapidjson::kObjectType);
    const rapidjson::Value* python = recorder::get_object(error, "error");
    if (!python) python = &error;
    item.AddMember("timestamp", nullable_number(error, "timestamp"), a);
    item.AddMember("className", string_value(recorder::get_string(*python, "className").value_or(""), a), a);
    item.AddMember("message", string_value(python_error_text(*python), a), a);
    out.PushBack(item, a);
  }
  return out;
}

rapidjson::Value asset_key_input(const std::vector<std::string>& path, Allocator& a) {
  rapidjson::Value key(rapidjson::kObjectType);
  rapidjson::Value parts(rapidjson::kArrayType);
  for (const auto& part : path) parts.PushBack(string_value(part, a), a);
  key.AddMember("path", parts, a);
  return key;
}

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

Result<std::vector<AssetNode>> fetch_asset_nodes(const StepContext& context) {
  auto data = context.client.query("AssetKeys");
  if (!data) return data.error();
  const auto* nodes = recorder::get_array(*data, "assetNodes");
  if (!nodes) return make_error("AssetKeys: assetNodes is missing");
  std::vector<AssetNode> out;
  for (const auto& node : nodes->GetArray()) {
    AssetNode asset;
    const auto* key = recorder::get_object(node, "assetKey");
    asset.key = join_path(key);
    if (const auto* path = key ? recorder::get_array(*key, "path") : nullptr) {
      for (const auto& part : path->GetArray()) {
        if (part.IsString()) asset.path.emplace_back(part.GetString());
      }
    }
    asset.has_checks = recorder::get_bool(node, "hasAssetChecks").value_or(false);
    out.push_back(std::move(asset));
  }
  std::sort(out.begin(), out.end(), [](const AssetNode& x, const AssetNode& y) { return x.key < y.key; });
  out.erase(std::unique(out.begin(), out.end(), [](const AssetNode& x, const AssetNode& y) { return x.key == y.key; }),
            out.end());
  return out;
}

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
  std::vector<recorder::Pending<void>> helpers;
  std::size_t n = std::min<std::size_t>(count, static_cast<std::size_t>(std::max(concurrency, 1)));
  for (std::size_t t = 1; t < n; ++t) helpers.push_back(recorder::run_async(worker));
  if (n > 0) worker();
  for (auto& helper : helpers) helper.get();
  for (auto& error : errors) {
    if (error) return *error;
  }
  return {};
}

}  // namespace analyzer
