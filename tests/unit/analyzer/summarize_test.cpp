#include "analyzer/summarize/summarize.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "support/cli_outcome.hpp"
#include "support/files.hpp"

namespace analyzer {
namespace {

namespace fs = std::filesystem;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using day2test::Outcome;
using day2test::read_text;

const std::string k_window =
    R"("window": {"epoch": 1774818000, "utc_start": "2026-03-29T21:00:00Z", "utc_end": "2026-03-30T13:00:00Z"})";

class Summarize : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "day2-summarize-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    m_dir = pattern;
  }
  void TearDown() override {
    if (HasFailure()) {
      std::cerr << "summarize test files left in " << m_dir << '\n';
    } else {
      fs::remove_all(m_dir);
    }
  }

  // Writes `content` to `name` in the test's directory and returns its path.
  std::string write(const std::string& name, const std::string& content) {
    fs::path path = m_dir / name;
    std::ofstream(path, std::ios::binary) << content;
    return path.string();
  }

  static Outcome run(const std::string& path, Details details = Details::no) {
    return day2test::capture([&](std::ostream& out, std::ostream& err) { return summarize(path, details, out, err); });
  }

  Outcome run_artifact(const std::string& steps, Details details = Details::no) {
    return run(write("day2.json", "{" + k_window + (steps.empty() ? "" : ", " + steps) + "}"), details);
  }

  fs::path m_dir;
};

fs::path fixture(const std::string& name) { return fs::path(DAY2_TEST_DATA) / "artifacts" / name; }

TEST_F(Summarize, CleanArtifactPassesTheGate) {
  auto result = run_artifact(R"("step_05_load_failures": {"loadFailures": []})");
  EXPECT_EQ(result.code, 0);
  EXPECT_THAT(result.out, StartsWith("day2 summary: window 2026-03-29T21:00:00Z → 2026-03-30T13:00:00Z\n"));
  EXPECT_THAT(result.out, EndsWith("\nError gate: PASS (no step errors)\n"));
  EXPECT_EQ(result.err, "");
}

TEST_F(Summarize, StepErrorFailsTheGateWithKeyAndMessage) {
  auto result = run_artifact(
      R"("step_01_failed_runs": {"failureCount": 0, "failures": [], "successCount": 3, "canceledCount": 0},)"
      R"("step_10_gke_events": {"error": "HTTP 403: caller lacks logging.logEntries.list"})");
  EXPECT_EQ(result.code, 1);
  EXPECT_THAT(result.out, HasSubstr("  step_10_gke_events   ERROR      (see error gate)\n"));
  EXPECT_THAT(result.out, HasSubstr("Error gate: FAIL — 1 step(s) hold errors:\n"
                                    "  step_10_gke_events: HTTP 403: caller lacks logging.logEntries.list\n"
                                    "These signals are missing from the timeline"));
  EXPECT_EQ(result.err, "");
}

TEST_F(Summarize, EveryErroredStepIsListedInKeyOrder) {
  auto result = run_artifact(R"("step_12_error_groups": {"error": "b"}, "step_03_sensor_ticks": {"error": "a"})");
  EXPECT_EQ(result.code, 1);
  EXPECT_THAT(result.out, HasSubstr("Error gate: FAIL — 2 step(s) hold errors:\n"
                                    "  step_03_sensor_ticks: a\n"
                                    "  step_12_error_groups: b\n"));
}

TEST_F(Summarize, NonStringErrorStillFailsTheGate) {
  auto result = run_artifact(R"("step_07_agents": {"error": {"status": 503}})");
  EXPECT_EQ(result.code, 1);
  EXPECT_THAT(result.out, HasSubstr("  step_07_agents: {\"status\":503}\n"));
}

