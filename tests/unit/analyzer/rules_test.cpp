#include "analyzer/classify/reclassify.hpp"
#include "analyzer/classify/rules.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

namespace analyzer {
namespace {

// ---- Records built from the real strings in dagster-messages.md --------------------------------

FailureRecord failed_run(std::string run_failure_message = "") {
  FailureRecord record;
  record.run_id = "6f1c2d3e-0000-4000-8000-000000000001";
  record.job_name = "nightly_job";
  record.location = "kipptaf";
  record.status = "FAILURE";
  record.run_failure_message = std::move(run_failure_message);
  return record;
}

StepError step_error(std::string source, std::string error_class, std::string message,
                     std::vector<ErrorLink> chain = {}) {
  StepError error;
  error.step_key = "load_op";
  error.event_type = "ExecutionStepFailureEvent";
  error.message = "Execution of step \"load_op\" failed.";
  error.error_source = std::move(source);
  error.error_class = std::move(error_class);
  error.error_message = std::move(message);
  error.cause_chain = std::move(chain);
  return error;
}

// "Category / rule-id", so that a failure shows both.
std::string verdict(const FailureRecord& record) {
  auto result = classify(default_rules(), record);
  return std::string(to_string(result.category)) + " / " + result.rule_id;
}

const std::string k_steps_failed = "Execution of run for \"nightly_job\" failed. Steps failed: [\"load_op\"].";
const std::string k_max_runtime = "Exceeded maximum runtime of 3600 seconds.";
const std::string k_duplicate_start =
    "Attempted to run load_op again even though it was already started. Exiting to prevent re-running the step.";

// ---- Names -------------------------------------------------------------------------------------

TEST(Rules, CategoryNamesRoundTrip) {
  for (int i = 0; i < k_category_count; ++i) {
    auto category = static_cast<Category>(i);
    EXPECT_EQ(parse_category(to_string(category)), category) << to_string(category);
  }
  EXPECT_EQ(to_string(Category::node_oom_eviction), "Node OOM/eviction");
  EXPECT_EQ(parse_category("code error"), std::nullopt);
}

TEST(Rules, FieldNamesRoundTrip) {
  for (auto field : {Field::run_failure_message, Field::failure_reason, Field::step_failure_message,
                     Field::error_class, Field::error_message, Field::error_source, Field::engine_event,
                     Field::any_message, Field::job_name, Field::location, Field::tags}) {
    EXPECT_EQ(parse_field(to_string(field)), field) << to_string(field);
  }
  EXPECT_EQ(to_string(Field::run_failure_message), "runFailureMessage");
  EXPECT_EQ(parse_field("RunFailureMessage"), std::nullopt);
}

TEST(Rules, FieldValuesIncludeCauseChainsAndRunError) {
  auto record = failed_run(k_steps_failed);
  record.run_failure_error_class = "DagsterK8sUnrecoverableAPIError";
  record.step_errors.push_back(step_error("USER_CODE_ERROR", "DagsterExecutionStepExecutionError",
                                          "Error occurred while executing op \"load_op\":",
                                          {{"ConnectionRefusedError", "[Errno 111] Connection refused", false}}));
  EXPECT_EQ(field_values(record, Field::error_class),
            (std::vector<std::string>{"DagsterK8sUnrecoverableAPIError", "DagsterExecutionStepExecutionError",
                                      "ConnectionRefusedError"}));
  EXPECT_EQ(field_values(record, Field::error_message),
            (std::vector<std::string>{"Error occurred while executing op \"load_op\":",
                                      "[Errno 111] Connection refused"}));
  EXPECT_EQ(field_values(record, Field::error_source), (std::vector<std::string>{"USER_CODE_ERROR"}));
}

TEST(Rules, FieldValuesOfTagsAreKeyEqualsValue) {
  auto record = failed_run();
  record.tags = {{"dagster/failure_reason", "STEP_FAILURE"}, {"dagster/will_retry", "true"}};
  EXPECT_EQ(field_values(record, Field::tags),
            (std::vector<std::string>{"dagster/failure_reason=STEP_FAILURE", "dagster/will_retry=true"}));
  EXPECT_EQ(field_values(record, Field::failure_reason), (std::vector<std::string>{"STEP_FAILURE"}));
  EXPECT_TRUE(field_values(failed_run(), Field::failure_reason).empty());
}

// ---- The default rules -------------------------------------------------------------------------

TEST(DefaultRules, LoadWithUniqueKebabCaseIds) {
  const RuleSet& rules = default_rules();
  ASSERT_FALSE(rules.rules.empty());
  std::set<std::string> ids;
  for (const auto& rule : rules.rules) {
    EXPECT_TRUE(ids.insert(rule.id).second) << rule.id;
    EXPECT_EQ(rule.id.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-"), std::string::npos) << rule.id;
    EXPECT_FALSE(rule.description.empty()) << rule.id;
    EXPECT_EQ(rule.source.rfind("default.rules.json:", 0), 0U) << rule.source;
  }
}

TEST(DefaultRules, WithReclassifyRulesCoverEveryCategoryButUnclassified) {
  std::set<Category> covered;
  for (const auto& rule : default_rules().rules) covered.insert(rule.category);
  for (const auto& rule : default_reclassify_rules().rules) covered.insert(rule.to);
  EXPECT_EQ(covered.size(), static_cast<std::size_t>(k_category_count - 1));
  EXPECT_EQ(covered.count(Category::unclassified), 0U);
}

TEST(DefaultRules, TextIsTheEmbeddedFile) {
  EXPECT_NE(default_rules_text().find("\"preempt-hang-max-runtime\""), std::string_view::npos);
}

// ---- Classification, one behaviour per category ------------------------------------------------

TEST(RulesClassify, EmptyRecordIsUnclassified) {
  auto result = classify(default_rules(), failed_run());
  EXPECT_EQ(result.category, Category::unclassified);
  EXPECT_EQ(result.rule_id, "");
}

TEST(RulesClassify, MaxRuntimeWithDuplicateStartIsStepPreemptHang) {
  auto record = failed_run(k_max_runtime);
  record.engine_events = {"Step worker started for \"load_op\".", k_duplicate_start};
  EXPECT_EQ(verdict(record), "Step preempt-hang / preempt-hang-max-runtime");
}

TEST(RulesClassify, MaxRuntimeAloneIsInfraTimeout) {
  auto record = failed_run(k_max_runtime);
  record.engine_events = {"Canceling due to exceeding maximum runtime of 3600 seconds.",
                          "Executor received termination signal, forwarding to steps"};
  EXPECT_EQ(verdict(record), "Infra timeout / max-runtime-exceeded");
}

TEST(RulesClassify, DuplicateStartWithoutMaxRuntimeIsNotPreemptHang) {
  auto record = failed_run(k_steps_failed);
  record.engine_events = {k_duplicate_start};
  EXPECT_EQ(verdict(record), "Unclassified / ");
}

TEST(RulesClassify, StartTimeoutIsInfraTimeout) {
  auto record = failed_run("Run timed out due to taking longer than 480 seconds to start.\nDebug info: ...");
  EXPECT_EQ(verdict(record), "Infra timeout / start-timeout");
}

TEST(RulesClassify, CodeServerDeadlineIsInfraTimeoutNotConnectionFailure) {
  auto record = failed_run("Execution of run for \"nightly_job\" failed. An exception was thrown during execution.");
  record.run_failure_error_class = "DagsterUserCodeUnreachableError";
  record.run_failure_error_message = "Could not reach user code server. gRPC Error code: DEADLINE_EXCEEDED";
  EXPECT_EQ(verdict(record), "Infra timeout / code-server-timeout");
}

TEST(RulesClassify, K8sJobWaitTimeoutIsInfraTimeout) {
  auto record = failed_run(k_steps_failed);
  record.step_errors.push_back(step_error("FRAMEWORK_ERROR", "DagsterK8sError",
                                          "Timed out while waiting for job dagster-step-1a2b to have pods"));
  EXPECT_EQ(verdict(record), "Infra timeout / k8s-wait-timeout");
}

TEST(RulesClassify, OomKilledBeatsK8sJobFailed) {
  auto record = failed_run();
  record.engine_events = {
      "Detected run worker status FAILED: 'K8s job failed: Container \"dagster\" failed with message: "
      "Reason=\"OOMKilled\"'. Marking run 6f1c2d3e as failed."};
  EXPECT_EQ(verdict(record), "Node OOM/eviction / oom-killed");
}

TEST(RulesClassify, EvictionBeatsInterrupt) {
  auto record = failed_run("Execution of run for \"nightly_job\" failed. Execution was interrupted unexpectedly. "
                           "No user initiated termination request was found, treating as failure.");
  record.engine_events = {"Pod \"dagster-run-6f1c2d3e-abcde\" was unexpectedly killed: Failed: Reason=\"Evicted\" "
                          "Message=\"The node was low on resource: memory.\""};
  EXPECT_EQ(verdict(record), "Node OOM/eviction / pod-evicted");
}

TEST(RulesClassify, RunPodsMissingIsSchedulingFailure) {
  auto record = failed_run();
  record.engine_events = {"Detected run worker status FAILED: 'Run has not completed but K8s job has no active "
                          "pods'. Marking run 6f1c2d3e as failed."};
  EXPECT_EQ(verdict(record), "Scheduling failure / run-pod-missing");
}

TEST(RulesClassify, ImagePullBackOffIsSchedulingFailure) {
  auto record = failed_run(k_steps_failed);
  record.step_errors.push_back(step_error("", "", ""));
  record.step_errors.back().message =
      "Step load_op failed health check: Discovered failed Kubernetes job dagster-step-1a2b for step load_op. "
      "Failed: Reason=\"ImagePullBackOff\" Message=\"Back-off pulling image\"";
  EXPECT_EQ(verdict(record), "Scheduling failure / image-pull-failure");
}

TEST(RulesClassify, K8sApiErrorClassBeatsCodeError) {
  auto record = failed_run(k_steps_failed);
  record.tags["dagster/failure_reason"] = "STEP_FAILURE";
  record.step_errors.push_back(step_error("FRAMEWORK_ERROR", "DagsterK8sUnrecoverableAPIError",
                                          "Unexpected error encountered in Kubernetes API Client."));
  EXPECT_EQ(verdict(record), "K8s API failure / k8s-api-error");
}

TEST(RulesClassify, InterruptedStepIsPreemption) {
  auto record = failed_run(k_steps_failed);
  record.tags["dagster/failure_reason"] = "STEP_FAILURE";
  record.step_errors.push_back(step_error("INTERRUPT", "DagsterExecutionInterruptedError", ""));
  EXPECT_EQ(verdict(record), "Preemption/Interrupt / interrupted-error");
}

TEST(RulesClassify, UnexpectedTerminationIsPreemption) {
  auto record = failed_run("Execution of run for \"nightly_job\" failed. Execution was interrupted unexpectedly. "
                           "No user initiated termination request was found, treating as failure.");
  EXPECT_EQ(verdict(record), "Preemption/Interrupt / run-interrupted");
}

TEST(RulesClassify, InterruptSignatureBeatsK8sJobFailed) {
  auto record = failed_run();
  record.engine_events = {"Run execution terminated by interrupt",
                          "Detected run worker status FAILED: 'K8s job failed'. Marking run 6f1c2d3e as failed."};
  EXPECT_EQ(verdict(record), "Preemption/Interrupt / terminated-by-interrupt");
}

TEST(RulesClassify, LostStepProcessIsPreemption) {
  auto record = failed_run();
  record.engine_events = {"Execution exited with steps ['load_op'] in an unknown state to this process. "
                          "This was likely caused by losing communication with the process performing step execution."};
  EXPECT_EQ(verdict(record), "Preemption/Interrupt / step-process-lost");
}

TEST(RulesClassify, ResumedInterruptIsNotTheCauseOfALaterCodeError) {
  auto record = failed_run(k_steps_failed);
  record.engine_events = {"Execution was interrupted unexpectedly. No user initiated termination request was found, "
                          "not treating as failure because run will be resumed.",
                          "Execution was interrupted for a run that was already in a failure state."};
  record.step_errors.push_back(step_error("USER_CODE_ERROR", "DagsterExecutionStepExecutionError",
                                          "Error occurred while executing op \"load_op\":",
                                          {{"KeyError", "'student_id'", false}}));
  EXPECT_EQ(verdict(record), "Code error / user-code-error");
}

TEST(RulesClassify, RunWorkerRestartReasonIsPreemption) {
  auto record = failed_run();
  record.tags["dagster/failure_reason"] = "RUN_WORKER_RESTART";
  EXPECT_EQ(verdict(record), "Preemption/Interrupt / run-worker-lost");
}

TEST(RulesClassify, FailedStepJobIsBackoffLimit) {
  auto record = failed_run(k_steps_failed);
  record.step_errors.push_back(step_error("", "", ""));
  record.step_errors.back().message =
      "Step load_op failed health check: Discovered failed Kubernetes job dagster-step-1a2b for step load_op.";
  EXPECT_EQ(verdict(record), "Backoff limit / step-job-failed");
}

TEST(RulesClassify, FailedRunJobIsBackoffLimit) {
  auto record = failed_run();
  record.engine_events = {"Detected run worker status FAILED: 'K8s job failed'. Marking run 6f1c2d3e as failed, "
                          "because it has surpassed the configured maximum attempts to resume the run: 1."};
  record.tags["dagster/failure_reason"] = "RUN_WORKER_RESTART";
  EXPECT_EQ(verdict(record), "Backoff limit / run-job-failed");
}

TEST(RulesClassify, ParamikoErrorIsNetworkSsh) {
  auto record = failed_run(k_steps_failed);
  record.step_errors.push_back(step_error("USER_CODE_ERROR", "DagsterExecutionStepExecutionError",
                                          "Error occurred while executing op \"sftp_op\":",
                                          {{"NoValidConnectionsError",
                                            "[Errno None] Unable to connect to port 22 on 10.0.0.5", false}}));
  EXPECT_EQ(verdict(record), "Network/SSH / ssh-error");
}

TEST(RulesClassify, SshTunnelMessageWrappingConnectionRefusedIsNetworkSsh) {
  auto record = failed_run(k_steps_failed);
  record.step_errors.push_back(step_error("USER_CODE_ERROR", "DagsterExecutionStepExecutionError",
                                          "Error occurred while executing op \"sftp_op\":",
                                          {{"RuntimeError", "Could not establish session to SSH gateway: "
                                                            "[Errno 111] Connection refused", false}}));
  EXPECT_EQ(verdict(record), "Network/SSH / ssh-message");
}

TEST(RulesClassify, ConnectionRefusedInUserCodeIsConnectionFailureNotCodeError) {
  auto record = failed_run(k_steps_failed);
  record.tags["dagster/failure_reason"] = "STEP_FAILURE";
  record.step_errors.push_back(step_error("USER_CODE_ERROR", "DagsterExecutionStepExecutionError",
                                          "Error occurred while executing op \"load_op\":",
                                          {{"ConnectionRefusedError", "[Errno 111] Connection refused", false}}));
  EXPECT_EQ(verdict(record), "Connection failure / connection-error-class");
}

// Issue 25: a socket timeout ("TimeoutError: timed out") is a network failure, not a code error.
TEST(RulesClassify, ASocketTimeoutInUserCodeIsConnectionFailure) {
  for (const char* message : {"TimeoutError: timed out", "TimeoutError: The read operation timed out", "timed out"}) {
    auto record = failed_run(k_steps_failed);
    record.tags["dagster/failure_reason"] = "STEP_FAILURE";
    record.step_errors.push_back(step_error("USER_CODE_ERROR", "DagsterExecutionStepExecutionError",
                                            "Error occurred while executing op \"load_op\":", {{"TimeoutError", message, false}}));
    EXPECT_EQ(verdict(record), "Connection failure / socket-timeout") << message;
  }
}

// The close case: the user's own deadline raising TimeoutError with its own words stays a code error.
TEST(RulesClassify, AUsersOwnTimeoutErrorIsACodeError) {
  auto record = failed_run(k_steps_failed);
  record.tags["dagster/failure_reason"] = "STEP_FAILURE";
  record.step_errors.push_back(step_error("USER_CODE_ERROR", "DagsterExecutionStepExecutionError",
                                          "Error occurred while executing op \"load_op\":",
                                          {{"TimeoutError", "TimeoutError: timed out waiting for the export lock", false}}));
  EXPECT_EQ(verdict(record), "Code error / user-code-error");
}

// Issue 25: a resource whose initialization fails (RESOURCE_INIT_FAILURE, then a step failure with
// errorSource FRAMEWORK_ERROR) is classified, not Unclassified.
TEST(RulesClassify, AResourceThatFailsToInitializeIsACodeError) {
  auto record = failed_run(k_steps_failed);
  record.tags["dagster/failure_reason"] = "STEP_FAILURE";
  auto init = step_error("FRAMEWORK_ERROR", "DagsterResourceFunctionError",
                         "dagster._core.errors.DagsterResourceFunctionError: Error executing resource_fn on ResourceDefinition warehouse",
                         {{"PermissionError", "PermissionError: [Errno 13] Permission denied: '/secrets/warehouse.json'", false}});
  init.event_type = "ResourceInitFailureEvent";
  init.message = "Initialization of resources [warehouse] failed.";
  record.step_errors.push_back(init);
  auto step = init;
  step.event_type = "ExecutionStepFailureEvent";
  step.message = "Execution of step \"load_op\" failed.";
  record.step_errors.push_back(step);
  EXPECT_EQ(verdict(record), "Code error / resource-init-failure");
}

// The shape a real Dagster 1.13 writes (tests/dagster, resource_init_job): the resource-init event
// and the step failure carry the user's exception itself, no wrapper class and no cause chain.
TEST(RulesClassify, AResourceInitFailureAsARealDagsterWritesItIsACodeError) {
  auto record = failed_run("Execution of run for \"resource_init_job\" failed. An exception was thrown during execution.");
  record.run_failure_error_class = "DagsterSubprocessError";
  auto init = step_error("", "PermissionError", "PermissionError: cannot read /var/secrets/warehouse.json\n", {});
  init.event_type = "ResourceInitFailureEvent";
  init.message = "Initialization of resources [io_manager, warehouse] failed.";
  record.step_errors.push_back(init);
  auto step = init;
  step.error_source = "FRAMEWORK_ERROR";
  step.event_type = "ExecutionStepFailureEvent";
  step.message = "Execution of step \"load_with_credentials\" failed.";
  record.step_errors.push_back(step);
  EXPECT_EQ(verdict(record), "Code error / resource-init-failure");
}

// The close case: the same framework-error step failure without the resource-init event is not a
// resource failure (nor a code error).
TEST(RulesClassify, AFrameworkErrorWithoutResourceInitIsNotAResourceFailure) {
  auto record = failed_run(k_steps_failed);
  auto step = step_error("FRAMEWORK_ERROR", "PermissionError", "PermissionError: cannot read /var/secrets/warehouse.json", {});
  step.event_type = "ExecutionStepFailureEvent";
  step.message = "Execution of step \"load_with_credentials\" failed.";
  record.step_errors.push_back(step);
  EXPECT_EQ(verdict(record).find("resource"), std::string::npos) << verdict(record);
  EXPECT_EQ(verdict(record).find("Code error"), std::string::npos) << verdict(record);
}

// The close case: a resource that cannot reach its server is a connection failure.
TEST(RulesClassify, AResourceThatCannotConnectIsAConnectionFailure) {
  auto record = failed_run(k_steps_failed);
  record.tags["dagster/failure_reason"] = "STEP_FAILURE";
  record.step_errors.push_back(step_error("FRAMEWORK_ERROR", "DagsterResourceFunctionError",
                                          "Error executing resource_fn on ResourceDefinition warehouse",
                                          {{"ConnectionRefusedError", "ConnectionRefusedError: [Errno 111] Connection refused", false}}));
  EXPECT_EQ(verdict(record), "Connection failure / connection-error-class");
}

TEST(RulesClassify, UnreachableCodeServerIsConnectionFailure) {
  auto record = failed_run();
  record.engine_events = {"Run dequeue failed to reach the user code server after 3 attempts, failing run\n"
                          "Could not reach user code server. gRPC Error code: UNAVAILABLE"};
  EXPECT_EQ(verdict(record), "Connection failure / dequeue-unreachable");
}

TEST(RulesClassify, UnreachableCodeServerErrorClassIsConnectionFailure) {
  auto record = failed_run("Execution of run for \"nightly_job\" failed. An exception was thrown during execution.");
  record.run_failure_error_class = "DagsterUserCodeUnreachableError";
  record.run_failure_error_message = "Could not reach user code server. gRPC Error code: UNAVAILABLE";
  EXPECT_EQ(verdict(record), "Connection failure / code-server-unreachable");
}

TEST(RulesClassify, UserCodeErrorIsCodeError) {
  auto record = failed_run(k_steps_failed);
  record.tags["dagster/failure_reason"] = "STEP_FAILURE";
  record.step_errors.push_back(step_error("USER_CODE_ERROR", "DagsterExecutionStepExecutionError",
                                          "Error occurred while executing op \"load_op\":",
                                          {{"ValueError", "invalid literal for int() with base 10: 'n/a'", false}}));
  EXPECT_EQ(verdict(record), "Code error / user-code-error");
}

TEST(RulesClassify, StepFailureWithFrameworkErrorIsNotCodeError) {
  auto record = failed_run(k_steps_failed);
  record.tags["dagster/failure_reason"] = "STEP_FAILURE";
  record.step_errors.push_back(step_error("FRAMEWORK_ERROR", "DagsterInvariantViolationError", "something internal"));
  EXPECT_EQ(verdict(record), "Unclassified / ");
}

TEST(RulesClassify, StepFailureWithAnErrorClassIsCodeError) {
  auto record = failed_run(k_steps_failed);
  record.tags["dagster/failure_reason"] = "STEP_FAILURE";
  record.step_errors.push_back(step_error("", "Failure", "dbt build returned 1"));
  EXPECT_EQ(verdict(record), "Code error / step-failure-with-error");
}

// ---- Custom rules ------------------------------------------------------------------------------

TEST(RulesParse, AcceptsCommentsTrailingCommasAndUnless) {
  auto rules = parse_rules(R"({
  // a comment
  "version": 1,
  "rules": [
    { "id": "bq", "category": "Code error", "description": "BigQuery",
      "when": { "errorMessage": "(?i)bigquery", },
      "unless": { "jobName": "^sandbox_" }, },
  ],
})",
                           "custom.json");
  ASSERT_TRUE(rules.ok()) << rules.error().message;
  ASSERT_EQ(rules->rules.size(), 1U);
  EXPECT_EQ(rules->source, "custom.json");
  EXPECT_EQ(rules->rules[0].source, "custom.json:5");
  EXPECT_EQ(rules->rules[0].when[0].field, Field::error_message);

