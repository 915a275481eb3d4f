// The event log of a simulated run: the events and messages real Dagster writes for each failure
// mode (docs/reference/dagster-messages.md; shapes as in the fixture's recorded RunEvents).
#include <fmt/format.h>

#include <cmath>
#include <cstdlib>
#include <stdexcept>

#include "recorder/base/json.hpp"

#include "simulate_world.hpp"

namespace analyzer::sim {

std::string quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) out += fmt::format("\\u{:04x}", static_cast<int>(c));
        else out += c;
    }
  }
  return out + "\"";
}

std::string number(double value) {
  if (value == std::floor(value) && std::fabs(value) < 1e15) return fmt::format("{}.0", static_cast<long long>(value));
  return fmt::format("{}", value);
}

std::string millis(double epoch_seconds) {
  return quote(fmt::format("{}", static_cast<long long>(std::llround(epoch_seconds * 1000))));
}

std::string join(const std::vector<std::string>& items) { return fmt::format("{}", fmt::join(items, ",")); }

std::string nullable(double value) { return value == 0 ? "null" : number(value); }

double update_time(const Run& run) { return run.end != 0 ? run.end : (run.start != 0 ? run.start : run.created); }

namespace {

// PythonError: `class_name` with `message`, and an optional cause (className: message).
std::string py_error(std::string_view class_name, std::string_view message, std::string_view cause = "") {
  std::string chain = "[]";
  if (!cause.empty()) {
    auto colon = cause.find(':');
    std::string cause_class(cause.substr(0, colon == std::string_view::npos ? cause.size() : colon));
    chain = fmt::format(R"([{{"isExplicitLink":true,"error":{{"className":{},"message":{},"stack":[]}}}}])",
                        quote(cause_class), quote(std::string(cause) + "\n"));
  }
  return fmt::format(R"({{"className":{},"message":{},"stack":[],"errorChain":{}}})", quote(class_name),
                     quote(message), chain);
}

struct Log {
  const Run& run;
  std::vector<std::string> events;