TEST_F(Summarize, ErrorMessageControlCharactersAreEscaped) {
  auto result = run_artifact(R"("step_11_alerts": {"error": "line one\nline two \u001b[31m"})");
  EXPECT_EQ(result.code, 1);
  EXPECT_THAT(result.out, HasSubstr("  step_11_alerts: line one\\nline two \\x1b[31m\n"));
}

TEST_F(Summarize, MissingFileIsExit2NamingTheFile) {
  std::string path = (m_dir / "absent.json").string();
  auto result = run(path);
  EXPECT_EQ(result.code, 2);
  EXPECT_THAT(result.err, StartsWith("day2 summarize: error: " + path + ": "));
  EXPECT_THAT(result.err, HasSubstr("No such file or directory"));
  EXPECT_EQ(result.out, "");
}

TEST_F(Summarize, TruncatedJsonIsExit2WithLineAndColumn) {
  std::string path = write("day2.json", "{\"window\": {\"utc_start\": \"2026-03-29T21:00:00Z\",\n");
  auto result = run(path);
  EXPECT_EQ(result.code, 2);
  EXPECT_EQ(result.err, "day2 summarize: error: " + path + ":2:1: Missing a name for object member.\n");
  EXPECT_EQ(result.out, "");
}

TEST_F(Summarize, EmptyFileIsExit2) {
  std::string path = write("day2.json", "");
  auto result = run(path);
  EXPECT_EQ(result.code, 2);
  EXPECT_EQ(result.err, "day2 summarize: error: " + path + ":1:1: The document is empty.\n");
}

TEST_F(Summarize, JsonArrayIsNotAnArtifact) {
  std::string path = write("day2.json", "[1, 2]");
  auto result = run(path);
  EXPECT_EQ(result.code, 2);
  EXPECT_EQ(result.err, "day2 summarize: error: " + path +
                            ": not a day2 artifact: the top-level value is an array, expected an object with "
                            "\"window\" and step_NN_* keys\n");
  EXPECT_EQ(result.out, "");
}

TEST_F(Summarize, ObjectWithoutWindowIsNotAnArtifact) {
  std::string path = write("day2.json", R"({"step_01_failed_runs": {"failureCount": 0}})");
  auto result = run(path);
  EXPECT_EQ(result.code, 2);
  EXPECT_EQ(result.err, "day2 summarize: error: " + path + ": not a day2 artifact: no \"window\" key\n");
}

TEST_F(Summarize, WindowOfTheWrongTypeIsNotAnArtifact) {
  std::string path = write("day2.json", R"({"window": "yesterday"})");
  auto result = run(path);
  EXPECT_EQ(result.code, 2);
  EXPECT_EQ(result.err, "day2 summarize: error: " + path + ": not a day2 artifact: \"window\" is a string, expected an object\n");
}

TEST_F(Summarize, AnArtifactFromANewerDay2NamesItsVersionAndTheOnesKnown) {
  for (const char* version : {"2", "0", "\"1\"", "1.5"}) {
    std::string path = write("day2.json", std::string(R"({"artifactVersion": )") + version + R"(, "window": {}})");
    auto result = run(path);
    EXPECT_EQ(result.code, 2) << version;
    EXPECT_EQ(result.err, "day2 summarize: error: " + path + ": artifactVersion " + version +
                              " is not one this day2 reads (it reads 1 to 1, and artifacts without a version); use the "
                              "day2 that wrote it, or a newer one\n");
  }
}

TEST_F(Summarize, AnArtifactOfVersionOneOrWithoutAVersionReads) {
  for (const char* head : {R"({"artifactVersion": 1, )", "{"}) {
    std::string path = write("day2.json", std::string(head) + R"("window": {"utc_start": "2026-11-22T04:00:00Z"}})");
    EXPECT_EQ(run(path).code, 0) << head;
  }
}

TEST_F(Summarize, HostileNestingIsExit2NotAStackOverflow) {
  std::string path = write("day2.json", std::string(100000, '['));
  auto result = run(path);
  EXPECT_EQ(result.code, 2);
  EXPECT_EQ(result.err, "day2 summarize: error: " + path + ":1:257: nested deeper than 256 levels\n");
}

// Brackets inside strings are text, whatever the escapes before a quote: only the 257th level of
// real brackets is refused (the object's own brace is the first), with its line and column.
TEST_F(Summarize, BracketsInsideStringsDoNotCountAsNesting) {
  std::string brackets(300, '[');
  std::string inside = R"({"window": {"utc_start": "2026-11-22T04:00:00Z"}, "note": "a \"quoted\" \\)" + brackets +
                       R"( \\\" and )" + brackets + "\"}";
  EXPECT_EQ(run(write("strings.json", inside)).code, 0);
  std::string after = R"({"note": "\\", "x": )" + std::string(257, '[');
  auto result = run(write("after.json", after));
  EXPECT_EQ(result.code, 2);
  EXPECT_NE(result.err.find(":1:" + std::to_string(20 + 256) + ": nested deeper than 256 levels"), std::string::npos) << result.err;
}

TEST_F(Summarize, AbsentStepsAndUnknownKeysAreTolerated) {
  auto result = run_artifact(R"("collectorVersion": "0.1.0", "step_18_future_step": {"things": [1]})");
  EXPECT_EQ(result.code, 0);
  EXPECT_THAT(result.out, HasSubstr("  step_18_future_step  ok\n"));
  EXPECT_THAT(result.out, Not(HasSubstr("collectorVersion")));
}

TEST_F(Summarize, ArtifactWithoutStepsSaysSo) {
  auto result = run_artifact("");
  EXPECT_EQ(result.code, 0);
  EXPECT_THAT(result.out, HasSubstr("  (no step_NN_* keys in the artifact)\n"));
}

TEST_F(Summarize, SkippedStepShowsItsReason) {
  auto result = run_artifact(R"("step_13_oom_metrics": {"skipped": true, "reason": "no Cloud Monitoring access"})");
  EXPECT_EQ(result.code, 0);
  EXPECT_THAT(result.out, HasSubstr("  step_13_oom_metrics  skipped    reason: no Cloud Monitoring access\n"));
}

TEST_F(Summarize, StepsPrintInKeyOrder) {
  auto result = run_artifact(R"("step_11_alerts": {"alerts": [1, 2]}, "step_02_retries": {"retries": []})");
  EXPECT_THAT(result.out, HasSubstr("  step_02_retries  ok         0 retries, 0 SUCCESS\n"
                                    "  step_11_alerts   ok         2 alerts\n"));
}

TEST_F(Summarize, StepOfTheWrongTypeIsReportedMalformed) {
  auto result = run_artifact(R"("step_02_retries": [{"parentRunId": "a"}], "step_05_load_failures": "none")");
  EXPECT_EQ(result.code, 0);
  EXPECT_THAT(result.out, HasSubstr("  step_02_retries        malformed  an array, expected an object\n"));
  EXPECT_THAT(result.out, HasSubstr("  step_05_load_failures  malformed  a string, expected an object\n"));
  EXPECT_THAT(result.out, HasSubstr("Warning: step_02_retries is malformed (an array, expected an object)"));
}

TEST_F(Summarize, FieldsOfTheWrongTypePrintQuestionMarks) {
  auto result = run_artifact(
      R"("step_01_failed_runs": {"failureCount": "3", "failures": {}, "successCount": -1, "canceledCount": 1.5},)"
      R"("step_09_daemons": {"daemons": 4, "allHealthy": "yes"},)"
      R"("step_03_sensor_ticks": {"kipptaf": {"s": {"failureCount": null}}})",
      Details::yes);
  EXPECT_EQ(result.code, 0);
  EXPECT_THAT(result.out, HasSubstr("  step_01_failed_runs   ok         ? failed, ? succeeded, ? canceled\n"));
  EXPECT_THAT(result.out, HasSubstr("  step_03_sensor_ticks  ok         ? sensors with failed ticks\n"));
  EXPECT_THAT(result.out, HasSubstr("  step_09_daemons       ok         ? daemons, allHealthy=?\n"));
  EXPECT_THAT(result.out, HasSubstr("Failures: ? (\"failures\" is an object, expected an array)\n"));
}

TEST_F(Summarize, DetailEntriesOfTheWrongTypeDoNotCrash) {
  auto result = run_artifact(
      R"("step_01_failed_runs": {"failures": [7, {"runId": 5, "startTime": 1e300, "stepErrors": [null]}]},)"
      R"("step_17_degraded_assets": {"byRun": [)"
      R"({"runId": "r", "endTime": -1, "count": "2", "assets": [[], {"path": ["a", "b"]}]}]})",
      Details::yes);
  EXPECT_EQ(result.code, 0);
  EXPECT_THAT(result.out, HasSubstr("  ? (entry is a number, expected an object)\n"));
  EXPECT_THAT(result.out, HasSubstr("    start: 1e300  end: -\n"));
  EXPECT_THAT(result.out, HasSubstr("    first step error: ?\n"));
  EXPECT_THAT(result.out, HasSubstr("  run r  ended -1 (before the window: stale)  ? assets: ?, a/b\n"));
}

// Issue 25: a step error whose message already starts with its class names the class once.
TEST_F(Summarize, AStepErrorsClassIsPrintedOnce) {
  auto result = run_artifact(
      R"("step_01_failed_runs": {"failures": [{"runId": "r", "stepErrors": [{"stepKey": "load", "errorClass": "PermissionError",)"
      R"( "errorMessage": "PermissionError: [Errno 13] Permission denied", "causeChain": []}]},)"
      R"( {"runId": "s", "stepErrors": [{"stepKey": "load", "errorClass": "KeyError", "errorMessage": "'id'", "causeChain": []}]}]})",
      Details::yes);
  EXPECT_EQ(result.code, 0);
  EXPECT_THAT(result.out, HasSubstr("    first step error: load: PermissionError: [Errno 13] Permission denied\n"));
  EXPECT_THAT(result.out, HasSubstr("    first step error: load: KeyError: 'id'\n"));  // the close case: named once too
}

// Issue 25: a step that retried failed for its final attempt's reason; the attempts are counted.
TEST_F(Summarize, AStepThatRetriedShowsItsFinalAttemptsErrorAndTheAttemptCount) {
  auto error = [](const char* type, const char* message) {
    return std::string(R"({"stepKey": "load", "eventType": ")") + type + R"(", "errorClass": "ValueError", "errorMessage": ")" +
           message + R"(", "causeChain": []})";
  };
  auto result = run_artifact(
      R"("step_01_failed_runs": {"failures": [{"runId": "r", "stepErrors": [)" +
          error("ExecutionStepUpForRetryEvent", "ValueError: first") + ", " +
          error("ExecutionStepUpForRetryEvent", "ValueError: second") + ", " + error("ExecutionStepFailureEvent", "ValueError: third") +
          ", " + R"({"stepKey": "other", "eventType": "ExecutionStepFailureEvent", "errorClass": "KeyError", "errorMessage": "'x'"}]}]})",
      Details::yes);
  EXPECT_EQ(result.code, 0);
  EXPECT_THAT(result.out, HasSubstr("    first step error: load: ValueError: third (final attempt of 3)\n"));
}