  auto record = failed_run();
  record.step_errors.push_back(step_error("USER_CODE_ERROR", "BadRequest", "400 BIGQUERY quota exceeded"));
  EXPECT_EQ(classify(*rules, record).rule_id, "bq");
  record.job_name = "sandbox_nightly";
  EXPECT_EQ(classify(*rules, record).category, Category::unclassified);
}

TEST(RulesParse, FirstMatchingRuleWins) {
  auto rules = parse_rules(R"({"version": 1, "rules": [
    {"id": "first", "category": "Infra timeout", "when": {"anyMessage": "x"}},
    {"id": "second", "category": "Code error", "when": {"anyMessage": "x"}}]})",
                           "r.json");
  ASSERT_TRUE(rules.ok()) << rules.error().message;
  EXPECT_EQ(classify(*rules, failed_run("x")).rule_id, "first");
}

TEST(RulesParse, AllWhenConditionsMustHold) {
  auto rules = parse_rules(R"({"version": 1, "rules": [
    {"id": "both", "category": "Infra timeout", "when": {"runFailureMessage": "a", "jobName": "^other$"}}]})",
                           "r.json");
  ASSERT_TRUE(rules.ok()) << rules.error().message;
  EXPECT_EQ(classify(*rules, failed_run("a")).category, Category::unclassified);
}