  // A MessageEvent of `type` with `extra` members ("" or ",\"k\":v,..."), of the run's step or none.
  void add(std::string_view type, std::string_view event_type, std::string_view level, double at,
           std::string_view message, bool step, std::string_view extra = "") {
    events.push_back(event(type, event_type, level, at, message, step ? quote(run.step) : "null", extra));
  }
  // The same event of another step of the job.
  std::string event(std::string_view type, std::string_view event_type, std::string_view level, double at,
                    std::string_view message, std::string_view step_json, std::string_view extra = "") const {
    return fmt::format(
        R"({{"__typename":{},"eventType":{},"level":{},"message":{},"runId":{},"stepKey":{},"timestamp":{}{}}})",
        quote(type), event_type.empty() ? "null" : quote(event_type), quote(level), quote(message), quote(run.id),
        step_json, millis(at), extra);
  }
  // Another step of the job run from `from` to `to`, successfully.
  void other_step(const std::string& key, double from, double to) {
    events.push_back(event("ExecutionStepStartEvent", "STEP_START", "DEBUG", from,
                           fmt::format("Started execution of step \"{}\".", key), quote(key)));
    events.push_back(event("ExecutionStepSuccessEvent", "STEP_SUCCESS", "DEBUG", to,
                           fmt::format("Finished execution of step \"{}\".", key), quote(key)));
  }
  void engine(double at, std::string_view message, bool step = false, std::string_view error = "null") {
    add("EngineEvent", "ENGINE_EVENT", "INFO", at, message, step,
        fmt::format(R"(,"markerStart":null,"markerEnd":null,"error":{})", error));
  }
  void run_failure(double at, std::string_view message, std::string_view error = "null") {
    add("RunFailureEvent", "RUN_FAILURE", "ERROR", at, message, false,
        fmt::format(R"(,"pipelineName":{},"error":{})", quote(run.job), error));
  }
  void step_failure(double at, std::string_view source, std::string_view error, std::string_view message = "") {
    std::string text = message.empty() ? fmt::format("Execution of step \"{}\" failed.", run.step) : std::string(message);
    add("ExecutionStepFailureEvent", "STEP_FAILURE", "ERROR", at, text, true,
        fmt::format(R"(,"errorSource":{},"error":{},"failureMetadata":null)",
                    source.empty() ? "null" : quote(source), error));
  }
  std::string steps_failed() const {
    return fmt::format("Execution of run for \"{}\" failed. Steps failed: ['{}'].", run.job, run.step);
  }
};

std::string asset_key(const Run& run) { return fmt::format(R"({{"path":[{},{}]}})", quote(run.job), quote(run.step)); }

// Events up to the step's start: enqueue, launch, run worker start, logs captured, step start.
void start(Log& log, double t0, bool capture_logs) {
  const Run& r = log.run;
  log.add("RunEnqueuedEvent", "RUN_ENQUEUED", "INFO", r.created, "", false);
  log.add("RunStartingEvent", "RUN_STARTING", "INFO", r.created + 1, "", false);
  log.engine(t0 - 2, "Started process for run (pid: 1).");
  log.add("RunStartEvent", "RUN_START", "DEBUG", t0, fmt::format("Started execution of run for \"{}\".", r.job), false);
  log.engine(t0 + 0.1, "Starting execution with step handler K8sStepHandler.");
  log.add("StepWorkerStartingEvent", "STEP_WORKER_STARTING", "DEBUG", t0 + 0.2,
          fmt::format("Executing step \"{}\" in Kubernetes job dagster-step-{}.", r.step, r.id.substr(0, 8)), true);
  if (r.materialized || r.mode == FailureMode::user_code_error) {
    log.add("AssetMaterializationPlannedEvent", "ASSET_MATERIALIZATION_PLANNED", "DEBUG", t0 + 0.3,
            fmt::format("{} intends to materialize asset [\"{}\", \"{}\"]", r.job, r.job, r.step), true,
            fmt::format(R"(,"assetKey":{})", asset_key(r)));
  }
  // The steps before it (none in a re-execution from failure), between t0 + 0.5 and t0 + 4.5.
  double each = r.upstream.empty() ? 0 : 4.0 / static_cast<double>(r.upstream.size());
  for (std::size_t i = 0; i < r.upstream.size(); ++i) {
    log.other_step(r.upstream[i], t0 + 0.5 + each * static_cast<double>(i), t0 + 0.5 + each * (static_cast<double>(i) + 0.75));
  }
  if (!capture_logs) return;
  log.add("LogsCapturedEvent", "LOGS_CAPTURED", "DEBUG", t0 + 5, "Capturing logs for process (pid: 1).", false,
          fmt::format(R"(,"fileKey":{},"stepKeys":[{}])", quote(r.step), quote(r.step)));
  log.add("ExecutionStepStartEvent", "STEP_START", "DEBUG", t0 + 6,
          fmt::format("Started execution of step \"{}\".", r.step), true);
}

std::string user_error(const Run& r, std::string_view fallback) {
  std::string cause = r.error.empty() ? std::string(fallback) : r.error;
  return py_error("DagsterExecutionStepExecutionError",
                  fmt::format("dagster._core.errors.DagsterExecutionStepExecutionError: Error occurred while "
                              "executing op \"{}\":\n", r.step),
                  cause);
}

void max_runtime(Log& log, double t0, double end) {
  const Run& r = log.run;
  if (r.materialized) {
    log.add("MaterializationEvent", "ASSET_MATERIALIZATION", "DEBUG", t0 + 60,
            fmt::format("Materialized value {} {}.", r.job, r.step), true,
            fmt::format(R"(,"assetKey":{},"partition":null)", asset_key(r)));
  }
  if (r.exiting_engine_event) {
    log.engine(t0 + 120, fmt::format("Attempted to run {} again even though it was already started. Exiting to "
                                     "prevent re-running the step.", r.step), true);
  }
  log.add("RunCancelingEvent", "RUN_CANCELING", "INFO", end - 2,
          fmt::format("Canceling due to exceeding maximum runtime of {} seconds.", r.max_runtime), false);
  log.engine(end - 1.5, "Executor received termination signal, forwarding to steps");
  if (!r.exiting_engine_event) {
    log.step_failure(end - 1, "INTERRUPT", py_error("DagsterExecutionInterruptedError",
                                                    "dagster._core.errors.DagsterExecutionInterruptedError\n"));
  }
  log.run_failure(end, fmt::format("Exceeded maximum runtime of {} seconds.", r.max_runtime));
}

// The run launcher's health check finding the run worker's pod dead, with its diagnostics.
void worker_died(Log& log, double end, std::string_view diagnostics) {
  const Run& r = log.run;
  log.run_failure(end, fmt::format("Detected run worker status FAILED: 'K8s job failed: {}'. Marking run {} as "
                                   "failed, because it has surpassed the configured maximum attempts to resume "
                                   "the run: 0.", diagnostics, r.id));
}

// The attempts before the last of a step whose RetryPolicy retried it (`attempts` > 1): each fails
// with `error` and requests a retry (STEP_UP_FOR_RETRY), then the step restarts (STEP_RESTARTED),
// as Dagster writes them (dagster-messages.md); spread evenly between the step's start and its end.
void retried_attempts(Log& log, double t0, double end, const std::string& error) {
  const Run& r = log.run;
  double gap = (end - 1 - (t0 + 6)) / r.attempts;
  for (int attempt = 1; attempt < r.attempts; ++attempt) {
    double at = t0 + 6 + gap * attempt;
    log.add("ExecutionStepUpForRetryEvent", "STEP_UP_FOR_RETRY", "DEBUG", at - gap / 4,
            fmt::format("Execution of step \"{}\" failed and has requested a retry in 10 seconds.", r.step), true,
            fmt::format(R"(,"error":{})", error));
    log.add("ExecutionStepRestartEvent", "STEP_RESTARTED", "DEBUG", at,
            fmt::format("Started re-execution (attempt # {}) of step \"{}\".", attempt + 1, r.step), true);
  }
}

void failure(Log& log, double t0, double end) {
  const Run& r = log.run;
  std::string pod = fmt::format("dagster-run-{}-x7k2p", r.id);
  switch (r.mode) {
    case FailureMode::user_code_error:
    case FailureMode::connection_error: {
      auto error = user_error(r, r.mode == FailureMode::connection_error
                                     ? "ConnectionRefusedError: [Errno 111] Connection refused"
                                     : "ValueError: invalid value in column 'amount': 'abc'");
      retried_attempts(log, t0, end, error);
      log.step_failure(end - 1, "USER_CODE_ERROR", error);
      log.run_failure(end, log.steps_failed(), error);
      break;
    }
    case FailureMode::max_runtime: max_runtime(log, t0, end); break;
    case FailureMode::k8s_api_error: {
      // Retry exhaustion (dagster-messages.md): K8s API failure. DagsterK8sUnrecoverableAPIError is the
      // seed's K8s API timeout row instead (scenarios/k8s-api-timeout).
      auto error = py_error("DagsterK8sAPIRetryLimitExceeded",
                            "dagster_k8s.client.DagsterK8sAPIRetryLimitExceeded: Retry limit of 5 exceeded: Unexpected "
                            "error encountered in Kubernetes API Client.\n",
                            "ApiException: (500)\nReason: Internal Server Error");
      log.step_failure(end - 1, "FRAMEWORK_ERROR", error);
      log.run_failure(end, log.steps_failed(), error);
      break;
    }
    case FailureMode::prestart_kill:
    case FailureMode::backoff_limit:  // the same log: whether the step's logs were captured tells them apart
      log.step_failure(end - 1, "", "null",
                       fmt::format("Step {} failed health check: Discovered failed Kubernetes job dagster-step-{} "
                                   "for step {}.", r.step, r.id.substr(0, 8), r.step));
      log.run_failure(end, log.steps_failed());
      break;
    case FailureMode::unschedulable:
      log.run_failure(end, fmt::format("Detected run worker status FAILED: 'Run has not completed but K8s job has no "
                                       "active pods'. Marking run {} as failed, because it has surpassed the "
                                       "configured maximum attempts to resume the run: 0.", r.id));
      break;
    case FailureMode::oom:
      worker_died(log, end, fmt::format("Pod \"{}\" Container \"dagster\" failed with message: \"OOMKilled\"", pod));
      break;
    case FailureMode::evicted:
      worker_died(log, end, fmt::format("Pod \"{}\" Failed: Reason=\"Evicted\" Message=\"The node was low on "
                                        "resource: memory.\"", pod));
      break;
    case FailureMode::preempted:
      log.engine(end - 2, "Executor received termination signal, forwarding to steps");
      log.run_failure(end, fmt::format("Execution of run for \"{}\" failed. Execution was interrupted unexpectedly. "
                                       "No user initiated termination request was found, treating as failure.", r.job));
      break;
    case FailureMode::unclassified:
      log.run_failure(end, r.error.empty() ? "Run failed: the warehouse quota for today is used up." : r.error);
      break;
    case FailureMode::never_started:
    case FailureMode::none: break;
  }
}

// The steps after a failed step: Dagster does not execute them and says so in an ERROR message
// naming each (no event type; dagster/_core/execution/plan/active.py), before the run's failure.
void not_executed(Log& log, double end) {
  const Run& r = log.run;
  std::vector<std::string> messages;
  for (std::size_t i = 0; i < r.downstream.size(); ++i) {
    const auto& key = r.downstream[i];
    messages.push_back(log.event("LogMessageEvent", "", "ERROR", end - 0.5 + 0.01 * static_cast<double>(i),
                                 fmt::format("Dependencies for step {} failed: ['{}']. Not executing.", key, r.step),
                                 quote(key)));
  }
  // The run's failure is the last event failure() wrote for a failed step.
  log.events.insert(log.events.end() - (log.events.empty() ? 0 : 1), messages.begin(), messages.end());
}

}  // namespace

