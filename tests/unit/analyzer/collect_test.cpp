// `collect` against the real Dagster 1.13.27 captures (tests/data/dagster/) through a FakeTransport:
// every step's payload holds the values a reader relies on, paging follows cursors, a failing
// operation only breaks the steps that use it, and the artifact is deterministic.
#include "analyzer/collect/collect.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <rapidjson/pointer.h>

#include <set>
#include <sstream>

#include "analyzer/cli/cli.hpp"
#include "recorder/base/json.hpp"
#include "support/captured_dagster.hpp"
#include "support/collect_operations.hpp"
#include "support/fake_transport.hpp"
#include "support/json_access.hpp"
#include "support/temp_dir.hpp"

namespace analyzer {
namespace {

using day2_test::TempDir;
using day2test::Answer;
using day2test::captured_run_id;
using day2test::captured_runs_page;
using day2test::FakeTransport;
using day2test::json_at;
using day2test::number_at;
using day2test::repeat_first;
using day2test::size_at;
using day2test::strings_at;
using day2test::text_at;
using day2test::where;
using day2test::where_null;
using testing::HasSubstr;
using testing::IsEmpty;
using testing::Not;
using Strings = std::vector<std::string>;

const std::string k_code_error_run = "2dd4253f-acb5-4aa3-9596-941608727e68";
const std::string k_connection_run = "8b95b065-9c7e-4f14-ba1e-cf19059223e9";
const std::string k_crashing_check_run = "aac1b4f8-6c50-422a-9e89-86b9db82e756";
const std::string k_flaky_run = "116576aa-3cac-449a-990e-86f65f75195f";
const std::string k_flaky_retry_run = "43239c62-9cc5-4da8-92d4-6781b2b6fcb6";
const std::string k_max_runtime_run = "e115f88a-f842-4a75-98ba-7b119a5e9e4f";
const std::string k_backfill_run = "a1f433f4-b5b3-491d-a565-c518d3cc7c4c";

Config test_config() {
  Config config;
  config.retries = 0;
  return config;
}

std::shared_ptr<FakeTransport> captured() {
  auto transport = std::make_shared<FakeTransport>();
  day2test::answer_captured(*transport);
  return transport;
}

rapidjson::Document run_collect(const std::shared_ptr<FakeTransport>& transport, const Config& config = test_config(),
                                recorder::Window window = day2test::captured_window()) {
  DagsterClient client(transport, config.dagster, "", std::chrono::milliseconds(2000));
  CollectRequest request{config, window};
  return collect(client, request);
}

// The artifact collect makes from the captures, computed once.
const rapidjson::Document& baseline() {
  static const rapidjson::Document artifact = run_collect(captured());
  return artifact;
}

double window_start() { return recorder::to_epoch_seconds(day2test::captured_window().start); }
double window_end() { return recorder::to_epoch_seconds(day2test::captured_window().end); }

// "/step_01_failed_runs/failures/<i>" of the failure with `run_id`; "<no failure ...>" if absent.
std::string failure_pointer(const rapidjson::Value& artifact, const std::string& run_id) {
  for (std::size_t i = 0; i < size_at(artifact, "/step_01_failed_runs/failures"); ++i) {
    auto pointer = "/step_01_failed_runs/failures/" + std::to_string(i);
    if (text_at(artifact, pointer + "/runId") == run_id) return pointer;
  }
  return "/<no failure for run " + run_id + ">";
}

// ---- The whole artifact ------------------------------------------------------------------------

TEST(Collect, CapturedDataGivesEveryStepAndNoErrors) {
  auto transport = captured();
  auto artifact = run_collect(transport);
  EXPECT_THAT(error_steps(artifact), IsEmpty());
  EXPECT_THAT(transport->unanswered(), IsEmpty());
  for (const auto& key : step_keys()) EXPECT_TRUE(artifact.HasMember(key.c_str())) << key;
  EXPECT_EQ(step_keys().size(), 17u);
  EXPECT_EQ(text_at(artifact, "/window/utc_start"), "2026-11-22T05:00:36.360315Z");
  EXPECT_EQ(text_at(artifact, "/meta/dagsterFlavor"), "oss");
}

TEST(Collect, OutputIsDeterministic) {
  auto first = recorder::write_json(run_collect(captured()), recorder::Pretty::yes);
  auto config = test_config();
  config.concurrency = 1;
  auto sequential = recorder::write_json(run_collect(captured(), config), recorder::Pretty::yes);
  config.concurrency = 16;
  auto wide = recorder::write_json(run_collect(captured(), config), recorder::Pretty::yes);
  EXPECT_EQ(first, recorder::write_json(run_collect(captured()), recorder::Pretty::yes));
  EXPECT_EQ(first, sequential);
  EXPECT_EQ(first, wide);
}

TEST(Collect, Step07IsSkippedOnOpenSourceWithAReason) {
  auto transport = captured();
  auto artifact = run_collect(transport);
  EXPECT_EQ(json_at(artifact, "/step_07_agents/skipped"), "true");
  EXPECT_THAT(text_at(artifact, "/step_07_agents/reason"), HasSubstr("Dagster+ only"));
  EXPECT_EQ(transport->count("PlusAgents"), 0u);
}

TEST(Collect, GoogleCloudStepsAreSkippedWithAReason) {
  for (const char* key : {"step_08_agent_pod_churn", "step_10_gke_events", "step_11_alerts", "step_12_error_groups",
                          "step_13_oom_metrics"}) {
    auto pointer = std::string("/") + key;
    EXPECT_EQ(json_at(baseline(), pointer + "/skipped"), "true") << key;
    EXPECT_EQ(text_at(baseline(), pointer + "/reason"),
              "Google Cloud is not configured (set gcp.project, gcp.cluster and gcp.location)")
        << key;
  }
}

// The seed's shape: {"events": [...], "skipped": bool} and {"oomRuns": [...], "skipped": bool}.
TEST(Collect, SkippedStepsEightAndThirteenKeepTheirListsEmpty) {
  EXPECT_EQ(json_at(baseline(), "/step_08_agent_pod_churn/events"), "[]");
  EXPECT_EQ(json_at(baseline(), "/step_13_oom_metrics/oomRuns"), "[]");
  EXPECT_FALSE(baseline()["step_11_alerts"].HasMember("alerts"));  // the close case: no list the seed does not show
}

TEST(Collect, ErrorStepsListsStepsHoldingAnError) {
  rapidjson::Document artifact;
  artifact.Parse(R"({"step_02_retries": {"error": "x"}, "step_01_failed_runs": {"failures": []},
                     "step_16_asset_checks": {"error": "y"}, "step_08_agent_pod_churn": {"skipped": true}})");
  EXPECT_EQ(error_steps(artifact), (Strings{"step_02_retries", "step_16_asset_checks"}));
}

// ---- Step 01: failed runs ----------------------------------------------------------------------

TEST(Collect, Step01CountsTerminalRunsThatEndedInTheWindow) {
  const auto& a = baseline();
  EXPECT_EQ(json_at(a, "/step_01_failed_runs/failureCount"), "6");
  EXPECT_EQ(json_at(a, "/step_01_failed_runs/successCount"), "7");
  EXPECT_EQ(json_at(a, "/step_01_failed_runs/canceledCount"), "1");
  EXPECT_EQ(strings_at(a, "/step_01_failed_runs/successRunIds"),
            (Strings{"27fcb6a5-49e0-4e4c-a779-0685a14fd132", k_flaky_retry_run, "57255e6f-3367-4b00-9d8e-b081d9b49aec",
                     "58f582fc-c2c6-4e97-9c42-77e1febc19c8", "956c6db9-0c65-4b32-ab12-8a2b23229af8",
                     "a498a6b8-49ad-4762-86a9-c711a9808fab", "abc43eb8-c081-4035-90b6-976fe7f2aba0"}));
}

TEST(Collect, Step01ListsFailuresByEndTime) {
  Strings ids;
  for (std::size_t i = 0; i < size_at(baseline(), "/step_01_failed_runs/failures"); ++i) {
    ids.push_back(text_at(baseline(), "/step_01_failed_runs/failures/" + std::to_string(i) + "/runId"));
  }
  EXPECT_EQ(ids, (Strings{k_code_error_run, k_connection_run, k_crashing_check_run, k_flaky_run, k_max_runtime_run,
                          k_backfill_run}));
}

TEST(Collect, Step01ClassifiesTheCodeErrorFromItsEventLog) {
  const auto& a = baseline();
  auto f = failure_pointer(a, k_code_error_run);
  EXPECT_EQ(text_at(a, f + "/category"), "Code error");
  EXPECT_EQ(text_at(a, f + "/ruleId"), "user-code-error");
  EXPECT_EQ(text_at(a, f + "/errorClass"), "ValueError");  // the user's exception, not Dagster's wrapper
  EXPECT_EQ(text_at(a, f + "/jobName"), "code_error_job");
  EXPECT_EQ(text_at(a, f + "/location"), "day2_fixture");
  EXPECT_EQ(text_at(a, f + "/repository"), "__repository__");
  EXPECT_EQ(text_at(a, f + "/status"), "FAILURE");
  EXPECT_DOUBLE_EQ(number_at(a, f + "/startTime"), 1795323724.020548);
  EXPECT_DOUBLE_EQ(number_at(a, f + "/endTime"), 1795323728.72277);
  EXPECT_EQ(text_at(a, f + "/failureReason"), "STEP_FAILURE");
  EXPECT_EQ(text_at(a, f + "/willRetry"), "false");
  EXPECT_EQ(text_at(a, f + "/runFailureMessage"),
            "Execution of run for \"code_error_job\" failed. Steps failed: ['day2__broken_asset'].");
  EXPECT_EQ(text_at(a, f + "/runFailureErrorClass"), "DagsterExecutionStepExecutionError");
  EXPECT_EQ(size_at(a, f + "/engineEvents"), 4u);
  EXPECT_THAT(strings_at(a, f + "/inProgressSteps"), IsEmpty());
}

TEST(Collect, Step01KeepsStepErrorsWithTheirCauseChain) {
  const auto& a = baseline();
  auto e = failure_pointer(a, k_code_error_run) + "/stepErrors";
  ASSERT_EQ(size_at(a, e), 1u);
  EXPECT_EQ(text_at(a, e + "/0/stepKey"), "day2__broken_asset");
  EXPECT_EQ(text_at(a, e + "/0/eventType"), "ExecutionStepFailureEvent");
  EXPECT_EQ(text_at(a, e + "/0/message"), "Execution of step \"day2__broken_asset\" failed.");
  EXPECT_EQ(text_at(a, e + "/0/errorClass"), "DagsterExecutionStepExecutionError");
  EXPECT_EQ(text_at(a, e + "/0/errorMessage"),
            "dagster._core.errors.DagsterExecutionStepExecutionError: Error occurred while executing op "
            "\"day2__broken_asset\":");
  EXPECT_EQ(text_at(a, e + "/0/errorSource"), "USER_CODE_ERROR");
  EXPECT_EQ(json_at(a, e + "/0/causeChain"),
            R"([{"className":"ValueError","isExplicitLink":true,)"
            R"("message":"ValueError: day2 fixture: invalid value in column 'amount': 'abc'"}])");
}

TEST(Collect, Step01ComparesPlannedAndDoneMaterializations) {
  const auto& a = baseline();
  auto code_error = failure_pointer(a, k_code_error_run);
  EXPECT_EQ(strings_at(a, code_error + "/logsCapturedSteps"), Strings{"day2__broken_asset"});
  EXPECT_EQ(strings_at(a, code_error + "/plannedMaterializations"), Strings{"day2/broken_asset"});
  EXPECT_THAT(strings_at(a, code_error + "/materializations"), IsEmpty());
  EXPECT_EQ(strings_at(a, code_error + "/unmaterializedAssets"), Strings{"day2/broken_asset"});

  auto check = failure_pointer(a, k_crashing_check_run);
  EXPECT_EQ(strings_at(a, check + "/logsCapturedSteps"),
            (Strings{"warehouse__customers", "warehouse__customers_customers_check_crashes"}));
  EXPECT_EQ(strings_at(a, check + "/plannedMaterializations"), Strings{"warehouse/customers"});
  EXPECT_EQ(strings_at(a, check + "/materializations"), Strings{"warehouse/customers"});
  EXPECT_THAT(strings_at(a, check + "/unmaterializedAssets"), IsEmpty());
  EXPECT_EQ(text_at(a, check + "/errorClass"), "RuntimeError");
  EXPECT_EQ(text_at(a, check + "/category"), "Code error");
}

TEST(Collect, Step01ClassifiesConnectionRefusedAsConnectionFailure) {
  const auto& a = baseline();
  auto f = failure_pointer(a, k_connection_run);
  EXPECT_EQ(text_at(a, f + "/category"), "Connection failure");
  EXPECT_EQ(text_at(a, f + "/ruleId"), "connection-error-class");
  EXPECT_EQ(text_at(a, f + "/errorClass"), "ConnectionRefusedError");
  EXPECT_EQ(json_at(a, f + "/stepErrors/0/causeChain"),
            R"([{"className":"ConnectionRefusedError","isExplicitLink":true,)"
            R"("message":"ConnectionRefusedError: [Errno 111] Connection refused"}])");
  EXPECT_EQ(strings_at(a, f + "/logsCapturedSteps"), Strings{"call_warehouse_api"});
  EXPECT_THAT(strings_at(a, f + "/plannedMaterializations"), IsEmpty());
}

TEST(Collect, Step01ClassifiesMaxRuntimeAsInfraTimeout) {
  const auto& a = baseline();
  auto f = failure_pointer(a, k_max_runtime_run);
  EXPECT_EQ(text_at(a, f + "/category"), "Infra timeout");
  EXPECT_EQ(text_at(a, f + "/ruleId"), "max-runtime-exceeded");
  EXPECT_EQ(text_at(a, f + "/errorClass"), "DagsterExecutionInterruptedError");
  EXPECT_EQ(text_at(a, f + "/runFailureMessage"), "Exceeded maximum runtime of 5 seconds.");
  EXPECT_EQ(text_at(a, f + "/runFailureErrorClass"), "");  // RunFailureEvent.error is null here
  EXPECT_EQ(text_at(a, f + "/maxRuntime"), "5");
  EXPECT_EQ(json_at(a, f + "/failureReason"), "null");
  EXPECT_EQ(text_at(a, f + "/stepErrors/0/stepKey"), "long_sync");
  EXPECT_EQ(text_at(a, f + "/stepErrors/0/errorSource"), "INTERRUPT");
  EXPECT_EQ(json_at(a, f + "/stepErrors/0/causeChain"), "[]");
  EXPECT_EQ(strings_at(a, f + "/logsCapturedSteps"), Strings{"long_sync"});
  EXPECT_THAT(strings_at(a, f + "/inProgressSteps"), IsEmpty());
}

TEST(Collect, Step01KeepsRetryAndBackfillTags) {
  const auto& a = baseline();
  auto flaky = failure_pointer(a, k_flaky_run);
  EXPECT_EQ(text_at(a, flaky + "/willRetry"), "true");
  EXPECT_EQ(text_at(a, flaky + "/autoRetryRunId"), k_flaky_retry_run);
  EXPECT_EQ(text_at(a, flaky + "/category"), "Code error");
  EXPECT_EQ(text_at(a, flaky + "/engineEvents/4"), "Retrying the run");
  auto backfill = failure_pointer(a, k_backfill_run);
  EXPECT_EQ(text_at(a, backfill + "/tags/dagster~1backfill"), "fzjuakjv");
  EXPECT_EQ(text_at(a, backfill + "/tags/dagster~1partition"), "p2");
  EXPECT_EQ(text_at(a, backfill + "/jobName"), "__ASSET_JOB");
  EXPECT_EQ(strings_at(a, backfill + "/unmaterializedAssets"), Strings{"day2/partitioned_events"});
}

TEST(Collect, Step01DropsRunsThatEndedAfterTheWindow) {
  auto window = day2test::captured_window();
  window.end = recorder::from_epoch_seconds(1795323745.0);  // before the backfill run and the retry ended
  auto transport = captured();
  auto artifact = run_collect(transport, test_config(), window);
  EXPECT_EQ(json_at(artifact, "/step_01_failed_runs/failureCount"), "5");
  EXPECT_EQ(json_at(artifact, "/step_01_failed_runs/successCount"), "4");
  EXPECT_EQ(json_at(artifact, "/step_01_failed_runs/canceledCount"), "0");
  EXPECT_EQ(json_at(artifact, "/step_02_retries/retries"), "[]");
  for (const auto& request : transport->requests("RunEvents")) {
    EXPECT_NE(text_at(request.variables(), "/runId"), k_backfill_run);
  }
}

TEST(Collect, RunsInWindowAsksForRunsUpdatedSinceStartAndCreatedBeforeEnd) {
  auto transport = captured();
  (void)run_collect(transport);
  auto requests = transport->requests("RunsInWindow");
  ASSERT_EQ(requests.size(), 1u);  // shared by steps 01 and 02
  const auto& vars = requests[0].variables();
  EXPECT_EQ(json_at(vars, "/filter/statuses"), R"(["FAILURE","SUCCESS","CANCELED"])");
  EXPECT_DOUBLE_EQ(number_at(vars, "/filter/updatedAfter"), window_start());
  EXPECT_DOUBLE_EQ(number_at(vars, "/filter/createdBefore"), window_end());
  EXPECT_EQ(day2test::find_at(vars, "/filter/updatedBefore"), nullptr);
  EXPECT_EQ(json_at(vars, "/limit"), "200");
  EXPECT_EQ(json_at(vars, "/cursor"), "null");
}

TEST(Collect, RunEventsIsAskedOncePerFailedRun) {
  auto transport = captured();
  (void)run_collect(transport);
  std::multiset<std::string> asked;
  for (const auto& request : transport->requests("RunEvents")) {
    asked.insert(text_at(request.variables(), "/runId"));
    EXPECT_EQ(json_at(request.variables(), "/afterCursor"), "null");
    EXPECT_EQ(json_at(request.variables(), "/limit"), "200");
  }
  EXPECT_EQ(asked, (std::multiset<std::string>{k_code_error_run, k_connection_run, k_crashing_check_run, k_flaky_run,
                                               k_max_runtime_run, k_backfill_run}));
}

TEST(Collect, RequestsMatchTheCapturedVariables) {
  auto transport = captured();
  (void)run_collect(transport);
  auto sent = [&](const std::string& operation) {
    auto requests = transport->requests(operation);
    return requests.size() == 1 ? recorder::write_json(requests[0].variables()) : "<" + operation + " not sent once>";
  };
  auto captured_variables = [](const std::string& name) {
    return recorder::write_json(day2test::dagster_data(name + ".variables"));
  };
  EXPECT_EQ(sent("InFlightRuns"), captured_variables("InFlightRuns"));
  EXPECT_EQ(sent("TypeFields"), captured_variables("TypeFields.AssetNode"));
  EXPECT_EQ(sent("AssetsLatestInfo"), captured_variables("AssetsLatestInfo"));
  for (const char* operation : {"CodeLocations", "DaemonHealth", "AssetKeys", "FreshnessLegacy", "FreshnessNew",
                                "AssetChecksLatest"}) {
    EXPECT_EQ(sent(operation), "{}") << operation;
  }
  EXPECT_EQ(sent("Backfills"), R"({"cursor":null,"limit":100,"status":null})");
}

// ---- Step 02: retries --------------------------------------------------------------------------

TEST(Collect, Step02PairsTheFailedRunWithItsSuccessfulRetry) {
  const auto& a = baseline();
  ASSERT_EQ(size_at(a, "/step_02_retries/retries"), 1u);
  EXPECT_EQ(text_at(a, "/step_02_retries/retries/0/parentRunId"), k_flaky_run);
  EXPECT_EQ(text_at(a, "/step_02_retries/retries/0/retryRunId"), k_flaky_retry_run);
  EXPECT_EQ(text_at(a, "/step_02_retries/retries/0/retryStatus"), "SUCCESS");
  EXPECT_EQ(text_at(a, "/step_02_retries/retries/0/rootRunId"), k_flaky_run);
  EXPECT_EQ(text_at(a, "/step_02_retries/retries/0/jobName"), "flaky_job");
  EXPECT_EQ(json_at(a, "/step_02_retries/retries/0/automatic"), "true");
  EXPECT_EQ(text_at(a, "/step_02_retries/retries/0/retryNumber"), "1");
}

// ---- Steps 03, 05, 06: instigators and code locations -----------------------------------------

TEST(Collect, Step03GroupsFailedSensorTicksUnderTheirLocation) {
  const auto& a = baseline();
  EXPECT_EQ(size_at(a, "/step_03_sensor_ticks"), 1u);  // the broken location has no sensors
  const std::string s = "/step_03_sensor_ticks/day2_fixture/failing_sensor";
  EXPECT_EQ(json_at(a, s + "/failureCount"), "18");
  ASSERT_EQ(size_at(a, s + "/ticks"), 18u);
  EXPECT_EQ(text_at(a, s + "/ticks/0/tickId"), "1");  // oldest first
  EXPECT_DOUBLE_EQ(number_at(a, s + "/ticks/0/timestamp"), 1795323702.805262);
  EXPECT_EQ(text_at(a, s + "/ticks/0/error"),
            "dagster._core.errors.SensorExecutionError: Error occurred during the execution of evaluation_fn for "
            "sensor failing_sensor");
  EXPECT_EQ(text_at(a, s + "/ticks/0/errorClass"), "SensorExecutionError");
  EXPECT_EQ(text_at(a, s + "/ticks/0/errorChainTop"),
            "RuntimeError: day2 fixture: sensor could not list the landing bucket");
  EXPECT_EQ(text_at(a, s + "/ticks/17/tickId"), "20");
}

TEST(Collect, Step05ReportsTheBrokenLocation) {
  const auto& a = baseline();
  EXPECT_EQ(json_at(a, "/step_05_load_failures/locationCount"), "2");
  ASSERT_EQ(size_at(a, "/step_05_load_failures/loadFailures"), 1u);
  const std::string f = "/step_05_load_failures/loadFailures/0";
  EXPECT_EQ(text_at(a, f + "/location"), "day2_broken");
  EXPECT_EQ(text_at(a, f + "/loadStatus"), "LOADED");
  EXPECT_EQ(text_at(a, f + "/errorClass"), "DagsterImportError");
  EXPECT_EQ(text_at(a, f + "/errorChainTop"),
            "ImportError: day2 fixture: broken_location cannot import its vendor SDK (simulated)");
  EXPECT_THAT(text_at(a, f + "/error"), testing::StartsWith("dagster._core.errors.DagsterImportError: Encountered "
                                                            "ImportError: `day2 fixture: broken_location"));
  EXPECT_THAT(text_at(a, f + "/error"), testing::EndsWith("workspace targets."));  // trailing " \n" trimmed
  EXPECT_DOUBLE_EQ(number_at(a, f + "/updatedTimestamp"), 1795323703.2067683);
}

TEST(Collect, Step06KeysScheduleTickFailuresByLocationAndSchedule) {
  const auto& a = baseline();
  EXPECT_EQ(size_at(a, "/step_06_schedule_ticks/scheduleTickFailures"), 1u);
  const std::string s = "/step_06_schedule_ticks/scheduleTickFailures/day2_fixture~1failing_schedule";
  ASSERT_EQ(size_at(a, s), 2u);
  EXPECT_EQ(text_at(a, s + "/0/tickId"), "4");
  EXPECT_DOUBLE_EQ(number_at(a, s + "/0/timestamp"), 1795323720.0);
  EXPECT_EQ(text_at(a, s + "/1/tickId"), "13");
  EXPECT_EQ(text_at(a, s + "/1/errorClass"), "ScheduleExecutionError");
  EXPECT_EQ(text_at(a, s + "/1/errorChainTop"),
            "RuntimeError: day2 fixture: schedule could not compute its run config");
}

TEST(Collect, InstigatorTicksIsNotNeededWhenThePageIsNotFull) {
  auto transport = captured();
  (void)run_collect(transport);
  auto requests = transport->requests("AllInstigatorTicks");
  ASSERT_EQ(requests.size(), 1u);  // shared by steps 03 and 06
  EXPECT_DOUBLE_EQ(number_at(requests[0].variables(), "/after"), window_start());
  EXPECT_DOUBLE_EQ(number_at(requests[0].variables(), "/before"), window_end());
  EXPECT_EQ(json_at(requests[0].variables(), "/limit"), "1000");
  EXPECT_EQ(transport->count("InstigatorTicks"), 0u);
}

const char* const k_sensor_ticks =
    "/data/workspaceOrError/locationEntries/0/locationOrLoadError/repositories/0/sensors/0/sensorState/ticks";

TEST(Collect, Step03ContinuesAFullPageOfTicksWithInstigatorTicks) {
  // A first page of 1000 failed ticks (the server's cap) from 1795323800.001 on; the rest of the
  // window's ticks come from the captured InstigatorTicks.sensor, cut to those before that.
  auto workspace = day2test::dagster_data("AllInstigatorTicks");
  repeat_first(workspace, k_sensor_ticks, 1000, "tickId", "timestamp", 1795323800.0);
  auto older = day2test::dagster_data("InstigatorTicks.sensor");
  auto& older_ticks = older["data"]["instigationStateOrError"]["ticks"];
  for (auto tick = older_ticks.Begin(); tick != older_ticks.End();) {
    tick = (*tick)["timestamp"].GetDouble() >= 1795323800.0 ? older_ticks.Erase(tick) : tick + 1;
  }
  ASSERT_EQ(older_ticks.Size(), 14u);
  auto transport = captured();
  transport->on("AllInstigatorTicks", Answer::json(workspace));
  transport->on("InstigatorTicks", where("/selector/name", "failing_sensor"), Answer::json(older));
  auto artifact = run_collect(transport);

  auto requests = transport->requests("InstigatorTicks");
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(json_at(requests[0].variables(), "/selector"),
            R"({"name":"failing_sensor","repositoryLocationName":"day2_fixture","repositoryName":"__repository__"})");
  EXPECT_DOUBLE_EQ(number_at(requests[0].variables(), "/after"), window_start());
  // A millisecond past the oldest tick seen (1795323800.001): beforeTimestamp is strict.
  EXPECT_DOUBLE_EQ(number_at(requests[0].variables(), "/before"), 1795323800.002);
  EXPECT_EQ(json_at(requests[0].variables(), "/limit"), "1000");
  const std::string s = "/step_03_sensor_ticks/day2_fixture/failing_sensor";
  EXPECT_EQ(json_at(artifact, s + "/failureCount"), "1014");
  EXPECT_EQ(text_at(artifact, s + "/ticks/0/tickId"), "1");
  EXPECT_EQ(text_at(artifact, s + "/ticks/13/tickId"), "16");
  EXPECT_EQ(text_at(artifact, s + "/ticks/14/tickId"), "id-1");
  EXPECT_EQ(text_at(artifact, s + "/ticks/1013/tickId"), "id-1000");
}

// ---- Steps 04, 07, 09, 14, 15: health ----------------------------------------------------------

TEST(Collect, Step04FlagsLateAndDegradedAssets) {
  const auto& a = baseline();
  EXPECT_EQ(json_at(a, "/step_04_freshness/policyCount"), "2");
  EXPECT_EQ(json_at(a, "/step_04_freshness/newStylePoliciesSupported"), "true");
  ASSERT_EQ(size_at(a, "/step_04_freshness/flaggedAssets"), 2u);
  EXPECT_EQ(text_at(a, "/step_04_freshness/flaggedAssets/0/asset"), "day2/fresh_report");
  EXPECT_EQ(text_at(a, "/step_04_freshness/flaggedAssets/0/state"), "DEGRADED");
  EXPECT_EQ(text_at(a, "/step_04_freshness/flaggedAssets/0/policy"), "TimeWindowFreshnessPolicy");
  EXPECT_EQ(text_at(a, "/step_04_freshness/flaggedAssets/1/asset"), "day2/legacy_report");
  EXPECT_EQ(text_at(a, "/step_04_freshness/flaggedAssets/1/state"), "LATE");
  EXPECT_DOUBLE_EQ(number_at(a, "/step_04_freshness/flaggedAssets/1/currentMinutesLate"), 0.9010403);
  EXPECT_DOUBLE_EQ(number_at(a, "/step_04_freshness/flaggedAssets/1/maximumLagMinutes"), 1.0);
}

TEST(Collect, Step07OnDagsterPlusReportsAgents) {
  auto config = test_config();
  config.dagster.flavor = Flavor::plus;
  config.dagster.organization = "acme";
  auto transport = captured();
  rapidjson::Document agents;
  agents.Parse(R"({"data": {"agents": [{"id": "a1", "agentLabel": "prod", "status": "RUNNING",
                   "lastHeartbeatTime": 1795323803.0, "errors": [{"timestamp": 1795323800.5,
                   "error": {"className": "ReadTimeout", "message": "read timed out"}}]}]}})");
  transport->on("PlusAgents", Answer::json(agents));
  auto artifact = run_collect(transport, config);
  EXPECT_EQ(json_at(artifact, "/step_07_agents/agentCount"), "1");
  EXPECT_EQ(json_at(artifact, "/step_07_agents/runningCount"), "1");
  EXPECT_EQ(json_at(artifact, "/step_07_agents/topologyDeviation"), "false");
  EXPECT_NEAR(number_at(artifact, "/step_07_agents/agents/0/heartbeatAgeSeconds"), window_end() - 1795323803.0, 1e-6);
  EXPECT_EQ(text_at(artifact, "/step_07_agents/agents/0/errors/0/className"), "ReadTimeout");
  EXPECT_EQ(text_at(artifact, "/step_07_agents/agents/0/errors/0/message"), "read timed out");
}

