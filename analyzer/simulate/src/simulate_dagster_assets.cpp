// The assets of a simulated world (one per job and step of the runs that materialize, plus the
// assets of the spec's checks), their checks and check executions, and the Dagster+ agents: the
// shapes of the recorded fixture (AssetChecksLatest, AssetCheckHistory) and of the Dagster+ schema
// (PlusAgents, tests/data/dagster/schemas/dagster-plus.graphql).
#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <map>

#include "recorder/base/json.hpp"
#include "simulate_world.hpp"

namespace analyzer::sim {

namespace {

using Vars = rapidjson::Value;

struct Asset {
  std::vector<std::string> path;
  std::string location = "etl";
  const Run* run = nullptr;  // the latest run materializing it (or planning to); null for check-only assets
  std::vector<const AssetCheck*> checks;
};

std::string key_text(const std::vector<std::string>& path) { return fmt::format("{}", fmt::join(path, "/")); }

std::string key_json(const std::vector<std::string>& path) {
  std::vector<std::string> parts;
  for (const auto& p : path) parts.push_back(quote(p));
  return fmt::format(R"({{"path":[{}]}})", join(parts));
}

// Every asset, by key: runs that materialize (or fail while planning to), then the checks' assets.
std::vector<Asset> assets(const World& world) {
  std::map<std::string, Asset> by_key;
  for (const auto& r : world.runs) {
    if (!r.materialized && r.mode != FailureMode::user_code_error) continue;
    Asset& a = by_key[key_text({r.job, r.step})];
    a.path = {r.job, r.step};
    a.location = r.location;
    if (!a.run || update_time(r) > update_time(*a.run)) a.run = &r;
  }
  for (const auto& check : world.checks) {
    Asset& a = by_key[key_text(check.asset)];
    a.path = check.asset;
    a.checks.push_back(&check);
  }
  std::vector<Asset> out;
  for (auto& [key, asset] : by_key) out.push_back(std::move(asset));
  return out;
}

std::string asset_id(const Asset& a) { return quote(fmt::format("{}.{}", a.location, key_text(a.path))); }

std::string asset_nodes(const World& world, const std::function<std::string(const Asset&)>& extra) {
  std::vector<std::string> nodes;
  for (const auto& a : assets(world)) {
    nodes.push_back(fmt::format(R"({{"id":{},"assetKey":{}{}}})", asset_id(a), key_json(a.path), extra(a)));
  }
  return "[" + join(nodes) + "]";
}

std::string assets_latest_info(const World& world) {
  std::vector<std::string> infos;
  for (const auto& a : assets(world)) {
    const Run* r = a.run;
    if (!r) {
      infos.push_back(fmt::format(
          R"({{"id":{},"assetKey":{},"unstartedRunIds":[],"inProgressRunIds":[],"latestRun":null,"latestMaterialization":null}})",
          quote(key_text(a.path)), key_json(a.path)));
      continue;
    }
    const Run* good = nullptr;  // the newest successful run of the asset's job
    for (const auto& other : world.runs) {
      if (other.job == r->job && other.step == r->step && other.status == "SUCCESS" && (!good || other.end > good->end)) good = &other;
    }
    std::string materialization = good ? fmt::format(R"({{"timestamp":{},"runId":{},"partition":null,"stepKey":{}}})",
                                                     millis(good->end - 1), quote(good->id), quote(good->step))
                                       : "null";
    const Run* latest = good && update_time(*good) > update_time(*r) ? good : r;
    infos.push_back(fmt::format(
        R"({{"id":{},"assetKey":{},"unstartedRunIds":[],"inProgressRunIds":[],"latestRun":{{"id":{},"runId":{},"status":{},"startTime":{},"endTime":{}}},"latestMaterialization":{}}})",
        quote(key_text(a.path)), key_json(a.path), quote(latest->id), quote(latest->id), quote(latest->status),
        nullable(latest->start), nullable(latest->end), materialization));
  }
  return fmt::format(R"({{"assetsLatestInfo":[{}]}})", join(infos));
}

// ---- asset checks ---------------------------------------------------------------------------------

std::string metadata_entries(const CheckExecution& e) {
  std::vector<std::string> out;
  for (const auto& [label, value] : e.metadata) {
    bool integer = !value.empty() && value.size() < 10 && std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; });
    out.push_back(integer ? fmt::format(R"({{"__typename":"IntMetadataEntry","label":{},"description":null,"intValue":{},"intRepr":{}}})",
                                        quote(label), value, quote(value))
                          : fmt::format(R"({{"__typename":"TextMetadataEntry","label":{},"description":null,"text":{}}})",
                                        quote(label), quote(value)));
  }
  return "[" + join(out) + "]";
}

