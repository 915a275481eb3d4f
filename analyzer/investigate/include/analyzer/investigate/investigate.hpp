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

#include "analyzer/config/config.hpp"
#include "analyzer/clients/dagster_client.hpp"
#include "analyzer/collect/runs.hpp"
#include "analyzer/artifact/failure.hpp"
#include "analyzer/classify/rules.hpp"
#include "recorder/base/command.hpp"
#include "analyzer/clients/gcp_client.hpp"
#include "recorder/base/time.hpp"

namespace analyzer {

// ---- Analyses (pure) ------------------------------------------------------------------------------

struct StepTimeline {
  std::string step_key;
  double start = 0;  // first STEP_START; 0 when never started
  double end = 0;    // the STEP_SUCCESS / STEP_FAILURE / STEP_SKIPPED; 0 when it never ended
  std::string outcome;  // SUCCESS, FAILURE, SKIPPED, or "IN_PROGRESS" (started, never finished)
  int attempts = 0;     // STEP_START count
  // Why a SKIPPED step never ran, when Dagster said: a step whose upstream failed gets no event, only
  // the ERROR message "Dependencies for step <key> failed: ['<upstream>']. Not executing." (its
  // reason then reads "dependencies failed: ['<upstream>']"; Dagster's stepStats leave it out).
  std::string reason;
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

// The investigations a scenario can make claims about (expected.json's "investigations",
// docs/scenarios.md): `steps RUN_ID` and `compare RUN_A RUN_B`.
const std::vector<std::string>& claimable_investigations();
// An Error naming what is wrong with `command` (an investigation that is not claimable, the wrong
// number of run ids); ok for `{"steps", RUN_ID}` and `{"compare", RUN_A, RUN_B}`.
recorder::Result<void> check_investigation(const std::vector<std::string>& command);
// Sends through `client` the Dagster requests `day2 <command...>` sends (the same fetchers), so that
// `day2 simulate` records what a replay of the investigation will ask. An Error is check_investigation's
// or names a request that failed.
recorder::Result<void> fetch_investigation(const DagsterClient& client, const std::vector<std::string>& command,
                                           int page_size);

}  // namespace analyzer
