// Step 17: the assets whose latest run failed without materializing them (degraded), or that were
// materialized after it ended (recovered), and the degraded ones grouped by the run that failed them.
#include <algorithm>
#include <map>
#include <optional>
#include <tuple>

#include "collect_helpers.hpp"

namespace analyzer {

using recorder::make_error;

namespace {

// The failed run that left assets degraded.
struct Cluster {
  double end_time = 0;
  std::vector<std::string> assets;
};

struct Degraded {
  rapidjson::Value list{rapidjson::kArrayType};
  std::map<std::string, Cluster> clusters;  // run id -> its degraded (not recovered) assets
  int recovered = 0;
};

constexpr std::size_t k_batch = 100;

// The AssetsLatestInfo variables of the batch of assets starting at `first`.
rapidjson::Document latest_info_vars(const std::vector<AssetNode>& nodes, std::size_t first) {
  rapidjson::Document vars(rapidjson::kObjectType);
  auto& va = vars.GetAllocator();
  rapidjson::Value keys(rapidjson::kArrayType);
  for (std::size_t i = first; i < std::min(nodes.size(), first + k_batch); ++i) {
    keys.PushBack(asset_key_input(nodes[i].path, va), va);
  }
  vars.AddMember("assetKeys", keys, va);
  return vars;
}

// A materialization's time (epoch milliseconds as a string) in seconds; nullopt when unknown.
std::optional<double> materialization_time(const rapidjson::Value* materialization) {
  std::optional<double> mat_time;
  if (materialization) {
    if (auto ms = recorder::get_string(*materialization, "timestamp")) {
      if (auto instant = recorder::parse_epoch_millis(*ms)) mat_time = recorder::to_epoch_seconds(*instant);
    }
  }
  return mat_time;
}

// Adds the asset of one AssetsLatestInfo entry when its latest run failed and did not materialize it.
void read_latest_info(const rapidjson::Value& info, Degraded& degraded, Allocator& a) {
  const auto* run = recorder::get_object(info, "latestRun");
  if (!run || recorder::get_string(*run, "status") != "FAILURE") return;
  auto run_id = recorder::get_string(*run, "runId").value_or("");
  const auto* materialization = recorder::get_object(info, "latestMaterialization");
  auto mat_run = materialization ? recorder::get_string(*materialization, "runId").value_or("") : "";
  if (mat_run == run_id) return;
  double run_end = number_or(*run, "endTime", 0);
  std::optional<double> mat_time = materialization_time(materialization);
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
  degraded.list.PushBack(item, a);
  if (is_recovered) {
    ++degraded.recovered;
  } else {
    auto& cluster = degraded.clusters[run_id];
    cluster.end_time = run_end;
    cluster.assets.push_back(asset);
  }
}

// The degraded assets by the run that failed them, oldest run end first.
rapidjson::Value by_run_json(const std::map<std::string, Cluster>& clusters, const StepContext& context, Allocator& a) {
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
  return by_run;
}

}  // namespace

StepResult step_degraded_assets(StepContext& context) {
  const auto& nodes = context.asset_nodes->get();
  if (!nodes) return nodes.error();
  rapidjson::Document out(rapidjson::kObjectType);
  auto& a = out.GetAllocator();
  Degraded degraded;
  for (std::size_t first = 0; first < nodes->size(); first += k_batch) {
    auto vars = latest_info_vars(*nodes, first);
    auto data = context.client.query("AssetsLatestInfo", vars);
    if (!data) return data.error();
    const auto* infos = recorder::get_array(*data, "assetsLatestInfo");
    if (!infos) return make_error("AssetsLatestInfo: assetsLatestInfo is missing");
    for (const auto& info : infos->GetArray()) read_latest_info(info, degraded, a);
  }
  std::sort(degraded.list.Begin(), degraded.list.End(), [](const rapidjson::Value& x, const rapidjson::Value& y) {
    return std::string_view(x["asset"].GetString()) < std::string_view(y["asset"].GetString());
  });
  rapidjson::Value by_run = by_run_json(degraded.clusters, context, a);
  out.AddMember("totalAssets", static_cast<int>(nodes->size()), a);
  out.AddMember("degradedCount", static_cast<int>(degraded.list.Size()) - degraded.recovered, a);
  out.AddMember("recoveredCount", degraded.recovered, a);
  out.AddMember("degraded", degraded.list, a);
  out.AddMember("byRun", by_run, a);
  return out;
}

}  // namespace analyzer