// ---- Rejections: exact message with file and line -----------------------------------------------

std::string error_of(std::string_view text) {
  auto rules = parse_rules(text, "rules.json");
  return rules.ok() ? "(accepted)" : rules.error().message;
}

TEST(RulesParse, RejectsUnknownCategoryWithHint) {
  EXPECT_EQ(error_of(R"({
  "version": 1,
  "rules": [
    {
      "id": "a",
      "category": "Code eror",
      "when": {"errorClass": "x"}
    }
  ]
})"),
            "rules.json:6: unknown category \"Code eror\"; expected one of: Preemption/Interrupt, Node OOM/eviction, "
            "Scheduling failure, K8s API failure, Backoff limit, Step preempt-hang, Network/SSH, Connection failure, "
            "Code error, Infra timeout, Agent API timeout, K8s API timeout, Slow-query timeout (dbt), K8s pre-start kill, "
            "Unclassified; did you mean \"Code error\"?");
}

TEST(RulesParse, RejectsUnknownCategoryWithoutHintWhenNothingIsClose) {
  EXPECT_EQ(error_of("{\"version\": 1, \"rules\": [\n{\"id\": \"a\",\n \"category\": \"Foo\", \"when\": {}}]}"),
            "rules.json:3: unknown category \"Foo\"; expected one of: Preemption/Interrupt, Node OOM/eviction, "
            "Scheduling failure, K8s API failure, Backoff limit, Step preempt-hang, Network/SSH, Connection failure, "
            "Code error, Infra timeout, Agent API timeout, K8s API timeout, Slow-query timeout (dbt), K8s pre-start kill, "
            "Unclassified");
}

