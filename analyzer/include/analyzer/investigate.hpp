// Targeted investigations (`day2 run`, `logs`, `runs`, `steps`, `hung`, `compare`, `agents`): one
// run or one question at a time, against a live Dagster, a replay server or a bundle in process.
// The fetchers return plain data (tested against a recorded bundle); the commands render it.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "analyzer/config.hpp"
#include "analyzer/dagster_client.hpp"
#include "analyzer/failure.hpp"
#include "analyzer/rules.hpp"
#include "recorder/command.hpp"
#include "recorder/fault.hpp"
#include "recorder/matcher.hpp"
#include "analyzer/gcp_client.hpp"
#include "recorder/record.hpp"
#include "recorder/time.hpp"

namespace analyzer {

// ---- The transport stack shared by `collect` and the investigation commands ----------------------

enum class Record { no, yes };

struct TransportStack {
  std::shared_ptr<recorder::Transport> transport;           // retrying, paced, limited: what clients use
  std::shared_ptr<recorder::RecordingTransport> recording;  // set with Record::yes
  Pacers pacers;                                            // pace every Logging and Error Reporting attempt
};

// The transport every command sends through: `replay` (in process, optionally under `faults`) or
// the real HTTP transport (teed into a bundle with Record::yes), under the concurrency limit of
// `config`, the read quotas' pacing (config.gcp.*_reads_per_minute) and the one retry layer
// (nothing waits when replaying: the clock is frozen). Does no I/O.
TransportStack make_transport_stack(const Config& config, std::shared_ptr<recorder::Matcher> replay,
                                    std::shared_ptr<recorder::FaultInjector> faults, Record record);

// Replaying `bundle`: its report zone unless `keep_zone`, and its Dagster endpoint (the matcher
// ignores hosts but not paths) unless `keep_url`.
void adopt_bundle(const recorder::Bundle& bundle, bool keep_zone, bool keep_url, Config& config);

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

// ---- Analyses (pure) ------------------------------------------------------------------------------

struct StepTimeline {
  std::string step_key;
  double start = 0;  // first STEP_START; 0 when never started
  double end = 0;    // the STEP_SUCCESS / STEP_FAILURE / STEP_SKIPPED; 0 when it never ended
  std::string outcome;  // SUCCESS, FAILURE, SKIPPED, or "IN_PROGRESS" (started, never finished)
  int attempts = 0;     // STEP_START count
};
struct EventGap {
  double from = 0;
  double to = 0;
  std::string before;  // "<event type> <step>" of the event before the gap
  std::string after;
};
struct StepsReport {
  std::vector<StepTimeline> steps;  // by start time, then key
  std::vector<EventGap> gaps;       // gaps between consecutive events longer than the threshold
};
StepsReport analyze_steps(const std::vector<RunEvent>& events, double gap_seconds);

enum class HungKind { starting, canceling, max_runtime };
std::string_view to_string(HungKind kind);
struct HungRun {
  RunRowInfo run;
  HungKind kind;
  double since = 0;      // when it entered the state (epoch seconds)
  double stuck_for = 0;  // seconds in the state at `now`
  double limit = 0;      // the timeout it exceeded (seconds)
};
struct HungThresholds {
  double start_timeout = 180;
  double cancel_timeout = 180;
};
// Runs of `in_flight` stuck at `now`: STARTING longer than the start timeout (since launch), CANCELING
// longer than the cancel timeout (since the last update), STARTED past their dagster/max_runtime
// tag, else dagster/max_runtime_seconds, as Dagster's run monitoring reads them
// (since start). Sorted by how long they have been stuck, longest first, then run id.
std::vector<HungRun> find_hung(const std::vector<RunRowInfo>& in_flight, const HungThresholds& thresholds,
                               double now);

// Where a run's lifetime lies relative to an agent error.
enum class ErrorRelation { before, during, after };
std::string_view to_string(ErrorRelation relation);
struct RunNearError {
  RunRowInfo run;
  double error_time = 0;  // the nearest error (epoch seconds)
  double distance = 0;    // seconds between the error and the run's lifetime; 0 when it fell inside
  ErrorRelation relation = ErrorRelation::during;  // the run relative to that error
};
// The runs of `runs` whose lifetime (run_extent of overlap.hpp: start..end; no end, no lifetime)
// comes within `around` seconds of one of `error_times` (inclusive), each with its nearest error
// (the earlier on a tie). Sorted by run start, then run id. Pure.
std::vector<RunNearError> runs_near_errors(const std::vector<RunRowInfo>& runs, const std::vector<double>& error_times,
                                           double around);

// The flattened values of a run config (Dagster's runConfigYaml, block YAML): "ops.a.config.n" -> "3".
std::map<std::string, std::string> flatten_run_config(const std::string& yaml);

struct ValueDiff {
  std::string key;
  std::optional<std::string> a;  // nullopt = absent on that side
  std::optional<std::string> b;
};
struct StepDuration {
  std::string step_key;
  std::optional<double> a;  // seconds; nullopt = not run / not finished on that side
  std::optional<double> b;
};
struct Comparison {
  std::vector<ValueDiff> config;  // sorted by key
  std::vector<ValueDiff> tags;    // sorted by key
  std::vector<std::string> outcomes_a;  // "step:OUTCOME" in start order
  std::vector<std::string> outcomes_b;
  std::optional<std::string> first_differing_step;
  std::vector<std::string> event_types_a;  // the sequence of event types (with a step key: "TYPE step")
  std::vector<std::string> event_types_b;
  std::optional<std::size_t> first_differing_event;  // index into the sequences
  std::vector<StepDuration> durations;  // sorted by step key
};
Comparison compare_runs(const RunInfo& a, const std::vector<RunEvent>& events_a, const RunInfo& b,
                        const std::vector<RunEvent>& events_b);

// ---- The commands ---------------------------------------------------------------------------------

// `run`, `logs`, `runs`, `steps`, `hung`, `compare`, `agents`, for analyzer::commands().
std::vector<recorder::Command> investigate_commands();

}  // namespace analyzer
