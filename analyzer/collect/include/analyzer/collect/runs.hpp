// What the collection and the investigation commands read from Dagster about runs: a run in
// detail, its re-execution chain, its event log (filtered, paged), run lists. Plain data, tested
// against recorded answers.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "analyzer/clients/dagster_client.hpp"
#include "recorder/base/result.hpp"

namespace analyzer {

// ---- What the commands fetch ----------------------------------------------------------------------

// "no run <id> in <deployment>": the error of every command given a run id Dagster does not know.
struct RunNotFound {
  std::string run_id;
};

struct StepStat {
  std::string step_key;
  std::string status;  // StepEventStatus (SUCCESS, FAILURE, SKIPPED, IN_PROGRESS) or ""
  double start_time = 0;
  double end_time = 0;  // 0 when it has not ended
  int attempts = 0;
};

// A run as a run list holds it (RunsInWindow, InFlightRuns): a row of `day2 runs` / `day2 hung`,
// and of collection's runs of the window.
struct RunRowInfo {
  std::string run_id;
  std::string job_name;
  std::string status;
  std::string location;
  std::string repository;
  double start_time = 0;  // 0 = none
  double end_time = 0;
  double update_time = 0;
  double launch_time = 0;  // stats.launchTime where the query asks for it (InFlightRuns, RunDetail)
  std::string parent_run_id;
  std::string root_run_id;
  std::map<std::string, std::string> tags;
};

// One run in detail (RunDetail): its row, and what only the detail query holds.
struct RunInfo : RunRowInfo {
  double enqueued_time = 0;
  std::string run_config_yaml;
  std::optional<int> steps_succeeded;  // nullopt when the stats could not be computed
  std::optional<int> steps_failed;
  std::optional<int> materializations;
  std::vector<StepStat> step_stats;  // in Dagster's order (execution plan)
  // The steps the run was asked to execute (Dagster's stepKeysToExecute: a re-execution from failure
  // or of a selection runs only these): nullopt = every step of the job (null). `step_keys_known` is
  // false when the answer did not hold the member (a recording made before day2 asked for it).
  std::optional<std::set<std::string>> step_keys_to_execute;
  bool step_keys_known = false;
};

// Dagster answers a run id it does not know with RunNotFoundError: `not_found` is set then.
struct RunLookup {
  std::optional<RunInfo> run;
  bool not_found = false;
};
recorder::Result<RunLookup> fetch_run(const DagsterClient& client, const std::string& run_id);

// A run of a re-execution chain: its row (id, status, parent, times, tags; no job or location).
struct ChainRun : RunRowInfo {
  std::string retry_number;  // the dagster/retry_number tag, "" for the root or a manual re-execution
};
// The re-execution chain of `run_id` (runGroupOrError, one call), oldest first (retry number, then
// start time). A run never re-executed gives a chain of itself.
recorder::Result<std::vector<ChainRun>> fetch_run_group(const DagsterClient& client, const std::string& run_id);

// One event of a run's log (RunEvents).
struct RunEvent {
  std::string type_name;   // GraphQL __typename, e.g. ExecutionStepFailureEvent
  std::string event_type;  // DagsterEventType (PIPELINE_* spelled RUN_*), "" for plain log messages
  std::string level;
  std::string step_key;    // for LogsCapturedEvent: its step keys joined with ","
  std::string message;
  std::string timestamp_ms;  // as Dagster sends it (epoch milliseconds)
  double timestamp = 0;      // seconds
  std::string error;         // "Class: message" of the event's error, first line; "" when none
};

struct EventFilter {
  std::set<std::string> types;  // event types or __typenames; empty = any
  std::string step_key;         // "" = any
  std::string min_level;        // DEBUG < INFO < WARNING < ERROR < CRITICAL; "" = any
};
// Checks a --type list ("STEP_FAILURE,LogsCapturedEvent"): every name must be a DagsterEventType
// or an event __typename. Error names the unknown one (and the nearest known name).
recorder::Result<std::set<std::string>> parse_event_types(const std::string& list);
recorder::Result<std::string> parse_level(const std::string& level);
bool matches(const EventFilter& filter, const RunEvent& event);

struct EventPage {
  std::vector<RunEvent> events;  // the matching events, in storage order
  std::string cursor;            // to continue after the last event read; "" at the end
  bool complete = true;          // false when `limit` stopped it before the end of the log
  int scanned = 0;               // events read (matching or not)
  bool not_found = false;        // Dagster does not know the run (RunNotFoundError)
};
// The events of `run_id` after `cursor` ("" = from the start) that match `filter`, paged to the
// end (`page_size` per request), or until `limit` matches (0 = no limit); then `cursor` continues
// right after the last returned event. An unknown run sets `not_found`; other failures (HTTP,
// GraphQL, PythonError, a cursor that does not advance) are Errors naming RunEvents and the run.
recorder::Result<EventPage> fetch_events(const DagsterClient& client, const std::string& run_id,
                                         const std::string& cursor, const EventFilter& filter, int limit,
                                         int page_size);

struct RunsQuery {
  std::string job;                    // "" = any
  std::vector<std::string> statuses;  // RunStatus names; empty = any
  std::optional<double> updated_after;  // epoch seconds
  int limit = 20;
};
// The newest runs matching `query` (newest created first), paged until `limit`.
recorder::Result<std::vector<RunRowInfo>> fetch_runs(const DagsterClient& client, const RunsQuery& query,
                                                     int page_size);
// Every run STARTING, STARTED or CANCELING (InFlightRuns, paged to the end), newest created first.
recorder::Result<std::vector<RunRowInfo>> fetch_in_flight(const DagsterClient& client, int page_size);
// RunStatus names, for checking --status.
bool is_run_status(const std::string& status);

}  // namespace analyzer