TEST(RulesParse, RejectsUnknownField) {
  EXPECT_EQ(error_of(R"({
  "version": 1,
  "rules": [
    { "id": "a", "category": "Code error",
      "when": {
        "errorClass": "x",
        "runFailureMesage": "y"
      }
    }
  ]
})"),
            "rules.json:7: unknown field \"runFailureMesage\"; expected one of: runFailureMessage, failureReason, "
            "stepFailureMessage, errorClass, errorMessage, errorSource, engineEvent, anyMessage, jobName, location, "
            "tags; did you mean \"runFailureMessage\"?");
}

TEST(RulesParse, RejectsInvalidPatternWithRe2Error) {
  EXPECT_EQ(error_of(R"({
  "version": 1,
  "rules": [
    { "id": "a", "category": "Code error",
      "when": { "errorClass": "x" },
      "unless": {
        "errorMessage": "Connection (refused"
      }
    }
  ]
})"),
            "rules.json:7: invalid pattern \"Connection (refused\" for \"errorMessage\": missing ): Connection (refused");
}

TEST(RulesParse, RejectsDuplicateId) {
  EXPECT_EQ(error_of(R"({
  "version": 1,
  "rules": [
    { "id": "timeout", "category": "Infra timeout", "when": { "anyMessage": "a" } },
    { "category": "Code error",
      "id": "timeout",
      "when": { "anyMessage": "b" } }
  ]
})"),
            "rules.json:6: duplicate rule id \"timeout\" (first at line 4)");
}