TEST(Collect, Step07OnAServerWithoutAgentsIsAStepError) {
  auto config = test_config();
  config.dagster.flavor = Flavor::plus;
  config.dagster.organization = "acme";
  auto transport = captured();
  // What OSS 1.13.27 answers to PlusAgents: HTTP 400 with a GraphQL error document.
  transport->on("PlusAgents", Answer::body(day2test::dagster_data_text("PlusAgents.oss_error"), 400));
  auto artifact = run_collect(transport, config);
  EXPECT_EQ(error_steps(artifact), Strings{"step_07_agents"});
  EXPECT_EQ(text_at(artifact, "/step_07_agents/error"),
            "PlusAgents: GraphQL error (HTTP 400): Cannot query field 'agents' on type 'Query'.");
}

TEST(Collect, Step09ListsDaemonsAndTheirHeartbeatErrors) {
  const auto& a = baseline();
  EXPECT_EQ(json_at(a, "/step_09_daemons/allHealthy"), "true");
  Strings types;
  for (std::size_t i = 0; i < size_at(a, "/step_09_daemons/daemons"); ++i) {
    types.push_back(text_at(a, "/step_09_daemons/daemons/" + std::to_string(i) + "/daemonType"));
  }
  EXPECT_EQ(types, (Strings{"ASSET", "BACKFILL", "EVENT_LOG_CONSUMER", "FRESHNESS_DAEMON", "MONITORING",
                            "QUEUED_RUN_COORDINATOR", "SCHEDULER", "SENSOR"}));
  EXPECT_EQ(size_at(a, "/step_09_daemons/daemons/7/lastHeartbeatErrors"), 5u);
  EXPECT_EQ(text_at(a, "/step_09_daemons/daemons/7/lastHeartbeatErrors/0/className"), "SensorExecutionError");
  EXPECT_DOUBLE_EQ(number_at(a, "/step_09_daemons/daemons/7/lastHeartbeatTime"), 1795323822.961012);
}

