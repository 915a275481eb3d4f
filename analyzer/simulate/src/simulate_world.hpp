// The incident world of `day2 simulate`, as read from a scenario spec (docs/scenarios.md,
// "Scenario specs"), and the transports that answer day2's requests from it. Private to
// analyzer/simulate/src/simulate*.cpp.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>

#include "recorder/base/result.hpp"
#include "recorder/base/time.hpp"
#include "recorder/transport.hpp"

namespace analyzer::sim {

enum class FailureMode {
  none,  // the run did not fail (success, canceled, queued, started)
  user_code_error,
  connection_error,
  max_runtime,
  never_started,
  k8s_api_error,
  prestart_kill,
  oom,
  evicted,
  preempted,
  unclassified,
  unschedulable,  // the run pod never scheduled: "K8s job has no active pods", FailedScheduling
  backoff_limit,  // the step's Job failed its health check after the step container ran
};

// The spec spelling of every failure mode, in enum order (none is "").
const std::vector<std::string>& failure_mode_names();

struct PodEvent {
  std::string reason;   // Preempted, Evicted, OOMKilling, Killing, ...
  std::string message;
  double time = 0;      // epoch seconds
  std::string node;
  std::string pod;      // "" = the run's own pod (dagster-run-<id>-x7k2p)
};

struct Expectation {
  std::string category;
  std::string rule;    // "" for no rule (Unclassified)
  std::string action;  // "" when the spec does not say; else the report's action for the run
};

struct Run {
  std::string id;
  std::string job;
  std::string location;
  std::string status;  // FAILURE SUCCESS CANCELED QUEUED STARTED
  double created = 0;
  double start = 0;    // 0: never started (null)
  double end = 0;      // 0: not ended (null)
  FailureMode mode = FailureMode::none;
  std::string step;    // the failing (or only) step key
  std::string error;   // the user exception ("ValueError: bad row")
  int max_runtime = 3600;
  bool exiting_engine_event = false;
  bool materialized = false;
  int attempts = 1;  // user_code_error / connection_error: the step's RetryPolicy ran it this many times
  std::map<std::string, std::string> tags;
  std::string parent_id;
  std::string root_id;
  // Steps of the job besides `step` (docs/scenarios.md): `upstream` ran and succeeded before it (not in
  // a re-execution from failure, which starts at the failed step); `downstream` follow it: executed
  // in a run that succeeded, not executed in one whose step failed (Dagster's "Dependencies for step
  // <key> failed: ['<step>']. Not executing." message).
  std::vector<std::string> upstream;
  std::vector<std::string> downstream;
  std::vector<PodEvent> pod_events;
  bool expected = false;  // whether `expect` was given
  Expectation expect;
};

struct Tick {
  double time = 0;
  std::string status;  // SUCCESS FAILURE SKIPPED
  std::string error_class;
  std::string message;
};

struct Instigator {
  bool sensor = true;
  std::string location;
  std::string name;
  std::vector<Tick> ticks;
};

struct Location {
  std::string name;
  std::string load_error;  // "" = loaded; else the error (class: message)
  double updated = 0;
};

struct Daemon {
  std::string type;
  bool healthy = true;
  double heartbeat = 0;
  std::vector<std::string> errors;  // "ClassName: message"
};

struct Backfill {
  std::string id;
  std::string status;  // COMPLETED_FAILED, FAILED, COMPLETED_SUCCESS, ...
  std::string asset;
  int partitions = 1;
  int failed = 0;
  double created = 0;
  double end = 0;
};

struct Gcp {
  std::string project;
  std::string cluster;
  std::string location;
  std::string agent_namespace;  // "" = the runs' ("dagster")
  // APIs the credential may not read ("logging", "monitoring", "error_reporting", "container"):
  // every request to them is answered 403 PERMISSION_DENIED, as for a missing IAM role.
  std::vector<std::string> denied;
};

// A Dagster+ agent (flavor "plus") and its recent heartbeat errors.
struct AgentError {
  double time = 0;
  std::string error;  // "ClassName: message"
};

struct Agent {
  std::string id;
  std::string label;
  std::string status = "RUNNING";  // RUNNING NOT_RUNNING
  double heartbeat = 0;
  std::vector<AgentError> errors;
};

// An asset check and its executions, newest last as given (answers sort newest first).
struct CheckExecution {
  double time = 0;
  std::string status;    // SUCCEEDED FAILED EXECUTION_FAILED
  std::string severity;  // ERROR WARN
  std::string run_id;
  std::string description;
  std::map<std::string, std::string> metadata;  // label -> text (digits only: an integer entry)
};

struct AssetCheck {
  std::vector<std::string> asset;  // the asset key's path
  std::string name;
  std::string description;
  std::vector<CheckExecution> executions;
};

// An Error Reporting group and its events.
struct ErrorGroup {
  std::string id;
  std::string status = "OPEN";  // OPEN ACKNOWLEDGED RESOLVED MUTED
  std::string message;          // the representative message (a Python traceback)
  std::string service;
  std::string version;          // the pod on GKE
  double first_seen = 0;
  std::vector<double> events;   // event times
};

// A Cloud Monitoring alert (an incident of an alerting policy).
struct Alert {
  std::string id;
  std::string policy;  // display name
  std::string severity = "WARNING";
  double open = 0;
  double close = 0;    // 0 = still open
  std::string resource_type = "k8s_container";
  std::map<std::string, std::string> labels;
  std::string metric = "kubernetes.io/container/cpu/limit_utilization";
};

// One pods.create of the agent's Deployment in the Kubernetes audit log (step 08).
struct PodCreate {
  double time = 0;
  std::string pod;
  int code = 0;  // non-zero: refused
};

// A GKE node pool (nodePools.list) and a Node-level happening (docs/scenarios.md, "Scenario specs").
struct NodePoolSpec {
  std::string name;
  bool spot = false;
};

struct NodeHappening {
  std::string node;
  std::string reason;   // Shutdown (kubelet's graceful shutdown), InstancePreempted (Compute Engine), OOMKilling
  std::string message;  // "" = the reporter's own wording
  double time = 0;
};

struct World {
  recorder::Instant now{};
  recorder::Window window{};
  std::string timezone = "America/New_York";
  int page_size = 200;
  bool plus = false;           // flavor "plus": Dagster+ (agents are answered)
  std::string organization;    // Dagster+ organization
  int agent_replicas = 1;      // config agents.replicas
  Gcp gcp;  // project "" = no Google Cloud
  std::vector<Agent> agents;
  std::vector<AssetCheck> checks;
  std::vector<ErrorGroup> error_groups;
  std::vector<Alert> alerts;
  std::vector<PodEvent> pod_events;  // pods other than run pods (code servers, the agent)
  std::vector<PodCreate> agent_pod_creates;
  std::vector<NodePoolSpec> node_pools;       // empty: one pool "pool-1", not Spot
  std::vector<NodeHappening> node_happenings;  // besides those the runs' pod events imply
  std::vector<double> exporter_restarts;       // the event exporter's "started watching" entries
  std::vector<std::pair<std::string, double>> job_events;  // (Job name, time): BackoffLimitExceeded
  std::vector<Location> locations;
  std::vector<Run> runs;
  std::vector<Instigator> instigators;
  std::vector<Daemon> daemons;
  std::vector<Backfill> backfills;
  std::vector<std::string> findings_present;
  std::vector<std::string> findings_absent;
  std::vector<std::string> causes_present;  // platform causes the report must name (Root Causes)
  std::vector<std::string> causes_absent;
  std::vector<std::vector<std::string>> together;  // run ids that must sit under one root cause
  std::vector<std::string> report_mentions;  // "report": wording the report must / must not hold
  std::vector<std::string> report_omits;
  // "investigations": claims about `day2 steps` / `day2 compare` of the world's runs, as the spec
  // wrote them (JSON text of the array, "" when none), and their commands, which simulate records.
  std::string investigations;
  std::vector<std::vector<std::string>> investigation_commands;
};

// Parses the spec `text`; `source` names it in errors. Never throws: bad JSON, an unknown key or
// failure mode, a bad time or a time outside a sensible range comes back as an Error
// "<source>:<line>: <JSON path>: <what>".
recorder::Result<World> parse_world(std::string_view text, const std::string& source);

// The Dagster GraphQL API and the Google Cloud REST APIs of `world`, answering exactly what
// `day2 collect` asks (paged like the real APIs). Unknown requests get the API's error shape.
std::shared_ptr<recorder::Transport> make_world_transport(std::shared_ptr<const World> world);

// Answers of the Dagster API (a GraphQL request body) and of the Google APIs.
recorder::HttpResponse answer_dagster(const World& world, const std::string& body);
recorder::HttpResponse answer_google(const World& world, const recorder::HttpRequest& request);

// The event log of a run (RunEvents' events), oldest first, as GraphQL JSON objects (text).
std::vector<std::string> run_events(const Run& run);

// RunDetail's runOrError for the run `vars.runId` names (simulate_dagster.cpp): the run, its
// stats and step stats from its event log, and stepKeysToExecute (a re-execution from failure: its
// step and those downstream; else null, every step); RunNotFoundError for an unknown id.
std::string run_detail(const World& world, const rapidjson::Value& vars);

// What the run's step process wrote to its captured stderr (RunCapturedLogs of the step's file key),
// as Dagster's default console logger writes it ("<UTC time> +0000 - dagster - LEVEL - job - run id -
// pid - step - EVENT_TYPE - message", a failure's error after it): the step's events from its
// LogsCapturedEvent on. "" when the run captured no logs.
std::string captured_stderr(const Run& run);

// The Dagster data of the assets and their checks (AssetKeys, AssetsLatestInfo, FreshnessLegacy,
// FreshnessNew, AssetChecksLatest, AssetCheckHistory) and of Dagster+ (PlusAgents): the `data`
// member's JSON text, or "" when `op` is not one of them.
std::string answer_assets(const World& world, const std::string& op, const rapidjson::Value& vars);
std::string answer_plus(const World& world, const std::string& op);

// Cloud Logging's entries.list (simulate_gcp_logging.cpp): the entries of the window that the
// request's filter asks for, one page of them.
recorder::HttpResponse list_entries(const World& world, const std::string& body);
// A Google API answer: `body` as JSON with `status` (simulate_gcp.cpp).
recorder::HttpResponse json_response(int status, std::string body);
// The 403 PERMISSION_DENIED an API of `gcp.denied` answers (google.rpc.Status with the IAM ErrorInfo,
// as Google's APIs answer a credential without the role), or nullopt when `service` is not denied.
std::optional<recorder::HttpResponse> denied_answer(const World& world, recorder::Service service);
// A stable fake identifier derived from `seed` (uids, resource versions): same world, same bundle.
std::uint64_t fnv1a(std::string_view text);
// A uuid-shaped uid derived from `seed`.
std::string uid_of(std::string_view seed);

// The Google answers beyond Cloud Logging: Error Reporting, Monitoring alerts and time series.
// nullopt when `path` is none of them.
std::optional<recorder::HttpResponse> answer_google_signals(const World& world, const recorder::HttpRequest& request,
                                                            const std::string& path);

// The run pod's name, and every pod event of the world (run pods and others), by time.
std::string run_pod(const Run& run);
std::string run_node(const Run& run);
std::vector<std::pair<const Run*, PodEvent>> all_pod_events(const World& world);

// A Node event (resource k8s_node): node-problem-detector's OOM kills, which name only the process.
struct NodeEvent {
  std::string reason;
  std::string message;
  double time = 0;
  std::string node;
};
// The Node events of `world`: an oom run's kill (and a spec's OOMKilling pod event) on its node.
std::vector<NodeEvent> node_events(const World& world);

// A PythonError object from "ClassName: message"; `typed` adds the __typename of a union member.
std::string py_error_text(std::string_view text, bool typed = true);
std::string rfc3339(double epoch_seconds);

// Small JSON text helpers shared by the answer builders.
std::string quote(std::string_view text);
std::string number(double value);
std::string millis(double epoch_seconds);  // Dagster event timestamps: "1795507714269"
std::string join(const std::vector<std::string>& items);  // items joined with ","
std::string nullable(double value);                       // "null" for 0, else number(value)

// The repository name of every code location (Dagster's default for a single-file definitions).
inline const std::string k_repository = "__repository__";
// When the run last changed: its end, else its start, else its creation.
double update_time(const Run& run);

}  // namespace analyzer::sim