TEST(RulesParse, RejectsBadJsonWithLineAndColumn) {
  EXPECT_EQ(error_of(R"({
  "version": 1,
  "rules": [
    { "id": "a"
      "category": "Code error" }
  ]
})"),
            "rules.json:5:7: Missing a comma or '}' after an object member.");
}

TEST(RulesParse, RejectsEmptyText) {
  EXPECT_EQ(error_of(""), "rules.json:1:1: The document is empty.");
}

TEST(RulesParse, RejectsEmptyWhen) {
  EXPECT_EQ(error_of(R"({
  "version": 1,
  "rules": [
    { "id": "a", "category": "Code error",
      "when": {} }
  ]
})"),
            "rules.json:5: \"when\" is empty; a rule needs at least one condition");
}

TEST(RulesParse, RejectsMissingWhen) {
  EXPECT_EQ(error_of("{\"version\": 1, \"rules\": [\n\n  {\"id\": \"a\", \"category\": \"Code error\"}]}"),
            "rules.json:3: rule \"a\" has no \"when\"");
}

TEST(RulesParse, RejectsMissingId) {
  EXPECT_EQ(error_of("{\"version\": 1, \"rules\": [\n  {\"category\": \"Code error\",\n \"when\": {\"jobName\": \"x\"}}]}"),
            "rules.json:2: rule has no \"id\"");
}