std::vector<std::string> run_events(const Run& run) {
  Log log{run, {}};
  double t0 = run.start != 0 ? run.start : run.created + 10;
  double end = run.end != 0 ? run.end : t0 + 60;
  if (run.mode == FailureMode::never_started) {
    log.add("RunEnqueuedEvent", "RUN_ENQUEUED", "INFO", run.created, "", false);
    log.add("RunStartingEvent", "RUN_STARTING", "INFO", run.created + 1, "", false);
    log.run_failure(end, "Run timed out due to taking longer than 180 seconds to start.");
    return log.events;
  }
  if (run.mode == FailureMode::unschedulable) {  // the run pod never ran: no worker events
    log.add("RunEnqueuedEvent", "RUN_ENQUEUED", "INFO", run.created, "", false);
    log.add("RunStartingEvent", "RUN_STARTING", "INFO", run.created + 1, "", false);
    log.engine(run.created + 2, fmt::format("Creating Kubernetes run worker job dagster-run-{}", run.id));
    failure(log, t0, end);
    return log.events;
  }
  start(log, t0, run.mode != FailureMode::prestart_kill);
  if (run.status == "CANCELED") {
    log.add("RunCancelingEvent", "RUN_CANCELING", "INFO", end - 2, "Sending run termination request.", false);
    log.add("RunCanceledEvent", "RUN_CANCELED", "ERROR", end, fmt::format("Execution of run for \"{}\" canceled.", run.job),
            false, R"(,"error":null)");
  } else if (run.status == "SUCCESS") {
    log.add("ExecutionStepSuccessEvent", "STEP_SUCCESS", "DEBUG", end - 1,
            fmt::format("Finished execution of step \"{}\".", run.step), true);
    double each = run.downstream.empty() ? 0 : 0.8 / static_cast<double>(run.downstream.size());
    for (std::size_t i = 0; i < run.downstream.size(); ++i) {
      double from = end - 0.9 + each * static_cast<double>(i);
      log.other_step(run.downstream[i], from, from + each * 0.75);
    }
    log.add("RunSuccessEvent", "RUN_SUCCESS", "DEBUG", end, fmt::format("Finished execution of run for \"{}\".", run.job),
            false);
  } else {
    failure(log, t0, end);
    not_executed(log, end);
  }
  if (run.mode != FailureMode::oom && run.mode != FailureMode::evicted && run.mode != FailureMode::preempted &&
      run.mode != FailureMode::unschedulable) {
    log.engine(end + 0.1, "Process for run exited (pid: 1).");
  }
  return log.events;
}