TEST_F(Summarize, DetailsPrintCategoryRuleIdAndByRunGrouping) {
  auto result = run(fixture("overnight.json").string(), Details::yes);
  EXPECT_EQ(result.code, 0);
  EXPECT_THAT(result.out, HasSubstr("  5c1e2d3a-7f80-4b6e-a1d2-c3b4a5968778  job kipptaf__dbt_asset_job  "
                                    "location kipptaf\n"
                                    "    category: Node OOM/eviction  rule: oom-killed\n"
                                    "    start: 2026-03-30T04:00:00Z  end: 2026-03-30T04:12:30Z\n"));
  EXPECT_THAT(result.out, HasSubstr("Degraded assets by run (2):\n"
                                    "  run 0d0e0f10-1112-4131-8415-161718191a1b  ended 2026-03-26T10:00:00Z "
                                    "(before the window: stale)  1 asset: kippmiami/stale/thing\n"
                                    "  run 5c1e2d3a-7f80-4b6e-a1d2-c3b4a5968778  ended 2026-03-30T04:12:30Z  2 assets: "
                                    "kipptaf/dbt/int_students, kipptaf/dbt/rpt_attendance\n"));
}

TEST_F(Summarize, DetailsSayWhichSectionsAreUnavailable) {
  auto result = run_artifact(
      R"("step_01_failed_runs": {"error": "GraphQL timeout"}, "step_16_asset_checks": {"skipped": true})",
      Details::yes);
  EXPECT_EQ(result.code, 1);
  EXPECT_THAT(result.out, HasSubstr("Failures: unavailable (step_01_failed_runs holds an error)\n"));
  EXPECT_THAT(result.out, HasSubstr("Retries: unavailable (step_02_retries is absent)\n"));
  EXPECT_THAT(result.out, HasSubstr("Asset checks: unavailable (step_16_asset_checks was skipped)\n"));
  EXPECT_THAT(result.out, Not(HasSubstr("Pod events")));
}

