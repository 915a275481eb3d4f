#include "analyzer/collect/collect.hpp"

#include <fmt/format.h>

#include <chrono>
#include <functional>
#include <future>
#include <optional>
#include <semaphore>
#include <stdexcept>

#include "analyzer/artifact/artifact.hpp"
#include "recorder/base/log.hpp"
#include "collect_helpers.hpp"
#include "recorder/redact.hpp"
#include "recorder/base/workers.hpp"

namespace analyzer {

namespace {

using StepFn = std::function<StepResult(StepContext&)>;

struct StepSpec {
  std::string key;
  StepFn run;
  bool google = false;  // a Google Cloud step
};

// What runs each step of the artifact's table (analyzer/artifact.hpp).
StepFn runner_of(StepId id) {
  switch (id) {
    case StepId::failed_runs: return step_failed_runs;
    case StepId::retries: return step_retries;
    case StepId::sensor_ticks: return step_sensor_ticks;
    case StepId::freshness: return step_freshness;
    case StepId::load_failures: return step_load_failures;
    case StepId::schedule_ticks: return step_schedule_ticks;
    case StepId::agents: return step_agents;
    case StepId::agent_pod_churn: return step_agent_pod_churn;
    case StepId::daemons: return step_daemons;
    case StepId::gke_events: return step_gke_events;
    case StepId::alerts: return step_alerts;
    case StepId::error_groups: return step_error_groups;
    case StepId::oom_metrics: return step_oom_metrics;
    case StepId::queued_runs: return step_queued_runs;
    case StepId::backfills: return step_backfills;
    case StepId::asset_checks: return step_asset_checks;
    case StepId::degraded_assets: return step_degraded_assets;
  }
  throw std::logic_error("a step without a runner");
}

const std::vector<StepSpec>& step_specs() {
  static const std::vector<StepSpec> specs = [] {
    std::vector<StepSpec> out;
    for (const auto& step : step_table()) out.push_back({step.key, runner_of(step.id), step.google});
    return out;
  }();
  return specs;
}

// A step that does not apply. Steps 08 and 13 keep their list, empty, as the seed's shape has them
// ({"events": [...], "skipped": bool}, {"oomRuns": [...], "skipped": bool}).
rapidjson::Document skipped(const std::string& key, const std::string& reason) {
  rapidjson::Document out(rapidjson::kObjectType);
  if (key == step_key(StepId::agent_pod_churn)) out.AddMember("events", rapidjson::Value(rapidjson::kArrayType), out.GetAllocator());
  if (key == step_key(StepId::oom_metrics)) out.AddMember("oomRuns", rapidjson::Value(rapidjson::kArrayType), out.GetAllocator());
  out.AddMember("skipped", true, out.GetAllocator());
  out.AddMember("reason", recorder::json_string(reason, out.GetAllocator()), out.GetAllocator());
  return out;
}

rapidjson::Document errored(const std::string& message) {
  rapidjson::Document out(rapidjson::kObjectType);
  out.AddMember("error", recorder::json_string(message, out.GetAllocator()), out.GetAllocator());
  return out;
}

// Why a step is not collected for this deployment, or "" when it is.
std::string skip_reason(const StepSpec& spec, const Config& config) {
  if (spec.google && config.gcp.project.empty()) {
    return "Google Cloud is not configured (set gcp.project, gcp.cluster and gcp.location)";
  }
  if (spec.key == step_key(StepId::agents) && config.dagster.flavor == Flavor::oss) {
    return "open-source Dagster has no agents (Dagster+ only); set dagster.flavor to \"plus\" for Dagster+";
  }
  return "";
}

rapidjson::Value window_json(const CollectRequest& request, Allocator& a) {
  rapidjson::Value window(rapidjson::kObjectType);
  window.AddMember("epoch", recorder::to_epoch_seconds(request.window.start), a);
  window.AddMember("utc_start", recorder::json_string(recorder::format_rfc3339_utc(request.window.start), a), a);
  window.AddMember("utc_end", recorder::json_string(recorder::format_rfc3339_utc(request.window.end), a), a);
  window.AddMember("timezone", recorder::json_string(request.timezone, a), a);
  return window;
}

// AllInstigatorTicks: the workspace's sensors and schedules with their ticks of the window (steps 03, 06).
recorder::Result<rapidjson::Document> fetch_workspace_ticks(const StepContext& context) {
  rapidjson::Document vars(rapidjson::kObjectType);
  vars.AddMember("after", context.start, vars.GetAllocator());
  vars.AddMember("before", context.end, vars.GetAllocator());
  vars.AddMember("limit", 1000, vars.GetAllocator());
  return context.client.query("AllInstigatorTicks", vars);
}

// The data several steps read, each fetched once, by the first step that asks.
void share_fetches(StepContext& context) {
  context.runs = std::make_unique<Shared<std::vector<RunRow>>>([&context] { return fetch_runs_in_window(context); });
  context.asset_nodes = std::make_unique<Shared<std::vector<AssetNode>>>([&context] { return fetch_asset_nodes(context); });
  context.workspace = std::make_unique<Shared<rapidjson::Document>>([&context] { return fetch_workspace_ticks(context); });
  context.gke_events = std::make_unique<Shared<GkeEvents>>([&context] { return fetch_gke_events(context); });
}

// The Google Cloud client, when collect was given a Google transport.
void open_google(const CollectRequest& request, std::optional<GcpClient>& gcp) {
  if (!request.google) return;
  std::string root = request.google_api_root.empty() ? request.config.gcp.api_root : request.google_api_root;
  gcp.emplace(request.google, root.empty() ? GcpEndpoints{} : GcpEndpoints::all(root),
              std::chrono::milliseconds(static_cast<long long>(request.config.timeout_seconds * 1000)));
}

// One step, isolated: whatever goes wrong is its own error.
StepResult run_isolated(const StepSpec& spec, StepContext& context, const Config& config) {
  try {
    if (spec.google && context.gcp == nullptr) {
      return recorder::make_error(fmt::format(
          "Google Cloud is configured (project {}) but no Google transport was given to collect",
          config.gcp.project));
    }
    return spec.run(context);
  } catch (const std::exception& e) {
    // A bug, not bad input: still isolate it to this step, and say so.
    return recorder::make_error(fmt::format("internal error: {}", e.what()));
  }
}

// The steps' payloads, in step order, and the wall time of each step that ran.
struct StepRuns {
  std::vector<rapidjson::Document> payloads;
  std::vector<std::optional<double>> seconds;
};

// The progress line of a step that ended, numbered in the order steps end.
class ProgressLines {
 public:
  ProgressLines(Progress progress, std::size_t total) : m_progress(progress), m_total(total) {}
  void ended(const std::string& key, const StepResult& result, double seconds) {
    if (m_progress != Progress::lines) return;
    std::lock_guard lock(m_mutex);
    ++m_done;
    recorder::log::info("day2: [{:2}/{}] {} {} ({:.2f} s){}", m_done, m_total, key, result ? "ok" : "ERROR", seconds,
                        result ? "" : ": " + result.error().message);
  }

