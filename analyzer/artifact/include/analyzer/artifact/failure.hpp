// The evidence a classifier needs about one failed run: what collection (step 01) gathers from
// Dagster and what classification rules match against. It is also written to the artifact.
#pragma once

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace recorder {
class Redactor;
}  // namespace recorder

namespace analyzer {

// The line of a Python exception message that names the exception. Most messages start with it
// ("ValueError: bad value"); a SyntaxError's (traceback.format_exception_only) starts with its
// location instead ('  File "/srv/loc/broken.py", line 4', the source line, a caret) and ends with
// "SyntaxError: '(' was never closed": that last line, with the file and line appended
// ("SyntaxError: '(' was never closed (broken.py, line 4)"). Pure.
std::string exception_line(std::string_view message);

// Why Dagster did not execute `step_key`, read from its message for a step whose upstream steps
// failed or were not executed: it writes no STEP_SKIPPED then, only an ERROR log message (no event
// type) "Dependencies for step publish failed: ['load']. Not executing." (or "... were not executed:
// [...]", or both; dagster/_core/execution/plan/active.py, the same in 1.8, 1.11 and 1.13). The
// reason reads "dependencies failed: ['load']"; "" when the event is no such message. Pure.
std::string not_executed_reason(std::string_view step_key, std::string_view event_type, std::string_view message);

// One link of a Python exception cause chain (PythonError.errorChain), outermost first.
struct ErrorLink {
  std::string class_name;
  std::string message;
  bool explicit_link = false;  // `raise ... from ...`
};

// A STEP_FAILURE (or other error-carrying event) of the run.
struct StepError {
  std::string step_key;
  std::string event_type;    // GraphQL __typename, e.g. "ExecutionStepFailureEvent"
  std::string message;       // the event's message ("Execution of step ... failed.")
  std::string error_class;   // PythonError.className, may be empty
  std::string error_message; // PythonError.message, may be empty (health-check failures)
  std::string error_source;  // ErrorSource enum name, may be empty
  std::vector<ErrorLink> cause_chain;
};

// One step of a run as its events tell it: when it started and ended (epoch seconds, from the
// events' millisecond timestamps) and how (SUCCESS, FAILURE, SKIPPED, UP_FOR_RETRY, or STARTED when
// it never finished). A step that retried keeps its first start and its last outcome; one Dagster
// did not execute because its upstream failed (not_executed_reason) is SKIPPED at that message.
struct StepSpan {
  std::string step_key;
  std::optional<double> start;
  std::optional<double> end;
  std::string status = "STARTED";
};

// A LogsCapturedEvent: the file the stdout and stderr of `step_keys` went to (one per step process
// with the multiprocess and k8s executors, one for all steps in process).
struct LogFile {
  std::string file_key;
  std::vector<std::string> step_keys;
};

// The end of the failing step's captured output (Run.capturedLogs of its file), what the report
// shows under the step's error: the traceback's last frames, the step's last log lines.
struct CapturedLog {
  std::string step_key;            // the step whose error the report shows (the first step error's)
  std::string file_key;            // the last LogsCapturedEvent naming it (the final attempt's)
  std::string stream;              // "stderr", or "stdout" when stderr is empty; "" when both are
  std::vector<std::string> lines;  // the stream's last lines, each at most 400 bytes, secrets redacted
  int total_lines = 0;             // how many lines the stream has
  std::string error;               // why it could not be read (then lines is empty)
};

// The last `max_lines` lines of `stderr_text`, or of `stdout_text` when stderr holds nothing but
// blanks; trailing blank lines and '\r' dropped; as captured (see redact_captured_log).
// step_key and file_key are left for the caller.
CapturedLog captured_log_tail(std::string_view stdout_text, std::string_view stderr_text, int max_lines);
// Redacts `log`'s lines with `redactor` (bearer tokens, JWTs, private keys, token=..., URL passwords)
// and the secrets day2 holds, and clips each to 400 bytes at a character boundary. One redactor
// per collection, applied in record order, numbers its placeholders the same whatever the threads did.
void redact_captured_log(CapturedLog& log, const recorder::Redactor& redactor);
// captured_log_tail, then redact_captured_log.
CapturedLog captured_log_excerpt(std::string_view stdout_text, std::string_view stderr_text, int max_lines,
                                 const recorder::Redactor& redactor);

struct FailureRecord {
  std::string run_id;
  std::string job_name;
  std::string location;      // code location (repositoryOrigin.repositoryLocationName)
  std::string repository;
  std::string status;        // RunStatus, "FAILURE" for step 01 failures
  double start_time = 0;     // float epoch seconds; 0 when the run never started
  double end_time = 0;
  double update_time = 0;
  std::map<std::string, std::string> tags;
  std::string parent_run_id;
  std::string root_run_id;

  std::string run_failure_message;       // RunFailureEvent.message
  std::string run_failure_error_class;   // RunFailureEvent.error.className, may be empty
  std::string run_failure_error_message; // RunFailureEvent.error.message, may be empty
  std::vector<StepError> step_errors;    // step failures, retries, resource-init and hook errors
  std::vector<std::string> engine_events;      // EngineEvent messages (+ error message if any)
  std::vector<std::string> logs_captured_steps;  // step keys with a LogsCapturedEvent
  std::vector<std::string> planned_materializations;  // asset keys ("a/b") planned
  std::vector<std::string> materializations;          // asset keys materialized
  std::vector<std::string> in_progress_steps;  // steps started and never finished
  std::vector<StepSpan> step_spans;            // every step with a STEP_* event, by start then key
  std::vector<LogFile> log_files;              // LogsCapturedEvents, in event order
  std::optional<CapturedLog> captured_log;     // read when the failing step has a log file
  bool events_complete = true;  // false when the event log could not be read in full
  std::string events_error;     // why, when !events_complete
};

}  // namespace analyzer