TEST(Collect, Step09AnUnhealthyRequiredDaemonClearsAllHealthy) {
  auto health = day2test::dagster_data("DaemonHealth");
  auto& statuses = health["data"]["instance"]["daemonHealth"]["allDaemonStatuses"];
  statuses[0]["healthy"] = false;
  auto transport = captured();
  transport->on("DaemonHealth", Answer::json(health));
  auto artifact = run_collect(transport);
  EXPECT_EQ(json_at(artifact, "/step_09_daemons/allHealthy"), "false");
}

TEST(Collect, Step14ListsQueuedRuns) {
  const auto& a = baseline();
  EXPECT_EQ(json_at(a, "/step_14_queued_runs/stuckCount"), "0");
  EXPECT_EQ(json_at(a, "/step_14_queued_runs/queueConfig/maxConcurrentRuns"), "8");
  ASSERT_EQ(size_at(a, "/step_14_queued_runs/runs"), 2u);
  const std::string r = "/step_14_queued_runs/runs/0";
  EXPECT_EQ(text_at(a, r + "/runId"), "56daf560-8e9c-4465-954b-24efb58291ee");
  EXPECT_EQ(text_at(a, r + "/jobName"), "held_job");
  EXPECT_EQ(text_at(a, r + "/location"), "day2_fixture");
  EXPECT_EQ(text_at(a, r + "/status"), "QUEUED");
  EXPECT_DOUBLE_EQ(number_at(a, r + "/since"), 1795323708.686647);  // stats.enqueuedTime
  EXPECT_NEAR(number_at(a, r + "/ageSeconds"), window_end() - 1795323708.686647, 1e-6);
  EXPECT_EQ(json_at(a, r + "/stuck"), "false");
  EXPECT_EQ(text_at(a, "/step_14_queued_runs/runs/1/runId"), "a8702479-dcba-4860-8b70-bc8cedacb61f");
}