 private:
  Progress m_progress;
  std::size_t m_total;
  std::mutex m_mutex;
  std::size_t m_done = 0;
};

StepRuns run_steps(StepContext& context, const CollectRequest& request) {
  const auto& specs = step_specs();
  StepRuns runs{std::vector<rapidjson::Document>(specs.size()), std::vector<std::optional<double>>(specs.size())};
  // Every step starts at once: the transport's limit (--concurrency) bounds the requests in flight,
  // so a step waiting on a response never holds back another step's request.
  std::vector<recorder::Pending<void>> pending;
  std::size_t pending_count = 0;
  for (const auto& spec : specs) pending_count += skip_reason(spec, request.config).empty() ? 1 : 0;
  ProgressLines progress(request.progress, pending_count);
  for (std::size_t i = 0; i < specs.size(); ++i) {
    auto reason = skip_reason(specs[i], request.config);
    if (!reason.empty()) {
      runs.payloads[i] = skipped(specs[i].key, reason);
      continue;
    }
    pending.push_back(recorder::run_async([&, i] {
      auto begin = std::chrono::steady_clock::now();
      // The step's cap on its total time: its retries, backoffs and quota waits stop at it.
      auto cap = std::chrono::milliseconds(static_cast<long long>(request.config.step_seconds * 1000));
      recorder::DeadlineScope deadline(recorder::Deadline{begin + cap, cap});
      StepResult result = run_isolated(specs[i], context, request.config);
      double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
      runs.seconds[i] = seconds;
      runs.payloads[i] = result ? std::move(*result) : errored(result.error().message);
      progress.ended(specs[i].key, result, seconds);
    }));
  }
  for (auto& future : pending) future.get();
  return runs;
}

rapidjson::Value meta_json(const DagsterClient& client, const CollectRequest& request, const RuleSet& rules,
                           Allocator& a) {
  rapidjson::Value meta(rapidjson::kObjectType);
  meta.AddMember("day2Version", rapidjson::StringRef(DAY2_VERSION), a);
  meta.AddMember("dagsterUrl", recorder::json_string(recorder::safe_url(client.endpoint()), a), a);
  meta.AddMember("dagsterFlavor", recorder::json_string(to_string(request.config.dagster.flavor), a), a);
  meta.AddMember("rules", recorder::json_string(rules.source, a), a);
  return meta;
}

}  // namespace

const std::vector<std::string>& step_keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> out;
    for (const auto& spec : step_specs()) out.push_back(spec.key);
    return out;
  }();
  return keys;
}

