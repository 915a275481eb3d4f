// The evidence a classifier needs about one failed run: what collection (step 01) gathers from
// Dagster and what classification rules match against. It is also written to the artifact.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace analyzer {

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
  bool events_complete = true;  // false when the event log could not be read in full
  std::string events_error;     // why, when !events_complete
};

}  // namespace analyzer