TEST(Collect, Step14QueuedLongerThanTheThresholdIsStuck) {
  auto config = test_config();
  config.thresholds.stuck_queue_minutes = 1;
  auto artifact = run_collect(captured(), config);
  EXPECT_EQ(json_at(artifact, "/step_14_queued_runs/stuckCount"), "2");
  EXPECT_EQ(json_at(artifact, "/step_14_queued_runs/runs/0/stuck"), "true");
  EXPECT_EQ(text_at(artifact, "/step_14_queued_runs/runs/0/reason"), "QUEUED longer than 1 minutes");
}

TEST(Collect, Step15ReportsTheFailedBackfill) {
  const auto& a = baseline();
  ASSERT_EQ(size_at(a, "/step_15_backfills/failed"), 1u);
  EXPECT_EQ(json_at(a, "/step_15_backfills/requested"), json_at(a, "/step_15_backfills/failed"));
  const std::string b = "/step_15_backfills/failed/0";
  EXPECT_EQ(text_at(a, b + "/id"), "fzjuakjv");
  EXPECT_EQ(text_at(a, b + "/status"), "COMPLETED_FAILED");
  EXPECT_EQ(json_at(a, b + "/failedPartitions"), "1");  // only in assetBackfillStatuses
  EXPECT_EQ(json_at(a, b + "/numPartitions"), "3");
  EXPECT_EQ(json_at(a, b + "/isAssetBackfill"), "true");
  EXPECT_EQ(strings_at(a, b + "/assets"), Strings{"day2/partitioned_events"});
  EXPECT_EQ(json_at(a, b + "/error"), "null");
  EXPECT_DOUBLE_EQ(number_at(a, b + "/timestamp"), 1795323709.8428063);
}