// An execution's id: unique over the world (checks in spec order, executions oldest first).
std::string execution_id(const World& world, const AssetCheck& check, std::size_t n) {
  std::size_t id = 1;
  for (const auto& c : world.checks) {
    if (&c == &check) return std::to_string(id + n);
    id += c.executions.size();
  }
  return std::to_string(id + n);
}

// An AssetCheckExecution; `target` adds the evaluation's targetMaterialization (AssetChecksLatest).
std::string execution_json(const World& world, const AssetCheck& check, std::size_t n, bool target) {
  const CheckExecution& e = check.executions[n];
  std::string step = fmt::format("{}_{}", fmt::join(check.asset, "__"), check.name);
  std::string evaluation = "null";  // EXECUTION_FAILED: the check itself crashed
  if (e.status != "EXECUTION_FAILED") {
    std::string materialization = target && !e.run_id.empty()
                                      ? fmt::format(R"(,"targetMaterialization":{{"storageId":{},"runId":{},"timestamp":{}}})",
                                                    quote(execution_id(world, check, n)), quote(e.run_id), number(e.time - 5))
                                      : (target ? R"(,"targetMaterialization":null)" : "");
    evaluation = fmt::format(R"({{"timestamp":{},"severity":{},"success":{},"description":{}{},"metadataEntries":{}}})",
                             number(e.time + 0.5), quote(e.severity), e.status == "SUCCEEDED" ? "true" : "false",
                             e.description.empty() ? "null" : quote(e.description), materialization, metadata_entries(e));
  }
  return fmt::format(R"({{"id":{},"runId":{},"status":{},"timestamp":{},"stepKey":{},"evaluation":{}}})",
                     quote(execution_id(world, check, n)), quote(e.run_id), quote(e.status), number(e.time), quote(step),
                     evaluation);
}

std::string asset_checks_latest(const World& world) {
  return fmt::format(R"({{"assetNodes":{}}})", asset_nodes(world, [&](const Asset& a) {
    std::vector<std::string> checks;
    for (const AssetCheck* c : a.checks) {
      std::string latest = c->executions.empty() ? "null" : execution_json(world, *c, c->executions.size() - 1, true);
      checks.push_back(fmt::format(R"({{"name":{},"description":{},"blocking":false,"executionForLatestMaterialization":{}}})",
                                   quote(c->name), c->description.empty() ? "null" : quote(c->description), latest));
    }
    return fmt::format(R"(,"hasAssetChecks":{},"assetChecksOrError":{{"__typename":"AssetChecks","checks":[{}]}})",
                       a.checks.empty() ? "false" : "true", join(checks));
  }));
}