rapidjson::Document collect(const DagsterClient& client, const CollectRequest& request) {
  const RuleSet& rules = request.rules ? *request.rules : default_rules();
  StepContext context{client, request.config, rules, request.window,
                      recorder::to_epoch_seconds(request.window.start),
                      recorder::to_epoch_seconds(request.window.end), nullptr, nullptr, nullptr, nullptr, {}, nullptr};
  std::optional<GcpClient> gcp;
  open_google(request, gcp);
  if (gcp) context.gcp = &*gcp;
  context.now = request.now == recorder::Instant{}
                    ? std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now())
                    : request.now;
  share_fetches(context);

  const auto& specs = step_specs();
  StepRuns runs = run_steps(context, request);
  if (request.step_seconds != nullptr) {
    for (std::size_t i = 0; i < specs.size(); ++i) {
      auto id = step_of_key(specs[i].key);
      if (id && runs.seconds[i]) (*request.step_seconds)[*id] = *runs.seconds[i];
    }
  }

  rapidjson::Document artifact(rapidjson::kObjectType);
  auto& a = artifact.GetAllocator();
  artifact.AddMember("artifactVersion", k_artifact_version, a);
  artifact.AddMember("window", window_json(request, a), a);
  artifact.AddMember("meta", meta_json(client, request, rules, a), a);
  for (std::size_t i = 0; i < specs.size(); ++i) {
    rapidjson::Value value;
    value.CopyFrom(runs.payloads[i], a);
    artifact.AddMember(recorder::json_string(specs[i].key, a), value, a);
  }
  return artifact;
}

std::vector<std::string> error_steps(const rapidjson::Value& artifact) {
  std::vector<std::string> out;
  for (const auto& key : step_keys()) {
    const auto* step = recorder::get_object(artifact, key.c_str());
    if (step && step->HasMember("error")) out.push_back(key);
  }
  return out;
}

std::vector<std::string> unreadable_items(const rapidjson::Value& artifact) {
  std::vector<std::string> out;
  for (const auto& key : step_keys()) {
    const auto* step = recorder::get_object(artifact, key.c_str());
    const auto* items = step ? recorder::get_array(*step, "itemErrors") : nullptr;
    if (!items) continue;
    for (const auto& item : items->GetArray()) {
      out.push_back(fmt::format("{} ({})", key, recorder::get_string(item, "item").value_or("?")));
    }
  }
  return out;
}

}  // namespace analyzer