std::string captured_stderr(const Run& run) {
  std::string out;
  bool capturing = false;
  for (const auto& text : run_events(run)) {
    auto event = recorder::parse_json(text, "simulated event");
    if (!event) throw std::logic_error(event.error().message);  // a bug in the builders above
    auto type = recorder::get_string(*event, "__typename").value_or("");
    capturing = capturing || type == "LogsCapturedEvent";
    auto step = recorder::get_string(*event, "stepKey");
    if (!capturing || (type != "LogsCapturedEvent" && !step)) continue;
    // The step's own process writes its file: not the other steps' events, nor the run worker's
    // findings about the steps after it ("... Not executing.").
    if (step && *step != run.step) continue;
    // A failed health check is the run worker's finding about a step pod that died: not in the step's file.
    auto message = recorder::get_string(*event, "message").value_or("");
    if (message.find("failed health check") != std::string::npos) continue;
    double ms = std::strtod(recorder::get_string(*event, "timestamp").value_or("0").c_str(), nullptr);
    auto when = recorder::format_rfc3339_utc(recorder::from_epoch_seconds(std::floor(ms / 1000)));
    when = when.substr(0, 10) + " " + when.substr(11, 8) + " +0000";
    out += fmt::format("{} - dagster - {} - {} - {} - 1 - {}{} - {}\n", when,
                       recorder::get_string(*event, "level").value_or("INFO"), run.job, run.id,
                       step ? *step + " - " : "", recorder::get_string(*event, "eventType").value_or(""), message);
    const auto* error = recorder::get_object(*event, "error");
    if (error == nullptr) continue;
    out += "\n" + recorder::get_string(*error, "message").value_or("") + "\n";
    if (const auto* chain = recorder::get_array(*error, "errorChain")) {
      for (const auto& link : chain->GetArray()) {
        const auto* inner = recorder::get_object(link, "error");
        if (inner != nullptr) out += "\n" + recorder::get_string(*inner, "message").value_or("") + "\n";
      }
    }
    out += "\n";
  }
  return out;
}

}  // namespace analyzer::sim