TEST(RulesParse, RejectsNonStringPattern) {
  EXPECT_EQ(error_of(R"({
  "version": 1,
  "rules": [
    { "id": "a", "category": "Code error",
      "when": { "errorClass": ["x", "y"] } }
  ]
})"),
            "rules.json:5: pattern for \"errorClass\" must be a string, got an array");
}

TEST(RulesParse, RejectsUnknownRuleKeyWithHint) {
  EXPECT_EQ(error_of(R"({
  "version": 1,
  "rules": [
    { "id": "a", "category": "Code error",
      "whne": { "errorClass": "x" } }
  ]
})"),
            "rules.json:5: unknown rule key \"whne\"; expected one of: id, category, description, mechanism, when, "
            "unless; did you mean \"when\"?");
}

TEST(RulesParse, AMechanismDefaultsToTheRuleIdAndMustBeAName) {
  auto rules = parse_rules(R"({"version": 1, "rules": [
    {"id": "a", "category": "Code error", "mechanism": "user-code", "when": {"errorClass": "x"}},
    {"id": "b", "category": "Code error", "when": {"errorClass": "y"}}]})", "rules.json");
  ASSERT_TRUE(rules.ok()) << rules.error().message;
  EXPECT_EQ(mechanism_of(*rules, "a"), "user-code");
  EXPECT_EQ(mechanism_of(*rules, "b"), "b");
  EXPECT_EQ(mechanism_of(*rules, "not-a-rule"), "not-a-rule");
  EXPECT_EQ(error_of(R"({"version": 1, "rules": [
    {"id": "a", "category": "Code error", "mechanism": "User Code", "when": {"errorClass": "x"}}]})"),
            "rules.json:2: mechanism \"User Code\" must be lower-case letters, digits and '-'");
}

