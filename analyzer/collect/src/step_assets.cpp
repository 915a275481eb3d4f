// Steps 16 (asset checks, in four buckets) and 17 (degraded assets, grouped by run).
#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <future>
#include <map>
#include <optional>

#include "analyzer/collect/steps.hpp"

namespace analyzer {

using recorder::make_error;
using recorder::Result;

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

namespace {

rapidjson::Value asset_key_input(const std::vector<std::string>& path, Allocator& a) {
  rapidjson::Value key(rapidjson::kObjectType);
  rapidjson::Value parts(rapidjson::kArrayType);
  for (const auto& part : path) parts.PushBack(string_value(part, a), a);
  key.AddMember("path", parts, a);
  return key;
}

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

}  // namespace

StepResult step_asset_checks(StepContext& context) {
  // The checks query does not depend on the shared asset list: send it while that list is read.
  auto latest_pending = std::async(std::launch::async, [&context, deadline = recorder::current_deadline()] {
    recorder::DeadlineScope scope(deadline);
    return context.client.query("AssetChecksLatest", rapidjson::Value(rapidjson::kObjectType));
  });
  const auto& nodes = context.asset_nodes->get();
  auto data = latest_pending.get();
  if (!nodes) return nodes.error();
  if (!data) return data.error();
  std::map<std::string, const AssetNode*> by_key;
  for (const auto& node : *nodes) by_key[node.key] = &node;

  std::vector<CheckRef> checks;
  if (const auto* list = recorder::get_array(*data, "assetNodes")) {
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
  rapidjson::Value error_now(rapidjson::kArrayType), warn_now(rapidjson::kArrayType);
  rapidjson::Value error_stale(rapidjson::kArrayType), warn_stale(rapidjson::kArrayType);
  int failing = 0;
  for (std::size_t i = 0; i < checks.size(); ++i) {
    const auto& executions = histories[i].executions;
    for (const auto* execution : executions) {
      auto status = recorder::get_string(*execution, "status").value_or("");
      double t = number_or(*execution, "timestamp", 0);
      if (!is_failed(status) || t < context.start || t > context.end) continue;
      // EXECUTION_FAILED has no evaluation: the check crashed and needs triage, so it goes with errors.
      bool warn = status == "FAILED" && severity_of(*execution) == "WARN";
      (warn ? warn_now : error_now).PushBack(check_entry(checks[i], *execution, a), a);
    }
    if (executions.empty()) continue;
    const auto& latest = *executions.front();
    auto status = recorder::get_string(latest, "status").value_or("");
    if (!is_failed(status)) continue;
    ++failing;
    if (number_or(latest, "timestamp", 0) < context.start) {
      bool warn = status == "FAILED" && severity_of(latest) == "WARN";
      (warn ? warn_stale : error_stale).PushBack(check_entry(checks[i], latest, a), a);
    }
  }
  for (auto* list : {&error_now, &warn_now, &error_stale, &warn_stale}) sort_entries(*list);
  out.AddMember("totalChecks", static_cast<int>(checks.size()), a);
  out.AddMember("failedCount", failing, a);
  out.AddMember("inWindow_error", error_now, a);
  out.AddMember("inWindow_warn", warn_now, a);
  out.AddMember("stale_error", error_stale, a);
  out.AddMember("stale_warn", warn_stale, a);
  if (!item_errors.Empty()) out.AddMember("itemErrors", item_errors, a);
  return out;
}

StepResult step_degraded_assets(StepContext& context) {
  const auto& nodes = context.asset_nodes->get();
  if (!nodes) return nodes.error();
  rapidjson::Document out(rapidjson::kObjectType);
  auto& a = out.GetAllocator();
  rapidjson::Value degraded(rapidjson::kArrayType);
  struct Cluster {
    double end_time = 0;
    std::vector<std::string> assets;
  };
  std::map<std::string, Cluster> clusters;
  int recovered = 0;
  constexpr std::size_t k_batch = 100;
  for (std::size_t first = 0; first < nodes->size(); first += k_batch) {
    rapidjson::Document vars(rapidjson::kObjectType);
    auto& va = vars.GetAllocator();
    rapidjson::Value keys(rapidjson::kArrayType);
    for (std::size_t i = first; i < std::min(nodes->size(), first + k_batch); ++i) {
      keys.PushBack(asset_key_input((*nodes)[i].path, va), va);
    }
    vars.AddMember("assetKeys", keys, va);
    auto data = context.client.query("AssetsLatestInfo", vars);
    if (!data) return data.error();
    const auto* infos = recorder::get_array(*data, "assetsLatestInfo");
    if (!infos) return make_error("AssetsLatestInfo: assetsLatestInfo is missing");
    for (const auto& info : infos->GetArray()) {
      const auto* run = recorder::get_object(info, "latestRun");
      if (!run || recorder::get_string(*run, "status") != "FAILURE") continue;
      auto run_id = recorder::get_string(*run, "runId").value_or("");
      const auto* materialization = recorder::get_object(info, "latestMaterialization");
      auto mat_run = materialization ? recorder::get_string(*materialization, "runId").value_or("") : "";
      if (mat_run == run_id) continue;
      double run_end = number_or(*run, "endTime", 0);
      std::optional<double> mat_time;
      if (materialization) {
        if (auto ms = recorder::get_string(*materialization, "timestamp")) {
          if (auto instant = recorder::parse_epoch_millis(*ms)) mat_time = recorder::to_epoch_seconds(*instant);
        }
      }
      // A materialization after the failed run ended means the asset recovered (e.g. a retry).
      bool is_recovered = mat_time && *mat_time > run_end;
      auto asset = join_path(recorder::get_object(info, "assetKey"));
      rapidjson::Value item(rapidjson::kObjectType);
      item.AddMember("asset", string_value(asset, a), a);
      item.AddMember("latestRunId", string_value(run_id, a), a);
      item.AddMember("latestRunEndTime", run_end > 0 ? rapidjson::Value(run_end) : rapidjson::Value(), a);
      item.AddMember("lastMaterializationTime", mat_time ? rapidjson::Value(*mat_time) : rapidjson::Value(), a);
      item.AddMember("lastMaterializationRunId", mat_run.empty() ? rapidjson::Value() : string_value(mat_run, a), a);
      item.AddMember("recovered", is_recovered, a);
      degraded.PushBack(item, a);
      if (is_recovered) {
        ++recovered;
      } else {
        auto& cluster = clusters[run_id];
        cluster.end_time = run_end;
        cluster.assets.push_back(asset);
      }
    }
  }
  std::sort(degraded.Begin(), degraded.End(), [](const rapidjson::Value& x, const rapidjson::Value& y) {
    return std::string_view(x["asset"].GetString()) < std::string_view(y["asset"].GetString());
  });
  std::vector<std::pair<std::string, Cluster>> ordered(clusters.begin(), clusters.end());
  std::sort(ordered.begin(), ordered.end(), [](const auto& x, const auto& y) {
    return std::tie(x.second.end_time, x.first) < std::tie(y.second.end_time, y.first);
  });
  rapidjson::Value by_run(rapidjson::kArrayType);
  for (auto& [run_id, cluster] : ordered) {
    std::sort(cluster.assets.begin(), cluster.assets.end());
    rapidjson::Value item(rapidjson::kObjectType);
    item.AddMember("runId", string_value(run_id, a), a);
    item.AddMember("endTime", cluster.end_time > 0 ? rapidjson::Value(cluster.end_time) : rapidjson::Value(), a);
    item.AddMember("count", static_cast<int>(cluster.assets.size()), a);
    rapidjson::Value assets(rapidjson::kArrayType);
    for (const auto& asset : cluster.assets) assets.PushBack(string_value(asset, a), a);
    item.AddMember("assets", assets, a);
    item.AddMember("inWindow", cluster.end_time >= context.start && cluster.end_time <= context.end, a);
    by_run.PushBack(item, a);
  }
  out.AddMember("totalAssets", static_cast<int>(nodes->size()), a);
  out.AddMember("degradedCount", static_cast<int>(degraded.Size()) - recovered, a);
  out.AddMember("recoveredCount", recovered, a);
  out.AddMember("degraded", degraded, a);
  out.AddMember("byRun", by_run, a);
  return out;
}

}  // namespace analyzer