// ---- Steps 16, 17: assets ----------------------------------------------------------------------

TEST(Collect, Step16SortsFailedChecksIntoBuckets) {
  const auto& a = baseline();
  const std::string s = "/step_16_asset_checks";
  EXPECT_EQ(json_at(a, s + "/totalChecks"), "3");
  EXPECT_EQ(json_at(a, s + "/failedCount"), "3");
  EXPECT_EQ(json_at(a, s + "/stale_error"), "[]");
  EXPECT_EQ(json_at(a, s + "/stale_warn"), "[]");
  ASSERT_EQ(size_at(a, s + "/inWindow_error"), 2u);
  EXPECT_EQ(text_at(a, s + "/inWindow_error/0/check"), "orders_not_empty");
  EXPECT_EQ(text_at(a, s + "/inWindow_error/0/asset"), "warehouse/orders");
  EXPECT_EQ(text_at(a, s + "/inWindow_error/0/status"), "FAILED");
  EXPECT_EQ(text_at(a, s + "/inWindow_error/0/severity"), "ERROR");
  EXPECT_EQ(text_at(a, s + "/inWindow_error/0/description"), "orders has 0 rows for today");
  EXPECT_EQ(json_at(a, s + "/inWindow_error/0/metadata"), R"({"row_count":0})");
  // The crashed check has no evaluation: bucketed with the errors, described by the check itself.
  EXPECT_EQ(text_at(a, s + "/inWindow_error/1/check"), "customers_check_crashes");
  EXPECT_EQ(text_at(a, s + "/inWindow_error/1/status"), "EXECUTION_FAILED");
  EXPECT_EQ(text_at(a, s + "/inWindow_error/1/severity"), "UNKNOWN");
  EXPECT_EQ(text_at(a, s + "/inWindow_error/1/description"), "a check that raises");
  EXPECT_EQ(text_at(a, s + "/inWindow_error/1/runId"), k_crashing_check_run);
  ASSERT_EQ(size_at(a, s + "/inWindow_warn"), 1u);
  EXPECT_EQ(text_at(a, s + "/inWindow_warn/0/check"), "avro_schema_valid");
  EXPECT_EQ(text_at(a, s + "/inWindow_warn/0/severity"), "WARN");
  EXPECT_EQ(json_at(a, s + "/inWindow_warn/0/metadata"), R"({"extras":"a,b"})");
  EXPECT_DOUBLE_EQ(number_at(a, s + "/inWindow_warn/0/timestamp"), 1795323704.0);
}

TEST(Collect, Step16FailuresBeforeTheWindowAreStale) {
  auto window = day2test::captured_window();
  window.start = recorder::from_epoch_seconds(1795323705.0);  // after the orders checks ran
  auto artifact = run_collect(captured(), test_config(), window);
  const std::string s = "/step_16_asset_checks";
  EXPECT_EQ(json_at(artifact, s + "/failedCount"), "3");
  EXPECT_EQ(text_at(artifact, s + "/stale_error/0/check"), "orders_not_empty");
  EXPECT_EQ(text_at(artifact, s + "/stale_warn/0/check"), "avro_schema_valid");
  EXPECT_EQ(size_at(artifact, s + "/inWindow_error"), 1u);
  EXPECT_EQ(text_at(artifact, s + "/inWindow_error/0/check"), "customers_check_crashes");
  EXPECT_EQ(json_at(artifact, s + "/inWindow_warn"), "[]");
}