// The shipped rules that read one mechanism through different fields share it (the report's causes).
TEST(RulesParse, TheDefaultRulesOfOneMechanismShareIt) {
  const auto& rules = default_rules();
  for (const char* id : {"run-interrupted", "interrupted-error", "interrupt-error-source", "terminated-by-interrupt",
                         "executor-termination-signal"}) {
    EXPECT_EQ(mechanism_of(rules, id), "interrupt") << id;
  }
  EXPECT_EQ(mechanism_of(rules, "oom-killed"), mechanism_of(rules, "exit-code-137"));
  EXPECT_NE(mechanism_of(rules, "oom-killed"), mechanism_of(rules, "pod-evicted"));  // same category, not one mechanism
  EXPECT_EQ(mechanism_of(rules, "connection-error-class"), mechanism_of(rules, "connection-message"));
  EXPECT_NE(mechanism_of(rules, "connection-error-class"), mechanism_of(rules, "socket-timeout"));
}

TEST(RulesParse, RejectsUnknownTopLevelKey) {
  EXPECT_EQ(error_of("{\n  \"version\": 1,\n  \"rules\": [],\n  \"defaults\": {}\n}"),
            "rules.json:4: unknown key \"defaults\"; expected one of: version, rules");
}

TEST(RulesParse, RejectsOtherVersions) {
  EXPECT_EQ(error_of("{\n  \"rules\": [],\n  \"version\": 2\n}"),
            "rules.json:3: unsupported version 2 (this day2 reads version 1)");
  EXPECT_EQ(error_of("{\"version\": \"1\", \"rules\": []}"),
            "rules.json:1: unsupported version \"1\" (this day2 reads version 1)");
  EXPECT_EQ(error_of("{\"rules\": []}"), "rules.json:1: missing \"version\" (this day2 reads version 1)");
}

