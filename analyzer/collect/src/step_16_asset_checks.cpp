// Step 16: the asset checks that failed, in four buckets: failed in the window or failing since before
// it (stale), each split by severity (ERROR, WARN).
#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <future>
#include <map>
#include <optional>
#include <tuple>

#include "collect_helpers.hpp"
#include "recorder/base/workers.hpp"

namespace analyzer {

using recorder::make_error;
using recorder::Result;

namespace {

// A metadata entry's value as JSON (text, number, bool, parsed JSON, url, path, ...).
rapidjson::Value metadata_value(const rapidjson::Value& entry, Allocator& a) {
  // intValue is null beyond 32 bits; intRepr (a string) always carries the value.
  if (const auto* value = recorder::get_object(entry, "intValue"); value == nullptr && entry.IsObject()) {
    auto found = entry.FindMember("intValue");
    if (found != entry.MemberEnd() && found->value.IsInt64()) return rapidjson::Value(found->value.GetInt64());
  }
  for (const char* key : {"text", "mdStr", "url", "path", "runId", "intRepr", "jsonString"}) {
    if (auto text = recorder::get_string(entry, key)) return string_value(*text, a);
  }
  for (const char* key : {"floatValue", "timestamp"}) {
    if (auto number = recorder::get_number(entry, key)) return rapidjson::Value(*number);
  }
  if (auto flag = recorder::get_bool(entry, "boolValue")) return rapidjson::Value(*flag);
  if (const auto* key = recorder::get_object(entry, "assetKey")) return string_value(join_path(key), a);
  return rapidjson::Value();
}

struct CheckRef {
  const AssetNode* asset;
  std::string name;
  std::string description;
};

struct CheckExecutions {
  std::deque<rapidjson::Document> pages;  // owns the execution objects below
  std::vector<const rapidjson::Value*> executions;  // newest first, down to the window start
};

Result<void> fetch_check_history(const StepContext& context, const CheckRef& check, CheckExecutions& out) {
  constexpr int k_page = 100;
  std::string cursor;
  for (;;) {
    rapidjson::Document vars(rapidjson::kObjectType);
    auto& a = vars.GetAllocator();
    vars.AddMember("assetKey", asset_key_input(check.asset->path, a), a);
    vars.AddMember("checkName", string_value(check.name, a), a);
    vars.AddMember("limit", k_page, a);
    vars.AddMember("cursor", cursor.empty() ? rapidjson::Value() : recorder::json_string(cursor, a), a);
    auto data = context.client.query("AssetCheckHistory", vars);
    if (!data) return make_error(fmt::format("{} on {}: {}", check.name, check.asset->key, data.error().message));
    out.pages.push_back(std::move(*data));
    const auto* executions = recorder::get_array(out.pages.back(), "assetCheckExecutions");
    if (!executions) return make_error("AssetCheckHistory: assetCheckExecutions is missing");
    bool older = false;
    const std::string sent = cursor;
    for (const auto& execution : executions->GetArray()) {
      out.executions.push_back(&execution);
      cursor = recorder::get_string(execution, "id").value_or("");
      if (number_or(execution, "timestamp", 0) < context.start) older = true;
    }
    if (older || static_cast<int>(executions->Size()) < k_page || cursor.empty()) break;
    // A server that ignores the cursor would send the same full page forever.
    if (cursor == sent) {
      return make_error(fmt::format("{} on {}: AssetCheckHistory: paging does not advance past execution {}",
                                    check.name, check.asset->key, cursor));
    }
  }
  return {};
}

bool is_failed(std::string_view status) { return status == "FAILED" || status == "EXECUTION_FAILED"; }

std::string severity_of(const rapidjson::Value& execution) {
  const auto* evaluation = recorder::get_object(execution, "evaluation");
  auto severity = evaluation ? recorder::get_string(*evaluation, "severity") : std::nullopt;
  return severity.value_or("UNKNOWN");
}

rapidjson::Value check_entry(const CheckRef& check, const rapidjson::Value& execution, Allocator& a) {
  rapidjson::Value item(rapidjson::kObjectType);
  const auto* evaluation = recorder::get_object(execution, "evaluation");
  item.AddMember("asset", string_value(check.asset->key, a), a);
  item.AddMember("check", string_value(check.name, a), a);
  item.AddMember("status", string_value(recorder::get_string(execution, "status").value_or(""), a), a);
  item.AddMember("severity", string_value(severity_of(execution), a), a);
  item.AddMember("timestamp", number_or(execution, "timestamp", 0), a);
  item.AddMember("runId", string_value(recorder::get_string(execution, "runId").value_or(""), a), a);
  auto description = evaluation ? recorder::get_string(*evaluation, "description") : std::nullopt;
  item.AddMember("description", string_value(description.value_or(check.description), a), a);
  rapidjson::Value metadata(rapidjson::kObjectType);
  if (const auto* entries = evaluation ? recorder::get_array(*evaluation, "metadataEntries") : nullptr) {
    for (const auto& entry : entries->GetArray()) {
      auto label = recorder::get_string(entry, "label").value_or("");
      if (!label.empty() && !metadata.HasMember(label.c_str())) {
        metadata.AddMember(string_value(label, a), metadata_value(entry, a), a);
      }
    }
  }
  item.AddMember("metadata", metadata, a);
  return item;
}

void sort_entries(rapidjson::Value& list) {
  std::sort(list.Begin(), list.End(), [](const rapidjson::Value& x, const rapidjson::Value& y) {
    auto key = [](const rapidjson::Value& v) {
      return std::make_tuple(v["timestamp"].GetDouble(), std::string_view(v["asset"].GetString()),
                             std::string_view(v["check"].GetString()));
    };
    return key(x) < key(y);
  });
}

// The checks of the assets in the graph, by asset key then name, from AssetChecksLatest's answer.
Result<std::vector<CheckRef>> checks_of(const rapidjson::Value& data, const std::vector<AssetNode>& nodes) {
  std::map<std::string, const AssetNode*> by_key;
  for (const auto& node : nodes) by_key[node.key] = &node;

  std::vector<CheckRef> checks;
  if (const auto* list = recorder::get_array(data, "assetNodes")) {
    for (const auto& node : list->GetArray()) {
      auto found = by_key.find(join_path(recorder::get_object(node, "assetKey")));
      const auto* result = recorder::get_object(node, "assetChecksOrError");
      if (found == by_key.end() || !result) continue;
      if (auto ok = check_union(*result, "AssetChecksLatest", "AssetChecks"); !ok) return ok.error();
      if (const auto* items = recorder::get_array(*result, "checks")) {
        for (const auto& check : items->GetArray()) {
          checks.push_back({found->second, recorder::get_string(check, "name").value_or(""),
                            recorder::get_string(check, "description").value_or("")});
        }
      }
    }
  }
  std::sort(checks.begin(), checks.end(), [](const CheckRef& x, const CheckRef& y) {
    return std::tie(x.asset->key, x.name) < std::tie(y.asset->key, y.name);
  });
  return checks;
}

// The failed executions, by bucket: in the window, or the latest one failing since before it.
struct CheckBuckets {
  rapidjson::Value error_now{rapidjson::kArrayType};
  rapidjson::Value warn_now{rapidjson::kArrayType};
  rapidjson::Value error_stale{rapidjson::kArrayType};
  rapidjson::Value warn_stale{rapidjson::kArrayType};
  int failing = 0;  // checks whose latest execution failed
};

void bucket_check(const StepContext& context, const CheckRef& check,
                  const std::vector<const rapidjson::Value*>& executions, CheckBuckets& buckets, Allocator& a) {
  for (const auto* execution : executions) {
    auto status = recorder::get_string(*execution, "status").value_or("");
    double t = number_or(*execution, "timestamp", 0);
    if (!is_failed(status) || t < context.start || t > context.end) continue;
    // EXECUTION_FAILED has no evaluation: the check crashed and needs triage, so it goes with errors.
    bool warn = status == "FAILED" && severity_of(*execution) == "WARN";
    (warn ? buckets.warn_now : buckets.error_now).PushBack(check_entry(check, *execution, a), a);
  }
  if (executions.empty()) return;
  const auto& latest = *executions.front();
  auto status = recorder::get_string(latest, "status").value_or("");
  if (!is_failed(status)) return;
  ++buckets.failing;
  if (number_or(latest, "timestamp", 0) < context.start) {
    bool warn = status == "FAILED" && severity_of(latest) == "WARN";
    (warn ? buckets.warn_stale : buckets.error_stale).PushBack(check_entry(check, latest, a), a);
  }
}

}  // namespace

StepResult step_asset_checks(StepContext& context) {
  // The checks query does not depend on the shared asset list: send it while that list is read.
  auto latest_pending = recorder::run_async([&context, deadline = recorder::current_deadline()] {
    recorder::DeadlineScope scope(deadline);
    return context.client.query("AssetChecksLatest", rapidjson::Value(rapidjson::kObjectType));
  });
  const auto& nodes = context.asset_nodes->get();
  auto data = latest_pending.get();
  if (!nodes) return nodes.error();
  if (!data) return data.error();
  auto found = checks_of(*data, *nodes);
  if (!found) return found.error();
  const auto& checks = *found;

  // One check whose history cannot be read is that check's error, not the step's.
  std::vector<CheckExecutions> histories(checks.size());
  std::vector<std::optional<std::string>> unreadable(checks.size());
  (void)parallel_for(checks.size(), context.config.concurrency, [&](std::size_t i) -> Result<void> {
    if (auto fetched = fetch_check_history(context, checks[i], histories[i]); !fetched) {
      unreadable[i] = fetched.error().message;
      histories[i].executions.clear();
    }
    return {};
  });

  rapidjson::Document out(rapidjson::kObjectType);
  auto& a = out.GetAllocator();
  rapidjson::Value item_errors(rapidjson::kArrayType);
  for (std::size_t i = 0; i < checks.size(); ++i) {
    if (!unreadable[i]) continue;
    item_errors.PushBack(item_error(fmt::format("check {}:{}", checks[i].asset->key, checks[i].name), *unreadable[i], a), a);
  }
  CheckBuckets buckets;
  for (std::size_t i = 0; i < checks.size(); ++i) bucket_check(context, checks[i], histories[i].executions, buckets, a);
  for (auto* list : {&buckets.error_now, &buckets.warn_now, &buckets.error_stale, &buckets.warn_stale}) {
    sort_entries(*list);
  }
  out.AddMember("totalChecks", static_cast<int>(checks.size()), a);
  out.AddMember("failedCount", buckets.failing, a);
  out.AddMember("inWindow_error", buckets.error_now, a);
  out.AddMember("inWindow_warn", buckets.warn_now, a);
  out.AddMember("stale_error", buckets.error_stale, a);
  out.AddMember("stale_warn", buckets.warn_stale, a);
  if (!item_errors.Empty()) out.AddMember("itemErrors", item_errors, a);
  return out;
}

}  // namespace analyzer