TEST_F(Summarize, DetailsShowTheGoogleCloudFindings) {
  auto result = run_artifact(
      R"j("step_08_agent_pod_churn": {"events": [{"timestamp": 1774843200, "podName": "agent-1", "statusCode": 0}],
           "createCount": 1, "verdict": "normal_rollout", "expectedReplicas": 1, "maxSurgePercent": 200, "skipped": false},
         "step_10_gke_events": {"clusterEvents": [{"timestamp": 1774843260, "kind": "Node", "name": "gke-n1",
           "reason": "OOMKilling", "message": "Killed process 42 (python3)"}], "podEvents": []},
         "step_11_alerts": {"alerts": [{"name": "projects/p/alerts/a1", "openTime": 1774843200, "closeTime": null,
           "severity": "CRITICAL", "policy": "Node memory", "resourceType": "k8s_node"}]},
         "step_13_oom_metrics": {"oomRuns": [{"runId": "r1", "runStatus": "FAILURE", "restarts": 2,
           "maxMemoryLimitUtilization": 0.97}], "skipped": false})j",
      Details::yes);
  EXPECT_THAT(result.out, HasSubstr("Agent pod churn: 1 creates, verdict normal_rollout (replicas 1, maxSurge 200%)\n"
                                    "Agent pod creations (1):\n  2026-03-30T04:00:00Z  agent-1  status 0\n"));
  EXPECT_THAT(result.out, HasSubstr("Cluster events (1):\n  2026-03-30T04:01:00Z  Node gke-n1  OOMKilling  Killed process 42 (python3)\n"));
  EXPECT_THAT(result.out, HasSubstr("Alerts (1):\n  2026-03-30T04:00:00Z → -  CRITICAL  Node memory  k8s_node  projects/p/alerts/a1\n"));
  EXPECT_THAT(result.out, HasSubstr("OOM runs (1):\n  run r1  FAILURE  restarts 2  max memory/limit 0.97\n"));
}

TEST_F(Summarize, OvernightSummaryMatchesGolden) {
  auto result = run(fixture("overnight.json").string());
  EXPECT_EQ(result.code, 0);
  EXPECT_EQ(result.out, read_text(fixture("overnight.summary.txt")));
}

TEST_F(Summarize, OvernightDetailsMatchGolden) {
  auto result = run(fixture("overnight.json").string(), Details::yes);
  EXPECT_EQ(result.code, 0);
  EXPECT_EQ(result.out, read_text(fixture("overnight.details.txt")));
}

}  // namespace
}  // namespace analyzer