TEST(RulesParse, RejectsDuplicateKey) {
  EXPECT_EQ(error_of("{\"version\": 1, \"rules\": [\n {\"id\": \"a\", \"category\": \"Code error\",\n"
                     "  \"when\": {\"jobName\": \"x\"},\n  \"when\": {\"jobName\": \"y\"}}]}"),
            "rules.json:4: duplicate key \"when\" (first at line 3)");
}

TEST(RulesParse, RejectsNonObjectTopLevel) {
  EXPECT_EQ(error_of("[1, 2]"), "rules.json:1: expected an object with \"version\" and \"rules\", got an array");
}

TEST(RulesParse, RejectsDeepNesting) {
  std::string text = "{\"version\": 1, \"rules\": " + std::string(100, '[') + std::string(100, ']') + "}";
  EXPECT_EQ(error_of(text), "rules.json:1:56: values are nested deeper than 32 levels");
}

TEST(RulesParse, RejectsInvalidUtf8) {
  EXPECT_EQ(error_of("{\"version\": 1, \"rules\": [{\"id\": \"\xff\"}]}"),
            "rules.json:1:34: Invalid encoding in string.");
}

// ---- Loading from disk -------------------------------------------------------------------------

class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    m_path = std::filesystem::temp_directory_path() /
             ("day2_rules_test_" + std::to_string(::getpid()) + "_" + std::to_string(s_counter++) + ".json");
    std::ofstream(m_path) << content;
  }
  ~TempFile() {
    std::error_code ignored;
    std::filesystem::remove(m_path, ignored);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  std::string path() const { return m_path.string(); }

 private:
  static inline int s_counter = 0;
  std::filesystem::path m_path;
};

TEST(RulesLoad, ReadsAFileAndNamesItInSources) {
  TempFile file("{\"version\": 1, \"rules\": [\n  {\"id\": \"nightly\", \"category\": \"Infra timeout\",\n"
                "   \"when\": {\"jobName\": \"^nightly_\"}}]}\n");
  auto rules = load_rules(file.path());
  ASSERT_TRUE(rules.ok()) << rules.error().message;
  EXPECT_EQ(rules->source, file.path());
  ASSERT_EQ(rules->rules.size(), 1U);
  EXPECT_EQ(rules->rules[0].source, file.path() + ":2");
  EXPECT_EQ(classify(*rules, failed_run()).rule_id, "nightly");
}

TEST(RulesLoad, NamesTheFileInErrors) {
  TempFile file("{\"version\": 1, \"rules\": [\n  {\"id\": \"a\", \"category\": \"Timeout\", \"when\": {}}]}\n");
  auto rules = load_rules(file.path());
  ASSERT_FALSE(rules.ok());
  EXPECT_EQ(rules.error().message.rfind(file.path() + ":2: unknown category \"Timeout\"", 0), 0U)
      << rules.error().message;
}

TEST(RulesLoad, MissingFileIsAnError) {
  auto rules = load_rules("/nonexistent/day2/rules.json");
  ASSERT_FALSE(rules.ok());
  EXPECT_EQ(rules.error().message, "/nonexistent/day2/rules.json: cannot open: No such file or directory");
}

}  // namespace
}  // namespace analyzer
