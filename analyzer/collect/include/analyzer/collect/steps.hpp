// The context every collection step gets and the steps themselves (the investigations reuse the fetchers).
// Each step builds its payload in its own Document (rapidjson allocators are not thread-safe);
// collect() copies the payloads into the artifact on one thread.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "analyzer/config/config.hpp"
#include "analyzer/clients/dagster_client.hpp"
#include "analyzer/artifact/failure.hpp"
#include "analyzer/clients/gcp_client.hpp"
#include "analyzer/collect/runs.hpp"
#include "analyzer/classify/rules.hpp"
#include "recorder/base/json.hpp"
#include "recorder/base/time.hpp"

namespace analyzer {

using Allocator = rapidjson::Document::AllocatorType;

// Lazily fetched data that two steps share, fetched once.
template <class T>
class Shared {
 public:
  using Fetch = std::function<recorder::Result<T>()>;
  explicit Shared(Fetch fetch) : m_fetch(std::move(fetch)) {}
  const recorder::Result<T>& get() {
    std::lock_guard lock(m_mutex);
    if (!m_value) m_value.emplace(m_fetch());
    return *m_value;
  }

 private:
  Fetch m_fetch;
  std::mutex m_mutex;
  std::optional<recorder::Result<T>> m_value;
};

// A terminal run row of RunsInWindow: the run row the investigation commands list too.
using RunRow = RunRowInfo;

struct AssetNode {
  std::string key;                    // path joined with "/"
  std::vector<std::string> path;
  bool has_checks = false;
};

// A Kubernetes event about a pod (step 10's podEvents), or a node-level event mapped to a pod
// that was on the node (`node_event`).
struct PodEvent {
  double timestamp = 0;
  std::string pod_name;
  std::string reason;
  std::string message;
  std::string node;    // the node the event names ("" when unknown)
  bool node_event = false;
  int node_event_pods = 0;    // a node event: how many pods were on the node then (1: attributable)
  std::string insert_id;
  std::string node_pool;      // the GKE node pool of `node` ("" when unknown)
  std::optional<bool> spot;   // whether that pool is Spot / preemptible (nullopt: unknown)
};

// A GKE node pool and whether its VMs can be reclaimed (Spot or preemptible).
struct NodePool {
  std::string name;
  bool spot = false;
  // Its nodes' name prefixes, from its managed instance groups (instanceGroupUrls): the group
  // "gke-<cluster>-<pool>-<hash>-grp" holds the nodes "gke-<cluster>-<pool>-<hash>-<suffix>", names
  // in which GKE shortens a long cluster or pool name.
  std::vector<std::string> node_prefixes;
};

// An event not about a pod: nodes, Jobs, Spot VM preemptions, event-exporter restarts.
struct ClusterEvent {
  double timestamp = 0;
  std::string kind;  // Node, Job, ...
  std::string name;
  std::string reason;
  std::string message;
  std::string resource_type;
  std::string insert_id;
};

struct GkeEvents {
  std::vector<PodEvent> pods;          // sorted by time, then pod
  std::vector<ClusterEvent> cluster;   // sorted by time, then name
  std::vector<NodePool> pools;         // the cluster's node pools, by name (empty: not read)
  std::string pools_error;             // why they could not be read ("" when read or not asked)
  bool pools_read = false;
  // dagster-step pods -> their run, from the `dagster/run-id` label of their audit-log creation (a step
  // pod's name holds only an md5 of run id and step key).
  std::map<std::string, std::string> step_pod_runs;
  std::string step_pods_error;         // why they could not be read ("" when read or not asked)
};

struct StepContext {
  const DagsterClient& client;
  const Config& config;
  const RuleSet& rules;
  recorder::Window window;
  double start = 0;  // window bounds as float epoch seconds
  double end = 0;
  std::unique_ptr<Shared<std::vector<RunRow>>> runs;          // terminal runs that ended in the window
  std::unique_ptr<Shared<std::vector<AssetNode>>> asset_nodes;  // the asset graph
  std::unique_ptr<Shared<rapidjson::Document>> workspace;      // AllInstigatorTicks data
  const GcpClient* gcp = nullptr;                              // null: Google Cloud not configured
  recorder::Instant now{};                                     // Error Reporting's periods end now
  std::unique_ptr<Shared<GkeEvents>> gke_events;               // steps 10 and 12
};

using StepResult = recorder::Result<rapidjson::Document>;

// Fetchers behind the Shared values (the investigation commands read a window's runs too; the asset
// graph's fetcher is private, in src/collect_helpers.hpp).
recorder::Result<std::vector<RunRow>> fetch_runs_in_window(const StepContext& context);

// The Dagster steps. Each returns its payload or an Error naming the query and the cause.
StepResult step_failed_runs(StepContext& context);    // step_01_failed_runs
StepResult step_retries(StepContext& context);        // step_02_retries
StepResult step_sensor_ticks(StepContext& context);   // step_03_sensor_ticks
StepResult step_freshness(StepContext& context);      // step_04_freshness
StepResult step_load_failures(StepContext& context);  // step_05_load_failures
StepResult step_schedule_ticks(StepContext& context); // step_06_schedule_ticks
StepResult step_agents(StepContext& context);         // step_07_agents
StepResult step_daemons(StepContext& context);        // step_09_daemons
StepResult step_queued_runs(StepContext& context);    // step_14_queued_runs
StepResult step_backfills(StepContext& context);      // step_15_backfills
StepResult step_asset_checks(StepContext& context);   // step_16_asset_checks
StepResult step_degraded_assets(StepContext& context);  // step_17_degraded_assets

// The Google Cloud steps (context.gcp set). Errors name the API method.
StepResult step_agent_pod_churn(StepContext& context);  // step_08_agent_pod_churn
StepResult step_gke_events(StepContext& context);       // step_10_gke_events
StepResult step_alerts(StepContext& context);           // step_11_alerts
StepResult step_error_groups(StepContext& context);     // step_12_error_groups
StepResult step_oom_metrics(StepContext& context);      // step_13_oom_metrics

// The Kubernetes events of the window (Cloud Logging), for steps 10 and 12.
// `full`: also read the cluster's node pools (nodePools.list: which nodes are Spot) and the step pods'
// creations (audit log: which run each dagster-step pod belongs to).
recorder::Result<GkeEvents> fetch_gke_events(const StepContext& context, bool full = true);

// Reads one failed run's whole event log (paged to the end) into `record`.
recorder::Result<void> read_run_events(const DagsterClient& client, int page_size, FailureRecord& record);

// The FailureRecord as written in step 01 (without category / rule id).
rapidjson::Value failure_to_json(const FailureRecord& record, Allocator& allocator);

// The run's identity, times and tags as a FailureRecord, its evidence still to read.
FailureRecord failure_record(const RunRow& run);

// JSON helpers the investigation commands use too (the step files' own are in src/collect_helpers.hpp).
double number_or(const rapidjson::Value& object, const char* key, double fallback);
rapidjson::Value string_value(std::string_view text, Allocator& allocator);

}  // namespace analyzer

namespace analyzer {
// Runs fn(0..count-1) on up to `concurrency` threads and returns the first error by index, if any.
recorder::Result<void> parallel_for(std::size_t count, int concurrency,
                                    const std::function<recorder::Result<void>(std::size_t)>& fn);
}  // namespace analyzer