TEST(Collect, Step16AsksHistoryForEveryCheck) {
  auto transport = captured();
  (void)run_collect(transport);
  std::multiset<std::string> asked;
  for (const auto& request : transport->requests("AssetCheckHistory")) {
    asked.insert(json_at(request.variables(), "/assetKey/path") + " " + text_at(request.variables(), "/checkName"));
    EXPECT_EQ(json_at(request.variables(), "/cursor"), "null");
  }
  EXPECT_EQ(asked, (std::multiset<std::string>{R"(["warehouse","customers"] customers_check_crashes)",
                                               R"(["warehouse","orders"] avro_schema_valid)",
                                               R"(["warehouse","orders"] orders_not_empty)"}));
}

TEST(Collect, Step17GroupsDegradedAssetsByRun) {
  const auto& a = baseline();
  const std::string s = "/step_17_degraded_assets";
  EXPECT_EQ(json_at(a, s + "/totalAssets"), "6");
  EXPECT_EQ(json_at(a, s + "/degradedCount"), "1");
  EXPECT_EQ(json_at(a, s + "/recoveredCount"), "0");
  // warehouse/customers' latest run failed too, but that run materialized it: not degraded.
  ASSERT_EQ(size_at(a, s + "/degraded"), 1u);
  EXPECT_EQ(text_at(a, s + "/degraded/0/asset"), "day2/broken_asset");
  EXPECT_EQ(text_at(a, s + "/degraded/0/latestRunId"), k_code_error_run);
  EXPECT_DOUBLE_EQ(number_at(a, s + "/degraded/0/latestRunEndTime"), 1795323728.72277);
  EXPECT_EQ(json_at(a, s + "/degraded/0/lastMaterializationTime"), "null");
  EXPECT_EQ(json_at(a, s + "/degraded/0/recovered"), "false");
  ASSERT_EQ(size_at(a, s + "/byRun"), 1u);
  EXPECT_EQ(text_at(a, s + "/byRun/0/runId"), k_code_error_run);
  EXPECT_EQ(json_at(a, s + "/byRun/0/count"), "1");
  EXPECT_EQ(strings_at(a, s + "/byRun/0/assets"), Strings{"day2/broken_asset"});
  EXPECT_EQ(json_at(a, s + "/byRun/0/inWindow"), "true");
}

// ---- Paging -----------------------------------------------------------------------------------

// With a page size of 2 the two captured in-flight runs fill a page: answer the next one, empty.
void answer_in_flight_second_page(FakeTransport& transport) {
  transport.on("InFlightRuns", where("/cursor", "56daf560-8e9c-4465-954b-24efb58291ee"),
               Answer::body(R"({"data": {"runsOrError": {"__typename": "Runs", "results": []}, "instance": null}})"));
}

TEST(Collect, RunsInWindowFollowsTheCursorToAShortPage) {
  auto config = test_config();
  config.page_size = 2;
  auto transport = captured();
  answer_in_flight_second_page(*transport);
  transport->on("RunsInWindow", where_null("/cursor"), Answer::json(captured_runs_page({0, 1})));
  transport->on("RunsInWindow", where("/cursor", captured_run_id(1)), Answer::json(captured_runs_page({2})));
  auto artifact = run_collect(transport, config);

  EXPECT_THAT(transport->unanswered(), IsEmpty());
  auto requests = transport->requests("RunsInWindow");
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(json_at(requests[0].variables(), "/cursor"), "null");
  EXPECT_EQ(text_at(requests[1].variables(), "/cursor"), captured_run_id(1));  // the last run of the full page
  for (const auto& request : requests) {
    EXPECT_EQ(json_at(request.variables(), "/limit"), "2");
    EXPECT_EQ(json_at(request.variables(), "/filter"), json_at(requests[0].variables(), "/filter"));
  }
  EXPECT_EQ(json_at(artifact, "/step_01_failed_runs/failureCount"), "1");
  EXPECT_EQ(text_at(artifact, "/step_01_failed_runs/failures/0/runId"), k_backfill_run);
  EXPECT_EQ(strings_at(artifact, "/step_01_failed_runs/successRunIds"),
            (Strings{k_flaky_retry_run, "57255e6f-3367-4b00-9d8e-b081d9b49aec"}));
  EXPECT_EQ(text_at(artifact, "/step_02_retries/retries/0/retryRunId"), k_flaky_retry_run);
}

TEST(Collect, RunsInWindowInPagesGivesTheSameStepsAsOnePage) {
  auto config = test_config();
  config.page_size = 2;
  auto transport = captured();
  answer_in_flight_second_page(*transport);
  constexpr std::size_t k_runs = 14;
  for (std::size_t first = 0; first <= k_runs; first += 2) {
    std::vector<std::size_t> indexes;
    for (std::size_t i = first; i < std::min(first + 2, k_runs); ++i) indexes.push_back(i);
    auto match = first == 0 ? where_null("/cursor") : where("/cursor", captured_run_id(first - 1));
    transport->on("RunsInWindow", match, Answer::json(captured_runs_page(indexes)));  // the last page is empty
  }
  auto artifact = run_collect(transport, config);
  EXPECT_THAT(transport->unanswered(), IsEmpty());
  EXPECT_EQ(transport->count("RunsInWindow"), 8u);
  for (const char* step : {"/step_01_failed_runs", "/step_02_retries", "/step_14_queued_runs"}) {
    EXPECT_EQ(json_at(artifact, step), json_at(baseline(), step)) << step;
  }
}

TEST(Collect, RunEventsFollowsTheCursorAndReadsEveryEventOnce) {
  auto config = test_config();
  config.page_size = 5;  // as captured in RunEvents.code_error.page1/page2
  auto transport = captured();
  transport->on("RunsInWindow", Answer::json(captured_runs_page({9})));
  ASSERT_EQ(captured_run_id(9), k_code_error_run);
  auto page1 = day2test::dagster_data("RunEvents.code_error.page1");
  auto page2 = day2test::dagster_data("RunEvents.code_error.page2");
  // The rest of the log (events 11-16) as the last page, cut from the single-page capture.
  auto page3 = day2test::dagster_data("RunEvents.code_error");
  auto& events = page3["data"]["logsForRun"]["events"];
  events.Erase(events.Begin(), events.Begin() + 10);
  std::string cursor1 = page1["data"]["logsForRun"]["cursor"].GetString();
  std::string cursor2 = page2["data"]["logsForRun"]["cursor"].GetString();
  transport->on("RunEvents", where_null("/afterCursor"), Answer::json(page1));
  transport->on("RunEvents", where("/afterCursor", cursor1), Answer::json(page2));
  transport->on("RunEvents", where("/afterCursor", cursor2), Answer::json(page3));
  auto artifact = run_collect(transport, config);

  EXPECT_THAT(transport->unanswered(), IsEmpty());
  auto requests = transport->requests("RunEvents");
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(recorder::write_json(requests[0].variables()),
            recorder::write_json(day2test::dagster_data("RunEvents.code_error.page1.variables")));
  EXPECT_EQ(recorder::write_json(requests[1].variables()),
            recorder::write_json(day2test::dagster_data("RunEvents.code_error.page2.variables")));
  EXPECT_EQ(text_at(requests[2].variables(), "/afterCursor"), cursor2);
  EXPECT_EQ(json_at(artifact, failure_pointer(artifact, k_code_error_run)),
            json_at(baseline(), failure_pointer(baseline(), k_code_error_run)));
}

// A server that ignores the cursor answers every page with the first one. Before the fix each of
// these loops asked again forever; now the steps using the operation hold an error instead.

