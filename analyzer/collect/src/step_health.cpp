// Steps 04 (freshness), 07 (Dagster+ agents), 09 (daemons), 14 (queued and stuck runs), 15 (backfills).
#include <fmt/format.h>

#include <algorithm>
#include <future>
#include <set>

#include "analyzer/collect/steps.hpp"

namespace analyzer {

using recorder::make_error;
using recorder::Result;

namespace {

// Field names of a schema type, from the TypeFields introspection probe.
Result<std::set<std::string>> type_fields(const DagsterClient& client, const char* type) {
  rapidjson::Document vars(rapidjson::kObjectType);
  vars.AddMember("name", rapidjson::StringRef(type), vars.GetAllocator());
  auto data = client.query("TypeFields", vars);
  if (!data) return data.error();
  std::set<std::string> names;
  const auto* info = recorder::get_object(*data, "__type");
  if (!info) return names;
  for (const char* list : {"fields", "inputFields"}) {
    if (const auto* fields = recorder::get_array(*info, list)) {
      for (const auto& field : fields->GetArray()) {
        if (auto name = recorder::get_string(field, "name")) names.insert(*name);
      }
    }
  }
  return names;
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

}  // namespace

StepResult step_freshness(StepContext& context) {
  rapidjson::Document out(rapidjson::kObjectType);
  auto& a = out.GetAllocator();
  rapidjson::Value flagged(rapidjson::kArrayType);
  int policies = 0;

  // The legacy query and the probe for new-style policies are independent: send both at once.
  auto legacy_pending = std::async(std::launch::async, [&context, deadline = recorder::current_deadline()] {
    recorder::DeadlineScope scope(deadline);
    return context.client.query("FreshnessLegacy");
  });
  auto fields = type_fields(context.client, "AssetNode");
  auto legacy = legacy_pending.get();
  if (!legacy) return legacy.error();
  if (const auto* nodes = recorder::get_array(*legacy, "assetNodes")) {
    for (const auto& node : nodes->GetArray()) {
      const auto* policy = recorder::get_object(node, "freshnessPolicy");
      if (!policy) continue;
      ++policies;
      const auto* info = recorder::get_object(node, "freshnessInfo");
      // Null lateness is "unknown" (never materialized, not evaluated), not "fresh".
      bool known = info && recorder::get_number(*info, "currentMinutesLate").has_value();
      double late = known ? number_or(*info, "currentMinutesLate", 0) : 0;
      if (known && late <= 0) continue;  // on time
      rapidjson::Value item(rapidjson::kObjectType);
      item.AddMember("asset", string_value(join_path(recorder::get_object(node, "assetKey")), a), a);
      item.AddMember("policy", "legacy", a);
      item.AddMember("state", rapidjson::StringRef(known ? "LATE" : "UNKNOWN"), a);
      item.AddMember("currentMinutesLate", known ? rapidjson::Value(late) : rapidjson::Value(), a);
      item.AddMember("maximumLagMinutes", nullable_number(*policy, "maximumLagMinutes"), a);
      flagged.PushBack(item, a);
    }
  }

  // New-style freshness policies exist only on newer servers: probe before asking.
  if (!fields) return fields.error();
  bool new_style = fields->contains("internalFreshnessPolicy") && fields->contains("freshnessStatusInfo");
  if (new_style) {
    auto current = context.client.query("FreshnessNew");
    if (!current) return current.error();
    if (const auto* nodes = recorder::get_array(*current, "assetNodes")) {
      for (const auto& node : nodes->GetArray()) {
        const auto* policy = recorder::get_object(node, "internalFreshnessPolicy");
        if (!policy) continue;
        ++policies;
        const auto* status = recorder::get_object(node, "freshnessStatusInfo");
        auto state = status ? recorder::get_string(*status, "freshnessStatus").value_or("UNKNOWN") : "UNKNOWN";
        if (state == "HEALTHY" || state == "NOT_APPLICABLE") continue;
        rapidjson::Value item(rapidjson::kObjectType);
        item.AddMember("asset", string_value(join_path(recorder::get_object(node, "assetKey")), a), a);
        item.AddMember("policy", string_value(recorder::get_string(*policy, "__typename").value_or(""), a), a);
        item.AddMember("state", string_value(state, a), a);
        const auto* meta = status ? recorder::get_object(*status, "freshnessStatusMetadata") : nullptr;
        item.AddMember("lastMaterializedTimestamp",
                       meta ? nullable_number(*meta, "lastMaterializedTimestamp") : rapidjson::Value(), a);
        flagged.PushBack(item, a);
      }
    }
  }
  std::sort(flagged.Begin(), flagged.End(), [](const rapidjson::Value& x, const rapidjson::Value& y) {
    return std::string_view(x["asset"].GetString()) < std::string_view(y["asset"].GetString());
  });
  out.AddMember("flaggedAssets", flagged, a);
  out.AddMember("policyCount", policies, a);
  out.AddMember("newStylePoliciesSupported", new_style, a);
  return out;
}

StepResult step_agents(StepContext& context) {
  auto data = context.client.query("PlusAgents");
  if (!data) return data.error();
  const auto* agents = recorder::get_array(*data, "agents");
  if (!agents) return make_error("PlusAgents: agents is missing");
  rapidjson::Document out(rapidjson::kObjectType);
  auto& a = out.GetAllocator();
  rapidjson::Value list(rapidjson::kArrayType);
  int running = 0;
  for (const auto& agent : agents->GetArray()) {
    rapidjson::Value item(rapidjson::kObjectType);
    auto status = recorder::get_string(agent, "status").value_or("");
    double heartbeat = number_or(agent, "lastHeartbeatTime", 0);
    if (status == "RUNNING") ++running;
    item.AddMember("id", string_value(recorder::get_string(agent, "id").value_or(""), a), a);
    item.AddMember("agentLabel", string_value(recorder::get_string(agent, "agentLabel").value_or(""), a), a);
    item.AddMember("status", string_value(status, a), a);
    item.AddMember("lastHeartbeatTime", heartbeat, a);
    item.AddMember("heartbeatAgeSeconds", context.end - heartbeat, a);
    item.AddMember("errors", python_errors_json(recorder::get_array(agent, "errors"), a), a);
    list.PushBack(item, a);
  }
  out.AddMember("agents", list, a);
  out.AddMember("agentCount", static_cast<int>(agents->Size()), a);
  out.AddMember("runningCount", running, a);
  out.AddMember("expectedReplicas", context.config.agent_replicas, a);
  out.AddMember("topologyDeviation", running != context.config.agent_replicas, a);
  return out;
}

StepResult step_daemons(StepContext& context) {
  auto data = context.client.query("DaemonHealth");
  if (!data) return data.error();
  const auto* instance = recorder::get_object(*data, "instance");
  const auto* health = instance ? recorder::get_object(*instance, "daemonHealth") : nullptr;
  const auto* statuses = health ? recorder::get_array(*health, "allDaemonStatuses") : nullptr;
  if (!statuses) return make_error("DaemonHealth: instance.daemonHealth.allDaemonStatuses is missing");
  rapidjson::Document out(rapidjson::kObjectType);
  auto& a = out.GetAllocator();
  rapidjson::Value daemons(rapidjson::kArrayType);
  bool all_healthy = true;
  for (const auto& daemon : statuses->GetArray()) {
    bool required = recorder::get_bool(daemon, "required").value_or(false);
    auto healthy = recorder::get_bool(daemon, "healthy");
    if (required && healthy == false) all_healthy = false;
    rapidjson::Value item(rapidjson::kObjectType);
    item.AddMember("daemonType", string_value(recorder::get_string(daemon, "daemonType").value_or(""), a), a);
    item.AddMember("required", required, a);
    item.AddMember("healthy", healthy ? rapidjson::Value(*healthy) : rapidjson::Value(), a);
    item.AddMember("lastHeartbeatTime", nullable_number(daemon, "lastHeartbeatTime"), a);
    item.AddMember("lastHeartbeatErrors", python_errors_json(recorder::get_array(daemon, "lastHeartbeatErrors"), a), a);
    daemons.PushBack(item, a);
  }
  std::sort(daemons.Begin(), daemons.End(), [](const rapidjson::Value& x, const rapidjson::Value& y) {
    return std::string_view(x["daemonType"].GetString()) < std::string_view(y["daemonType"].GetString());
  });
  out.AddMember("daemons", daemons, a);
  out.AddMember("allHealthy", all_healthy, a);
  return out;
}

namespace {

// How long a run has been in its state, and whether that is too long.
struct Stuck {
  double since = 0;
  double limit = 0;  // 0 = no limit applies
  std::string reason;
};

Stuck stuck_state(const rapidjson::Value& run, const std::map<std::string, std::string>& tags, const Config& config) {
  auto status = recorder::get_string(run, "status").value_or("");
  const auto* stats = recorder::get_object(run, "stats");
  auto stat = [&](const char* key) { return stats ? number_or(*stats, key, 0) : 0.0; };
  Stuck stuck;
  if (status == "QUEUED" || status == "NOT_STARTED") {
    stuck.since = stat("enqueuedTime");
    if (stuck.since == 0) stuck.since = number_or(run, "updateTime", 0);
    stuck.limit = config.thresholds.stuck_queue_minutes * 60;
    stuck.reason = fmt::format("{} longer than {} minutes", status, config.thresholds.stuck_queue_minutes);
  } else if (status == "STARTING") {
    stuck.since = stat("launchTime");
    if (stuck.since == 0) stuck.since = number_or(run, "updateTime", 0);
    stuck.limit = config.thresholds.start_timeout_seconds;
    stuck.reason = fmt::format("STARTING longer than the start timeout ({} s)", config.thresholds.start_timeout_seconds);
  } else if (status == "CANCELING") {
    stuck.since = number_or(run, "updateTime", 0);
    stuck.limit = config.thresholds.cancel_timeout_seconds;
    stuck.reason = fmt::format("CANCELING longer than the cancel timeout ({} s)", config.thresholds.cancel_timeout_seconds);
  } else if (status == "STARTED") {
    stuck.since = number_or(run, "startTime", 0);
    auto max_runtime = tags.find("dagster/max_runtime");
    if (max_runtime == tags.end()) max_runtime = tags.find("dagster/max_runtime_seconds");
    if (max_runtime != tags.end()) {
      try {
        stuck.limit = std::stod(max_runtime->second);
      } catch (const std::exception&) {
        stuck.limit = 0;  // an unparsable tag sets no limit
      }
      stuck.reason = fmt::format("STARTED past its max runtime ({} s)", max_runtime->second);
    }
  }
  return stuck;
}

}  // namespace

StepResult step_queued_runs(StepContext& context) {
  rapidjson::Document out(rapidjson::kObjectType);
  auto& a = out.GetAllocator();
  rapidjson::Value runs(rapidjson::kArrayType);
  int stuck_count = 0;
  std::string cursor;
  rapidjson::Value queue_config(rapidjson::kObjectType);
  for (;;) {
    rapidjson::Document vars(rapidjson::kObjectType);
    auto& va = vars.GetAllocator();
    rapidjson::Value filter(rapidjson::kObjectType);
    rapidjson::Value statuses(rapidjson::kArrayType);
    for (const char* status : {"QUEUED", "NOT_STARTED", "STARTING", "STARTED", "CANCELING"}) {
      statuses.PushBack(rapidjson::StringRef(status), va);
    }
    filter.AddMember("statuses", statuses, va);
    vars.AddMember("filter", filter, va);
    vars.AddMember("limit", context.config.page_size, va);
    vars.AddMember("cursor", cursor.empty() ? rapidjson::Value() : recorder::json_string(cursor, va), va);
    auto data = context.client.query("InFlightRuns", vars);
    if (!data) return data.error();
    auto found = union_results(*data, "InFlightRuns", "runsOrError", "Runs");
    if (!found) return found.error();
    const auto* results = *found;
    if (const auto* instance = recorder::get_object(*data, "instance"); instance && cursor.empty()) {
      if (const auto* queue = recorder::get_object(*instance, "runQueueConfig")) {
        queue_config.AddMember("maxConcurrentRuns", nullable_number(*queue, "maxConcurrentRuns"), a);
      }
    }
    const std::string sent = cursor;
    for (const auto& run : results->GetArray()) {
      cursor = recorder::get_string(run, "runId").value_or("");
      auto tags = read_tags(run);
      auto stuck = stuck_state(run, tags, context.config);
      auto status = recorder::get_string(run, "status").value_or("");
      bool is_stuck = stuck.limit > 0 && stuck.since > 0 && context.end - stuck.since > stuck.limit;
      if (status == "STARTED" && !is_stuck) continue;  // running normally: not a queue problem
      if (is_stuck) ++stuck_count;
      rapidjson::Value item(rapidjson::kObjectType);
      item.AddMember("runId", string_value(cursor, a), a);
      item.AddMember("jobName", string_value(recorder::get_string(run, "jobName").value_or(""), a), a);
      const auto* origin = recorder::get_object(run, "repositoryOrigin");
      item.AddMember("location", string_value(origin ? recorder::get_string(*origin, "repositoryLocationName").value_or("") : "", a), a);
      item.AddMember("status", string_value(status, a), a);
      item.AddMember("since", stuck.since > 0 ? rapidjson::Value(stuck.since) : rapidjson::Value(), a);
      item.AddMember("ageSeconds", stuck.since > 0 ? rapidjson::Value(context.end - stuck.since) : rapidjson::Value(), a);
      item.AddMember("stuck", is_stuck, a);
      item.AddMember("reason", is_stuck ? string_value(stuck.reason, a) : rapidjson::Value(), a);
      runs.PushBack(item, a);
    }
    if (static_cast<int>(results->Size()) < context.config.page_size || cursor.empty()) break;
    // A server that ignores the cursor would send the same full page forever.
    if (cursor == sent) return make_error(fmt::format("InFlightRuns: paging does not advance past run {}", cursor));
  }
  std::sort(runs.Begin(), runs.End(), [](const rapidjson::Value& x, const rapidjson::Value& y) {
    return std::string_view(x["runId"].GetString()) < std::string_view(y["runId"].GetString());
  });
  out.AddMember("runs", runs, a);
  out.AddMember("stuckCount", stuck_count, a);
  out.AddMember("queueConfig", queue_config, a);
  return out;
}

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

}  // namespace

StepResult step_backfills(StepContext& context) {
  rapidjson::Document out(rapidjson::kObjectType);
  auto& a = out.GetAllocator();
  rapidjson::Value requested(rapidjson::kArrayType);
  rapidjson::Value failed(rapidjson::kArrayType);
  std::string cursor;
  constexpr int k_page = 100;
  for (;;) {
    rapidjson::Document vars(rapidjson::kObjectType);
    auto& va = vars.GetAllocator();
    vars.AddMember("status", rapidjson::Value(), va);  // fetch all: status values differ by version
    vars.AddMember("limit", k_page, va);
    vars.AddMember("cursor", cursor.empty() ? rapidjson::Value() : recorder::json_string(cursor, va), va);
    auto data = context.client.query("Backfills", vars);
    if (!data) return data.error();
    auto found = union_results(*data, "Backfills", "partitionBackfillsOrError", "PartitionBackfills");
    if (!found) return found.error();
    const auto* results = *found;
    const std::string sent = cursor;
    for (const auto& backfill : results->GetArray()) {
      cursor = recorder::get_string(backfill, "id").value_or("");
      double requested_at = number_or(backfill, "timestamp", 0);
      double ended_at = number_or(backfill, "endTimestamp", 0);
      auto status = recorder::get_string(backfill, "status").value_or("");
      bool active = status == "REQUESTED" || status == "CANCELING" || status == "FAILING";
      bool relevant = in_window(context, requested_at) || in_window(context, ended_at) ||
                      (active && requested_at <= context.end);
      if (!relevant) continue;
      int failures = failed_partitions(backfill);
      bool is_failed = status == "FAILED" || status == "COMPLETED_FAILED" || status == "FAILING" ||
                       recorder::get_object(backfill, "error") != nullptr || failures > 0;
      if (in_window(context, requested_at)) requested.PushBack(backfill_json(backfill, failures, a), a);
      if (is_failed) failed.PushBack(backfill_json(backfill, failures, a), a);
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