// The executions of one check, newest first, after the `cursor` execution id, at most `limit`.
std::string asset_check_history(const World& world, const Vars& vars) {
  const auto* key = recorder::get_object(vars, "assetKey");
  std::vector<std::string> path;
  if (const auto* parts = key ? recorder::get_array(*key, "path") : nullptr) {
    for (const auto& p : parts->GetArray()) path.push_back(p.IsString() ? p.GetString() : "");
  }
  auto name = recorder::get_string(vars, "checkName").value_or("");
  auto cursor = recorder::get_string(vars, "cursor");
  auto limit = static_cast<std::size_t>(recorder::get_number(vars, "limit").value_or(100));
  std::vector<std::string> out;
  for (const auto& check : world.checks) {
    if (check.asset != path || check.name != name) continue;
    bool past_cursor = !cursor;
    for (std::size_t n = check.executions.size(); n-- > 0 && out.size() < limit;) {
      if (past_cursor) out.push_back(execution_json(world, check, n, false));
      if (cursor && execution_id(world, check, n) == *cursor) past_cursor = true;
    }
  }
  return fmt::format(R"({{"assetCheckExecutions":[{}]}})", join(out));
}

}  // namespace

std::string answer_assets(const World& world, const std::string& op, const Vars& vars) {
  if (op == "AssetsLatestInfo") return assets_latest_info(world);
  if (op == "AssetKeys") {
    return fmt::format(R"({{"assetNodes":{}}})", asset_nodes(world, [](const Asset& a) {
      return fmt::format(R"(,"hasAssetChecks":{})", a.checks.empty() ? "false" : "true");
    }));
  }
  if (op == "FreshnessLegacy") {
    return fmt::format(R"({{"assetNodes":{}}})", asset_nodes(world, [](const Asset& a) {
      return fmt::format(R"(,"groupName":"default","repository":{{"name":{},"location":{{"name":{}}}}},"freshnessPolicy":null,"freshnessInfo":null)",
                         quote(k_repository), quote(a.location));
    }));
  }
  if (op == "FreshnessNew") {
    return fmt::format(R"({{"instance":{{"freshnessEvaluationEnabled":true}},"assetNodes":{}}})", asset_nodes(world, [](const Asset&) {
      return R"(,"internalFreshnessPolicy":null,"freshnessStatusInfo":null)";
    }));
  }
  if (op == "AssetChecksLatest") return asset_checks_latest(world);
  if (op == "AssetCheckHistory") return asset_check_history(world, vars);
  return "";
}

// PlusAgents: the agents with their heartbeat errors (TimestampedError), as the Dagster+ schema
// types them; "" on open-source Dagster, which has no `agents` field.
std::string answer_plus(const World& world, const std::string& op) {
  if (op != "PlusAgents" || !world.plus) return "";
  std::vector<std::string> agents;
  for (const auto& agent : world.agents) {
    std::vector<std::string> errors;
    for (const auto& e : agent.errors) {
      auto colon = e.error.find(':');
      errors.push_back(fmt::format(R"({{"timestamp":{},"error":{{"message":{},"className":{},"stack":[]}}}})", number(e.time),
                                   quote(e.error + "\n"), quote(e.error.substr(0, colon))));
    }
    std::vector<std::string> servers;
    for (const auto& loc : world.locations) {
      servers.push_back(fmt::format(R"({{"locationName":{},"status":{},"error":{}}})", quote(loc.name),
                                    loc.load_error.empty() ? R"("RUNNING")" : R"("FAILED")",
                                    loc.load_error.empty() ? "null" : fmt::format(R"({{"message":{},"className":{}}})",
                                                                                  quote(loc.load_error + "\n"),
                                                                                  quote(loc.load_error.substr(0, loc.load_error.find(':'))))));
    }
    agents.push_back(fmt::format(
        R"({{"id":{},"agentLabel":{},"status":{},"lastHeartbeatTime":{},"errors":[{}],"metadata":[{{"key":"type","value":"K8sUserCodeLauncher"}},{{"key":"version","value":"1.9.3"}}],"runWorkerStates":[],"codeServerStates":[{}]}})",
        quote(agent.id), agent.label.empty() ? "null" : quote(agent.label), quote(agent.status), number(agent.heartbeat),
        join(errors), join(servers)));
  }
  return fmt::format(R"({{"agents":[{}]}})", join(agents));
}

}  // namespace analyzer::sim
