// Private to analyzer_collect: the helpers its step files share. What other libraries use stays in
// analyzer/collect/steps.hpp.
#pragma once

#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "analyzer/collect/steps.hpp"

namespace analyzer {

// ---- Dagster answers and JSON (common.cpp) ----------------------------------------------------------

std::string join_path(const rapidjson::Value* path_array);  // ["a","b"] -> "a/b"
std::map<std::string, std::string> read_tags(const rapidjson::Value& run);
// One entry of a step's "itemErrors": {"item": what could not be read, "error": why} (docs/artifact.md).
rapidjson::Value item_error(std::string_view item, std::string_view error, Allocator& allocator);
rapidjson::Value nullable_number(const rapidjson::Value& object, const char* key);
rapidjson::Value nullable_time(std::optional<double> time);  // epoch seconds, null when unknown
// The first error of a PythonError's cause chain as "Class: message" (first line), "" when none.
std::string error_chain_top(const rapidjson::Value& python_error);
// A list of PythonErrors (or of objects holding one in `error`) as [{timestamp, className, message}]
// (steps 07 and 09: an agent's errors, a daemon's last heartbeat errors).
rapidjson::Value python_errors_json(const rapidjson::Value* errors, Allocator& a);
// An AssetKeyInput variable ({"path": [...]}).
rapidjson::Value asset_key_input(const std::vector<std::string>& path, Allocator& a);

// A run of a run list (RunsInWindow, InFlightRuns) or RunDetail: absent fields are "" / 0, and
// launch_time is read from `stats` when the query asks for it.
RunRow read_run_row(const rapidjson::Value& run);
// The `results` list of a paged run or backfill list: `data[field]` must be the union member
// `type_name` with a `results` array. Errors name `operation` ("RunsInWindow: runsOrError is missing").
recorder::Result<const rapidjson::Value*> union_results(const rapidjson::Value& data, std::string_view operation,
                                                        const char* field, std::string_view type_name);

// The fetcher behind context.asset_nodes (steps 16 and 17): the asset graph, by key.
recorder::Result<std::vector<AssetNode>> fetch_asset_nodes(const StepContext& context);

// ---- Google Cloud (google_cloud.cpp) ----------------------------------------------------------------

std::string lql_quote(std::string_view text);  // a double-quoted Logging / Monitoring filter string
// RFC 3339 `object[key]` as float epoch seconds; nullopt when absent or malformed.
std::optional<double> rfc3339_seconds(const rapidjson::Value& object, const char* key);
// The string at JSON pointer-like `path` ("resource/labels/pod_name"); "" when absent.
std::string string_at(const rapidjson::Value& object, std::string_view path);
// run id -> terminal status of the runs that ended in the window (step 01's runs); an Error when
// they could not be read.
recorder::Result<std::map<std::string, std::string>> run_statuses(StepContext& context);
// SUCCESS or FAILURE when `run_id` is one of `statuses`' runs with that status, else UNKNOWN.
std::string run_status_of(const std::optional<std::string>& run_id, const std::map<std::string, std::string>& statuses);

// The pools of a nodePools.list answer (sorted by name; unnamed ones dropped). Pure.
std::vector<NodePool> parse_node_pools(const rapidjson::Value& list);
// The pool of GKE node `node`: the pool whose instance group's prefix starts its name, else the
// longest pool name between dashes in it; null when none. Pure.
const NodePool* pool_of(const std::string& node, const std::vector<NodePool>& pools);

// ---- GKE events (gke_events.cpp) --------------------------------------------------------------------

// The run of a pod: from a run pod's name, else from the step pods' labels of `events`.
std::optional<std::string> run_of_pod(const std::string& pod, const GkeEvents& events);

// How a pod lost its node, told apart because they need different fixes: "priority" (the
// scheduler's Preempted: a higher-priority pod took its place), "spot" (the Spot / preemptible VM
// was reclaimed: Compute Engine's preemption, or the node's graceful shutdown on a Spot pool),
// "node_shutdown" (a graceful node shutdown on a pool not known to be Spot); "" for other events.
std::string preemption_kind(const PodEvent& event);

// ---- Instigator ticks, steps 03 and 06 (instigator_ticks.cpp) --------------------------------------

// A sensor or schedule of a loaded code location, with its state (and its first page of ticks) from
// the workspace query.
struct Instigator {
  std::string location;
  std::string repository;
  std::string name;
  const rapidjson::Value* state;
};

// Sensors (kind "sensor") or schedules ("schedule") of every loaded location.
recorder::Result<std::vector<Instigator>> instigators(StepContext& context, bool sensors);

// Every failed tick of one instigator in the window: the page from the workspace query, continued
// with InstigatorTicks while pages come back full. A continuation that fails keeps the ticks read so
// far and says why the rest is missing (`error`): one instigator's history is not the step's.
struct TickHistory {
  std::vector<const rapidjson::Value*> ticks;
  std::optional<std::string> error;
  double oldest_asked = 0;  // the oldest tick time of the page last continued
};

// `keep` owns the continuation pages the ticks point into.
TickHistory all_ticks(StepContext& context, const Instigator& instigator, std::deque<rapidjson::Document>& keep);

// Oldest first; ticks of one instant by tick id, so the order never depends on the pages.
void sort_ticks(std::vector<const rapidjson::Value*>& ticks);

rapidjson::Value tick_json(const rapidjson::Value& tick, Allocator& a);

}  // namespace analyzer