// Collects with `operation` answering every request with `page`; returns the error of `step`.
std::string repeated_page_error(const std::string& operation, const rapidjson::Document& page, const char* step,
                                int page_size = 200) {
  auto config = test_config();
  config.page_size = page_size;
  auto transport = captured();
  transport->on(operation, Answer::json(page));
  auto artifact = run_collect(transport, config);
  return text_at(artifact, std::string("/") + step + "/error");
}

TEST(Collect, RunsInWindowThatIgnoresTheCursorIsAStepError) {
  auto config = test_config();
  config.page_size = 2;
  auto transport = captured();
  answer_in_flight_second_page(*transport);
  transport->on("RunsInWindow", Answer::json(captured_runs_page({0, 1})));
  auto artifact = run_collect(transport, config);
  EXPECT_EQ(error_steps(artifact), (Strings{"step_01_failed_runs", "step_02_retries"}));
  EXPECT_EQ(text_at(artifact, "/step_01_failed_runs/error"),
            "RunsInWindow: paging does not advance past run 57255e6f-3367-4b00-9d8e-b081d9b49aec");
}

TEST(Collect, InFlightRunsThatIgnoresTheCursorIsAStepError) {
  EXPECT_EQ(repeated_page_error("InFlightRuns", day2test::dagster_data("InFlightRuns"), "step_14_queued_runs", 2),
            "InFlightRuns: paging does not advance past run 56daf560-8e9c-4465-954b-24efb58291ee");
}

TEST(Collect, BackfillsThatIgnoresTheCursorIsAStepError) {
  auto page = day2test::dagster_data("Backfills");
  repeat_first(page, "/data/partitionBackfillsOrError/results", 100, "id");
  EXPECT_EQ(repeated_page_error("Backfills", page, "step_15_backfills"),
            "Backfills: paging does not advance past backfill id-1");
}

TEST(Collect, AssetCheckHistoryThatIgnoresTheCursorIsThatChecksError) {
  auto page = day2test::dagster_data("AssetCheckHistory.error");
  repeat_first(page, "/data/assetCheckExecutions", 100, "id", "timestamp", 1795323700.0);
  auto transport = captured();
  transport->on("AssetCheckHistory", Answer::json(page));
  auto artifact = run_collect(transport);
  EXPECT_THAT(error_steps(artifact), IsEmpty());
  EXPECT_EQ(text_at(artifact, "/step_16_asset_checks/itemErrors/0/error"),
            "customers_check_crashes on warehouse/customers: AssetCheckHistory: paging does not advance past "
            "execution id-1");
  EXPECT_EQ(text_at(artifact, "/step_16_asset_checks/itemErrors/0/item"),
            "check warehouse/customers:customers_check_crashes");
}

// Another tick at the instant of the page's oldest one must not be lost between pages: the
// continuation asks past that instant and drops the repeat.
TEST(Collect, Step03LosesNoTickThatSharesTheOldestTimeOfAFullPage) {
  auto workspace = day2test::dagster_data("AllInstigatorTicks");
  repeat_first(workspace, k_sensor_ticks, 1000, "tickId", "timestamp", 1795323800.0);
  const auto& oldest = (*rapidjson::Pointer(k_sensor_ticks).Get(workspace))[999];
  ASSERT_EQ(std::string(oldest["tickId"].GetString()), "id-1");
  auto older = day2test::dagster_data("InstigatorTicks.sensor");
  auto& older_ticks = older["data"]["instigationStateOrError"]["ticks"];
  for (auto tick = older_ticks.Begin(); tick != older_ticks.End();) {
    tick = (*tick)["timestamp"].GetDouble() >= 1795323800.0 ? older_ticks.Erase(tick) : tick + 1;
  }
  auto& a = older.GetAllocator();
  rapidjson::Value repeat, tied;
  repeat.CopyFrom(oldest, a);
  tied.CopyFrom(oldest, a);
  tied["tickId"] = "tied";
  tied["id"] = "tied-id";
  rapidjson::Value page(rapidjson::kArrayType);  // newest first, as Dagster answers
  page.PushBack(repeat, a).PushBack(tied, a);
  for (auto& tick : older_ticks.GetArray()) page.PushBack(rapidjson::Value(tick, a), a);
  older_ticks = page;
  auto transport = captured();
  transport->on("AllInstigatorTicks", Answer::json(workspace));
  transport->on("InstigatorTicks", Answer::json(older));
  auto artifact = run_collect(transport);

  const std::string s = "/step_03_sensor_ticks/day2_fixture/failing_sensor";
  EXPECT_EQ(json_at(artifact, s + "/failureCount"), "1015");  // 1000 + the tied one + 14 older
  std::multiset<std::string> ids;
  for (std::size_t i = 0; i < size_at(artifact, s + "/ticks"); ++i) {
    ids.insert(text_at(artifact, s + "/ticks/" + std::to_string(i) + "/tickId"));
  }
  EXPECT_EQ(ids.count("id-1"), 1u);
  EXPECT_EQ(ids.count("tied"), 1u);
  EXPECT_EQ(text_at(artifact, s + "/ticks/14/tickId"), "id-1");  // same instant: by tick id
  EXPECT_EQ(text_at(artifact, s + "/ticks/15/tickId"), "tied");
}

// A full page of `count` failed ticks for the fixture's failing sensor (or schedule) from 1795323800.001
// on, so collect must continue it with InstigatorTicks.
rapidjson::Document full_tick_page(const char* pointer) {
  auto workspace = day2test::dagster_data("AllInstigatorTicks");
  repeat_first(workspace, pointer, 1000, "tickId", "timestamp", 1795323800.0);
  return workspace;
}

const char* const k_schedule_ticks =
    "/data/workspaceOrError/locationEntries/0/locationOrLoadError/repositories/0/schedules/0/scheduleState/ticks";

TEST(Collect, InstigatorTicksThatIgnoresBeforeIsThatSensorsErrorNotTheSteps) {
  auto workspace = full_tick_page(k_sensor_ticks);
  rapidjson::Document page;
  page.Parse(R"({"data": {"instigationStateOrError": {"__typename": "InstigationState", "id": "x", "ticks": []}}})");
  rapidjson::Value ticks;
  ticks.CopyFrom(*rapidjson::Pointer(k_sensor_ticks).Get(workspace), page.GetAllocator());
  page["data"]["instigationStateOrError"]["ticks"] = ticks;
  auto transport = captured();
  transport->on("AllInstigatorTicks", Answer::json(workspace));
  transport->on("InstigatorTicks", Answer::json(page));
  auto artifact = run_collect(transport);
  EXPECT_THAT(error_steps(artifact), IsEmpty());
  const std::string error = "InstigatorTicks: failing_sensor: paging does not advance past tick time 1795323800.001";
  EXPECT_EQ(text_at(artifact, "/step_03_sensor_ticks/itemErrors/0/error"), error);
  EXPECT_EQ(text_at(artifact, "/step_03_sensor_ticks/itemErrors/0/item"), "sensor day2_fixture/failing_sensor");
  EXPECT_EQ(text_at(artifact, "/step_03_sensor_ticks/day2_fixture/failing_sensor/ticksError"), error);
  EXPECT_EQ(unreadable_items(artifact), Strings{"step_03_sensor_ticks (sensor day2_fixture/failing_sensor)"});
}

// One sensor whose older ticks cannot be read keeps the full page it has (its count a lower bound,
// marked), the step keeps every other sensor, step 06 is untouched, and the gate names the sensor.
TEST(Collect, AnUnreadableTickContinuationCostsThatSensorsOlderTicksOnly) {
  auto transport = captured();
  transport->on("AllInstigatorTicks", Answer::json(full_tick_page(k_sensor_ticks)));
  transport->on("InstigatorTicks", Answer::status_code(500, "upstream exploded"));
  auto artifact = run_collect(transport);

  EXPECT_THAT(error_steps(artifact), IsEmpty());
  const std::string s = "/step_03_sensor_ticks/day2_fixture/failing_sensor";
  EXPECT_EQ(json_at(artifact, s + "/failureCount"), "1000");
  EXPECT_EQ(size_at(artifact, s + "/ticks"), 1000u);
  EXPECT_THAT(text_at(artifact, s + "/ticksError"), HasSubstr("InstigatorTicks: HTTP 500"));
  ASSERT_EQ(size_at(artifact, "/step_03_sensor_ticks/itemErrors"), 1u);
  EXPECT_EQ(text_at(artifact, "/step_03_sensor_ticks/itemErrors/0/item"), "sensor day2_fixture/failing_sensor");
  EXPECT_EQ(json_at(artifact, "/step_06_schedule_ticks"), json_at(baseline(), "/step_06_schedule_ticks"));
  EXPECT_EQ(unreadable_items(artifact), Strings{"step_03_sensor_ticks (sensor day2_fixture/failing_sensor)"});

  // The location-keyed step still reads as sensors: the headline counts them, the gate names the sensor.
  TempDir dir;
  auto path = dir.write("day2.json", recorder::write_json(artifact));
  std::ostringstream out, err;
  EXPECT_EQ(run_cli({"summarize", path}, out, err), 1) << err.str();
  EXPECT_THAT(out.str(), HasSubstr("1 sensor with failed ticks, 1000 failed ticks"));
  EXPECT_THAT(out.str(), HasSubstr("step_03_sensor_ticks: sensor day2_fixture/failing_sensor: InstigatorTicks: HTTP 500"));
}

TEST(Collect, AnUnreadableTickContinuationCostsThatSchedulesOlderTicksOnly) {
  auto transport = captured();
  transport->on("AllInstigatorTicks", Answer::json(full_tick_page(k_schedule_ticks)));
  transport->on("InstigatorTicks", Answer::status_code(500, "upstream exploded"));
  auto artifact = run_collect(transport);

  EXPECT_THAT(error_steps(artifact), IsEmpty());
  EXPECT_EQ(size_at(artifact, "/step_06_schedule_ticks/scheduleTickFailures/day2_fixture~1failing_schedule"), 1000u);
  ASSERT_EQ(size_at(artifact, "/step_06_schedule_ticks/itemErrors"), 1u);
  EXPECT_EQ(text_at(artifact, "/step_06_schedule_ticks/itemErrors/0/item"), "schedule day2_fixture/failing_schedule");
  EXPECT_THAT(text_at(artifact, "/step_06_schedule_ticks/itemErrors/0/error"), HasSubstr("InstigatorTicks: HTTP 500"));
  EXPECT_EQ(json_at(artifact, "/step_03_sensor_ticks"), json_at(baseline(), "/step_03_sensor_ticks"));
}

// ---- Step isolation ----------------------------------------------------------------------------

struct Breakage {
  std::string name;       // test name suffix
  std::string operation;  // the operation that fails
  Answer answer;
  Strings steps;          // the steps that must hold an error
  std::string message;    // expected in each of their errors, besides the operation name
};

std::string python_error_body(const std::string& field) {
  return R"({"data": {")" + field +
         R"(": {"__typename": "PythonError", "className": "Exception", "message": "boom\n", "stack": [],
             "errorChain": []}}})";
}

std::vector<Breakage> breakages() {
  std::vector<Breakage> out;
  for (const auto& [operation, steps] : day2test::collect_operation_steps()) {
    out.push_back({operation + "Http500", operation, Answer::status_code(500, "upstream exploded"), steps,
                   "HTTP 500 from http://127.0.0.1:3000/graphql: upstream exploded"});
    out.push_back({operation + "GraphqlErrors", operation,
                   Answer::body(R"({"data": null, "errors": [{"message": "boom one"}, {"message": "boom two"}]})"),
                   steps,
                   "GraphQL error: boom one; boom two"});
    out.push_back(
        {operation + "InvalidJson", operation, Answer::body("<html>bad gateway</html>"), steps, "invalid JSON"});
    out.push_back({operation + "TransportError", operation,
                   Answer::error("POST http://127.0.0.1:3000/graphql failed: connection refused"), steps,
                   "connection refused"});
  }
  for (const auto& [operation, field] : std::vector<std::pair<std::string, std::string>>{
           {"RunsInWindow", "runsOrError"}, {"RunEvents", "logsForRun"}, {"AllInstigatorTicks", "workspaceOrError"},
           {"CodeLocations", "workspaceOrError"}, {"InFlightRuns", "runsOrError"},
           {"Backfills", "partitionBackfillsOrError"}}) {
    out.push_back({operation + "PythonError", operation, Answer::body(python_error_body(field)),
                   day2test::steps_of_operation(operation),
                   "PythonError: boom"});
  }
  auto checks = day2test::dagster_data("AssetChecksLatest");
  rapidjson::Document error;
  error.Parse(R"({"__typename": "PythonError", "className": "Exception", "message": "boom", "errorChain": []})");
  checks["data"]["assetNodes"][4]["assetChecksOrError"].CopyFrom(error, checks.GetAllocator());
  out.push_back({"AssetChecksLatestPythonError", "AssetChecksLatest", Answer::json(checks), {"step_16_asset_checks"},
                 "PythonError: boom"});
  out.push_back({"RunEventsRunNotFound", "RunEvents", Answer::file("RunEvents.not_found"), {"step_01_failed_runs"},
                 "RunNotFoundError: Pipeline run 00000000-0000-4000-8000-000000000000 could not be found."});
  return out;
}

class CollectIsolation : public testing::TestWithParam<Breakage> {};

TEST_P(CollectIsolation, OnlyTheStepsUsingTheOperationFail) {
  const auto& breakage = GetParam();
  auto transport = captured();
  transport->on(breakage.operation, breakage.answer);
  auto artifact = run_collect(transport);

  EXPECT_THAT(transport->unanswered(), IsEmpty());
  if (day2test::is_item_operation(breakage.operation)) {
    // One failed run's event log, one check's history: each item holds its error, the step its payload.
    EXPECT_THAT(error_steps(artifact), IsEmpty());
    EXPECT_THAT(unreadable_items(artifact), Not(IsEmpty()));
    for (const auto& step : breakage.steps) {
      ASSERT_GT(size_at(artifact, "/" + step + "/itemErrors"), 0U) << step;
      for (std::size_t i = 0; i < size_at(artifact, "/" + step + "/itemErrors"); ++i) {
        auto message = text_at(artifact, "/" + step + "/itemErrors/" + std::to_string(i) + "/error");
        EXPECT_THAT(message, HasSubstr(breakage.operation + ":")) << step;
        EXPECT_THAT(message, HasSubstr(breakage.message)) << step;
      }
    }
    return;
  }
  EXPECT_EQ(error_steps(artifact), breakage.steps);
  for (const auto& step : breakage.steps) {
    auto message = text_at(artifact, "/" + step + "/error");
    EXPECT_THAT(message, HasSubstr(breakage.operation + ":")) << step;
    EXPECT_THAT(message, HasSubstr(breakage.message)) << step;
    EXPECT_EQ(size_at(artifact, "/" + step), 1u) << step << ": an errored step holds only {\"error\": ...}";
  }
  for (const auto& key : step_keys()) {
    if (std::find(breakage.steps.begin(), breakage.steps.end(), key) != breakage.steps.end()) continue;
    EXPECT_EQ(json_at(artifact, "/" + key), json_at(baseline(), "/" + key)) << key << " should be intact";
  }
}

INSTANTIATE_TEST_SUITE_P(Collect, CollectIsolation, testing::ValuesIn(breakages()),
                         [](const testing::TestParamInfo<Breakage>& param) { return param.param.name; });

}  // namespace
}  // namespace analyzer
